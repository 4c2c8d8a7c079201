// Every topic name of the platform, defined once. docs/topics.md is the same list for
// the world outside this code; use these functions instead of spelling a name out.
//
//   std::string t = kam::eventlog::AggregateTopic(prefix, kam::domain::kProgrammeAggregateType);
//   std::string in = kam::eventlog::InboundMetricsTopic(prefix);      //
//   "<prefix>kam.inbound.metrics.v1" std::string dlq = kam::eventlog::DeadLetterTopic(in); //
//   "...v1.dlq"
//
// The prefix isolates environments (and tests) sharing one cluster; empty in production.
#pragma once

#include <string>
#include <string_view>

namespace kam::eventlog {

// The events of one aggregate type: "<prefix>kam.<aggregate_type>.v1".
std::string AggregateTopic(std::string_view prefix, std::string_view aggregate_type);

// Where enterprise systems publish account metrics (kam.v1.InboundMetric records).
std::string InboundMetricsTopic(std::string_view prefix);

// Where ingestion puts what it rejects from `topic`, with the reason: "<topic>.dlq".
std::string DeadLetterTopic(std::string_view topic);

}  // namespace kam::eventlog
