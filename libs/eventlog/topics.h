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

// Where enterprise systems publish the facts they own: "<prefix>kam.inbound.<kind>.v1".
// metrics (kam.v1.InboundMetric, finance/ERP), trainings (kam.v1.InboundTraining, an LMS),
// people (kam.v1.InboundPerson, HR), visits (kam.v1.InboundSponsorVisit, a calendar or
// CRM), commitments (kam.v1.InboundCommitmentOutcome, operations). docs/topics.md.
inline constexpr std::string_view kInboundKinds[] = {"metrics", "trainings", "people", "visits",
                                                     "commitments"};
std::string InboundTopic(std::string_view prefix, std::string_view kind);
// InboundTopic(prefix, "metrics").
std::string InboundMetricsTopic(std::string_view prefix);

// The header names every dead letter carries: why it was refused, the position (or the
// call) it came from, and the inbound topic a re-drive sends it back to.
inline constexpr char kDlqReasonHeader[] = "kam-dlq-reason";
inline constexpr char kDlqOriginHeader[] = "kam-dlq-origin";
inline constexpr char kDlqTopicHeader[] = "kam-dlq-topic";
inline constexpr char kRedrivenFromHeader[] = "kam-redriven-from";

// Writers' signed checkpoints of their partitions' chain tips (kam.v1.SignedCheckpoint):
// "<prefix>kam.checkpoints.v1", one partition.
std::string CheckpointTopic(std::string_view prefix);

// Where ingestion puts what it rejects from `topic`, with the reason: "<topic>.dlq".
std::string DeadLetterTopic(std::string_view topic);

}  // namespace kam::eventlog
