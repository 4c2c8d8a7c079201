// The single writer of one owned partition: a queue, a thread, and group commit.
//
// Commands submitted while a transaction is in flight wait in the queue; the next group
// takes them all (up to `max_group_commands` / `max_group_bytes`, lingering up to
// `group_linger` for more), decides them in order against the evolving state (pipeline.h)
// and appends all their events in one transaction. Every command is answered after that
// commit, each with its own result and position; if the transaction fails, every command
// that depended on it is answered UNAVAILABLE and the partition's state is as before. If
// the outcome is unknown, the partition reconnects (aborting the open transaction) and
// reads the log from its last known offset before the next group, so a retry with the
// same request id finds the original result if the commit did happen.
//
//   kam::writer::PartitionWriter<State> p(0, std::move(log), options, clock, snapshots);
//   KAM_RETURN_IF_ERROR(p.Load());   // connect (fencing) and rebuild from snapshot + log
//   p.Start();
//   std::future<Outcome> f = p.Submit(std::move(command));
//   p.Stop();
//
// Checkpoints (with CheckpointOptions.topic): every `interval`, and when the writer stops,
// if the partition moved since the last one, the writer appends a signed checkpoint of its
// aggregates' chain tips (eventlog/checkpoints.h) to the checkpoints topic in a transaction
// of its own: all tips after a load, then those that moved. A failed checkpoint is logged
// and tried again at the next interval; it never fails a command.
//
// Thread-safe. A transaction (a group given with consumer offsets) always goes alone. Every
// group's outcomes, size, append latency, abort and dead letters are counted
// (writer_metrics.h).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "base/log.h"
#include "eventlog/checkpoints.h"
#include "writer/clock.h"
#include "writer/event_log.h"
#include "writer/pipeline.h"
#include "writer/snapshots.h"
#include "writer/writer_metrics.h"

namespace kam::writer {

struct GroupOptions {
  std::size_t max_group_commands = 1000;
  std::size_t max_group_bytes = 4 << 20;
  // How long a group waits for more commands after its first.
  std::chrono::microseconds group_linger{0};
  // The least time between a commit and the next transaction's first record. Right after a
  // commit the coordinator is still writing the transaction's markers; a new transaction
  // that registers the same partition then gets CONCURRENT_TRANSACTIONS, and librdkafka
  // (2.0) retries only after a fixed 20 ms. Measured on this broker: with no gap one
  // transaction in five took 23 ms instead of 3; with 1.5 ms none did. Commands arriving
  // meanwhile join the group, so under load the gap costs nothing.
  std::chrono::microseconds transaction_gap{2000};
};

struct CheckpointOptions {
  std::string topic;  // empty: no checkpoints
  // Between periodic checkpoints; 0: only when the writer stops.
  std::chrono::milliseconds interval{60000};
  std::string writer;  // who takes them (the partition's transactional id)
};

template <typename State>
class PartitionWriter {
 public:
  struct LoadStats {
    bool from_snapshot = false;
    int64_t snapshot_offset = 0;
    uint64_t records_replayed = 0;
    uint64_t quarantined = 0;  // records kept out of the state (Partition::quarantined)
  };

  PartitionWriter(int32_t partition, std::unique_ptr<PartitionLog> log,
                  const PipelineOptions<State>& options, GroupOptions group, const Clock& clock,
                  SnapshotStore<State>* snapshots, CheckpointOptions checkpoints = {})
      : partition_(partition),
        log_(std::move(log)),
        options_(options),
        group_options_(group),
        checkpoint_options_(std::move(checkpoints)),
        clock_(clock),
        snapshots_(snapshots),
        metrics_(options.aggregate_type) {}
  ~PartitionWriter() { Stop(); }
  PartitionWriter(const PartitionWriter&) = delete;
  PartitionWriter& operator=(const PartitionWriter&) = delete;

  // Takes over the partition (fencing any earlier holder) and rebuilds its aggregates from
  // the snapshot (if any, and usable) and the log after it. Call before Start().
  absl::Status Load() {
    std::lock_guard<std::mutex> lock(state_mu_);
    KAM_RETURN_IF_ERROR(log_->Connect());
    return LoadLocked(/*use_snapshot=*/true);
  }

  void Start() {
    stop_ = false;
    last_checkpoint_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { Run(); });
  }

  // Lets the transaction in flight finish, answers what is queued (and what is submitted
  // from now on) with `why`, and stops the thread. Idempotent.
  void Stop(absl::Status why = absl::UnavailableError("the writer is shutting down")) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stop_) stop_reason_ = std::move(why);
      stop_ = true;
    }
    queue_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(queue_mu_);
    for (Item& item : queue_) Fail(item, stop_reason_);
    queue_.clear();
  }

  std::future<Outcome> Submit(Command<State> command) {
    Single single{std::move(command), {}};
    std::future<Outcome> f = single.done.get_future();
    Enqueue(Item{std::move(single)});
    return f;
  }

  // The commands in one transaction of their own, with the consumer offsets (which may
  // stay null) committed in it.
  std::future<std::vector<Outcome>> SubmitTransaction(
      std::vector<Command<State>> commands, std::optional<eventlog::TransactionOffsets> offsets) {
    Batch batch{std::move(commands), std::move(offsets), {}};
    std::future<std::vector<Outcome>> f = batch.done.get_future();
    Enqueue(Item{std::move(batch)});
    return f;
  }

  // Reads the aggregates under the partition's lock (between groups).
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(state_mu_);
    return fn(static_cast<const Partition<State>&>(state_));
  }

  absl::Status WriteSnapshot() {
    std::lock_guard<std::mutex> lock(state_mu_);
    return WriteSnapshotLocked();
  }

  // Appends a checkpoint now if the partition moved since the last one (a no-op without a
  // checkpoints topic). UNAVAILABLE if the log did not take it.
  absl::Status WriteCheckpoint() {
    std::lock_guard<std::mutex> lock(state_mu_);
    absl::Status s = CheckpointLocked();
    fenced_.store(log_->fenced(), std::memory_order_relaxed);
    return s;
  }

  LoadStats load_stats() const {
    std::lock_guard<std::mutex> lock(state_mu_);
    return load_;
  }
  int32_t partition() const { return partition_; }
  // True once the partition's transactional id was taken over (by another instance, or by
  // a late InitProducerId of this one): this writer never writes it again. Seen after each
  // group and checkpoint, so that it never waits for a transaction in flight.
  bool fenced() const { return fenced_.load(std::memory_order_relaxed); }

  struct Counters {
    uint64_t groups = 0;
    uint64_t commands = 0;
    uint64_t aborted_groups = 0;
    uint64_t checkpoints = 0;  // checkpoint transactions committed
  };
  Counters counters() const {
    std::lock_guard<std::mutex> lock(state_mu_);
    return counters_;
  }

 private:
  struct Single {
    Command<State> command;
    std::promise<Outcome> done;
  };
  struct Batch {
    std::vector<Command<State>> commands;
    std::optional<eventlog::TransactionOffsets> offsets;
    std::promise<std::vector<Outcome>> done;
  };
  using Item = std::variant<Single, Batch>;

  static void Fail(Item& item, const absl::Status& why) {
    if (auto* s = std::get_if<Single>(&item)) {
      Outcome o;
      o.result = why;
      s->done.set_value(std::move(o));
    } else {
      auto& b = std::get<Batch>(item);
      std::vector<Outcome> out(b.commands.size());
      for (auto& o : out) o.result = why;
      b.done.set_value(std::move(out));
    }
  }

  void Enqueue(Item item) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stop_) {
        queue_.push_back(std::move(item));
        queue_cv_.notify_one();
        return;
      }
    }
    Fail(item, stop_reason_);
  }

  static std::size_t Bytes(const Single& s) {
    return s.command.metadata.ByteSizeLong() + s.command.aggregate_id.size() + 256;
  }

  void Run() {
    while (true) {
      std::vector<Single> singles;
      std::optional<Batch> batch;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        const auto ready = [&] { return stop_ || !queue_.empty(); };
        if (periodic_checkpoints()) {
          if (!queue_cv_.wait_until(lock, last_checkpoint_ + checkpoint_options_.interval, ready)) {
            lock.unlock();
            CheckpointInBackground();
            continue;
          }
        } else {
          queue_cv_.wait(lock, ready);
        }
        if (stop_) {
          lock.unlock();
          CheckpointInBackground();  // the tips as the writer leaves them
          return;
        }
        if (std::holds_alternative<Batch>(queue_.front())) {
          batch = std::move(std::get<Batch>(queue_.front()));
          queue_.pop_front();
        } else {
          std::size_t bytes = 0;
          const auto linger_until =
              std::max(std::chrono::steady_clock::now() + group_options_.group_linger,
                       last_commit_ + group_options_.transaction_gap);
          while (true) {
            while (!queue_.empty() && std::holds_alternative<Single>(queue_.front()) &&
                   singles.size() < group_options_.max_group_commands &&
                   bytes < group_options_.max_group_bytes) {
              bytes += Bytes(std::get<Single>(queue_.front()));
              singles.push_back(std::move(std::get<Single>(queue_.front())));
              queue_.pop_front();
            }
            const bool full = singles.size() >= group_options_.max_group_commands ||
                              bytes >= group_options_.max_group_bytes;
            if (full || std::chrono::steady_clock::now() >= linger_until || stop_ ||
                (!queue_.empty() && std::holds_alternative<Batch>(queue_.front()))) {
              break;
            }
            if (queue_cv_.wait_until(lock, linger_until) == std::cv_status::timeout) {
              // Take what arrived by the deadline, then go.
              while (!queue_.empty() && std::holds_alternative<Single>(queue_.front()) &&
                     singles.size() < group_options_.max_group_commands) {
                singles.push_back(std::move(std::get<Single>(queue_.front())));
                queue_.pop_front();
              }
              break;
            }
          }
        }
      }
      if (batch) {
        auto outcomes =
            Process(std::move(batch->commands), batch->offsets ? &*batch->offsets : nullptr);
        batch->done.set_value(std::move(outcomes));
      } else if (!singles.empty()) {
        std::vector<Command<State>> commands;
        commands.reserve(singles.size());
        for (Single& s : singles) commands.push_back(std::move(s.command));
        auto outcomes = Process(std::move(commands), nullptr);
        for (std::size_t i = 0; i < singles.size(); ++i) {
          singles[i].done.set_value(std::move(outcomes[i]));
        }
      }
      if (periodic_checkpoints() &&
          std::chrono::steady_clock::now() >= last_checkpoint_ + checkpoint_options_.interval) {
        CheckpointInBackground();
      }
    }
  }

  bool periodic_checkpoints() const {
    return !checkpoint_options_.topic.empty() && checkpoint_options_.interval.count() > 0;
  }

  // On the writer thread: a checkpoint whose failure is only logged.
  void CheckpointInBackground() {
    last_checkpoint_ = std::chrono::steady_clock::now();
    if (auto s = WriteCheckpoint(); !s.ok()) {
      base::Log(base::LogLevel::kWarning,
                base::StrCat("checkpoint of ", options_.topic, "/", partition_,
                             " not written (next try in ", checkpoint_options_.interval.count(),
                             " ms): ", s.message()),
                {{"topic", options_.topic}, {"partition", partition_}});
    }
  }

  absl::Status CheckpointLocked() {
    if (checkpoint_options_.topic.empty() || log_->fenced()) return absl::OkStatus();
    if (needs_reload_) {
      return absl::UnavailableError("the last append's outcome is unknown; the tips are not");
    }
    if (state_.next_offset == 0 || state_.next_offset == checkpointed_offset_) {
      return absl::OkStatus();  // nothing (new) to state
    }
    const bool complete = !checkpointed_since_load_;
    v1::Checkpoint c;
    c.set_topic(options_.topic);
    c.set_partition(partition_);
    c.set_next_offset(state_.next_offset);
    *c.mutable_taken_at() = ToTimestamp(clock_.Now());
    c.set_writer(checkpoint_options_.writer);
    c.set_complete(complete);
    c.set_aggregates(state_.aggregates.size());
    std::vector<v1::AggregateTip> tips;
    for (const auto& [id, a] : state_.aggregates) {
      if (a.chain.version == 0 || (!complete && a.checkpointed == a.chain.version)) continue;
      v1::AggregateTip& tip = tips.emplace_back();
      tip.set_aggregate_type(options_.aggregate_type);
      tip.set_aggregate_id(id);
      tip.set_version(a.chain.version);
      tip.set_hash(a.chain.last_hash);
    }
    std::sort(tips.begin(), tips.end(),
              [](const auto& x, const auto& y) { return x.aggregate_id() < y.aggregate_id(); });
    std::vector<eventlog::Record> records;
    const std::string key = base::StrCat(options_.topic, "/", partition_);
    for (std::string& bytes : eventlog::SealCheckpoint(c, tips, options_.signer)) {
      records.push_back({key, std::move(bytes), checkpoint_options_.topic, 0, {}});
    }
    AppendOutcome appended = log_->Append(records, nullptr);
    if (!appended.status.ok()) {
      if (appended.outcome_unknown) needs_reload_ = true;
      return absl::UnavailableError(
          base::StrCat("the log did not take the checkpoint: ", appended.status.message()));
    }
    for (const v1::AggregateTip& tip : tips) {
      state_.aggregates[tip.aggregate_id()].checkpointed = tip.version();
    }
    checkpointed_offset_ = state_.next_offset;
    checkpointed_since_load_ = true;
    ++counters_.checkpoints;
    return absl::OkStatus();
  }

  std::vector<Outcome> Process(std::vector<Command<State>> commands,
                               const eventlog::TransactionOffsets* offsets) {
    std::lock_guard<std::mutex> lock(state_mu_);
    std::vector<Outcome> outcomes = ProcessLocked(std::move(commands), offsets);
    fenced_.store(log_->fenced(), std::memory_order_relaxed);
    metrics_.Count(outcomes);
    return outcomes;
  }

  std::vector<Outcome> ProcessLocked(std::vector<Command<State>> commands,
                                     const eventlog::TransactionOffsets* offsets) {
    auto fail_all = [&](const absl::Status& why) {
      std::vector<Outcome> out(commands.size());
      for (auto& o : out) o.result = why;
      return out;
    };
    if (log_->fenced()) return fail_all(FencedError());
    if (needs_reload_) {
      // The last transaction's outcome is unknown: a fresh producer aborts it if it is still
      // open, and the log after the last known offset tells whether it committed.
      if (auto s = log_->Connect(); !s.ok()) {
        return fail_all(log_->fenced() ? FencedError() : absl::Status(s));
      }
      if (auto s = ReplayLocked(state_.next_offset, state_); !s.ok()) return fail_all(s);
      needs_reload_ = false;
    }
    Group<State> group(state_, options_, clock_.Now());
    for (auto& c : commands) group.Add(std::move(c));
    ++counters_.groups;
    counters_.commands += commands.size();
    metrics_.group_commands.Observe(static_cast<double>(commands.size()));
    if (group.records().empty() && offsets == nullptr) return group.Commit({});
    const auto appending = std::chrono::steady_clock::now();
    AppendOutcome appended = log_->Append(group.records(), offsets);
    last_commit_ = std::chrono::steady_clock::now();
    metrics_.append_seconds.Observe(
        std::chrono::duration<double>(last_commit_ - appending).count());
    if (!appended.status.ok()) {
      ++counters_.aborted_groups;
      metrics_.aborts.Inc();
      if (appended.outcome_unknown) needs_reload_ = true;
      absl::Status why =
          log_->fenced()
              ? FencedError()
              : absl::UnavailableError(base::StrCat(
                    "the log did not take the command: ", appended.status.message(), "; retry it"));
      if (!log_->fenced() && appended.status.code() == absl::StatusCode::kInvalidArgument) {
        why = appended.status;  // the log refused a record (too large): retrying will not help
      }
      return group.Abort(why);
    }
    auto outcomes = group.Commit(appended.positions);
    for (const Outcome& o : outcomes) {
      if (o.dead_lettered) {
        metrics_.CountDeadLetters(group.records());
        break;
      }
    }
    since_snapshot_ += group.records().size();
    if (snapshots_ != nullptr && since_snapshot_ >= snapshots_->every_events()) {
      if (auto s = WriteSnapshotLocked(); !s.ok()) {
        base::Log(
            base::LogLevel::kWarning,
            base::StrCat("snapshot of ", options_.topic, "/", partition_, " failed: ", s.message()),
            {{"topic", options_.topic}, {"partition", partition_}});
      }
    }
    return outcomes;
  }

  absl::Status FencedError() const {
    return base::WithReason(
        absl::UnavailableError(base::StrCat(
            "the writer of ", options_.topic, "/", partition_,
            " was fenced: another instance owns this partition now; send the command there")),
        base::kReasonNotOwner);
  }

  absl::Status ReplayLocked(int64_t from, Partition<State>& into) {
    return log_->Read(from, [&](const eventlog::ConsumedRecord& r) {
      ++load_.records_replayed;
      into.Replay(r, options_);
    });
  }

  absl::Status LoadLocked(bool use_snapshot) {
    Partition<State> fresh;
    std::optional<int64_t> from;
    if (use_snapshot && snapshots_ != nullptr) from = snapshots_->Load(partition_, fresh);
    load_ = LoadStats{from.has_value(), from.value_or(0), 0};
    fresh.next_offset = from.value_or(0);
    KAM_RETURN_IF_ERROR(ReplayLocked(fresh.next_offset, fresh));
    if (from) {
      for (const auto& [id, a] : fresh.aggregates) {
        if (!a.chain.broken.empty()) {
          // The snapshot does not continue this log (or the log was tampered with): the
          // log is the truth, so rebuild from its beginning.
          base::Log(base::LogLevel::kWarning,
                    base::StrCat("snapshot of ", options_.topic, "/", partition_,
                                 " does not continue the log; replaying it from the start"),
                    {{"topic", options_.topic}, {"partition", partition_}});
          return LoadLocked(/*use_snapshot=*/false);
        }
      }
    }
    for (const std::string& q : fresh.quarantined) {
      base::Log(base::LogLevel::kWarning,
                base::StrCat("quarantined a record that is not an authentic event: ", q),
                {{"topic", options_.topic}, {"partition", partition_}});
    }
    load_.quarantined = fresh.quarantined.size();
    state_ = std::move(fresh);
    checkpointed_since_load_ = false;
    checkpointed_offset_ = -1;
    since_snapshot_ = 0;
    needs_reload_ = false;
    return absl::OkStatus();
  }

  absl::Status WriteSnapshotLocked() {
    if (snapshots_ == nullptr) return absl::OkStatus();
    KAM_RETURN_IF_ERROR(snapshots_->Write(partition_, state_));
    since_snapshot_ = 0;
    return absl::OkStatus();
  }

  const int32_t partition_;
  std::unique_ptr<PartitionLog> log_;
  const PipelineOptions<State>& options_;
  const GroupOptions group_options_;
  const CheckpointOptions checkpoint_options_;
  const Clock& clock_;
  SnapshotStore<State>* const snapshots_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  absl::Status stop_reason_;  // what a command gets once stop_ is set
  std::thread thread_;
  std::chrono::steady_clock::time_point last_commit_;      // written by the writer thread only
  std::chrono::steady_clock::time_point last_checkpoint_;  // likewise

  mutable std::mutex state_mu_;  // guards everything below
  Partition<State> state_;
  bool needs_reload_ = false;
  bool checkpointed_since_load_ = false;
  int64_t checkpointed_offset_ = -1;  // state_.next_offset at the last checkpoint
  uint64_t since_snapshot_ = 0;
  LoadStats load_;
  Counters counters_;
  std::atomic<bool> fenced_{false};  // log_->fenced() as last seen
  WriterMetrics metrics_;
};

}  // namespace kam::writer
