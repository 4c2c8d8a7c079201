// Transactional append to the log: all records of one call become visible
// together or not at all.
//
//   auto producer = kam::eventlog::TransactionalProducer::Create(kafka, "kam.programme-writer.0");
//   absl::StatusOr<std::vector<kam::v1::LogPosition>> at =
//       (*producer)->Append(topic, {{.key = "p1", .value = bytes}});
//
// Create() registers the transactional.id with the coordinator, which fences every
// earlier producer with that id and aborts its open transaction: after Create()
// returns, no zombie can commit. Thread-safe: one transaction at a time.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"
#include "kam/v1/envelope.pb.h"

namespace RdKafka {
class Producer;
}  // namespace RdKafka

namespace kam::eventlog {

struct Record {
  std::string key;
  std::string value;
};

class TransactionalProducer {
 public:
  // UNAVAILABLE if the transaction coordinator cannot be reached within `timeout`.
  static absl::StatusOr<std::unique_ptr<TransactionalProducer>> Create(
      const KafkaOptions& options, std::string transactional_id,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~TransactionalProducer();
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  // Appends `records` to `topic` in one transaction and returns each record's position.
  // `partition` is the partition to write to (-1: chosen by librdkafka from the key). Errors, with
  // nothing committed:
  //  - UNAVAILABLE: the brokers did not acknowledge within `timeout`; the transaction
  //    was aborted, or the producer is now unusable (usable() == false) and the
  //    caller must create a new one, whose Create() aborts the open transaction;
  //  - FAILED_PRECONDITION: this producer was fenced by a newer one with its id
  //    (fenced() turns true and stays true);
  //  - INVALID_ARGUMENT: a record was refused (e.g. larger than the broker allows).
  // Callers must treat any error as "outcome unknown" for their in-memory state only
  // in the UNAVAILABLE case after usable() turned false; see AggregateWriter.
  absl::StatusOr<std::vector<v1::LogPosition>> Append(
      const std::string& topic, int32_t partition, std::span<const Record> records,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Begins a transaction, produces `records` and aborts it: a test helper proving
  // that aborted writes stay invisible to read_committed consumers.
  absl::Status AppendAndAbort(const std::string& topic, std::span<const Record> records,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool usable() const;
  bool fenced() const;
  const std::string& transactional_id() const { return transactional_id_; }

 private:
  struct Impl;
  explicit TransactionalProducer(std::string transactional_id);

  std::string transactional_id_;
  mutable std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kam::eventlog
