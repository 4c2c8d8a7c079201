// Derived views of the programme state.
#include "domain/programme.h"

namespace kam::domain {

v1::ProgrammeParameters DefaultParameters() {
  v1::ProgrammeParameters p;
  p.set_max_accounts_per_sponsor(3);
  p.set_sponsor_visit_cadence_days(90);
  p.set_sponsor_grace_days(30);
  p.set_min_tenure_days(365);
  p.set_review_cadence_days(180);
  p.set_benchmark_cadence_days(365);
  p.set_discount_rate(0.10);
  for (v1::Skill s : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                      v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
    p.add_required_skills(s);
  }
  return p;
}

std::string_view StageName(AccountStage stage) {
  switch (stage) {
    case AccountStage::kNominated:
      return "nominated";
    case AccountStage::kIncubating:
      return "incubating";
    case AccountStage::kAdmitted:
      return "admitted";
    case AccountStage::kRejected:
      return "rejected";
    case AccountStage::kRetired:
      return "retired";
  }
  return "unknown";
}

uint32_t ProgrammeState::AdmittedCount() const {
  uint32_t n = 0;
  for (const auto& [id, a] : accounts) n += a.stage == AccountStage::kAdmitted ? 1 : 0;
  return n;
}

uint32_t ProgrammeState::SponsorLoad(const std::string& person_id) const {
  uint32_t n = 0;
  for (const auto& [id, a] : accounts) n += a.active() && a.sponsor == person_id ? 1 : 0;
  return n;
}

std::optional<std::string> ProgrammeState::PersonByPrincipal(const std::string& principal) const {
  if (principal.empty()) return std::nullopt;
  for (const auto& [id, p] : people) {
    if (p.principal == principal) return id;
  }
  return std::nullopt;
}

bool ProgrammeState::HasSkill(const std::string& person_id, v1::Skill skill) const {
  // A training counts; otherwise the latest non-retracted competency assessment decides.
  const LoggedRecord* latest = nullptr;
  for (const auto& [event_id, r] : records) {
    if (r.retracted || r.person_id != person_id || r.skill != skill) continue;
    if (r.kind == v1::Event::kManagerTrained) return true;
    if (r.kind == v1::Event::kCompetencyAssessed && (!latest || r.version > latest->version)) {
      latest = &r;
    }
  }
  return latest != nullptr && latest->competent;
}

bool ProgrammeState::StaffTrained(const std::string& person_id) const {
  for (const auto& [event_id, r] : records) {
    if (!r.retracted && r.kind == v1::Event::kStaffTrained && r.person_id == person_id) return true;
  }
  return false;
}

std::optional<absl::CivilDay> ProgrammeState::LastVisit(const std::string& account_id,
                                                        const std::string& person_id) const {
  std::optional<absl::CivilDay> last;
  for (const auto& [event_id, r] : records) {
    if (r.retracted || r.kind != v1::Event::kSponsorVisitLogged || r.account_id != account_id ||
        r.person_id != person_id) {
      continue;
    }
    if (!last || r.date > *last) last = r.date;
  }
  return last;
}

std::optional<absl::CivilDay> ProgrammeState::LastBenchmark() const {
  std::optional<absl::CivilDay> last;
  for (const auto& [event_id, r] : records) {
    if (r.retracted || r.kind != v1::Event::kBenchmarkRecorded) continue;
    if (!last || r.date > *last) last = r.date;
  }
  return last;
}

}  // namespace kam::domain
