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
//
// A ClusterWatch tells whether the cluster can be reached at all, so that a writer refuses
// commands at once during an outage instead of letting each wait out its timeout:
//
//   auto watch = kam::eventlog::ClusterWatch::Start(kafka, {.topic = "kam.programme.v1"});
//   if (absl::Status s = watch->Reachable(); !s.ok()) return s;  // "all brokers are down since"
//   auto producer = kam::eventlog::TransactionalProducer::Create(kafka, id, 10s, watch);
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"
#include "kam/v1/envelope.pb.h"

namespace RdKafka {
class Producer;
}  // namespace RdKafka
struct rd_kafka_s;        // librdkafka's rd_kafka_t
struct rd_kafka_topic_s;  // and rd_kafka_topic_t

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

// Whether any broker of a cluster can be reached, watched by a client of its own (no
// transaction, no record) and a thread that serves it. The cluster is down from the moment
// librdkafka reports every broker connection down (_ALL_BROKERS_DOWN, right after the last
// connection fails or is refused), or after `missed_heartbeats` metadata requests in a row
// went unanswered (a network that drops packets closes no connection); it is up again when
// a metadata request is answered: asked every `probe` while down, every `heartbeat` while
// up (which also keeps the connection from being closed as idle, which librdkafka would
// report as every broker down). Until the first report the cluster counts as up, so a
// process starts as it would without a watch.
//
// Only a whole-cluster outage counts: one broker of three down is librdkafka's failover,
// not a reason to refuse. Thread-safe. Metrics: kam_kafka_cluster_down (1 while a watch
// sees the cluster down), kam_kafka_cluster_outages_total.
class ClusterWatch {
 public:
  struct Options {
    // An existing topic the metadata requests ask about, so that an answer is small; empty:
    // every topic of the cluster (librdkafka asks for all when given none).
    std::string topic;
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds probe{250};
    std::chrono::milliseconds request_timeout{2000};  // of one metadata request
    int missed_heartbeats = 3;
  };

  // INVALID_ARGUMENT on a bad Kafka property; INTERNAL if librdkafka refuses the client.
  static absl::StatusOr<std::shared_ptr<ClusterWatch>> Start(const KafkaOptions& options,
                                                             Options watch);
  ~ClusterWatch();  // stops the thread and the client
  ClusterWatch(const ClusterWatch&) = delete;
  ClusterWatch& operator=(const ClusterWatch&) = delete;

  // OK while the cluster is up; otherwise UNAVAILABLE "kafka: all brokers are down since
  // <UTC time> (<seconds> s): <the last connection error>".
  absl::Status Reachable() const;
  bool down() const { return down_.load(std::memory_order_acquire); }

 private:
  ClusterWatch() = default;
  static void OnError(rd_kafka_s* rk, int err, const char* reason, void* opaque);
  void Run();
  void MarkDown(std::string why);
  void MarkUp();
  bool Answers(std::chrono::milliseconds timeout);

  Options options_;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_topic_s* topic_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> down_{false};
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point since_;  // guarded by mu_
  std::string why_;                              // guarded by mu_
  std::string last_error_;                       // guarded by mu_: the last connection error
};

class TransactionalProducer {
 public:
  // UNAVAILABLE if the transaction coordinator cannot be reached within `timeout`, or
  // sooner once `watch` (optional) sees the cluster down.
  static absl::StatusOr<std::unique_ptr<TransactionalProducer>> Create(
      const KafkaOptions& options, std::string transactional_id,
      std::chrono::milliseconds timeout = std::chrono::seconds(30),
      std::shared_ptr<const ClusterWatch> watch = nullptr);
  ~TransactionalProducer();
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  // Appends `records` in one transaction and returns each record's position, in order.
  // A record goes to `topic` / `partition` (-1: chosen by librdkafka from the key) unless it
  // names its own topic. With `offsets`, the consumer's offsets are committed in the same
  // transaction. Errors, with nothing committed:
  //  - UNAVAILABLE: the brokers did not acknowledge within `timeout` (or, with a watch,
  //    the watch saw the cluster go down meanwhile: waiting longer would not help); the
  //    transaction was aborted, or the producer is now unusable (usable() == false) and the
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
