// ComputeFlags: the "flag" findings of KAM-DOMAIN.md, computed from the programme state
// on a given day. Flags report; they never block a command.
#include "domain/checks.h"

namespace kam::domain {
namespace {

bool RevenueOnly(const std::vector<v1::MetricKind>& kinds) {
  if (kinds.empty()) return false;
  for (auto k : kinds) {
    if (k != v1::METRIC_KIND_REVENUE) return false;
  }
  return true;
}

// A person as a reader knows them: their name, or their id if the name is not known.
std::string NameOf(const ProgrammeState& s, const std::string& person_id) {
  auto it = s.people.find(person_id);
  return it == s.people.end() || it->second.name.empty() ? person_id : it->second.name;
}

}  // namespace

std::string SkillName(v1::Skill skill) {
  switch (skill) {
    case v1::SKILL_FINANCE:
      return "finance";
    case v1::SKILL_CONSULTING:
      return "consulting";
    case v1::SKILL_PLANNING:
      return "planning";
    case v1::SKILL_INTERPERSONAL:
      return "interpersonal skills";
    case v1::SKILL_INFLUENCE:
      return "influence";
    default:
      return "an unknown skill";
  }
}

std::vector<Flag> ComputeFlags(const ProgrammeState& s, absl::CivilDay today) {
  std::vector<Flag> out;
  if (!s.chartered) return out;
  auto flag = [&](std::string_view rule, int step, std::string subject, std::string detail) {
    out.push_back(Flag{std::string(rule), step, std::move(subject), std::move(detail)});
  };
  const auto& p = s.parameters;

  // Step 3: a programme runs with at least one active champion.
  if (s.champions.empty()) flag(rules::kFlagNoChampion, 3, "programme", "no active champion");
  // Step 4: criteria, bounds.
  if (!s.criteria) flag(rules::kFlagNoCriteria, 4, "programme", "no selection criteria published");
  if (s.AdmittedCount() < s.min_key_accounts) {
    flag(rules::kFlagBelowMinimum, 4, "programme",
         base::StrCat(s.AdmittedCount(), " key accounts, below the minimum of ",
                      s.min_key_accounts));
  }

  for (const auto& [id, a] : s.accounts) {
    const std::string subject = "account " + id;
    if (a.stage == AccountStage::kRetired && a.retired_within_min_tenure) {
      flag(rules::kFlagAdmitThenDemote, 4, subject,
           base::StrCat("retired on ", FormatDate(*a.retired_on), ", within the minimum tenure of ",
                        p.min_tenure_days(), " days after admission on ",
                        a.admitted_on ? FormatDate(*a.admitted_on) : "?"));
    }
    if (!a.active()) continue;
    if (a.stage == AccountStage::kIncubating && a.incubation_review_by &&
        *a.incubation_review_by < today) {
      flag(rules::kFlagIncubationOverdue, 4, subject,
           base::StrCat("incubation was to be decided by ", FormatDate(*a.incubation_review_by)));
    }
    // Step 1: operations and supply-chain team members are trained in KAM.
    for (const auto& person_id : a.team) {
      auto it = s.people.find(person_id);
      if (it == s.people.end()) continue;
      const bool ops = it->second.Has(v1::PERSON_FUNCTION_OPERATIONS) ||
                       it->second.Has(v1::PERSON_FUNCTION_SUPPLY_CHAIN);
      if (ops && !s.StaffTrained(person_id)) {
        flag(rules::kFlagUntrainedStaff, 1, subject,
             base::StrCat("team member ", NameOf(s, person_id),
                          " (operations / supply chain) has no KAM training"));
      }
    }
    // Step 2: sponsorship and visit cadence.
    if (a.sponsor.empty()) {
      if (a.stage == AccountStage::kAdmitted && a.admitted_on &&
          DaysBetween(*a.admitted_on, today) > p.sponsor_grace_days()) {
        flag(rules::kFlagNoSponsor, 2, subject,
             base::StrCat("admitted on ", FormatDate(*a.admitted_on), ", no sponsor after ",
                          p.sponsor_grace_days(), " days"));
      }
    } else {
      const auto last = s.LastVisit(id, a.sponsor);
      const absl::CivilDay since = last ? *last : a.sponsor_since;
      if (DaysBetween(since, today) > p.sponsor_visit_cadence_days()) {
        flag(rules::kFlagSponsorVisitOverdue, 2, subject,
             base::StrCat(
                 "sponsor ", NameOf(s, a.sponsor), " ",
                 last ? "last visited on " + FormatDate(*last) : std::string("has not visited"),
                 "; the cadence is ", p.sponsor_visit_cadence_days(), " days"));
      }
    }
    // Step 5: a manager's dated training plan is flagged until done, and when overdue.
    for (const auto& item : a.training_plan) {
      if (s.HasSkill(a.manager, item.skill())) continue;
      const auto due = ParseDate("due_by", item.due_by());
      const bool overdue = due.ok() && *due < today;
      flag(overdue ? rules::kFlagTrainingOverdue : rules::kFlagTrainingPlanOpen, 5, subject,
           base::StrCat("manager ", NameOf(s, a.manager), " is to be trained in ",
                        SkillName(item.skill()), " by ", item.due_by()));
    }
    // Step 6: objectives or reviews by revenue alone.
    if (RevenueOnly(a.objective_metrics)) {
      flag(rules::kFlagRevenueOnly, 6, subject, "objectives are measured by revenue alone");
    }
    if (RevenueOnly(a.last_review_metrics)) {
      flag(rules::kFlagRevenueOnly, 6, subject, "the last review considered revenue alone");
    }
    // Step 7: every key account is reviewed within the cadence.
    const absl::CivilDay reviewed =
        a.last_review ? *a.last_review
                      : (a.admitted_on ? *a.admitted_on : a.incubated_on.value_or(today));
    if (DaysBetween(reviewed, today) > p.review_cadence_days()) {
      flag(rules::kFlagAccountReviewOverdue, 7, subject,
           base::StrCat(a.last_review ? "last reviewed on " : "not reviewed since ",
                        FormatDate(reviewed), "; the cadence is ", p.review_cadence_days(),
                        " days"));
    }
  }

  // Step 1: commitments.
  for (const auto& [id, c] : s.commitments) {
    if (c.status == Commitment::Status::kBreached) {
      flag(rules::kFlagCommitmentBreached, 1, "account " + c.account_id,
           base::StrCat("commitment '", id, "' was breached"));
    } else if (c.status == Commitment::Status::kOpen && c.due_by < today) {
      flag(rules::kFlagCommitmentOverdue, 1, "account " + c.account_id,
           base::StrCat("commitment '", id, "' was due on ", FormatDate(c.due_by)));
    }
  }
  // Step 7: the programme is reviewed and benchmarked within its cadences.
  const absl::CivilDay reviewed = s.last_programme_review.value_or(s.chartered_on);
  if (DaysBetween(reviewed, today) > p.review_cadence_days()) {
    flag(rules::kFlagProgrammeReviewOverdue, 7, "programme",
         base::StrCat("last reviewed (or chartered) on ", FormatDate(reviewed)));
  }
  const absl::CivilDay benchmarked = s.LastBenchmark().value_or(s.chartered_on);
  if (DaysBetween(benchmarked, today) > p.benchmark_cadence_days()) {
    flag(rules::kFlagBenchmarkOverdue, 7, "programme",
         base::StrCat("last benchmarked (or chartered) on ", FormatDate(benchmarked)));
  }
  return out;
}

}  // namespace kam::domain
