#include "eventlog/topics.h"

#include "base/strings.h"

namespace kam::eventlog {

std::string AggregateTopic(std::string_view prefix, std::string_view aggregate_type) {
  return base::StrCat(prefix, "kam.", aggregate_type, ".v1");
}

std::string InboundTopic(std::string_view prefix, std::string_view kind) {
  return base::StrCat(prefix, "kam.inbound.", kind, ".v1");
}

std::string InboundMetricsTopic(std::string_view prefix) { return InboundTopic(prefix, "metrics"); }

std::string DeadLetterTopic(std::string_view topic) { return base::StrCat(topic, ".dlq"); }

std::string CheckpointTopic(std::string_view prefix) {
  return base::StrCat(prefix, "kam.checkpoints.v1");
}

}  // namespace kam::eventlog
