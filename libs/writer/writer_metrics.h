// The metrics of one partition writer (base/metrics.h), labelled with its aggregate type:
//   kam_commands_total{aggregate_type,outcome,rule}   accepted | deduplicated | rejected (by
//                                                     rule; "" for a field or version error)
//                                                     | unavailable (not decided: retry)
//   kam_writer_group_commands{aggregate_type}         commands per group (its count: groups)
//   kam_writer_append_duration_seconds{aggregate_type}  one group's transaction
//   kam_transaction_aborts_total{aggregate_type}      groups whose transaction did not commit
//   kam_dead_letters_total{topic}                     rejected records sent to a dead-letter topic
//
//   kam::writer::WriterMetrics m("programme");
//   m.Count(outcomes);          // after a group commits or aborts
//
// Children are looked up once (a rule's or topic's on its first use). Not thread-safe: the
// partition's writer thread owns it.
#pragma once

#include <span>
#include <string>
#include <unordered_map>

#include "base/metrics.h"
#include "writer/pipeline.h"

namespace kam::writer {

class WriterMetrics {
 public:
  explicit WriterMetrics(const std::string& aggregate_type);

  // Tallies the outcomes of one group.
  void Count(std::span<const Outcome> outcomes);
  // Counts the dead letters among a committed group's records (those with a topic of their
  // own: pipeline.h).
  void CountDeadLetters(std::span<const eventlog::Record> records);

  base::Histogram& group_commands;
  base::Histogram& append_seconds;
  base::Counter& aborts;

 private:
  base::Counter& Rejected(const std::string& rule);
  base::Counter& DeadLetters(const std::string& topic);

  std::string aggregate_type_;
  base::Counter& accepted_;
  base::Counter& deduplicated_;
  base::Counter& unavailable_;
  std::unordered_map<std::string, base::Counter*> rejected_;
  std::unordered_map<std::string, base::Counter*> dead_letters_;
};

}  // namespace kam::writer
