#include "projections/host/read_side.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/errors.h"
#include "base/log.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "eventlog/topics.h"

namespace kam::projections {

absl::StatusOr<std::unique_ptr<ReadSide>> ReadSide::Create(const ReadSideConfig& config,
                                                           const server::Authenticator& auth) {
  if (config.data_dir.empty()) return absl::InvalidArgumentError("data_dir: is required");
  if (config.rebuild) {
    std::error_code ec;
    std::filesystem::remove_all(config.data_dir, ec);
    if (ec) {
      return absl::InternalError(
          base::StrCat("cannot delete ", config.data_dir, " for a rebuild: ", ec.message()));
    }
  }
  std::unique_ptr<ReadSide> self(new ReadSide());
  auto store = readmodel::Store::Open(config.data_dir, config.store);
  if (!store.ok()) return store.status();
  self->store_ = std::move(*store);
  const std::string programme_topic =
      eventlog::AggregateTopic(config.topic_prefix, domain::kProgrammeAggregateType);
  const std::string metrics_topic =
      eventlog::AggregateTopic(config.topic_prefix, domain::kMetricsAggregateType);
  self->keyring_ = config.keyring;
  self->programme_fold_.UseKeyring(self->keyring_.get());
  self->metrics_fold_.UseKeyring(self->keyring_.get());
  self->checkpoint_fold_.UseKeyring(self->keyring_.get());
  self->index_ = std::make_unique<HistoryIndex>(*self->store_, programme_topic, metrics_topic);
  self->programmes_ = std::make_unique<readmodel::ProjectionRuntime>(
      config.kafka, *self->store_, self->programme_fold_,
      readmodel::RuntimeOptions{.topic = programme_topic});
  self->metrics_ = std::make_unique<readmodel::ProjectionRuntime>(
      config.kafka, *self->store_, self->metrics_fold_,
      readmodel::RuntimeOptions{.topic = metrics_topic});
  self->checkpoints_ = std::make_unique<readmodel::ProjectionRuntime>(
      config.kafka, *self->store_, self->checkpoint_fold_,
      readmodel::RuntimeOptions{.topic = eventlog::CheckpointTopic(config.topic_prefix),
                                .partitions = 1});
  for (auto* runtime : {self->programmes_.get(), self->metrics_.get(), self->checkpoints_.get()}) {
    if (auto s = runtime->Start(); !s.ok()) return s;
  }
  self->keys_ = config.keys;
  self->cache_ = std::make_unique<GovernanceCache>(*self->index_, 500000, self->keys_.get());
  self->membership_ = std::make_unique<CacheMembership>(*self->cache_);
  self->scope_ = std::make_unique<ReadScope>(auth, *self->membership_);
  self->history_service_ = std::make_unique<HistoryService>(
      *self->index_, *self->programmes_, self->runtimes(), *self->scope_, config.max_subscriptions,
      config.stream_limits, self->keys_.get());
  self->governance_service_ =
      std::make_unique<GovernanceService>(*self->index_, *self->programmes_, *self->metrics_,
                                          *self->scope_, *self->cache_, self->keys_ != nullptr);
  return self;
}

ReadSide::~ReadSide() { Stop(); }

void ReadSide::Stop() {
  if (programmes_) programmes_->Stop();
  if (metrics_) metrics_->Stop();
  if (checkpoints_) checkpoints_->Stop();
}

std::vector<grpc::Service*> ReadSide::services() {
  return {history_service_.get(), governance_service_.get()};
}

readmodel::ProjectionRuntime::Progress ReadSide::progress() const {
  auto p = programmes_->progress();
  for (const auto* other : {metrics_.get(), checkpoints_.get()}) {
    const auto o = other->progress();
    if (p.error.ok()) p.error = o.error;
    if (p.stalled.ok()) p.stalled = o.stalled;
    p.records_applied += o.records_applied;
    p.lag += o.lag;
    p.caught_up = p.caught_up && o.caught_up;
  }
  return p;
}

absl::Status ReadSide::WaitCaughtUp(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto* runtime : runtimes()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    KAM_RETURN_IF_ERROR(runtime->WaitCaughtUp(std::max(left, std::chrono::milliseconds(1))));
  }
  return absl::OkStatus();
}

bool ReadSide::LogProgressUntilCaughtUp(const std::atomic<bool>& stopping) const {
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // Each wait blocks up to two seconds: the loop never spins, whichever topic lags.
  auto caught_up = [&] {
    for (const auto* runtime : runtimes()) {
      if (!runtime->WaitCaughtUp(std::chrono::seconds(2)).ok()) return false;
    }
    return true;
  };
  while (!stopping && !caught_up()) {
    const auto p = progress();
    if (!p.error.ok()) {
      base::Log(base::LogLevel::kError, base::StrCat("projection stopped: ", p.error.message()));
      return false;
    }
    const auto rate = static_cast<int64_t>(static_cast<double>(p.records_applied) / seconds());
    base::Log(
        base::LogLevel::kInfo,
        base::StrCat("catching up: ", p.records_applied, " records applied (", rate, "/s), lag ",
                     p.lag),
        {{"records_applied", p.records_applied}, {"records_per_second", rate}, {"lag", p.lag}});
  }
  if (!stopping) {
    const auto applied = progress().records_applied;
    base::Log(base::LogLevel::kInfo,
              base::StrCat("caught up: ", applied, " records applied in ", seconds(), " s"),
              {{"records_applied", applied}, {"seconds", seconds()}});
  }
  return true;
}

absl::StatusOr<StoreCheckpoint> ReadSide::Checkpoint(const std::string& to) const {
  const auto started = std::chrono::steady_clock::now();
  KAM_RETURN_IF_ERROR(store_->Checkpoint(to));
  StoreCheckpoint out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  out.path = std::filesystem::absolute(to).lexically_normal().string();
  // Read back from the copy, not from the live store (which has moved on): this is what a
  // replica started on it begins with, and it shows the copy opens.
  auto copy = readmodel::Store::OpenReadOnly(out.path, {.block_cache_bytes = 8ull << 20});
  if (!copy.ok()) return copy.status();
  out.records_folded =
      HistoryIndex(**copy, index_->programme_topic(), index_->metrics_topic()).FoldedCount();
  for (const auto* runtime : runtimes()) {
    out.next_offsets[runtime->topic()] = (*copy)->Offsets(runtime->topic());
  }
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(out.path, ec)) {
    struct stat st {};
    if (stat(file.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.bytes += static_cast<uint64_t>(st.st_size);
    if (st.st_nlink > 1) out.linked_bytes += static_cast<uint64_t>(st.st_size);
  }
  return out;
}

}  // namespace kam::projections
