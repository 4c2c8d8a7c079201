// Steps 3 and 4 (set-up): charter, parameters, people, the champion, selection criteria.
#include "unit/scenario.h"

namespace kam::testing {
namespace {

TEST(CharterProgramme, RecordsTheProgrammeWithDefaultBoundsAndParameters) {
  Scenario s;
  auto out = s.When(Charter(), kAdmin);
  ASSERT_TRUE(out.ok());
  const auto& e = (*out)[0].programme_chartered();
  EXPECT_EQ(e.min_key_accounts(), 5u);
  EXPECT_EQ(e.max_key_accounts(), 25u);
  EXPECT_EQ(e.parameters().DebugString(), domain::DefaultParameters().DebugString());
}

TEST(CharterProgramme, RejectsBoundsOutsideTheCeiling) {
  Scenario s;
  auto c = Charter();
  c.set_min_key_accounts(5);
  c.set_max_key_accounts(101);
  EXPECT_EQ(Render(s.When(c, kAdmin)),
            "INVALID_ARGUMENT: rule portfolio.bounds: min_key_accounts and max_key_accounts must "
            "satisfy 1 <= min <= max <= 100; got 5..101");
  c.set_min_key_accounts(9);
  c.set_max_key_accounts(8);
  EXPECT_EQ(s.When(c, kAdmin).status().code(), absl::StatusCode::kInvalidArgument);
  c.set_min_key_accounts(3);
  c.set_max_key_accounts(12);
  EXPECT_TRUE(s.When(c, kAdmin).ok());
}

TEST(CharterProgramme, RejectsASecondCharterOfTheSameId) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  EXPECT_EQ(Render(s.When(Charter(), kAdmin)),
            "ALREADY_EXISTS: rule programme.unique: programme 'emea-kam' is already chartered");
}

TEST(CharterProgramme, NamesTheMissingOrMalformedField) {
  Scenario s;
  auto c = Charter();
  c.clear_name();
  EXPECT_EQ(Render(s.When(c, kAdmin)), "INVALID_ARGUMENT: name: is required");
  c = Charter();
  c.set_programme_id("Bad Id");
  EXPECT_EQ(Render(s.When(c, kAdmin)),
            "INVALID_ARGUMENT: programme_id: must be lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit; got 'Bad Id'");
}

TEST(CharterProgramme, RejectsParametersOutOfRange) {
  Scenario s;
  auto c = Charter();
  c.mutable_parameters()->set_discount_rate(1.5);
  EXPECT_EQ(Render(s.When(c, kAdmin)),
            "INVALID_ARGUMENT: rule parameters.valid: parameters.discount_rate must be in [0, 1)");
  c = Charter();
  c.mutable_parameters()->add_required_skills(v1::SKILL_FINANCE);
  c.mutable_parameters()->add_required_skills(v1::SKILL_FINANCE);
  EXPECT_EQ(Render(s.When(c, kAdmin)),
            "INVALID_ARGUMENT: rule parameters.valid: parameters.required_skills must not repeat a "
            "skill");
}

TEST(AnyCommand, OnAnUnknownProgrammeNamesTheField) {
  Scenario s;
  EXPECT_EQ(Render(s.When(Nominate("acme"), kKim)),
            "INVALID_ARGUMENT: programme_id: programme 'emea-kam' is not chartered (rule "
            "programme.must_exist)");
}

v1::ChangeProgrammeParametersRequest MaxAccounts(uint32_t max) {
  auto c = WithProgramme(v1::ChangeProgrammeParametersRequest{});
  c.set_max_key_accounts(max);
  c.set_rationale("Board decision of 2026-01");
  return c;
}

TEST(ChangeProgrammeParameters, IsApprovedByTheChampionAndRecordsWhatChanged) {
  Scenario s;
  WithStandardCast(s);
  auto c = MaxAccounts(20);
  c.mutable_parameters()->set_sponsor_visit_cadence_days(60);
  EXPECT_EQ(
      Render(s.When(c, kAna)),
      "ProgrammeParametersChanged{programme_id: \"emea-kam\" min_key_accounts: 5 "
      "max_key_accounts: 20 parameters { max_accounts_per_sponsor: 3 "
      "sponsor_visit_cadence_days: 60 sponsor_grace_days: 30 min_tenure_days: 365 "
      "review_cadence_days: 180 benchmark_cadence_days: 365 discount_rate: 0.1 "
      "required_skills: SKILL_FINANCE required_skills: SKILL_CONSULTING required_skills: "
      "SKILL_PLANNING required_skills: SKILL_INTERPERSONAL required_skills: SKILL_INFLUENCE } "
      "changed_fields: \"max_key_accounts\" changed_fields: "
      "\"parameters.sponsor_visit_cadence_days\" rationale: \"Board decision of 2026-01\" "
      "approved_by: \"ana@supplier.example\"}");
  EXPECT_TRUE(s.When(c, kSam).ok());  // a steering-board member approves too
}

TEST(ChangeProgrammeParameters, NeedsTheChampionOrTheSteeringBoard) {
  Scenario s;
  WithStandardCast(s);
  EXPECT_EQ(Render(s.When(MaxAccounts(20), kKim)),
            "FAILED_PRECONDITION: rule approval.champion_or_board: kim@supplier.example may not "
            "change programme parameters: only an active champion of the programme or a "
            "registered steering-board member approves");
  EXPECT_EQ(Render(s.When(MaxAccounts(20), "stranger@else.example")),
            "PERMISSION_DENIED: rule membership.required: stranger@else.example may not "
            "ChangeProgrammeParameters in programme 'emea-kam': it is not the principal of a "
            "registered person of that programme");
}

TEST(ChangeProgrammeParameters, NeedsARationaleAndAChange) {
  Scenario s;
  WithStandardCast(s);
  auto c = MaxAccounts(20);
  c.clear_rationale();
  EXPECT_EQ(Render(s.When(c, kAna)), "INVALID_ARGUMENT: rationale: is required");
  EXPECT_EQ(Render(s.When(MaxAccounts(25), kAna)),
            "INVALID_ARGUMENT: rule parameters.valid: the request changes nothing");
}

TEST(ChangeProgrammeParameters, CannotLowerTheMaximumBelowTheAdmittedAccounts) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  WithKeyAccount(s, "globex");
  auto c = MaxAccounts(1);
  c.set_min_key_accounts(1);
  EXPECT_EQ(Render(s.When(c, kAna)),
            "FAILED_PRECONDITION: rule parameters.max_below_admitted: max_key_accounts 1 is below "
            "the 2 admitted key accounts; retire accounts first");
  c.set_max_key_accounts(2);
  EXPECT_TRUE(s.When(c, kAna).ok());
}

TEST(ChangeProgrammeParameters, CannotLowerTheSponsorMaximumBelowASponsorsLoad) {
  Scenario s;
  WithStandardCast(s);
  for (const char* a : {"acme", "globex"}) {
    WithKeyAccount(s, a);
    auto assign = ForAccount<v1::AssignSponsorRequest>(a);
    assign.set_person_id("eve");
    s.Given(assign, kAna);
  }
  auto c = WithProgramme(v1::ChangeProgrammeParametersRequest{});
  c.set_rationale("Fewer accounts per sponsor");
  c.mutable_parameters()->set_max_accounts_per_sponsor(1);
  EXPECT_EQ(Render(s.When(c, kAna)),
            "FAILED_PRECONDITION: rule parameters.sponsor_load: sponsor 'eve' holds 2 accounts, "
            "more than the new maximum of 1");
  c.mutable_parameters()->set_max_accounts_per_sponsor(2);
  EXPECT_TRUE(s.When(c, kAna).ok());
}

TEST(RegisterPerson, RecordsThePersonOnce) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  auto p = Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER});
  EXPECT_EQ(Render(s.Given(p, kAdmin)),
            "PersonRegistered{programme_id: \"emea-kam\" person_id: \"kim\" name: \"Person kim\" "
            "principal: \"kim@supplier.example\" functions: PERSON_FUNCTION_KEY_ACCOUNT_MANAGER "
            "registered_by: \"admin@supplier.example\"}");
  EXPECT_EQ(Render(s.When(p, kAdmin)),
            "ALREADY_EXISTS: rule person.unique: person 'kim' is already registered");
  auto same_login = Person("kim2", kKim, {v1::PERSON_FUNCTION_SALES});
  EXPECT_EQ(
      Render(s.When(same_login, kAdmin)),
      "ALREADY_EXISTS: rule person.unique: principal 'kim@supplier.example' already belongs to "
      "person 'kim'");
  auto no_function = Person("x", "", {});
  EXPECT_EQ(Render(s.When(no_function, kAdmin)), "INVALID_ARGUMENT: functions: is required");
}

TEST(AppointChampion, AProgrammeMayHaveSeveralChampionsAndEachApproves) {
  Scenario s;
  WithStandardCast(s);  // ana is champion
  const std::string kBo = "bo@supplier.example";
  s.Given(Person("bo", kBo, {v1::PERSON_FUNCTION_EXECUTIVE}, true), kAna);
  // Once the programme has a champion, the platform admin appoints no more.
  EXPECT_EQ(Render(s.When(AppointChampion("bo"), kAdmin)),
            "PERMISSION_DENIED: rule membership.required: admin@supplier.example may not "
            "AppointChampion in programme 'emea-kam': it is not the principal of a registered "
            "person of that programme (a platform admin registers people only until the "
            "programme's first champion is appointed)");
  s.Given(AppointChampion("bo"), kAna);  // Tetra Pak runs its programme with two
  EXPECT_EQ(s.state.champions, (std::set<std::string>{"ana", "bo"}));
  EXPECT_EQ(
      Render(s.When(AppointChampion("bo"), kAna)),
      "FAILED_PRECONDITION: rule champion.already_active: 'bo' is already an active champion");
  // Both approve admissions.
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  s.Given(Nominate("globex"), kKim);
  s.Given(Assess("globex", 5, 5), kKim);
  EXPECT_TRUE(s.Apply(Admit("acme"), kAna).ok());
  EXPECT_TRUE(s.Apply(Admit("globex"), kBo).ok());

  auto down = WithProgramme(v1::StandDownChampionRequest{});
  down.set_person_id("eve");
  down.set_reason("rotation");
  EXPECT_EQ(Render(s.When(down, kAna)),
            "FAILED_PRECONDITION: rule champion.must_be_active: 'eve' is not an active champion");
  down.set_person_id("ana");
  EXPECT_EQ(Render(s.When(down, kKim)),
            "PERMISSION_DENIED: rule membership.granted_by_approver: person 'kim' "
            "(kim@supplier.example) may not StandDownChampion: only an active champion or a "
            "steering-board member of programme 'emea-kam' does");
  s.Given(down, kBo);
  EXPECT_EQ(s.state.champions, (std::set<std::string>{"bo"}));
}

TEST(AppointChampion, MustBeSeniorWithAReportingLineToTopManagement) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  s.Given(Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAdmin);
  EXPECT_EQ(Render(s.When(AppointChampion("kim"), kAdmin)),
            "FAILED_PRECONDITION: rule champion.senior_with_top_line: 'kim' must be senior with a "
            "reporting line to top management");
  EXPECT_EQ(Render(s.When(AppointChampion("nobody"), kAdmin)),
            "FAILED_PRECONDITION: rule person.must_exist: person_id 'nobody' is not a registered "
            "person of the programme");
}

TEST(PublishSelectionCriteria, VersionsCountUp) {
  Scenario s;
  WithStandardCast(s);  // v1
  auto out = s.Given(Criteria(), kAna);
  EXPECT_EQ(out[0].selection_criteria_published().criteria_version(), 2u);
  EXPECT_EQ(s.state.criteria->version, 2u);
}

TEST(PublishSelectionCriteria, WeightsAddUpTo100) {
  Scenario s;
  WithStandardCast(s);
  auto c = Criteria();
  c.mutable_criteria(1)->set_weight_percent(30);
  EXPECT_EQ(
      Render(s.When(c, kAna)),
      "INVALID_ARGUMENT: rule criteria.weights_sum_100: criteria weights add up to 90, not 100");
}

TEST(PublishSelectionCriteria, TenureOrRelationshipIsNotACriterion) {
  Scenario s;
  WithStandardCast(s);
  auto c = Criteria();
  c.mutable_criteria(1)->set_name("Length of relationship");
  EXPECT_EQ(Render(s.When(c, kAna)),
            "INVALID_ARGUMENT: rule criteria.no_tenure_or_relationship: criteria[1] 'Length of "
            "relationship': tenure or a personal relationship is not a selection criterion");
  c.mutable_criteria(1)->set_name("Customer tenure");
  EXPECT_EQ(s.When(c, kAna).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PublishSelectionCriteria, ScalesIdsAndThresholdAreValid) {
  Scenario s;
  WithStandardCast(s);
  auto c = Criteria();
  c.mutable_criteria(0)->set_scale_max(1);
  EXPECT_EQ(
      Render(s.When(c, kAna)),
      "INVALID_ARGUMENT: rule criteria.valid: criteria[0]: scale_min must be below scale_max");
  c = Criteria();
  c.mutable_criteria(1)->set_criterion_id("profit-potential");
  EXPECT_EQ(Render(s.When(c, kAna)),
            "INVALID_ARGUMENT: rule criteria.valid: criteria[1].criterion_id 'profit-potential' is "
            "repeated");
  c = Criteria();
  c.set_threshold(0);
  EXPECT_EQ(Render(s.When(c, kAna)),
            "INVALID_ARGUMENT: rule criteria.valid: threshold must be in (0, 100]");
  c = Criteria();
  c.clear_criteria();
  EXPECT_EQ(Render(s.When(c, kAna)),
            "INVALID_ARGUMENT: rule criteria.valid: criteria: at least one criterion is required");
}

TEST(PublishSelectionCriteria, IsApprovedByTheChampionOrBoard) {
  Scenario s;
  WithStandardCast(s);
  EXPECT_EQ(s.When(Criteria(), kKim).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(s.When(Criteria(), kSam).ok());
}

}  // namespace
}  // namespace kam::testing
