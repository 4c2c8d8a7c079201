// Another writer's aggregates, followed from the log: every partition of a topic replayed
// (verified, chained and quarantined exactly as the writer's own replay does) by a
// background reader, so a service can decide with facts it does not own - the metrics
// service asks the programme topic who is a member of which programme.
//
//   kam::writer::Follower<domain::ProgrammeState> programmes({.kafka = kafka,
//       .topic = "kam.programme.v1", .pipeline = {.evolve = &domain::Evolve, ...}});
//   KAM_RETURN_IF_ERROR(programmes.Start());
//   bool member = programmes.With("tetra", [&](const domain::ProgrammeState* s) { ... });
//   absl::Status may = programmes.Await("tetra", check, std::chrono::seconds(1));
//
// What it answers lags the log by a poll or two (milliseconds): a caller that must see a
// fact just committed - a grant before the first metric it allows - asks again with Await
// before it refuses (the metrics service does). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/log.h"
#include "eventlog/consumer.h"
#include "writer/pipeline.h"

namespace kam::writer {

template <typename State>
class Follower {
 public:
  struct Options {
    eventlog::KafkaOptions kafka;
    std::string topic;
    PipelineOptions<State> pipeline;  // topic, aggregate type, evolve, keyring
  };

  explicit Follower(Options options) : options_(std::move(options)) {}
  ~Follower() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Reads the topic from its beginning, in the background from now on; a topic that does
  // not exist yet is looked for again every second until it does.
  absl::Status Start() {
    auto consumer = eventlog::Consumer::Create(options_.kafka);
    if (!consumer.ok()) return consumer.status();
    thread_ = std::thread([this, c = std::move(*consumer)]() mutable { Run(*c); });
    return absl::OkStatus();
  }

  // fn(state or nullptr when the aggregate has no event), under the follower's lock.
  template <typename Fn>
  auto With(const std::string& aggregate_id, Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(Find(aggregate_id));
  }

  // fn(state or nullptr) -> absl::Status, asked again as each batch of records is folded
  // until it is OK or `timeout` has passed: its last answer. For a refusal that a fact just
  // committed elsewhere (a grant) would lift: the follower lags the log by a poll or two.
  template <typename Fn>
  absl::Status Await(const std::string& aggregate_id, Fn&& fn, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      absl::Status s = fn(Find(aggregate_id));
      if (s.ok() || stop_) return s;
      const uint64_t seen = folded_;
      if (!cv_.wait_until(lock, deadline, [&] { return folded_ != seen || stop_; })) return s;
    }
  }

 private:
  const State* Find(const std::string& aggregate_id) const {
    for (const auto& [p, part] : parts_) {
      if (auto it = part.aggregates.find(aggregate_id); it != part.aggregates.end()) {
        return &it->second.state;
      }
    }
    return nullptr;
  }

  void Run(eventlog::Consumer& consumer) {
    bool warned = false;
    while (!stop_) {
      auto partitions = eventlog::PartitionCount(options_.kafka, options_.topic);
      absl::Status assigned = partitions.status();
      if (partitions.ok()) assigned = consumer.Assign(options_.topic, *partitions, {});
      if (assigned.ok()) break;
      if (!warned) {
        base::Log(base::LogLevel::kWarning,
                  base::StrCat("follower of ", options_.topic, ": ", assigned.message(),
                               "; looking again every second"));
        warned = true;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    while (!stop_) {
      auto batch = consumer.Poll(1000, std::chrono::milliseconds(100));
      if (!batch.ok()) {
        base::Log(base::LogLevel::kWarning,
                  base::StrCat("follower of ", options_.topic, ": ", batch.status().message()));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      if (batch->empty()) continue;
      std::lock_guard<std::mutex> lock(mu_);
      for (const eventlog::ConsumedRecord& r : *batch) {
        parts_[r.partition].Replay(r, options_.pipeline);
      }
      ++folded_;
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int32_t, Partition<State>> parts_;
  uint64_t folded_ = 0;  // batches folded, for Await
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

}  // namespace kam::writer
