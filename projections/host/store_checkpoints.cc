#include "projections/host/store_checkpoints.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/strings.h"

namespace kam::projections {
namespace {

namespace fs = std::filesystem;

// "20261127T120000.123Z": sorts as it happened, and names nothing else in the directory.
constexpr char kNameFormat[] = "%Y%m%dT%H%M%E3SZ";
constexpr std::size_t kNameSize = 20;

bool IsCheckpointName(std::string_view name) {
  return name.size() == kNameSize && name[8] == 'T' && name[15] == '.' && name.back() == 'Z' &&
         std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
}

std::string OffsetsText(const StoreCheckpoint& c) {
  std::string out;
  for (const auto& [topic, offsets] : c.next_offsets) {
    for (const auto& [partition, next] : offsets) {
      out = base::StrCat(out, out.empty() ? "" : ",", topic, "/", partition, "@", next);
    }
  }
  return out;
}

}  // namespace

void BlockCheckpointSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StoreCheckpoints::StoreCheckpoints(const ReadSide& read, StoreCheckpointsConfig config)
    : read_(read), config_(std::move(config)) {}

absl::StatusOr<StoreCheckpoint> StoreCheckpoints::Make() {
  if (config_.dir.empty()) {
    return absl::FailedPreconditionError("no checkpoint directory (--store-checkpoint-dir)");
  }
  std::error_code ec;
  fs::create_directories(config_.dir, ec);
  if (ec) {
    return absl::InternalError(base::StrCat("cannot create ", config_.dir, ": ", ec.message()));
  }
  absl::Time at = absl::Now();
  std::string name = absl::FormatTime(kNameFormat, at, absl::UTCTimeZone());
  while (fs::exists(fs::path(config_.dir) / name, ec)) {  // two within a millisecond
    at += absl::Milliseconds(1);
    name = absl::FormatTime(kNameFormat, at, absl::UTCTimeZone());
  }
  auto made = read_.Checkpoint((fs::path(config_.dir) / name).string());
  if (!made.ok()) return made.status();
  // A relative link, so the directory can be copied or mounted elsewhere whole; rename(2)
  // replaces the old link atomically.
  const fs::path staged = fs::path(config_.dir) / ".latest.new";
  fs::remove(staged, ec);
  fs::create_symlink(name, staged, ec);
  if (!ec) fs::rename(staged, fs::path(config_.dir) / "latest", ec);
  if (ec) {
    return absl::InternalError(
        base::StrCat("checkpoint ", made->path, " made, but not linked as latest: ", ec.message()));
  }
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(config_.dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (IsCheckpointName(file)) {
      kept.push_back(file);
    } else if (file.ends_with(".tmp") && IsCheckpointName(file.substr(0, file.size() - 4))) {
      fs::remove_all(entry.path(), ec);  // RocksDB's staging of an interrupted checkpoint
    }
  }
  std::sort(kept.begin(), kept.end());
  const std::size_t keep = static_cast<std::size_t>(std::max(config_.keep, 1));
  for (std::size_t i = 0; i + keep < kept.size(); ++i) {
    fs::remove_all(fs::path(config_.dir) / kept[i], ec);
  }
  return made;
}

void StoreCheckpoints::Run(const std::atomic<bool>& stopping) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  using Clock = std::chrono::steady_clock;
  const bool periodic = config_.every.count() > 0 && !config_.dir.empty();
  Clock::time_point next = periodic ? Clock::now() + config_.every : Clock::time_point::max();
  while (!stopping) {
    const timespec wait{0, 200'000'000};
    const bool asked = sigtimedwait(&set, nullptr, &wait) == SIGUSR1;
    const bool due = Clock::now() >= next;
    if (!asked && !due) continue;
    if (due) next = Clock::now() + config_.every;
    if (config_.dir.empty()) {
      base::Log(base::LogLevel::kWarning,
                "SIGUSR1 ignored: start with --store-checkpoint-dir to make store checkpoints");
      continue;
    }
    auto made = Make();
    if (!made.ok()) {
      base::Log(base::LogLevel::kError,
                base::StrCat("store checkpoint failed: ", made.status().message()));
      continue;
    }
    base::Log(base::LogLevel::kInfo,
              base::StrCat("store checkpoint made: ", made->path, " (", made->records_folded,
                           " records, ", made->bytes, " bytes, ", made->took.count(), " ms)"),
              {{"path", made->path},
               {"records_folded", made->records_folded},
               {"bytes", made->bytes},
               {"linked_bytes", made->linked_bytes},
               {"ms", static_cast<int64_t>(made->took.count())},
               {"offsets", OffsetsText(*made)}});
  }
}

}  // namespace kam::projections
