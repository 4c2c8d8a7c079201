#include "writer/writer_metrics.h"

#include "base/errors.h"

namespace kam::writer {
namespace {

base::MetricFamily<base::Counter>& Commands() {
  static auto& family = base::Metrics().Counters(
      "kam_commands_total",
      "Commands decided by a writer, by aggregate type, outcome (accepted, deduplicated, "
      "rejected, unavailable) and the rule a rejection names",
      {"aggregate_type", "outcome", "rule"});
  return family;
}

base::MetricFamily<base::Counter>& DeadLetterFamily() {
  static auto& family = base::Metrics().Counters(
      "kam_dead_letters_total", "Rejected records written to a dead-letter topic, by topic",
      {"topic"});
  return family;
}

}  // namespace

WriterMetrics::WriterMetrics(const std::string& aggregate_type)
    : group_commands(base::Metrics()
                         .Histograms("kam_writer_group_commands",
                                     "Commands per group (one transaction), by aggregate type",
                                     {"aggregate_type"}, base::CountBuckets())
                         .With({aggregate_type})),
      append_seconds(base::Metrics()
                         .Histograms("kam_writer_append_duration_seconds",
                                     "One group's append to the log, from the first record to "
                                     "the commit, by aggregate type",
                                     {"aggregate_type"}, base::LatencyBuckets())
                         .With({aggregate_type})),
      aborts(base::Metrics()
                 .Counters("kam_transaction_aborts_total",
                           "Groups whose transaction did not commit (or whose outcome was "
                           "unknown), by aggregate type",
                           {"aggregate_type"})
                 .With({aggregate_type})),
      aggregate_type_(aggregate_type),
      accepted_(Commands().With({aggregate_type, "accepted", ""})),
      deduplicated_(Commands().With({aggregate_type, "deduplicated", ""})),
      unavailable_(Commands().With({aggregate_type, "unavailable", ""})) {}

void WriterMetrics::Count(std::span<const Outcome> outcomes) {
  uint64_t accepted = 0;
  uint64_t deduplicated = 0;
  uint64_t unavailable = 0;
  for (const Outcome& o : outcomes) {
    if (o.result.ok()) {
      ++(o.result->deduplicated() ? deduplicated : accepted);
    } else if (IsRejection(o.result.status())) {
      Rejected(base::RuleOf(o.result.status())).Inc();
    } else {
      ++unavailable;
    }
  }
  if (accepted > 0) accepted_.Inc(accepted);
  if (deduplicated > 0) deduplicated_.Inc(deduplicated);
  if (unavailable > 0) unavailable_.Inc(unavailable);
}

void WriterMetrics::CountDeadLetters(std::span<const eventlog::Record> records) {
  for (const eventlog::Record& r : records) {
    if (!r.topic.empty()) DeadLetters(r.topic).Inc();
  }
}

base::Counter& WriterMetrics::Rejected(const std::string& rule) {
  auto [it, added] = rejected_.try_emplace(rule, nullptr);
  if (added) it->second = &Commands().With({aggregate_type_, "rejected", rule});
  return *it->second;
}

base::Counter& WriterMetrics::DeadLetters(const std::string& topic) {
  auto [it, added] = dead_letters_.try_emplace(topic, nullptr);
  if (added) it->second = &DeadLetterFamily().With({topic});
  return *it->second;
}

}  // namespace kam::writer
