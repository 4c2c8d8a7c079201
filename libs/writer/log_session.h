// The Kafka side of one writer partition: its transactional producer (transactional.id
// "<base>.p<partition>"), recreated after an error whose outcome is unknown - after
// which the writer must reload the partition's aggregates from the log - and retired for
// good once another instance has fenced it.
//
//   kam::writer::LogSession log(kafka, "kam.programme-writer.p0", 10s);
//   KAM_RETURN_IF_ERROR(log.Connect());        // fences any zombie with this id
//   auto positions = log.Append(topic, 0, records);
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

  // (Re)creates the producer; UNAVAILABLE if Kafka does not answer in time or if this
  // session was fenced (it never takes ownership back: that would fence the new owner).
  absl::Status Connect();

  // Appends in one transaction, connecting first if needed. UNAVAILABLE when Kafka does
  // not acknowledge or this session has been fenced; on an error after which the outcome
  // is unknown, needs_reload() turns true.
  absl::StatusOr<std::vector<v1::LogPosition>> Append(
      const std::string& topic, int32_t partition, std::span<const eventlog::Record> records,
      const eventlog::TransactionOffsets* offsets = nullptr);

  // UNAVAILABLE once fenced; OK otherwise.
  absl::Status CheckNotFenced() const { return fenced_ ? FencedError() : absl::OkStatus(); }
  bool needs_reload() const { return needs_reload_; }
  bool fenced() const { return fenced_; }
  void MarkReloaded() { needs_reload_ = false; }
  const eventlog::KafkaOptions& kafka() const { return kafka_; }
  const std::string& transactional_id() const { return transactional_id_; }

 private:
  absl::Status FencedError() const;

  eventlog::KafkaOptions kafka_;
  std::string transactional_id_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<eventlog::TransactionalProducer> producer_;
  bool needs_reload_ = false;
  bool fenced_ = false;
};

}  // namespace kam::writer
