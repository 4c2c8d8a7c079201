// Derived views of the programme state.
#include <algorithm>

#include "base/strings.h"
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

std::string ErasedPersonName(uint32_t number) { return base::StrCat("erased person #", number); }

bool Person::Authenticates(std::string_view p) const {
  if (p.empty() || ended) return false;
  if (principal == p) return true;
  return std::find(other_principals.begin(), other_principals.end(), p) != other_principals.end();
}

bool Person::Commands() const {
  for (v1::PersonFunction f : functions) {
    if (f != v1::PERSON_FUNCTION_BOARD_OBSERVER && f != v1::PERSON_FUNCTION_PUBLISHER) return true;
  }
  return false;
}

std::optional<std::string> ProgrammeState::PersonByPrincipal(const std::string& principal) const {
  if (principal.empty()) return std::nullopt;
  for (const auto& [id, p] : people) {
    if (p.Authenticates(principal)) return id;
  }
  return std::nullopt;
}

namespace {

std::string Key(std::string_view kind, std::string_view a = {}, std::string_view b = {}) {
  std::string out(kind);
  out.push_back('\0');
  out.append(a);
  out.push_back('\0');
  out.append(b);
  return out;
}

}  // namespace

std::string ProgrammeState::RecordIndexKey(const LoggedRecord& r) {
  switch (r.kind) {
    case v1::Event::kSponsorVisitLogged:
      return Key("visit", r.account_id, r.person_id);
    case v1::Event::kManagerTrained:
    case v1::Event::kCompetencyAssessed:
      return Key("skill", r.person_id, std::to_string(static_cast<int>(r.skill)));
    case v1::Event::kStaffTrained:
      return Key("staff", r.person_id);
    case v1::Event::kBenchmarkRecorded:
      return Key("benchmark");
    default:
      return Key("other");
  }
}

bool ProgrammeState::HasSkill(const std::string& person_id, v1::Skill skill) const {
  // A training counts; otherwise the latest non-retracted competency assessment decides.
  auto ids = record_index.find(Key("skill", person_id, std::to_string(static_cast<int>(skill))));
  if (ids == record_index.end()) return false;
  const LoggedRecord* latest = nullptr;
  for (const auto& id : ids->second) {
    const LoggedRecord& r = records.at(id);
    if (r.retracted) continue;
    if (r.kind == v1::Event::kManagerTrained) return true;
    if (r.kind == v1::Event::kCompetencyAssessed && (!latest || r.version > latest->version)) {
      latest = &r;
    }
  }
  return latest != nullptr && latest->competent;
}

bool ProgrammeState::StaffTrained(const std::string& person_id) const {
  auto ids = record_index.find(Key("staff", person_id));
  if (ids == record_index.end()) return false;
  for (const auto& id : ids->second) {
    if (!records.at(id).retracted) return true;
  }
  return false;
}

std::optional<absl::CivilDay> ProgrammeState::LastVisit(const std::string& account_id,
                                                        const std::string& person_id) const {
  std::optional<absl::CivilDay> last;
  auto ids = record_index.find(Key("visit", account_id, person_id));
  if (ids == record_index.end()) return last;
  for (const auto& id : ids->second) {
    const LoggedRecord& r = records.at(id);
    if (!r.retracted && (!last || r.date > *last)) last = r.date;
  }
  return last;
}

std::optional<absl::CivilDay> ProgrammeState::LastBenchmark() const {
  std::optional<absl::CivilDay> last;
  auto ids = record_index.find(Key("benchmark"));
  if (ids == record_index.end()) return last;
  for (const auto& id : ids->second) {
    const LoggedRecord& r = records.at(id);
    if (!r.retracted && (!last || r.date > *last)) last = r.date;
  }
  return last;
}

}  // namespace kam::domain
