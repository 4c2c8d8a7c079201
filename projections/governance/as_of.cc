#include "projections/governance/as_of.h"

#include <algorithm>

#include "domain/dates.h"

namespace kam::projections {

AsOfFold FoldEvents(const std::vector<const v1::EventEnvelope*>& events, const v1::AsOf& as_of,
                    absl::Time now, const domain::ProgrammeState* start, std::size_t start_index) {
  AsOfFold out;
  const bool bounded = as_of.has_time() && as_of.axis() != v1::TIME_AXIS_UNSPECIFIED;
  out.at = bounded ? domain::TimeOf(as_of.time()) : now;
  if (start != nullptr) out.state = *start;
  // Both axes show a prefix of the log, so every state they show is one the write side
  // decided on. An event is in the view once the running maximum of its axis's times up to
  // it has passed: on the effective axis that is the programme's business time when the
  // event was entered (its occurred_at, or for a late entry the business time then, as
  // Evolve's rule clocks read it); on the recorded axis it absorbs a writer whose clock is
  // behind its predecessor's.
  const bool recorded = as_of.axis() == v1::TIME_AXIS_RECORDED;
  auto time_of = [recorded](const v1::EventEnvelope& env) {
    return domain::TimeOf(recorded ? env.recorded_at() : env.occurred_at());
  };
  absl::Time reached = absl::InfinitePast();
  for (std::size_t i = 0; bounded && i < start_index && i < events.size(); ++i) {
    reached = std::max(reached, time_of(*events[i]));
  }
  std::size_t folded = start_index;
  for (std::size_t i = start_index; i < events.size(); ++i) {
    const auto& env = *events[i];
    if (bounded) {
      reached = std::max(reached, time_of(env));
      if (reached > out.at) break;
    }
    domain::Evolve(out.state, env);
    ++folded;
  }
  out.events_folded = folded;
  return out;
}

AsOfFold FoldProgramme(const AggregateHistory& history, const v1::AsOf& as_of, absl::Time now) {
  std::vector<const v1::EventEnvelope*> events;
  events.reserve(history.events.size());
  for (const StoredEvent& e : history.events) events.push_back(&e.envelope);
  return FoldEvents(events, as_of, now);
}

v1::ProgrammeView ToView(const domain::ProgrammeState& s, uint64_t events_folded, absl::Time at) {
  v1::ProgrammeView v;
  v.set_programme_id(s.programme_id);
  v.set_name(s.name);
  v.set_min_key_accounts(s.min_key_accounts);
  v.set_max_key_accounts(s.max_key_accounts);
  *v.mutable_parameters() = s.parameters;
  if (!s.champions.empty()) v.set_champion(*s.champions.begin());
  for (const auto& c : s.champions) v.add_champions(c);
  v.set_time_zone(s.time_zone_name);
  v.set_criteria_version(s.criteria ? s.criteria->version : 0);
  v.set_admitted_key_accounts(s.AdmittedCount());
  v.set_events_folded(events_folded);
  int active = 0;
  int sponsored = 0;
  for (const auto& [id, a] : s.accounts) {
    auto* out = v.add_accounts();
    out->set_account_id(id);
    out->set_name(a.name);
    out->set_stage(std::string(domain::StageName(a.stage)));
    out->set_nominated_by(a.nominated_by);
    out->set_sponsor(a.sponsor);
    out->set_manager(a.manager);
    for (const auto& m : a.team) out->add_team(m);
    if (a.assessment) {
      out->set_criteria_version(a.assessment->criteria_version);
      out->set_weighted_score(a.assessment->weighted_score);
    }
    out->set_admitted_as_exception(a.admitted_as_exception);
    if (a.admitted_on) out->set_admitted_on(domain::FormatDate(*a.admitted_on));
    if (!a.sponsor.empty()) {
      const auto last = s.LastVisit(id, a.sponsor);
      if (last) out->set_last_sponsor_visit(domain::FormatDate(*last));
      const absl::CivilDay since = last ? *last : a.sponsor_since;
      out->set_sponsor_visit_overdue(a.active() && domain::DaysBetween(since, s.Day(at)) >
                                                       s.parameters.sponsor_visit_cadence_days());
    }
    for (const auto& item : a.training_plan) {
      if (!s.HasSkill(a.manager, item.skill())) *out->add_open_training_plan() = item;
    }
    if (a.active()) {
      ++active;
      sponsored += a.sponsor.empty() ? 0 : 1;
    }
  }
  v.set_sponsor_coverage(active == 0 ? 0 : static_cast<double>(sponsored) / active);
  for (const auto& [id, c] : s.commitments) {
    auto* out = v.add_commitments();
    out->set_commitment_id(id);
    out->set_account_id(c.account_id);
    out->set_owner_person_id(c.owner_person_id);
    out->set_due_by(domain::FormatDate(c.due_by));
    out->set_status(c.status == domain::Commitment::Status::kOpen        ? "open"
                    : c.status == domain::Commitment::Status::kFulfilled ? "fulfilled"
                                                                         : "breached");
  }
  for (const auto& [id, p] : s.people) {
    auto* out = v.add_people();
    out->set_person_id(id);
    out->set_name(p.name);
    for (auto f : p.functions) out->add_functions(f);
    for (int skill = v1::SKILL_FINANCE; skill <= v1::SKILL_INFLUENCE; ++skill) {
      if (s.HasSkill(id, static_cast<v1::Skill>(skill)))
        out->add_skills(static_cast<v1::Skill>(skill));
    }
    out->set_staff_trained(s.StaffTrained(id));
    out->set_principal(p.principal);
    for (const auto& other : p.other_principals) out->add_other_principals(other);
  }
  return v;
}

}  // namespace kam::projections
