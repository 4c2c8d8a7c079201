// The "flag" findings: computed from state on a given day, never blocking.
#include <algorithm>

#include "domain/rules.h"
#include "unit/scenario.h"

namespace kam::testing {
namespace {

namespace rules = domain::rules;

// "rule|subject" of every flag, for compact expectations.
std::vector<std::string> Raised(const Scenario& s, int days_ahead = 0) {
  std::vector<std::string> out;
  for (const auto& f : domain::ComputeFlags(s.state, s.today() + days_ahead)) {
    out.push_back(f.rule + "|" + f.subject);
  }
  return out;
}

bool Has(const std::vector<std::string>& flags, std::string_view rule, std::string_view subject) {
  return std::find(flags.begin(), flags.end(), std::string(rule) + "|" + std::string(subject)) !=
         flags.end();
}

TEST(Flags, ANewProgrammeLacksChampionCriteriaAndAccounts) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  EXPECT_EQ(Raised(s), (std::vector<std::string>{"flag.step3.no_active_champion|programme",
                                                 "flag.step4.no_selection_criteria|programme",
                                                 "flag.step4.portfolio_below_minimum|programme"}));
}

TEST(Flags, AHealthyProgrammeRaisesNothing) {
  Scenario s;
  WithStandardCast(s);
  auto c = WithProgramme(v1::ChangeProgrammeParametersRequest{});
  c.set_min_key_accounts(1);
  c.set_rationale("pilot");
  s.Given(c, kAna);
  WithKeyAccount(s, "acme");
  auto sponsor = ForAccount<v1::AssignSponsorRequest>("acme");
  sponsor.set_person_id("eve");
  s.Given(sponsor, kAna);
  EXPECT_EQ(Raised(s), std::vector<std::string>{});
}

TEST(Flags, Step2SponsorMissingAfterGraceAndVisitsOverdue) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  EXPECT_FALSE(Has(Raised(s, 30), rules::kFlagNoSponsor, "account acme"));
  EXPECT_TRUE(Has(Raised(s, 31), rules::kFlagNoSponsor, "account acme"));
  auto sponsor = ForAccount<v1::AssignSponsorRequest>("acme");
  sponsor.set_person_id("eve");
  s.Given(sponsor, kAna);
  EXPECT_FALSE(Has(Raised(s, 90), rules::kFlagSponsorVisitOverdue, "account acme"));
  EXPECT_TRUE(Has(Raised(s, 91), rules::kFlagSponsorVisitOverdue, "account acme"));
  s.AdvanceDays(80);
  auto visit = ForAccount<v1::LogSponsorVisitRequest>("acme");
  visit.set_visit_date(s.Date(0));
  s.Given(visit, kEve);
  EXPECT_FALSE(Has(Raised(s, 90), rules::kFlagSponsorVisitOverdue, "account acme"));
  // A retracted visit no longer counts.
  auto retract = WithProgramme(v1::RetractRecordRequest{});
  retract.set_event_id(s.last_event_id);
  retract.set_reason("Logged for the wrong account");
  s.Given(retract, kAna);
  EXPECT_TRUE(Has(Raised(s, 11), rules::kFlagSponsorVisitOverdue, "account acme"));
}

TEST(Flags, Step1UntrainedOperationsStaffAndCommitments) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  auto join = ForAccount<v1::AssignTeamMemberRequest>("acme");
  join.set_person_id("olga");
  s.Given(join, kKim);
  join.set_person_id("sid");  // sales: not flagged
  s.Given(join, kKim);
  auto flags = Raised(s);
  EXPECT_TRUE(Has(flags, rules::kFlagUntrainedStaff, "account acme"));
  EXPECT_EQ(std::count(flags.begin(), flags.end(),
                       std::string(rules::kFlagUntrainedStaff) + "|account acme"),
            1);
  auto t = WithProgramme(v1::RecordStaffTrainingRequest{});
  t.set_person_id("olga");
  t.set_course("KAM for operations");
  t.set_completed_on(s.Date(0));
  s.Given(t, kAna);
  EXPECT_FALSE(Has(Raised(s), rules::kFlagUntrainedStaff, "account acme"));

  auto commit = ForAccount<v1::MakeCommitmentRequest>("acme");
  commit.set_commitment_id("c1");
  commit.set_description("Priority supply");
  commit.set_owner_person_id("olga");
  commit.set_due_by(s.Date(10));
  s.Given(commit, kKim);
  EXPECT_FALSE(Has(Raised(s, 10), rules::kFlagCommitmentOverdue, "account acme"));
  EXPECT_TRUE(Has(Raised(s, 11), rules::kFlagCommitmentOverdue, "account acme"));
  auto breach = WithProgramme(v1::BreachCommitmentRequest{});
  breach.set_commitment_id("c1");
  breach.set_reason("Plant outage");
  s.Given(breach, kKim);
  EXPECT_TRUE(Has(Raised(s), rules::kFlagCommitmentBreached, "account acme"));
}

TEST(Flags, Step4AdmitThenDemoteAndOverdueIncubation) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  s.AdvanceDays(30);
  auto retire = ForAccount<v1::RetireAccountRequest>("acme");
  retire.set_reason("Acquired by a competitor");
  s.Given(retire, kAna);
  EXPECT_TRUE(Has(Raised(s), rules::kFlagAdmitThenDemote, "account acme"));

  s.Given(Nominate("newco"), kKim);
  s.Given(Assess("newco", 3, 3), kKim);
  auto inc = ForAccount<v1::IncubateAccountRequest>("newco");
  inc.set_rationale("Start small");
  inc.set_review_by(s.Date(90));
  s.Given(inc, kAna);
  EXPECT_FALSE(Has(Raised(s, 90), rules::kFlagIncubationOverdue, "account newco"));
  EXPECT_TRUE(Has(Raised(s, 91), rules::kFlagIncubationOverdue, "account newco"));
}

TEST(Flags, Step5AnOpenTrainingPlanIsFlaggedUntilDoneAndWhenOverdue) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  s.Given(Person("max", "max@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAna);
  auto assign = ForAccount<v1::AssignManagerRequest>("acme");
  assign.set_person_id("max");
  for (v1::Skill skill : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                          v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
    auto* item = assign.add_training_plan();
    item->set_skill(skill);
    item->set_due_by(s.Date(30));
  }
  s.Given(assign, kAna);
  auto open = Raised(s);
  EXPECT_EQ(std::count(open.begin(), open.end(),
                       std::string(rules::kFlagTrainingPlanOpen) + "|account acme"),
            5);
  EXPECT_TRUE(Has(Raised(s, 31), rules::kFlagTrainingOverdue, "account acme"));
  // The detail reads as a board member reads: the person's name, the skill in words.
  for (const auto& f : domain::ComputeFlags(s.state, s.today() + 31)) {
    if (f.rule != rules::kFlagTrainingOverdue) continue;
    EXPECT_EQ(f.detail, "manager Person max is to be trained in finance by " + s.Date(30));
    break;
  }
  auto t = WithProgramme(v1::RecordManagerTrainingRequest{});
  t.set_person_id("max");
  t.set_course("KAM academy");
  t.set_completed_on(s.Date(0));
  for (v1::Skill skill : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                          v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
    t.set_skill(skill);
    s.Given(t, kAna);
  }
  EXPECT_FALSE(Has(Raised(s, 31), rules::kFlagTrainingOverdue, "account acme"));
  EXPECT_FALSE(Has(Raised(s), rules::kFlagTrainingPlanOpen, "account acme"));
}

TEST(Flags, Step6RevenueAloneInObjectivesOrReviews) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  auto obj = ForAccount<v1::SetAccountObjectivesRequest>("acme");
  obj.set_objectives("Grow sales");
  obj.add_measured_by(v1::METRIC_KIND_REVENUE);
  s.Given(obj, kKim);
  EXPECT_TRUE(Has(Raised(s), rules::kFlagRevenueOnly, "account acme"));
  obj.add_measured_by(v1::METRIC_KIND_CONTRIBUTION);
  s.Given(obj, kKim);
  EXPECT_FALSE(Has(Raised(s), rules::kFlagRevenueOnly, "account acme"));
  auto review = ForAccount<v1::ReviewAccountRequest>("acme");
  review.set_outcome(v1::REVIEW_OUTCOME_WATCH);
  review.add_metrics_considered(v1::METRIC_KIND_REVENUE);
  s.Given(review, kSam);
  EXPECT_TRUE(Has(Raised(s), rules::kFlagRevenueOnly, "account acme"));
}

TEST(Flags, Step7ReviewsAndBenchmarksWithinTheirCadences) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  EXPECT_FALSE(Has(Raised(s, 180), rules::kFlagAccountReviewOverdue, "account acme"));
  EXPECT_TRUE(Has(Raised(s, 181), rules::kFlagAccountReviewOverdue, "account acme"));
  EXPECT_TRUE(Has(Raised(s, 181), rules::kFlagProgrammeReviewOverdue, "programme"));
  EXPECT_FALSE(Has(Raised(s, 365), rules::kFlagBenchmarkOverdue, "programme"));
  EXPECT_TRUE(Has(Raised(s, 366), rules::kFlagBenchmarkOverdue, "programme"));
  s.AdvanceDays(170);
  auto review = ForAccount<v1::ReviewAccountRequest>("acme");
  review.set_outcome(v1::REVIEW_OUTCOME_RETAIN);
  review.add_metrics_considered(v1::METRIC_KIND_CUSTOMER_LIFETIME_VALUE);
  s.Given(review, kSam);
  auto programme_review = WithProgramme(v1::ReviewProgrammeRequest{});
  programme_review.set_summary("Half-year review");
  s.Given(programme_review, kSam);
  EXPECT_FALSE(Has(Raised(s, 11), rules::kFlagAccountReviewOverdue, "account acme"));
  EXPECT_FALSE(Has(Raised(s, 11), rules::kFlagProgrammeReviewOverdue, "programme"));
}

TEST(Flags, EveryFlagNamesItsStep) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  for (const auto& f : domain::ComputeFlags(s.state, s.today() + 400)) {
    EXPECT_EQ(f.rule.rfind("flag.step" + std::to_string(f.step) + ".", 0), 0u) << f.rule;
  }
}

}  // namespace
}  // namespace kam::testing
