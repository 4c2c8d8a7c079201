// Transactional append to the log: all records of one call become visible
// together or not at all.
//
//   auto producer = kam::eventlog::TransactionalProducer::Create(kafka, "kam.programme-writer.0");
//   absl::StatusOr<std::vector<kam::v1::LogPosition>> at =
//       (*producer)->Append(topic, {{.key = "p1", .value = bytes}});
//
// Create() registers the transactional.id with the coordinator, which fences every
// earlier producer with that id and aborts its open transaction: after Create()
// returns, no zombie can commit. Thread-safe: one transaction at a time. Metrics, by topic:
// kam_kafka_produce_duration_seconds, kam_kafka_commit_duration_seconds and
// kam_kafka_transactions_total{outcome="committed|aborted|unknown"} (base/metrics.h).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
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
  // Where the record goes when not to the append's own topic and partition (e.g. the
  // dead-letter topic): a topic, and a partition (-1: librdkafka picks one by key).
  std::string topic;
  int32_t partition = -1;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Consumer;

// Consumer offsets committed inside the same transaction as the records (Kafka's
// exactly-once consume-transform-produce): the records and "consumed up to here" become
// visible together or not at all.
struct TransactionOffsets {
  const Consumer* consumer = nullptr;  // the consumer (and group) the offsets belong to
  std::string topic;
  std::map<int32_t, int64_t> next;  // per partition: the next offset to consume
};

// Whether an error with a fencing code (librdkafka's _FENCED, or PRODUCER_FENCED) means
// another producer took over the transactional.id. librdkafka (2.0.2, against Kafka 4.1)
// reports with the same _FENCED code the coordinator's abort of a transaction that
// outlived transaction.timeout.ms, which bumps the producer's epoch: measured by holding a
// transaction open past a 2 s timeout. So a fencing that ends a transaction at least that
// old is taken for the coordinator's abort - recoverable with a new producer - and only a
// younger one for another instance.
bool FencedByAnotherProducer(bool fencing_code, std::chrono::milliseconds transaction_age,
                             std::chrono::milliseconds transaction_timeout);

// The producers' transaction.timeout.ms (a KafkaOptions property may override it).
inline constexpr std::chrono::milliseconds kTransactionTimeout{60000};

class TransactionalProducer {
 public:
  // UNAVAILABLE if the transaction coordinator cannot be reached within `timeout`.
  static absl::StatusOr<std::unique_ptr<TransactionalProducer>> Create(
      const KafkaOptions& options, std::string transactional_id,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~TransactionalProducer();
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  // Appends `records` in one transaction and returns each record's position, in order.
  // A record goes to `topic` / `partition` (-1: chosen by librdkafka from the key) unless it
  // names its own topic. With `offsets`, the consumer's offsets are committed in the same
  // transaction. Errors, with nothing committed:
  //  - UNAVAILABLE: the brokers did not acknowledge within `timeout`; the transaction
  //    was aborted, or the producer is now unusable (usable() == false) and the
  //    caller must create a new one, whose Create() aborts the open transaction;
  //  - FAILED_PRECONDITION: this producer was fenced by a newer one with its id
  //    (fenced() turns true and stays true); a transaction the coordinator aborted because
  //    it outlived transaction.timeout.ms is UNAVAILABLE with usable() false instead;
  //  - INVALID_ARGUMENT: a record was refused (e.g. larger than the broker allows).
  // Callers must treat any error as "outcome unknown" for their in-memory state only
  // in the UNAVAILABLE case after usable() turned false; see AggregateWriter.
  absl::StatusOr<std::vector<v1::LogPosition>> Append(
      const std::string& topic, int32_t partition, std::span<const Record> records,
      std::chrono::milliseconds timeout = std::chrono::seconds(10),
      const TransactionOffsets* offsets = nullptr);

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
