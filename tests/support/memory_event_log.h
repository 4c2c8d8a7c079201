// An in-memory EventLog for fast unit tests of the writer: transactions commit atomically
// into per-partition record lists, and a test can make the next append abort, fail with
// an unknown outcome (committed or not), or find itself fenced, and can hold appends to
// see what groups form while a transaction is in flight.
//
//   auto log = std::make_unique<kam::testing::MemoryEventLog>();
//   auto* mem = log.get();
//   kam::writer::AggregateWriter<State> w(std::move(log), options, &Evolve);
//   mem->FailNext(kam::testing::MemoryEventLog::Fault::kAbort);
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/strings.h"
#include "eventlog/kafka.h"
#include "writer/event_log.h"

namespace kam::testing {

class MemoryEventLog final : public writer::EventLog {
 public:
  enum class Fault { kNone, kAbort, kUnknownCommitted, kUnknownNotCommitted, kFenced };

  absl::Status EnsureTopic(const std::string& topic, int partitions) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& t = topics_[topic];
    if (t.empty()) t.resize(static_cast<std::size_t>(partitions));
    return absl::OkStatus();
  }
  absl::StatusOr<int> PartitionCount(const std::string& topic) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return absl::NotFoundError(topic);
    return static_cast<int>(it->second.size());
  }
  std::unique_ptr<writer::PartitionLog> OpenPartition(const std::string& topic, int32_t partition,
                                                      const std::string& id) override {
    return std::make_unique<Partition>(*this, topic, partition, id);
  }

  // The next append to arrive (after any already waiting on a hold) fails so.
  void FailNext(Fault fault) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_[arrived_ + 1] = fault;
  }
  // While held, appends wait (after they arrive) until released.
  void HoldAppends() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void ReleaseAppends() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    cv_.notify_all();
  }
  // Waits until `n` appends are waiting on the hold.
  void AwaitHeld(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }

  int transactions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return transactions_;
  }
  std::vector<eventlog::ConsumedRecord> Records(const std::string& topic, int32_t partition) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end() || partition >= static_cast<int32_t>(it->second.size())) return {};
    return it->second[static_cast<std::size_t>(partition)];
  }
  std::vector<eventlog::ConsumedRecord> AllRecords(const std::string& topic) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<eventlog::ConsumedRecord> out;
    auto it = topics_.find(topic);
    if (it == topics_.end()) return out;
    for (const auto& p : it->second) out.insert(out.end(), p.begin(), p.end());
    return out;
  }
  // Consumer offsets committed in transactions: topic -> partition -> next offset.
  std::map<std::string, std::map<int32_t, int64_t>> committed_offsets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return offsets_;
  }
  // Another instance takes over `transactional_id`: its holder is fenced.
  void FenceHolder(const std::string& transactional_id) {
    std::lock_guard<std::mutex> lock(mu_);
    ++epochs_[transactional_id];
  }

 private:
  class Partition final : public writer::PartitionLog {
   public:
    Partition(MemoryEventLog& log, std::string topic, int32_t partition, std::string id)
        : log_(log), topic_(std::move(topic)), partition_(partition), id_(std::move(id)) {}
    absl::Status Connect() override {
      std::lock_guard<std::mutex> lock(log_.mu_);
      if (fenced_) return absl::UnavailableError("fenced");
      epoch_ = ++log_.epochs_[id_];
      return absl::OkStatus();
    }
    writer::AppendOutcome Append(std::span<const eventlog::Record> records,
                                 const eventlog::TransactionOffsets* offsets) override {
      std::unique_lock<std::mutex> lock(log_.mu_);
      const int arrival = ++log_.arrived_;
      ++log_.waiting_;
      log_.cv_.notify_all();
      log_.cv_.wait(lock, [&] { return !log_.held_; });
      --log_.waiting_;
      writer::AppendOutcome out;
      if (fenced_ || log_.epochs_[id_] != epoch_) {
        fenced_ = true;
        out.status = absl::FailedPreconditionError("fenced");
        return out;
      }
      Fault fault = Fault::kNone;
      if (auto f = log_.faults_.find(arrival); f != log_.faults_.end()) {
        fault = f->second;
        log_.faults_.erase(f);
      }
      if (fault == Fault::kFenced) {
        fenced_ = true;
        out.status = absl::FailedPreconditionError("fenced");
        return out;
      }
      if (fault == Fault::kAbort || fault == Fault::kUnknownNotCommitted) {
        out.status = absl::UnavailableError("injected failure");
        out.outcome_unknown = fault == Fault::kUnknownNotCommitted;
        return out;
      }
      ++log_.transactions_;
      for (const auto& r : records) {
        const std::string& topic = r.topic.empty() ? topic_ : r.topic;
        auto& t = log_.topics_[topic];
        if (t.empty()) t.resize(1);
        const std::size_t p = r.topic.empty()
                                  ? static_cast<std::size_t>(partition_)
                                  : static_cast<std::size_t>(r.partition < 0 ? 0 : r.partition);
        auto& part = t[p];
        eventlog::ConsumedRecord c;
        c.topic = topic;
        c.partition = static_cast<int32_t>(p);
        c.offset = static_cast<int64_t>(part.size());
        c.key = r.key;
        c.value = r.value;
        c.headers = r.headers;
        part.push_back(c);
        v1::LogPosition pos;
        pos.set_topic(topic);
        pos.set_partition(c.partition);
        pos.set_offset(c.offset);
        out.positions.push_back(pos);
      }
      if (offsets != nullptr) {
        for (const auto& [p, next] : offsets->next) log_.offsets_[offsets->topic][p] = next;
      }
      if (fault == Fault::kUnknownCommitted) {
        out.positions.clear();
        out.status = absl::UnavailableError("injected: commit outcome unknown");
        out.outcome_unknown = true;
      }
      return out;
    }
    absl::Status Read(int64_t from,
                      const std::function<void(const eventlog::ConsumedRecord&)>& each) override {
      const auto records = log_.Records(topic_, partition_);
      for (const auto& r : records) {
        if (r.offset >= from) each(r);
      }
      return absl::OkStatus();
    }
    bool fenced() const override { return fenced_; }

   private:
    MemoryEventLog& log_;
    std::string topic_;
    int32_t partition_;
    std::string id_;
    int epoch_ = 0;
    bool fenced_ = false;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::vector<eventlog::ConsumedRecord>>> topics_;
  std::map<std::string, std::map<int32_t, int64_t>> offsets_;
  std::map<std::string, int> epochs_;
  std::map<int, Fault> faults_;  // by arrival number of the append
  int arrived_ = 0;
  bool held_ = false;
  int waiting_ = 0;
  int transactions_ = 0;
};

}  // namespace kam::testing
