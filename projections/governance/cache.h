// What the governance views keep in memory, so that a query does not re-read, re-hash and
// refold a programme's whole history:
//   - per programme: its stored events (read and hashed once), its state folded so far, its
//     verification carried forward event by event, and a copy of the state every
//     kCheckpointEvery events, so an as-of view on the recorded axis folds at most that many;
//   - per account-metrics stream: its state folded so far and its economics.
// Every call first folds what was stored since the last one (read from the history index),
// so an answer is exactly what a full refold would give, at a cost that does not grow with
// the history. Memory is bounded: past `max_cached_events` events held, the cache starts
// afresh (entries in use stay valid for their callers; each is rebuilt on its next query).
//
//   kam::projections::GovernanceCache cache(index);
//   KAM_RETURN_IF_ERROR(cache.WithProgramme("emea-kam", [&](const auto& p) { ... p.state ... }));
//
// Thread-safe: each programme and stream has its own lock, held while `fn` runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "personal/seal.h"
#include "projections/governance/as_of.h"
#include "projections/governance/verify.h"
#include "projections/history/history_index.h"

namespace kam::projections {

class GovernanceCache {
 public:
  static constexpr std::size_t kCheckpointEvery = 500;

  // With `keys`, a programme's events are folded with their personal fields opened
  // (personal/seal.h), and a PersonalDataErased refolds the programme from its first event,
  // so nothing folded before the erasure keeps the erased person's data.
  explicit GovernanceCache(const HistoryIndex& index, std::size_t max_cached_events = 500000,
                           personal::KeyStore* keys = nullptr);

  struct Programme {
    std::vector<StoredEvent> events;  // version order
    domain::ProgrammeState state;     // every event folded
    Verification verification;        // of every event, duplicates and unreadable entries
    // The state after the first (i + 1) * kCheckpointEvery events, and the latest
    // recorded_at among them.
    struct Checkpoint {
      domain::ProgrammeState state;
      absl::Time max_recorded;
    };
    std::vector<Checkpoint> checkpoints;

    // The programme as of a moment (absent: now, everything), on either time axis.
    AsOfFold AsOf(const v1::AsOf& as_of, absl::Time now) const;

   private:
    friend class GovernanceCache;
    ChainVerifier verifier;
    absl::Time max_recorded = absl::InfinitePast();
  };

  struct Metrics {
    domain::MetricsState state;
    uint64_t version = 0;
    // Computed for `discount_rate` at `version`; recomputed when either changes.
    std::optional<domain::Economics> economics;
    double economics_discount = -1;
    uint64_t economics_version = 0;
    const domain::Economics& EconomicsAt(double discount_rate);
  };

  // Runs `fn` on the programme, caught up with what is stored. NOT_FOUND if nothing is.
  absl::Status WithProgramme(std::string_view programme_id,
                             const std::function<void(const Programme&)>& fn);
  // Runs `fn` on the account's metrics stream, caught up; NOT_FOUND if it has no events.
  absl::Status WithMetrics(std::string_view programme_id, std::string_view account_id,
                           const std::function<void(Metrics&)>& fn);

 private:
  template <typename T>
  struct Entry {
    std::mutex mu;
    T value;
    uint64_t version = 0;  // the last version folded
    std::size_t events = 0;
  };
  template <typename T>
  std::shared_ptr<Entry<T>> Get(std::map<std::string, std::shared_ptr<Entry<T>>>& map,
                                const std::string& key);
  void Account(std::size_t added);

  const HistoryIndex& index_;
  const std::size_t max_cached_events_;
  std::unique_ptr<personal::Revealer> revealer_;  // null: personal fields stay sealed
  std::mutex mu_;                                 // guards the maps and the count, not the entries
  std::map<std::string, std::shared_ptr<Entry<Programme>>> programmes_;
  std::map<std::string, std::shared_ptr<Entry<Metrics>>> metrics_;
  std::size_t cached_events_ = 0;
};

}  // namespace kam::projections
