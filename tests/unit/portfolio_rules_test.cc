// Steps 4 and 7: the account lifecycle.
#include "unit/scenario.h"

namespace kam::testing {
namespace {

class Portfolio : public ::testing::Test {
 protected:
  void SetUp() override { WithStandardCast(s); }
  Scenario s;
};

TEST_F(Portfolio, NominationRecordsTheAuthenticatedNominator) {
  EXPECT_EQ(Render(s.When(Nominate("acme"), kKim)),
            "AccountNominated{programme_id: \"emea-kam\" account_id: \"acme\" account_name: \"ACME "
            "Industries\" rationale: \"Top-5 by contribution, multi-site\" nominated_by: "
            "\"kim@supplier.example\" nominated_by_person: \"kim\"}");
}

TEST_F(Portfolio, NominationRejectsMalformedFieldsAndDuplicates) {
  EXPECT_EQ(Render(s.When(Nominate(""), kKim)), "INVALID_ARGUMENT: account_id: is required");
  EXPECT_EQ(Render(s.When(Nominate("ACME/1"), kKim)),
            "INVALID_ARGUMENT: account_id: must be lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit; got 'ACME/1'");
  auto n = Nominate("acme");
  n.set_rationale(std::string(4001, 'x'));
  EXPECT_EQ(Render(s.When(n, kKim)),
            "INVALID_ARGUMENT: rationale: must be at most 4000 bytes, got 4001");
  s.Given(Nominate("acme"), kKim);
  EXPECT_EQ(Render(s.When(Nominate("acme"), kAna)),
            "ALREADY_EXISTS: rule nomination.unique: account 'acme' is already nominated in "
            "programme 'emea-kam' (by kim@supplier.example)");
}

TEST_F(Portfolio, ARejectedAccountMayBeNominatedAgain) {
  s.Given(Nominate("acme"), kKim);
  auto reject = ForAccount<v1::RejectNominationRequest>("acme");
  reject.set_reason("Below threshold, no growth case");
  s.Given(reject, kAna);
  EXPECT_TRUE(s.When(Nominate("acme"), kKim).ok());
}

TEST_F(Portfolio, AssessmentComputesTheWeightedScore) {
  s.Given(Nominate("acme"), kKim);
  auto out = s.When(Assess("acme", 4, 2), kKim);
  ASSERT_TRUE(out.ok());
  // 60 * (4-1)/4 + 40 * (2-1)/4 = 45 + 10
  EXPECT_EQ((*out)[0].account_assessed().weighted_score(), 55);
  EXPECT_EQ((*out)[0].account_assessed().criteria_version(), 1u);
}

TEST_F(Portfolio, AssessmentIsAgainstTheCurrentCriteriaVersion) {
  s.Given(Nominate("acme"), kKim);
  EXPECT_EQ(Render(s.When(Assess("acme", 4, 4, /*version=*/2), kKim)),
            "FAILED_PRECONDITION: rule assessment.current_criteria: criteria_version 2 is not the "
            "current version 1");
}

TEST_F(Portfolio, AssessmentIsComplete) {
  s.Given(Nominate("acme"), kKim);
  auto missing = Assess("acme", 4, 4);
  missing.mutable_scores()->RemoveLast();
  EXPECT_EQ(
      Render(s.When(missing, kKim)),
      "FAILED_PRECONDITION: rule assessment.complete: criterion 'strategic-fit' is not scored");
  EXPECT_EQ(
      Render(s.When(Assess("acme", 6, 4), kKim)),
      "FAILED_PRECONDITION: rule assessment.complete: score 6 for 'profit-potential' is outside "
      "its scale 1..5");
  auto extra = Assess("acme", 4, 4);
  auto* x = extra.add_scores();
  x->set_criterion_id("tenure");
  x->set_score(5);
  EXPECT_EQ(
      Render(s.When(extra, kKim)),
      "FAILED_PRECONDITION: rule assessment.complete: criterion 'tenure' is not in criteria v1");
  auto twice = Assess("acme", 4, 4);
  *twice.add_scores() = twice.scores(0);
  EXPECT_EQ(Render(s.When(twice, kKim)),
            "FAILED_PRECONDITION: rule assessment.complete: criterion 'profit-potential' is scored "
            "twice");
}

TEST_F(Portfolio, AnAssessmentCorrectionNamesTheLatestAssessment) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 2, 2), kKim);
  auto fix = Assess("acme", 4, 4);
  fix.set_corrects_event_id("e999");
  EXPECT_EQ(Render(s.When(fix, kKim)),
            "FAILED_PRECONDITION: rule assessment.complete: corrects_event_id 'e999' is not the "
            "account's latest assessment");
  fix.set_corrects_event_id(s.last_event_id);
  s.Given(fix, kKim);
  EXPECT_EQ(s.state.accounts.at("acme").assessment->weighted_score, 75);
}

TEST_F(Portfolio, AdmissionRecordsScoresApproverAndNominator) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 4), kKim);
  EXPECT_EQ(Render(s.When(Admit("acme"), kAna)),
            "AccountAdmitted{programme_id: \"emea-kam\" account_id: \"acme\" criteria_version: 1 "
            "weighted_score: 90 threshold: 60 nominated_by: \"kim@supplier.example\" approved_by: "
            "\"ana@supplier.example\"}");
}

TEST_F(Portfolio, NoAdmissionWithoutAnAssessmentAgainstTheCurrentCriteria) {
  s.Given(Nominate("acme"), kKim);
  EXPECT_EQ(Render(s.When(Admit("acme"), kAna)),
            "FAILED_PRECONDITION: rule admission.requires_assessment: account 'acme' has not been "
            "assessed");
  s.Given(Assess("acme", 5, 5), kKim);
  s.Given(Criteria(), kAna);  // v2: the v1 assessment no longer counts
  EXPECT_EQ(Render(s.When(Admit("acme"), kAna)),
            "FAILED_PRECONDITION: rule admission.requires_assessment: account 'acme' was assessed "
            "against criteria v1; the current version is v2: assess it again");
  s.Given(Assess("acme", 5, 5, 2), kKim);
  EXPECT_TRUE(s.When(Admit("acme"), kAna).ok());
}

TEST_F(Portfolio, TheNominatorCannotApproveTheirOwnNomination) {
  s.Given(Nominate("acme"), kAna);  // the champion nominates
  s.Given(Assess("acme", 5, 5), kKim);
  EXPECT_EQ(Render(s.When(Admit("acme"), kAna)),
            "FAILED_PRECONDITION: rule admission.four_eyes: person 'ana' (ana@supplier.example) "
            "nominated account 'acme' and cannot also approve it");
  EXPECT_TRUE(s.When(Admit("acme"), kSam).ok());  // another approver may
}

TEST_F(Portfolio, OnlyTheChampionOrTheSteeringBoardApproves) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  EXPECT_EQ(Render(s.When(Admit("acme"), kEve)),
            "FAILED_PRECONDITION: rule approval.champion_or_board: eve@supplier.example may not "
            "admit an account: only an active champion of the programme or a registered "
            "steering-board member approves");
}

TEST_F(Portfolio, AdmissionBelowThresholdIsAnExceptionWithAJustification) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 3, 3), kKim);  // 50 < 60
  EXPECT_EQ(
      Render(s.When(Admit("acme"), kAna)),
      "FAILED_PRECONDITION: rule admission.exception_justified: account 'acme' scored 50, below "
      "the threshold 60: an exception needs exception_justification");
  auto out = s.When(Admit("acme", "Strategic entry into the hydrogen market"), kAna);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE((*out)[0].account_admitted().exception());
  EXPECT_EQ((*out)[0].account_admitted().exception_justification(),
            "Strategic entry into the hydrogen market");
}

TEST_F(Portfolio, AdmissionAboveThresholdIsNoException) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  auto out = s.When(Admit("acme", "not needed"), kAna);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*out)[0].account_admitted().exception());
}

TEST_F(Portfolio, TheNumberOfKeyAccountsStaysWithinTheMaximum) {
  auto c = WithProgramme(v1::ChangeProgrammeParametersRequest{});
  c.set_min_key_accounts(1);
  c.set_max_key_accounts(2);
  c.set_rationale("pilot");
  s.Given(c, kAna);
  WithKeyAccount(s, "a1");
  WithKeyAccount(s, "a2");
  s.Given(Nominate("a3"), kKim);
  s.Given(Assess("a3", 5, 5), kKim);
  EXPECT_EQ(Render(s.When(Admit("a3"), kAna)),
            "FAILED_PRECONDITION: rule portfolio.max_key_accounts: the programme already has 2 key "
            "accounts, its maximum is 2");
  auto retire = ForAccount<v1::RetireAccountRequest>("a1");
  retire.set_reason("Margin collapse");
  s.Given(retire, kAna);
  EXPECT_TRUE(s.When(Admit("a3"), kAna).ok());
}

TEST_F(Portfolio, AdmissionFitsTheStage) {
  WithKeyAccount(s, "acme");
  EXPECT_EQ(Render(s.When(Admit("acme"), kAna)),
            "FAILED_PRECONDITION: rule account.stage: cannot admit account 'acme': it is admitted, "
            "not nominated or incubating");
  EXPECT_EQ(
      Render(s.When(Admit("ghost"), kAna)),
      "FAILED_PRECONDITION: rule account.must_exist: account 'ghost' has not been nominated in "
      "programme 'emea-kam'");
}

TEST_F(Portfolio, IncubationStartsSmallUntilAReviewDate) {
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 3, 3), kKim);
  auto inc = ForAccount<v1::IncubateAccountRequest>("acme");
  inc.set_rationale("Promising but unproven");
  inc.set_review_by(s.Date(0));
  EXPECT_EQ(
      Render(s.When(inc, kAna)),
      "INVALID_ARGUMENT: rule incubation.review_date: review_by 2026-01-05 must be after today");
  inc.set_review_by("2026-13-01");
  EXPECT_EQ(Render(s.When(inc, kAna)),
            "INVALID_ARGUMENT: review_by: must be a date YYYY-MM-DD, got '2026-13-01'");
  inc.set_review_by(s.Date(180));
  EXPECT_EQ(s.When(inc, kKim).status().code(), absl::StatusCode::kFailedPrecondition);  // approver
  s.Given(inc, kAna);
  EXPECT_EQ(s.state.accounts.at("acme").stage, domain::AccountStage::kIncubating);
  EXPECT_EQ(s.state.AdmittedCount(), 0u);
  EXPECT_TRUE(s.When(Admit("acme", "Incubation proved the case"), kAna).ok());
}

TEST_F(Portfolio, RejectionNeedsAReasonAndAnApprover) {
  s.Given(Nominate("acme"), kKim);
  auto reject = ForAccount<v1::RejectNominationRequest>("acme");
  EXPECT_EQ(Render(s.When(reject, kAna)), "INVALID_ARGUMENT: reason: is required");
  reject.set_reason("No growth case");
  EXPECT_EQ(s.When(reject, kKim).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      Render(s.When(reject, kAna)),
      "NominationRejected{programme_id: \"emea-kam\" account_id: \"acme\" reason: \"No growth "
      "case\" decided_by: \"ana@supplier.example\"}");
}

TEST_F(Portfolio, RetirementRecordsReasonApproverAndTenure) {
  WithKeyAccount(s, "acme");
  s.AdvanceDays(100);
  auto retire = ForAccount<v1::RetireAccountRequest>("acme");
  EXPECT_EQ(Render(s.When(retire, kAna)), "INVALID_ARGUMENT: reason: is required");
  retire.set_reason("Negative contribution two years running");
  EXPECT_EQ(s.When(retire, kKim).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      Render(s.When(retire, kSam)),
      "AccountRetired{programme_id: \"emea-kam\" account_id: \"acme\" reason: \"Negative "
      "contribution two years running\" approved_by: \"sam@supplier.example\" tenure_days: 100 "
      "within_min_tenure: true}");
  s.AdvanceDays(300);
  auto later = s.When(retire, kSam);
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE((*later)[0].account_retired().within_min_tenure());
}

TEST_F(Portfolio, ReviewsAndObjectivesNameTheirMeasures) {
  WithKeyAccount(s, "acme");
  auto review = ForAccount<v1::ReviewAccountRequest>("acme");
  review.set_outcome(v1::REVIEW_OUTCOME_RETAIN);
  EXPECT_EQ(Render(s.When(review, kSam)), "INVALID_ARGUMENT: metrics_considered: is required");
  review.add_metrics_considered(v1::METRIC_KIND_CONTRIBUTION);
  EXPECT_TRUE(s.When(review, kSam).ok());
  review.set_outcome(v1::REVIEW_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(Render(s.When(review, kSam)),
            "INVALID_ARGUMENT: outcome: must be RETAIN, WATCH or RETIRE");

  auto obj = ForAccount<v1::SetAccountObjectivesRequest>("acme");
  obj.set_objectives("Grow contribution 10% a year");
  obj.add_measured_by(v1::METRIC_KIND_CONTRIBUTION);
  EXPECT_TRUE(s.When(obj, kKim).ok());
  auto nominated_only = ForAccount<v1::SetAccountObjectivesRequest>("other");
  s.Given(Nominate("other"), kKim);
  nominated_only.set_objectives("x");
  nominated_only.add_measured_by(v1::METRIC_KIND_REVENUE);
  EXPECT_EQ(Render(s.When(nominated_only, kKim)),
            "FAILED_PRECONDITION: rule account.stage: cannot set objectives of account 'other': it "
            "is nominated, not admitted or incubating");
}

}  // namespace
}  // namespace kam::testing
