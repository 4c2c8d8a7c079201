#include "readmodel/projection_runtime.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "base/strings.h"

namespace kam::readmodel {
namespace {
// Between the retries of a batch the store refused: doubling from the first to the last.
constexpr std::chrono::milliseconds kFirstRetry{200};
constexpr std::chrono::milliseconds kLastRetry{5000};
}  // namespace

std::optional<std::string> FoldContext::GetCommitted(std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      store_.db()->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) throw std::runtime_error("rocksdb read: " + s.ToString());  // storage failure
  return value;
}

void FoldContext::ScanCommitted(
    std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& each) const {
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (!each({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()})) {
      break;
    }
  }
  if (!it->status().ok()) throw std::runtime_error("rocksdb scan: " + it->status().ToString());
}

namespace {

void TraceBytes(eventlog::Sha256Stream& trace, std::string_view bytes) {
  trace.Update(EncodeU64(bytes.size()));
  trace.Update(bytes);
}

}  // namespace

void FoldContext::Put(std::string_view key, std::string_view value) {
  if (trace_ != nullptr) {
    trace_->Update("P");
    TraceBytes(*trace_, key);
    TraceBytes(*trace_, value);
  }
  batch_.Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
}

void FoldContext::Delete(std::string_view key) {
  if (trace_ != nullptr) {
    trace_->Update("D");
    TraceBytes(*trace_, key);
  }
  batch_.Delete(rocksdb::Slice(key.data(), key.size()));
}

namespace {

base::MetricFamily<base::Counter>& FoldedFamily() {
  static auto& family = base::Metrics().Counters(
      "kam_fold_records_total", "Records folded into the read model, by topic", {"topic"});
  return family;
}

base::MetricFamily<base::Histogram>& BatchFamily() {
  static auto& family = base::Metrics().Histograms(
      "kam_fold_batch_duration_seconds",
      "Folding one polled batch and writing it with its offsets to RocksDB, by topic", {"topic"},
      base::LatencyBuckets());
  return family;
}

}  // namespace

ProjectionRuntime::ProjectionRuntime(eventlog::KafkaOptions kafka, Store& store,
                                     Projection& projection, RuntimeOptions options)
    : kafka_(std::move(kafka)),
      store_(store),
      projection_(projection),
      options_(std::move(options)),
      folded_(FoldedFamily().With({options_.topic})),
      batch_seconds_(BatchFamily().With({options_.topic})) {
  gauges_.push_back(base::Metrics().GaugeCallback(
      "kam_consumer_lag",
      "Offsets of a partition (records and transaction markers) the read model has still to "
      "read; 0 once it has read to the end. By topic and partition",
      {"topic", "partition"}, [this](base::GaugeSamples& out) {
        for (const auto& [p, lag] : progress().partition_lag) {
          out.push_back({{options_.topic, std::to_string(p)}, static_cast<double>(lag)});
        }
      }));
  gauges_.push_back(base::Metrics().GaugeCallback(
      "kam_projection_caught_up",
      "1 once every partition of the topic is folded to the end of the committed log, else 0",
      {"topic"}, [this](base::GaugeSamples& out) {
        const Progress p = progress();
        if (!p.next_offsets.empty()) out.push_back({{options_.topic}, p.caught_up ? 1.0 : 0.0});
      }));
}

ProjectionRuntime::~ProjectionRuntime() { Stop(); }

absl::Status ProjectionRuntime::Start() {
  if (thread_.joinable()) return absl::FailedPreconditionError("projection already started");
  projection_.Reset();
  if (auto s = eventlog::EnsureTopic(kafka_, options_.topic, options_.partitions); !s.ok())
    return s;
  auto partitions = eventlog::PartitionCount(kafka_, options_.topic);
  if (!partitions.ok()) return partitions.status();
  partitions_ = *partitions;
  auto consumer = eventlog::Consumer::Create(kafka_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  std::map<int32_t, int64_t> start = store_.Offsets(options_.topic);
  if (auto s = consumer_->Assign(options_.topic, partitions_, start); !s.ok()) return s;
  // The log's ends now, so that the lag is right before the first fetch answers (a
  // partition that does not answer in time shows its lag after that fetch).
  std::map<int32_t, int64_t> ends =
      consumer_->QueryEndOffsets(options_.topic, std::chrono::seconds(5));
  {
    std::lock_guard<std::mutex> lock(mu_);
    LoadPositionsLocked();
    end_offsets_ = std::move(ends);
    at_end_.clear();
    records_applied_ = 0;
    caught_up_ = false;
    error_ = absl::OkStatus();
    stalled_ = absl::OkStatus();
  }
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ProjectionRuntime::LoadPositionsLocked() {
  next_offsets_ = store_.Offsets(options_.topic);
  digests_ = store_.FoldDigests(options_.topic);
  for (int32_t p = 0; p < partitions_; ++p) {
    if (next_offsets_.try_emplace(p, 0).first->second == 0) digests_[p] = "";
  }
}

void ProjectionRuntime::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  consumer_.reset();
}

void ProjectionRuntime::Run() {
  std::vector<eventlog::ConsumedRecord> refused;  // a batch the store did not take
  std::chrono::milliseconds backoff = kFirstRetry;
  while (!stop_) {
    std::vector<eventlog::ConsumedRecord> batch;
    if (refused.empty()) {
      auto polled = consumer_->Poll(options_.max_batch, options_.poll_timeout);
      if (!polled.ok()) {
        // A consumer error (e.g. the broker is away): librdkafka reconnects by itself.
        std::this_thread::sleep_for(options_.poll_timeout);
        continue;
      }
      batch = std::move(*polled);
      // The ends the fetch of this batch reported count while the batch is folded.
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [p, end] : consumer_->EndOffsets(options_.topic)) end_offsets_[p] = end;
      for (const auto& r : batch) at_end_.erase(r.partition);
    } else {
      // The consumer stays where it is: the refused batch is what it returned last.
      if (!SleepUnlessStopped(backoff)) return;
      backoff = std::min(2 * backoff, kLastRetry);
      batch = Unfolded(std::move(refused));
      refused.clear();
    }
    bool store_refused = false;
    absl::Status s = Apply(batch, store_refused);
    std::lock_guard<std::mutex> lock(mu_);
    if (store_refused) {
      refused = std::move(batch);
      stalled_ = s;
      caught_up_ = false;
      cv_.notify_all();
      continue;
    }
    stalled_ = absl::OkStatus();
    backoff = kFirstRetry;
    if (!s.ok()) {
      error_ = s;
      cv_.notify_all();
      return;
    }
    at_end_ = consumer_->reached_end();
    caught_up_ = static_cast<int>(at_end_.size()) == partitions_;
    cv_.notify_all();
  }
}

std::vector<eventlog::ConsumedRecord> ProjectionRuntime::Unfolded(
    std::vector<eventlog::ConsumedRecord> refused) {
  projection_.Reset();
  std::lock_guard<std::mutex> lock(mu_);
  LoadPositionsLocked();
  std::erase_if(refused, [&](const eventlog::ConsumedRecord& r) {
    auto next = next_offsets_.find(r.partition);
    return next != next_offsets_.end() && r.offset < next->second;
  });
  return refused;
}

bool ProjectionRuntime::SleepUnlessStopped(std::chrono::milliseconds d) const {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop_) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
  }
  return false;
}

absl::Status ProjectionRuntime::Apply(const std::vector<eventlog::ConsumedRecord>& batch,
                                      bool& refused) {
  if (batch.empty()) return absl::OkStatus();
  const auto started = std::chrono::steady_clock::now();
  rocksdb::WriteBatch wb;
  FoldContext ctx(store_, wb);
  std::map<int32_t, int64_t> next;
  std::map<int32_t, std::string> digests;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : batch) {
      if (auto d = digests_.find(r.partition); d != digests_.end()) digests.insert(*d);
    }
  }
  eventlog::Sha256Stream trace;
  for (const auto& r : batch) {
    auto digest = digests.find(r.partition);
    if (digest != digests.end()) {
      trace.Update(digest->second);
      trace.Update(EncodeU64(static_cast<uint64_t>(r.offset)));
      TraceBytes(trace, r.key);
      TraceBytes(trace, r.value);
      ctx.Trace(&trace);
    }
    absl::Status s;
    try {
      s = projection_.Fold(r, ctx);
    } catch (const std::exception& e) {  // e.g. the store failed a read: stop, do not crash
      s = absl::InternalError(e.what());
    }
    ctx.Trace(nullptr);
    if (digest != digests.end()) digest->second = trace.Finish();
    if (!s.ok()) {
      return absl::Status(s.code(), base::StrCat("fold of ", r.topic, "/", r.partition, "@",
                                                 r.offset, ": ", s.message()));
    }
    next[r.partition] = r.offset + 1;
  }
  if (absl::Status s = projection_.FinishBatch(ctx); !s.ok()) {
    return absl::Status(s.code(), base::StrCat("fold of ", options_.topic, ": ", s.message()));
  }
  for (const auto& [p, o] : next) {
    ctx.Put(Store::OffsetKey(options_.topic, p), EncodeU64(static_cast<uint64_t>(o)));
  }
  for (const auto& [p, d] : digests) ctx.Put(Store::FoldDigestKey(options_.topic, p), d);
  if (absl::Status s = store_.Write(wb); !s.ok()) {
    refused = true;
    return s;
  }
  folded_.Inc(batch.size());
  batch_seconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [p, o] : next) next_offsets_[p] = o;
  for (auto& [p, d] : digests) digests_[p] = std::move(d);
  records_applied_ += batch.size();
  return absl::OkStatus();
}

absl::Status ProjectionRuntime::WaitFor(std::span<const v1::LogPosition> positions,
                                        std::chrono::milliseconds timeout) const {
  for (const auto& p : positions) {
    if (p.topic() != options_.topic) {
      return absl::InvalidArgumentError(base::StrCat("consistency.at_least: topic '", p.topic(),
                                                     "' is not served here (", options_.topic,
                                                     ")"));
    }
    if (p.partition() < 0 || p.partition() >= partitions_ || p.offset() < 0) {
      return absl::InvalidArgumentError(base::StrCat(
          "consistency.at_least: no position ", p.partition(), "@", p.offset(), " in ", p.topic()));
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  const v1::LogPosition* missing = nullptr;
  auto reached = [&] {
    if (!error_.ok()) return true;
    for (const auto& p : positions) {
      auto it = next_offsets_.find(p.partition());
      if (it == next_offsets_.end() || it->second <= p.offset()) {
        missing = &p;
        return false;
      }
    }
    return true;
  };
  if (!cv_.wait_for(lock, timeout, reached)) {
    if (!stalled_.ok()) {
      return absl::UnavailableError(
          base::StrCat("read model has not reached ", missing->topic(), "/", missing->partition(),
                       "@", missing->offset(), " within ", timeout.count(),
                       " ms: folding is paused (", stalled_.message(), "); retry later"));
    }
    return absl::DeadlineExceededError(base::StrCat(
        "read model has not reached ", missing->topic(), "/", missing->partition(), "@",
        missing->offset(), " within ", timeout.count(), " ms (it is at offset ",
        next_offsets_.count(missing->partition()) ? next_offsets_.at(missing->partition()) : 0,
        "); retry later"));
  }
  return error_.ok()
             ? absl::OkStatus()
             : absl::UnavailableError(base::StrCat("projection stopped: ", error_.message()));
}

absl::Status ProjectionRuntime::WaitCaughtUp(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return caught_up_ || !error_.ok(); })) {
    return absl::DeadlineExceededError("projection did not catch up in time");
  }
  return error_;
}

uint64_t ProjectionRuntime::WaitForMore(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return records_applied_ > seen || !error_.ok(); });
  return records_applied_;
}

ProjectionRuntime::Progress ProjectionRuntime::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  Progress out;
  out.next_offsets = next_offsets_;
  out.end_offsets = end_offsets_;
  for (const auto& [p, next] : next_offsets_) {
    auto end = end_offsets_.find(p);
    const int64_t lag = at_end_.contains(p) || end == end_offsets_.end()
                            ? 0
                            : std::max<int64_t>(0, end->second - next);
    out.partition_lag[p] = lag;
    out.lag += lag;
  }
  out.digests = digests_;
  out.records_applied = records_applied_;
  out.caught_up = caught_up_;
  out.error = error_;
  out.stalled = stalled_;
  return out;
}

std::optional<int64_t> ProjectionRuntime::LogEnd(int32_t partition,
                                                 std::chrono::milliseconds timeout) const {
  if (!consumer_) return std::nullopt;
  const auto ends = consumer_->QueryEndOffsets(options_.topic, timeout);
  auto it = ends.find(partition);
  if (it == ends.end()) return std::nullopt;
  return it->second;
}

absl::Status AwaitConsistency(const v1::Consistency& c,
                              std::initializer_list<const ProjectionRuntime*> runtimes) {
  if (c.at_least().empty()) return absl::OkStatus();
  if (c.wait_timeout_ms() > 30000) {
    return absl::InvalidArgumentError("consistency.wait_timeout_ms: must be at most 30000");
  }
  if (c.at_least_size() > kMaxConsistencyPositions) {
    return absl::InvalidArgumentError(
        base::StrCat("consistency.at_least: at most ", kMaxConsistencyPositions,
                     " positions (one per partition written is enough), got ", c.at_least_size()));
  }
  // One budget for all positions, not one per position.
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(c.wait_timeout_ms() == 0 ? 5000 : c.wait_timeout_ms());
  for (const auto& p : c.at_least()) {
    const ProjectionRuntime* serving = nullptr;
    for (const ProjectionRuntime* r : runtimes) {
      if (r != nullptr && r->topic() == p.topic()) serving = r;
    }
    if (serving == nullptr) {
      return absl::InvalidArgumentError(
          base::StrCat("consistency.at_least: topic '", p.topic(), "' is not served here"));
    }
    const std::vector<v1::LogPosition> one = {p};
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    if (auto s = serving->WaitFor(one, left); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace kam::readmodel
