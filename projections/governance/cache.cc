#include "projections/governance/cache.h"

#include "base/strings.h"
#include "domain/dates.h"

namespace kam::projections {

GovernanceCache::GovernanceCache(const HistoryIndex& index, std::size_t max_cached_events,
                                 personal::KeyStore* keys)
    : index_(index),
      max_cached_events_(max_cached_events),
      revealer_(keys != nullptr ? std::make_unique<personal::Revealer>(*keys) : nullptr) {}

template <typename T>
std::shared_ptr<GovernanceCache::Entry<T>> GovernanceCache::Get(
    std::map<std::string, std::shared_ptr<Entry<T>>>& map, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = map[key];
  if (!slot) slot = std::make_shared<Entry<T>>();
  return slot;
}

void GovernanceCache::Account(std::size_t added) {
  std::lock_guard<std::mutex> lock(mu_);
  cached_events_ += added;
  if (cached_events_ > max_cached_events_) {
    programmes_.clear();
    metrics_.clear();
    cached_events_ = 0;
  }
}

AsOfFold GovernanceCache::Programme::AsOf(const v1::AsOf& as_of, absl::Time now) const {
  std::vector<const v1::EventEnvelope*> all;
  all.reserve(events.size());
  for (const StoredEvent& e : events) all.push_back(&e.envelope);
  const bool bounded = as_of.has_time() && as_of.axis() != v1::TIME_AXIS_UNSPECIFIED;
  if (!bounded) {
    AsOfFold out;
    out.state = state;
    out.events_folded = events.size();
    out.at = now;
    return out;
  }
  // Both axes show a prefix of the log: the latest checkpoint all of whose events are in the
  // view (recorded by then, or in effect by then) is where the fold starts.
  const absl::Time at = domain::TimeOf(as_of.time());
  const bool recorded = as_of.axis() == v1::TIME_AXIS_RECORDED;
  for (std::size_t i = checkpoints.size(); i-- > 0;) {
    if ((recorded ? checkpoints[i].max_recorded : checkpoints[i].state.business_time) <= at) {
      return FoldEvents(all, as_of, now, &checkpoints[i].state, (i + 1) * kCheckpointEvery);
    }
  }
  return FoldEvents(all, as_of, now);
}

absl::Status GovernanceCache::WithProgramme(std::string_view programme_id,
                                            const std::function<void(const Programme&)>& fn) {
  auto entry = Get(programmes_, std::string(programme_id));
  std::lock_guard<std::mutex> lock(entry->mu);
  AggregateHistory fresh =
      index_.Load(domain::kProgrammeAggregateType, programme_id, entry->version);
  if (revealer_ != nullptr) {
    // The erasures among the new events destroy their keys before anything is opened, so no
    // event before an erasure opens with a key that should be gone (a restored key backup).
    // What was folded before holds the erased person's data in the clear: the programme is
    // folded again from its first event, showing the placeholder everywhere.
    bool erasure = false;
    for (const StoredEvent& e : fresh.events) {
      if (!e.envelope.event().has_personal_data_erased()) continue;
      const auto& erased = e.envelope.event().personal_data_erased();
      (void)revealer_->Erase(erased.programme_id(), erased.person_id(), erased.person_number());
      erasure = true;
    }
    if (erasure && entry->version > 0) {
      entry->value = Programme{};
      entry->version = 0;
      fresh = index_.Load(domain::kProgrammeAggregateType, programme_id, 0);
    }
  }
  Programme& p = entry->value;
  for (StoredEvent& e : fresh.events) {
    p.verifier.Add(e);
    if (revealer_ != nullptr) revealer_->Reveal(e.envelope);
    domain::Evolve(p.state, e.envelope);
    p.max_recorded = std::max(p.max_recorded, domain::TimeOf(e.envelope.recorded_at()));
    entry->version = e.envelope.aggregate_version();
    p.events.push_back(std::move(e));
    if (p.events.size() % kCheckpointEvery == 0) {
      p.checkpoints.push_back({p.state, p.max_recorded});
    }
  }
  p.verification = p.verifier.Result(fresh, AcknowledgedPlaces(p.state));
  const std::size_t added = fresh.events.size();
  if (p.events.empty() && fresh.duplicates.empty()) {
    return absl::NotFoundError(base::StrCat("programme '", programme_id, "' has no history"));
  }
  fn(p);
  if (added > 0) Account(added);
  return absl::OkStatus();
}

const domain::Economics& GovernanceCache::Metrics::EconomicsAt(double discount_rate) {
  if (!economics || economics_discount != discount_rate || economics_version != version) {
    economics = domain::ComputeEconomics(state, discount_rate);
    economics_discount = discount_rate;
    economics_version = version;
  }
  return *economics;
}

absl::Status GovernanceCache::WithMetrics(std::string_view programme_id,
                                          std::string_view account_id,
                                          const std::function<void(Metrics&)>& fn) {
  const std::string id = domain::MetricsAggregateId(programme_id, account_id);
  auto entry = Get(metrics_, id);
  std::lock_guard<std::mutex> lock(entry->mu);
  AggregateHistory fresh = index_.Load(domain::kMetricsAggregateType, id, entry->version);
  Metrics& m = entry->value;
  for (const StoredEvent& e : fresh.events) {
    domain::Evolve(m.state, e.envelope);
    entry->version = e.envelope.aggregate_version();
  }
  m.version = entry->version;
  if (m.version == 0) {
    return absl::NotFoundError(base::StrCat("account '", account_id,
                                            "' has no metrics in programme '", programme_id, "'"));
  }
  fn(m);
  if (!fresh.events.empty()) Account(fresh.events.size());
  return absl::OkStatus();
}

}  // namespace kam::projections
