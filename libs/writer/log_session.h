// The Kafka side of one writer: its transactional producer, recreated after an error
// whose outcome is unknown, in which case the writer must reload its aggregates from
// the log before it decides anything again.
//
//   kam::writer::LogSession log(kafka, "kam.programme-writer.0", 10s);
//   KAM_RETURN_IF_ERROR(log.Connect());        // fences any zombie with this id
//   auto positions = log.Append(topic, records);
//   if (log.needs_reload()) { ...reload, then log.MarkReloaded(); }
//
// Not thread-safe: the owning writer serialises calls.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"
#include "eventlog/producer.h"

namespace kam::writer {

class LogSession {
 public:
  LogSession(eventlog::KafkaOptions kafka, std::string transactional_id,
             std::chrono::milliseconds timeout);

  // (Re)creates the producer; UNAVAILABLE if Kafka does not answer in time.
  absl::Status Connect();

  // Appends in one transaction, connecting first if needed. On an error after which the
  // outcome is unknown, needs_reload() turns true.
  absl::StatusOr<std::vector<v1::LogPosition>> Append(const std::string& topic,
                                                      std::span<const eventlog::Record> records);

  bool needs_reload() const { return needs_reload_; }
  void MarkReloaded() { needs_reload_ = false; }
  const eventlog::KafkaOptions& kafka() const { return kafka_; }
  const std::string& transactional_id() const { return transactional_id_; }

 private:
  eventlog::KafkaOptions kafka_;
  std::string transactional_id_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<eventlog::TransactionalProducer> producer_;
  bool needs_reload_ = false;
};

}  // namespace kam::writer
