#include "eventlog/topics.h"

#include "base/strings.h"

namespace kam::eventlog {

std::string AggregateTopic(std::string_view prefix, std::string_view aggregate_type) {
  return base::StrCat(prefix, "kam.", aggregate_type, ".v1");
}

std::string InboundMetricsTopic(std::string_view prefix) {
  return base::StrCat(prefix, "kam.inbound.metrics.v1");
}

std::string DeadLetterTopic(std::string_view topic) { return base::StrCat(topic, ".dlq"); }

}  // namespace kam::eventlog
