// Evolve: folds one programme event into the state. Never fails: an event is a fact;
// unknown or foreign kinds are ignored.
#include <algorithm>

#include "domain/dates.h"
#include "domain/events.h"
#include "domain/programme.h"

namespace kam::domain {
namespace {

void Log(ProgrammeState& s, const v1::EventEnvelope& env, LoggedRecord r) {
  r.kind = env.event().kind_case();
  r.version = env.aggregate_version();
  s.record_index[ProgrammeState::RecordIndexKey(r)].insert(env.event_id());
  s.records[env.event_id()] = std::move(r);
}

template <typename Kinds>
std::vector<v1::MetricKind> ToKinds(const Kinds& kinds) {
  std::vector<v1::MetricKind> out;
  for (int k : kinds) out.push_back(static_cast<v1::MetricKind>(k));
  return out;
}

// The day of a date field that Decide validated; the envelope's day if it does not parse
// (an event is a fact even if an older writer stored a sloppy date).
absl::CivilDay DateOr(std::string_view text, absl::CivilDay fallback) {
  auto d = ParseDate("date", text);
  return d.ok() ? *d : fallback;
}

}  // namespace

void Evolve(ProgrammeState& s, const v1::EventEnvelope& env) {
  const v1::Event& event = env.event();
  // Rule clocks run on the programme's business time, which never goes back: a late entry
  // (occurred_at before it) takes effect now, and only its record shows the claimed time.
  s.business_time = std::max(s.business_time, TimeOf(env.occurred_at()));
  if (event.has_programme_chartered()) {
    // The charter names the zone whose days are the programme's days; an unknown name
    // (refused by Decide; or from an older writer) leaves UTC.
    const std::string& zone = event.programme_chartered().time_zone();
    absl::TimeZone tz = absl::UTCTimeZone();
    if (!zone.empty() && absl::LoadTimeZone(zone, &tz)) s.time_zone_name = zone;
    s.time_zone = tz;
  }
  const absl::CivilDay day = s.Day(s.business_time);
  switch (event.kind_case()) {
    case v1::Event::kProgrammeChartered: {
      const auto& e = event.programme_chartered();
      s.chartered = true;
      s.programme_id = e.programme_id();
      s.name = e.name();
      s.chartered_on = day;
      s.chartered_at = s.business_time;
      s.min_key_accounts = e.min_key_accounts();
      s.max_key_accounts = e.max_key_accounts();
      s.parameters = e.has_parameters() ? e.parameters() : DefaultParameters();
      break;
    }
    case v1::Event::kProgrammeParametersChanged: {
      const auto& e = event.programme_parameters_changed();
      s.min_key_accounts = e.min_key_accounts();
      s.max_key_accounts = e.max_key_accounts();
      s.parameters = e.parameters();
      break;
    }
    case v1::Event::kPersonRegistered: {
      const auto& e = event.person_registered();
      Person& p = s.people[e.person_id()];
      if (p.number == 0) p.number = static_cast<uint32_t>(s.people.size());
      p.name = e.name();
      p.principal = e.principal();
      p.other_principals.assign(e.other_principals().begin(), e.other_principals().end());
      for (int f : e.functions()) p.functions.insert(static_cast<v1::PersonFunction>(f));
      p.senior = e.senior();
      p.reports_to_top_management = e.reports_to_top_management();
      p.board_level = e.board_level();
      break;
    }
    case v1::Event::kMembershipChanged: {
      const auto& e = event.membership_changed();
      Person& p = s.people[e.person_id()];
      p.functions.clear();
      for (int f : e.functions()) p.functions.insert(static_cast<v1::PersonFunction>(f));
      p.other_principals.assign(e.other_principals().begin(), e.other_principals().end());
      if (!e.principal().empty()) p.principal = e.principal();
      p.ended = e.ended();
      break;
    }
    case v1::Event::kPersonalDataErased: {
      // The state forgets what the erased person's key sealed, as a rebuild (which can no
      // longer open it) would: name and principals, and the principal that nominated an
      // account or asked for a quarantine acknowledgement.
      const auto& e = event.personal_data_erased();
      auto it = s.people.find(e.person_id());
      if (it == s.people.end()) break;
      Person& p = it->second;
      const std::string shown = ErasedPersonName(p.number);
      // Authenticates() is false for an ended membership, which an erased one is.
      const auto theirs = [&p](const std::string& principal) {
        return !principal.empty() &&
               (principal == p.principal ||
                std::find(p.other_principals.begin(), p.other_principals.end(), principal) !=
                    p.other_principals.end());
      };
      for (auto& [id, a] : s.accounts) {
        if (a.nominated_by_person == e.person_id() || theirs(a.nominated_by)) {
          a.nominated_by = shown;
        }
      }
      for (auto& [place, ack] : s.quarantine_acks) {
        if (theirs(ack.requested_by)) ack.requested_by = shown;
        if (theirs(ack.approved_by)) ack.approved_by = shown;
      }
      p.name = shown;
      p.principal.clear();
      p.other_principals.clear();
      p.erased = true;
      break;
    }
    case v1::Event::kChampionAppointed:
      s.champions.insert(event.champion_appointed().person_id());
      s.had_champion = true;
      break;
    case v1::Event::kChampionStoodDown:
      s.champions.erase(event.champion_stood_down().person_id());
      break;
    case v1::Event::kSelectionCriteriaPublished: {
      const auto& e = event.selection_criteria_published();
      s.criteria =
          Criteria{e.criteria_version(), {e.criteria().begin(), e.criteria().end()}, e.threshold()};
      break;
    }
    case v1::Event::kAccountNominated: {
      const auto& e = event.account_nominated();
      AccountState fresh;  // a re-nomination after rejection or retirement starts afresh
      fresh.name = e.account_name();
      fresh.nominated_by = e.nominated_by();
      fresh.nominated_by_person = e.nominated_by_person();
      s.accounts[e.account_id()] = std::move(fresh);
      break;
    }
    case v1::Event::kAccountAssessed: {
      const auto& e = event.account_assessed();
      s.accounts[e.account_id()].assessment =
          Assessment{env.event_id(), e.criteria_version(), e.weighted_score()};
      break;
    }
    case v1::Event::kAccountAdmitted: {
      const auto& e = event.account_admitted();
      AccountState& a = s.accounts[e.account_id()];
      a.stage = AccountStage::kAdmitted;
      a.admitted_on = day;
      a.admitted_as_exception = e.exception();
      break;
    }
    case v1::Event::kAccountIncubated: {
      const auto& e = event.account_incubated();
      AccountState& a = s.accounts[e.account_id()];
      a.stage = AccountStage::kIncubating;
      a.incubated_on = day;
      a.incubation_review_by = DateOr(e.review_by(), day);
      break;
    }
    case v1::Event::kNominationRejected:
      s.accounts[event.nomination_rejected().account_id()].stage = AccountStage::kRejected;
      break;
    case v1::Event::kAccountReviewed: {
      const auto& e = event.account_reviewed();
      AccountState& a = s.accounts[e.account_id()];
      a.last_review = day;
      a.last_review_metrics = ToKinds(e.metrics_considered());
      break;
    }
    case v1::Event::kAccountRetired: {
      const auto& e = event.account_retired();
      AccountState& a = s.accounts[e.account_id()];
      a.stage = AccountStage::kRetired;
      a.retired_on = day;
      a.retired_within_min_tenure = e.within_min_tenure();
      a.sponsor.clear();  // a retired account has no sponsor, manager or team
      a.manager.clear();
      a.training_plan.clear();
      a.team.clear();
      break;
    }
    case v1::Event::kAccountObjectivesSet: {
      const auto& e = event.account_objectives_set();
      s.accounts[e.account_id()].objective_metrics = ToKinds(e.measured_by());
      break;
    }
    case v1::Event::kSponsorAssigned: {
      const auto& e = event.sponsor_assigned();
      AccountState& a = s.accounts[e.account_id()];
      a.sponsor = e.person_id();
      a.sponsor_since = day;
      break;
    }
    case v1::Event::kSponsorReleased:
      s.accounts[event.sponsor_released().account_id()].sponsor.clear();
      break;
    case v1::Event::kSponsorVisitLogged: {
      const auto& e = event.sponsor_visit_logged();
      Log(s, env,
          {.person_id = e.person_id(),
           .account_id = e.account_id(),
           .date = DateOr(e.visit_date(), day)});
      break;
    }
    case v1::Event::kCompetencyAssessed: {
      const auto& e = event.competency_assessed();
      Log(s, env,
          {.person_id = e.person_id(),
           .skill = e.skill(),
           .competent = e.competent(),
           .date = day});
      break;
    }
    case v1::Event::kManagerTrained: {
      const auto& e = event.manager_trained();
      Log(s, env,
          {.person_id = e.person_id(), .skill = e.skill(), .date = DateOr(e.completed_on(), day)});
      break;
    }
    case v1::Event::kStaffTrained: {
      const auto& e = event.staff_trained();
      Log(s, env, {.person_id = e.person_id(), .date = DateOr(e.completed_on(), day)});
      break;
    }
    case v1::Event::kManagerAssigned: {
      const auto& e = event.manager_assigned();
      AccountState& a = s.accounts[e.account_id()];
      a.manager = e.person_id();
      a.training_plan.assign(e.training_plan().begin(), e.training_plan().end());
      break;
    }
    case v1::Event::kManagerReleased: {
      AccountState& a = s.accounts[event.manager_released().account_id()];
      a.manager.clear();
      a.training_plan.clear();
      break;
    }
    case v1::Event::kTeamMemberAssigned: {
      const auto& e = event.team_member_assigned();
      s.accounts[e.account_id()].team.insert(e.person_id());
      break;
    }
    case v1::Event::kTeamMemberReleased: {
      const auto& e = event.team_member_released();
      s.accounts[e.account_id()].team.erase(e.person_id());
      break;
    }
    case v1::Event::kCommitmentMade: {
      const auto& e = event.commitment_made();
      s.commitments[e.commitment_id()] = Commitment{
          e.account_id(), e.owner_person_id(), DateOr(e.due_by(), day), Commitment::Status::kOpen};
      break;
    }
    case v1::Event::kCommitmentFulfilled:
      s.commitments[event.commitment_fulfilled().commitment_id()].status =
          Commitment::Status::kFulfilled;
      break;
    case v1::Event::kCommitmentBreached:
      s.commitments[event.commitment_breached().commitment_id()].status =
          Commitment::Status::kBreached;
      break;
    case v1::Event::kProgrammeReviewed:
      s.last_programme_review = day;
      break;
    case v1::Event::kBenchmarkRecorded: {
      const auto& e = event.benchmark_recorded();
      s.benchmarks.insert(e.benchmark_id());
      Log(s, env, {.date = day, .benchmark_id = e.benchmark_id()});
      break;
    }
    case v1::Event::kBestPracticeAdopted:
      s.practices.insert(event.best_practice_adopted().practice_id());
      break;
    case v1::Event::kRecordRetracted:
      if (auto it = s.records.find(event.record_retracted().retracted_event_id());
          it != s.records.end()) {
        it->second.retracted = true;
      }
      break;
    case v1::Event::kQuarantineAcknowledgementRequested: {
      const auto& e = event.quarantine_acknowledgement_requested();
      s.quarantine_acks[RecordPlace(e.record_topic(), e.record_partition(), e.record_offset())] =
          QuarantineAck{e.reason(), env.actor(), ""};
      break;
    }
    case v1::Event::kQuarantinedRecordAcknowledged: {
      const auto& e = event.quarantined_record_acknowledged();
      QuarantineAck& ack =
          s.quarantine_acks[RecordPlace(e.record_topic(), e.record_partition(), e.record_offset())];
      ack.reason = e.reason();
      ack.requested_by = e.requested_by();
      ack.approved_by = env.actor();
      break;
    }
    case v1::Event::kMetricRecorded:  // the account-metrics aggregate's event
    case v1::Event::KIND_NOT_SET:
      break;
  }
}

namespace {

// One entry of a map as it was: absent, or its value.
template <typename Map>
struct SavedEntry {
  typename Map::key_type key;
  std::optional<typename Map::mapped_type> value;

  static SavedEntry Of(const Map& map, const typename Map::key_type& key) {
    auto it = map.find(key);
    return {key, it == map.end() ? std::nullopt : std::optional(it->second)};
  }
  void RestoreInto(Map& map) const {
    if (value) {
      map[key] = *value;
    } else {
      map.erase(key);
    }
  }
};

}  // namespace

ProgrammeUndo EvolveUndoable(ProgrammeState& s, const v1::EventEnvelope& env) {
  // Everything Evolve may change for this event: the programme's scalar fields, and the one
  // account, person, logged record, commitment, benchmark or practice the event names.
  struct Saved {
    bool chartered;
    std::string programme_id;
    std::string name;
    absl::CivilDay chartered_on;
    absl::Time chartered_at;
    std::string time_zone_name;
    absl::TimeZone time_zone;
    absl::Time business_time;
    uint32_t min_key_accounts;
    uint32_t max_key_accounts;
    v1::ProgrammeParameters parameters;
    std::set<std::string> champions;
    bool had_champion;
    std::optional<Criteria> criteria;
    std::optional<absl::CivilDay> last_programme_review;
    std::optional<SavedEntry<decltype(s.accounts)>> account;
    std::optional<SavedEntry<decltype(s.people)>> person;
    std::vector<SavedEntry<decltype(s.records)>> records;
    std::optional<SavedEntry<decltype(s.commitments)>> commitment;
    std::optional<std::string> new_benchmark;
    std::optional<std::string> new_practice;
    std::optional<SavedEntry<decltype(s.quarantine_acks)>> quarantine_ack;
    // An erasure touches every account and acknowledgement the person appears in.
    std::optional<decltype(s.accounts)> accounts;
    std::optional<decltype(s.quarantine_acks)> quarantine_acks;
  };
  auto saved = std::make_shared<Saved>(
      Saved{s.chartered, s.programme_id, s.name, s.chartered_on, s.chartered_at, s.time_zone_name,
            s.time_zone, s.business_time, s.min_key_accounts, s.max_key_accounts, s.parameters,
            s.champions, s.had_champion, s.criteria, s.last_programme_review});
  const v1::Event& e = env.event();
  if (auto account = AccountOf(e))
    saved->account = SavedEntry<decltype(s.accounts)>::Of(s.accounts, *account);
  if (auto person = PersonOf(e))
    saved->person = SavedEntry<decltype(s.people)>::Of(s.people, *person);
  saved->records.push_back(SavedEntry<decltype(s.records)>::Of(s.records, env.event_id()));
  if (e.has_record_retracted()) {
    saved->records.push_back(
        SavedEntry<decltype(s.records)>::Of(s.records, e.record_retracted().retracted_event_id()));
  }
  std::string commitment;
  if (e.has_commitment_made()) commitment = e.commitment_made().commitment_id();
  if (e.has_commitment_fulfilled()) commitment = e.commitment_fulfilled().commitment_id();
  if (e.has_commitment_breached()) commitment = e.commitment_breached().commitment_id();
  if (!commitment.empty()) {
    saved->commitment = SavedEntry<decltype(s.commitments)>::Of(s.commitments, commitment);
  }
  if (e.has_benchmark_recorded() && !s.benchmarks.contains(e.benchmark_recorded().benchmark_id())) {
    saved->new_benchmark = e.benchmark_recorded().benchmark_id();
  }
  if (e.has_best_practice_adopted() &&
      !s.practices.contains(e.best_practice_adopted().practice_id())) {
    saved->new_practice = e.best_practice_adopted().practice_id();
  }
  if (e.has_quarantine_acknowledgement_requested() || e.has_quarantined_record_acknowledged()) {
    const std::string r =
        e.has_quarantine_acknowledgement_requested()
            ? RecordPlace(e.quarantine_acknowledgement_requested().record_topic(),
                          e.quarantine_acknowledgement_requested().record_partition(),
                          e.quarantine_acknowledgement_requested().record_offset())
            : RecordPlace(e.quarantined_record_acknowledged().record_topic(),
                          e.quarantined_record_acknowledged().record_partition(),
                          e.quarantined_record_acknowledged().record_offset());
    saved->quarantine_ack = SavedEntry<decltype(s.quarantine_acks)>::Of(s.quarantine_acks, r);
  }
  if (e.has_personal_data_erased()) {
    saved->accounts = s.accounts;
    saved->quarantine_acks = s.quarantine_acks;
  }
  Evolve(s, env);
  return [saved](ProgrammeState& st) {
    const Saved& v = *saved;
    st.chartered = v.chartered;
    st.programme_id = v.programme_id;
    st.name = v.name;
    st.chartered_on = v.chartered_on;
    st.chartered_at = v.chartered_at;
    st.time_zone_name = v.time_zone_name;
    st.time_zone = v.time_zone;
    st.business_time = v.business_time;
    st.min_key_accounts = v.min_key_accounts;
    st.max_key_accounts = v.max_key_accounts;
    st.parameters = v.parameters;
    st.champions = v.champions;
    st.had_champion = v.had_champion;
    st.criteria = v.criteria;
    st.last_programme_review = v.last_programme_review;
    if (v.accounts) st.accounts = *v.accounts;
    if (v.quarantine_acks) st.quarantine_acks = *v.quarantine_acks;
    if (v.account) v.account->RestoreInto(st.accounts);
    if (v.person) v.person->RestoreInto(st.people);
    if (v.quarantine_ack) v.quarantine_ack->RestoreInto(st.quarantine_acks);
    for (auto it = v.records.rbegin(); it != v.records.rend(); ++it) {
      // The index follows the records: a record the event logged leaves it again.
      if (auto now = st.records.find(it->key); now != st.records.end()) {
        auto ids = st.record_index.find(ProgrammeState::RecordIndexKey(now->second));
        if (ids != st.record_index.end()) {
          ids->second.erase(it->key);
          if (ids->second.empty()) st.record_index.erase(ids);
        }
      }
      it->RestoreInto(st.records);
      if (it->value) st.record_index[ProgrammeState::RecordIndexKey(*it->value)].insert(it->key);
    }
    if (v.commitment) v.commitment->RestoreInto(st.commitments);
    if (v.new_benchmark) st.benchmarks.erase(*v.new_benchmark);
    if (v.new_practice) st.practices.erase(*v.new_practice);
  };
}

}  // namespace kam::domain
