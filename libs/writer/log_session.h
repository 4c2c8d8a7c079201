// The Kafka side of one writer partition: its transactional producer (transactional.id
// "<base>.p<partition>"), recreated after an error whose outcome is unknown - after
// which the writer must reload the partition's aggregates from the log - and retired for
// good once another instance has fenced it.
//
// With a ClusterWatch (shared by a writer's partitions), a session whose cluster is down
// refuses at once: Connect() and Append() answer UNAVAILABLE naming the outage, touch
// neither the producer nor the log, and leave needs_reload() as it was; a transaction in
// flight stops waiting when the watch sees the cluster go down (eventlog/producer.h). When
// the watch sees a broker answer again, the next call goes through as before: nothing here
// reconnects by itself, so the fencing rules below are unchanged.
//
//   kam::writer::LogSession log(kafka, "kam.programme-writer.p0", 10s, watch);
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
  // `watch` may be null: then an outage is seen only through timeouts.
  LogSession(eventlog::KafkaOptions kafka, std::string transactional_id,
             std::chrono::milliseconds timeout,
             std::shared_ptr<const eventlog::ClusterWatch> watch = nullptr);

  // (Re)creates the producer; UNAVAILABLE if Kafka does not answer in time, if the watch
  // sees the cluster down (the old producer is kept until a new one can be made), or if
  // this session was fenced (it never takes ownership back: that would fence the new owner).
  absl::Status Connect();

  // Appends in one transaction, connecting first if needed. UNAVAILABLE when Kafka does
  // not acknowledge, the watch sees the cluster down (nothing is sent then) or this session
  // has been fenced; on an error after which the outcome is unknown, needs_reload() turns
  // true.
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
  // OK, or the watch's UNAVAILABLE with what a client should do about it.
  absl::Status Outage() const;

  eventlog::KafkaOptions kafka_;
  std::string transactional_id_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<const eventlog::ClusterWatch> watch_;
  std::unique_ptr<eventlog::TransactionalProducer> producer_;
  bool needs_reload_ = false;
  bool fenced_ = false;
};

}  // namespace kam::writer
