// The runtime every projection runs on: it consumes one topic with read_committed and
// writes each batch's read-model changes together with the consumed offsets in one
// RocksDB WriteBatch, so a crash at any point leaves the read model and its offsets
// consistent: exactly-once effect. On start it resumes from the offsets in RocksDB.
// Per partition it also keeps a running digest of what it folded, stored in the same
// WriteBatch: d(offset) = SHA-256(d(previous record) | offset | key | value | every Put and
// Delete the fold made for the record), from d = "" before offset 0. It depends neither on
// how records were batched nor on restarts, so a rebuild from offset 0 reaches the same
// digest at the same offset as the live read model (FinishBatch's writes are per batch and
// not in it). A store that holds offsets but no digest (made before digests) reports none.
// Metrics: kam_fold_records_total{topic}, kam_fold_batch_duration_seconds{topic},
// kam_consumer_lag{topic,partition} and kam_projection_caught_up{topic} (base/metrics.h).
//
// Failures: a fold's error stops the runtime (progress().error; it is deterministic, so a
// retry would fail the same way). A write the store refuses (its disk is full: Store::Write
// logs it once and sets kam_rocksdb_unwritable) pauses it instead (progress().stalled): it
// keeps the batch and retries with back-off, each time from what the store holds (the fold's
// memory Reset(), offsets and digests read back, records already stored dropped), so when
// the store takes writes again every record is folded exactly once, as after a restart.
//
//   class MyFold : public kam::readmodel::Projection { ... };
//   kam::readmodel::ProjectionRuntime rt(kafka, *store, fold, {.topic = "kam.programme.v1"});
//   KAM_RETURN_IF_ERROR(rt.Start());
//   KAM_RETURN_IF_ERROR(rt.WaitFor(positions, 5s));   // read-your-writes
//   rt.Stop();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "kam/v1/envelope.pb.h"
#include "kam/v1/history_service.pb.h"
#include "readmodel/store.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace kam::readmodel {

// A fold's view of the read model while it builds one batch: writes go to the batch; reads
// see only what is committed in the store, not the batch being built (a fold that needs
// its own pending writes keeps them in memory - cheaper than an indexed batch).
class FoldContext {
 public:
  FoldContext(const Store& store, rocksdb::WriteBatch& batch) : store_(store), batch_(batch) {}
  std::optional<std::string> GetCommitted(std::string_view key) const;
  // Calls `each` for every committed key with `prefix`, in order, until it returns false.
  void ScanCommitted(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& each) const;
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // While set, every Put and Delete is also fed to `trace` (the runtime's fold digest).
  void Trace(eventlog::Sha256Stream* trace) { trace_ = trace; }

 private:
  const Store& store_;
  rocksdb::WriteBatch& batch_;
  eventlog::Sha256Stream* trace_ = nullptr;
};

// What a projection supplies: a deterministic fold of one committed record.
class Projection {
 public:
  virtual ~Projection() = default;
  // An error stops the runtime (the batch is not written): a fold must turn bad input
  // it can describe (e.g. a record that does not parse) into read-model data instead.
  virtual absl::Status Fold(const eventlog::ConsumedRecord& record, FoldContext& ctx) = 0;
  // Called once per batch after its last Fold, before the batch is written: for state a
  // fold keeps in memory and writes once per batch rather than once per record.
  virtual absl::Status FinishBatch(FoldContext& /*ctx*/) { return absl::OkStatus(); }
  // Forgets whatever the fold keeps in memory beside the store: the runtime calls it on
  // every Start(), so memory and store agree again after a failed batch.
  virtual void Reset() {}
};

struct RuntimeOptions {
  std::string topic;
  int partitions = 3;            // used only if the topic must be created
  std::size_t max_batch = 2000;  // records per WriteBatch
  std::chrono::milliseconds poll_timeout{100};
};

class ProjectionRuntime {
 public:
  ProjectionRuntime(eventlog::KafkaOptions kafka, Store& store, Projection& projection,
                    RuntimeOptions options);
  ~ProjectionRuntime();
  ProjectionRuntime(const ProjectionRuntime&) = delete;
  ProjectionRuntime& operator=(const ProjectionRuntime&) = delete;

  // Resumes from the stored offsets and starts the consuming thread.
  absl::Status Start();
  // Stops consuming after the batch in hand is written (or dropped, if it failed).
  void Stop();

  // Returns once every position has been applied; DEADLINE_EXCEEDED naming the first
  // position still missing otherwise (UNAVAILABLE naming the store's refusal if folding is
  // paused on one); INVALID_ARGUMENT for a position of another topic
  // or a partition that does not exist; the runtime's error if it has stopped on one.
  absl::Status WaitFor(std::span<const v1::LogPosition> positions,
                       std::chrono::milliseconds timeout) const;

  // Returns once more records than `seen` have been applied since Start() (or after
  // `timeout`); the count applied so far. For change streams waiting for new events.
  uint64_t WaitForMore(uint64_t seen, std::chrono::milliseconds timeout) const;

  // Returns once every partition has been read to the end of the committed log.
  absl::Status WaitCaughtUp(std::chrono::milliseconds timeout) const;

  struct Progress {
    std::map<int32_t, int64_t> next_offsets;  // applied up to (excluding) these
    std::map<int32_t, int64_t> end_offsets;   // the log's ends as last reported by Kafka
    // Per partition: 0 once it is read to the end of the committed log (its end offset then
    // counts transaction markers no record stands for), else end - next (>= 0).
    std::map<int32_t, int64_t> partition_lag;
    // The running fold digest (32 raw bytes) at next_offsets; absent where unknown.
    std::map<int32_t, std::string> digests;
    int64_t lag = 0;               // the sum over partitions
    uint64_t records_applied = 0;  // since Start()
    bool caught_up = false;
    absl::Status error;
    // OK while folding; the store's refusal while folding is paused and retried.
    absl::Status stalled;
  };
  Progress progress() const;
  const std::string& topic() const { return options_.topic; }

  // The end of `partition` of the topic as Kafka reports it now (a round trip), or nullopt
  // if it does not answer within `timeout` or the runtime is not started.
  std::optional<int64_t> LogEnd(int32_t partition, std::chrono::milliseconds timeout) const;

 private:
  void Run();
  // Folds `batch` and writes it with its offsets; `refused` tells that the fold went through
  // but the store did not take the write (Run retries it).
  absl::Status Apply(const std::vector<eventlog::ConsumedRecord>& batch, bool& refused);
  // Offsets and fold digests as the store holds them (under mu_).
  void LoadPositionsLocked();
  // What of a refused batch is still to fold after the fold and the positions are set back
  // to what the store holds (a write reported as refused may have landed after all).
  std::vector<eventlog::ConsumedRecord> Unfolded(std::vector<eventlog::ConsumedRecord> refused);
  // Sleeps `d`, or less if Stop() is called; false if it was.
  bool SleepUnlessStopped(std::chrono::milliseconds d) const;

  eventlog::KafkaOptions kafka_;
  Store& store_;
  Projection& projection_;
  RuntimeOptions options_;
  std::unique_ptr<eventlog::Consumer> consumer_;
  int partitions_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<int32_t, int64_t> next_offsets_;
  std::map<int32_t, int64_t> end_offsets_;
  std::map<int32_t, std::string> digests_;  // written by the consuming thread under mu_
  std::set<int32_t> at_end_;  // partitions read to the end, every record of them applied
  uint64_t records_applied_ = 0;
  bool caught_up_ = false;
  absl::Status error_;
  absl::Status stalled_;

  base::Counter& folded_;
  base::Histogram& batch_seconds_;
  // Last: unregistered first, before what the callbacks read is destroyed.
  std::vector<base::CallbackRegistration> gauges_;
};

// Read-your-writes for a query: waits until, for each position in `consistency`, the
// runtime folding its topic has applied it, at most consistency.wait_timeout_ms (default
// 5000, at most 30000) for all of them together. INVALID_ARGUMENT for a topic no runtime
// folds, a timeout above the bound or more than kMaxConsistencyPositions positions;
// DEADLINE_EXCEEDED rather than an answer from stale data.
inline constexpr int kMaxConsistencyPositions = 64;
absl::Status AwaitConsistency(const v1::Consistency& consistency,
                              std::initializer_list<const ProjectionRuntime*> runtimes);

}  // namespace kam::readmodel
