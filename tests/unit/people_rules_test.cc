// Steps 1, 2 and 5: sponsors, managers, teams, training and commitments.
#include "unit/scenario.h"

namespace kam::testing {
namespace {

class People : public ::testing::Test {
 protected:
  void SetUp() override {
    WithStandardCast(s);
    WithKeyAccount(s, "acme");
  }
  v1::AssignSponsorRequest Sponsor(std::string account, std::string person) {
    auto c = ForAccount<v1::AssignSponsorRequest>(std::move(account));
    c.set_person_id(std::move(person));
    return c;
  }
  v1::AssignManagerRequest Manager(std::string account, std::string person) {
    auto c = ForAccount<v1::AssignManagerRequest>(std::move(account));
    c.set_person_id(std::move(person));
    return c;
  }
  Scenario s;
};

TEST_F(People, TheSponsorIsARegisteredExecutive) {
  EXPECT_EQ(Render(s.When(Sponsor("acme", "kim"), kAna)),
            "FAILED_PRECONDITION: rule sponsor.registered_executive: 'kim' is not a registered "
            "executive");
  EXPECT_EQ(
      Render(s.When(Sponsor("acme", "zed"), kAna)),
      "FAILED_PRECONDITION: rule person.must_exist: person_id 'zed' is not a registered person "
      "of the programme");
  EXPECT_EQ(Render(s.When(Sponsor("acme", "eve"), kAna)),
            "SponsorAssigned{programme_id: \"emea-kam\" account_id: \"acme\" person_id: \"eve\"}");
}

TEST_F(People, ASponsorHoldsAtMostTheConfiguredNumberOfAccounts) {
  for (const char* a : {"b1", "b2", "b3"}) {
    WithKeyAccount(s, a);
    s.Given(Sponsor(a, "eve"), kAna);
  }
  EXPECT_EQ(
      Render(s.When(Sponsor("acme", "eve"), kAna)),
      "FAILED_PRECONDITION: rule sponsor.max_accounts: 'eve' already sponsors 3 accounts, the "
      "maximum is 3");
  EXPECT_TRUE(s.When(Sponsor("acme", "ed"), kAna).ok());
}

TEST_F(People, OneSponsorPerAccountAndReleasesNeedOne) {
  auto release = ForAccount<v1::ReleaseSponsorRequest>("acme");
  release.set_reason("Reorganisation");
  EXPECT_EQ(Render(s.When(release, kAna)),
            "FAILED_PRECONDITION: rule sponsor.must_be_assigned: account 'acme' has no sponsor");
  s.Given(Sponsor("acme", "eve"), kAna);
  EXPECT_EQ(
      Render(s.When(Sponsor("acme", "ed"), kAna)),
      "FAILED_PRECONDITION: rule sponsor.one_per_account: account 'acme' is sponsored by 'eve'; "
      "release them first");
  s.Given(release, kAna);
  EXPECT_TRUE(s.When(Sponsor("acme", "ed"), kAna).ok());
}

TEST_F(People, SponsorsAreForActiveAccountsOnly) {
  s.Given(Nominate("newco"), kKim);
  EXPECT_EQ(
      Render(s.When(Sponsor("newco", "eve"), kAna)),
      "FAILED_PRECONDITION: rule account.stage: cannot assign a sponsor to account 'newco': it "
      "is nominated, not admitted or incubating");
}

TEST_F(People, VisitsAreLoggedForTheSponsorOnPastDates) {
  auto visit = ForAccount<v1::LogSponsorVisitRequest>("acme");
  visit.set_visit_date(s.Date(0));
  EXPECT_EQ(Render(s.When(visit, kEve)),
            "FAILED_PRECONDITION: rule sponsor.must_be_assigned: account 'acme' has no sponsor to "
            "visit it");
  s.Given(Sponsor("acme", "eve"), kAna);
  visit.set_visit_date(s.Date(1));
  EXPECT_EQ(Render(s.When(visit, kEve)),
            "INVALID_ARGUMENT: rule date.not_in_future: visit_date 2026-01-06 is after today "
            "(2026-01-05)");
  visit.set_visit_date(s.Date(-2));
  EXPECT_EQ(Render(s.When(visit, kEve)),
            "SponsorVisitLogged{programme_id: \"emea-kam\" account_id: \"acme\" person_id: \"eve\" "
            "visit_date: \"2026-01-03\"}");
}

TEST_F(People, AManagerIsARegisteredKeyAccountManager) {
  EXPECT_EQ(Render(s.When(Manager("acme", "sid"), kAna)),
            "FAILED_PRECONDITION: rule manager.registered_kam: 'sid' is not registered as a key "
            "account manager");
  EXPECT_TRUE(s.When(Manager("acme", "kim"), kAna).ok());
}

TEST_F(People, AManagerIsTrainedOrAssessedInEveryRequiredSkillOrHasADatedPlan) {
  s.Given(Person("max", "max@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAna);
  auto finance = WithProgramme(v1::RecordManagerTrainingRequest{});
  finance.set_person_id("max");
  finance.set_skill(v1::SKILL_FINANCE);
  finance.set_course("Finance for KAMs");
  finance.set_completed_on(s.Date(-10));
  s.Given(finance, kAna);
  for (v1::Skill skill : {v1::SKILL_CONSULTING, v1::SKILL_PLANNING}) {
    auto a = WithProgramme(v1::AssessCompetencyRequest{});
    a.set_person_id("max");
    a.set_skill(skill);
    a.set_competent(true);
    s.Given(a, kAna);
  }
  EXPECT_EQ(Render(s.When(Manager("acme", "max"), kAna)),
            "FAILED_PRECONDITION: rule manager.trained_or_planned: 'max' is neither trained nor "
            "assessed competent in SKILL_INTERPERSONAL, SKILL_INFLUENCE and the assignment has no "
            "dated training plan for it");
  auto planned = Manager("acme", "max");
  auto* p1 = planned.add_training_plan();
  p1->set_skill(v1::SKILL_INTERPERSONAL);
  p1->set_due_by(s.Date(60));
  EXPECT_EQ(s.When(planned, kAna).status().code(), absl::StatusCode::kFailedPrecondition);
  auto* p2 = planned.add_training_plan();
  p2->set_skill(v1::SKILL_INFLUENCE);
  p2->set_due_by(s.Date(-1));
  EXPECT_EQ(Render(s.When(planned, kAna)),
            "FAILED_PRECONDITION: rule manager.trained_or_planned: training_plan[1].due_by "
            "2026-01-04 is in the past");
  p2->set_due_by(s.Date(90));
  auto out = s.When(planned, kAna);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].manager_assigned().training_plan_size(), 2);
}

TEST_F(People, ACompetencyAssessedAsNotCompetentDoesNotCount) {
  s.Given(Person("max", "max@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAna);
  for (v1::Skill skill : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                          v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
    auto a = WithProgramme(v1::AssessCompetencyRequest{});
    a.set_person_id("max");
    a.set_skill(skill);
    a.set_competent(true);
    s.Given(a, kAna);
  }
  auto again = WithProgramme(v1::AssessCompetencyRequest{});
  again.set_person_id("max");
  again.set_skill(v1::SKILL_FINANCE);
  again.set_competent(false);  // the latest assessment decides
  s.Given(again, kAna);
  EXPECT_EQ(s.When(Manager("acme", "max"), kAna).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto bad = WithProgramme(v1::AssessCompetencyRequest{});
  bad.set_person_id("max");
  EXPECT_EQ(Render(s.When(bad, kAna)),
            "INVALID_ARGUMENT: rule skill.specified: skill must be one of FINANCE, CONSULTING, "
            "PLANNING, INTERPERSONAL, INFLUENCE");
}

TEST_F(People, OneManagerPerAccount) {
  s.Given(Manager("acme", "kim"), kAna);
  EXPECT_EQ(
      Render(s.When(Manager("acme", "kim"), kAna)),
      "FAILED_PRECONDITION: rule manager.one_per_account: account 'acme' is managed by 'kim'; "
      "release them first");
  auto release = ForAccount<v1::ReleaseManagerRequest>("acme");
  release.set_reason("Rotation");
  s.Given(release, kAna);
  EXPECT_EQ(Render(s.When(release, kAna)),
            "FAILED_PRECONDITION: rule manager.must_be_assigned: account 'acme' has no manager");
}

TEST_F(People, TeamMembersJoinAndLeaveOnce) {
  auto join = ForAccount<v1::AssignTeamMemberRequest>("acme");
  join.set_person_id("olga");
  s.Given(join, kKim);
  EXPECT_EQ(Render(s.When(join, kKim)),
            "ALREADY_EXISTS: rule team.membership: 'olga' is already on the team of 'acme'");
  auto leave = ForAccount<v1::ReleaseTeamMemberRequest>("acme");
  leave.set_person_id("olga");
  s.Given(leave, kKim);
  EXPECT_EQ(Render(s.When(leave, kKim)),
            "FAILED_PRECONDITION: rule team.membership: 'olga' is not on the team of 'acme'");
}

TEST_F(People, StaffTrainingIsDatedInThePast) {
  auto t = WithProgramme(v1::RecordStaffTrainingRequest{});
  t.set_person_id("olga");
  t.set_course("KAM for operations");
  t.set_completed_on(s.Date(3));
  EXPECT_EQ(s.When(t, kAna).status().code(), absl::StatusCode::kInvalidArgument);
  t.set_completed_on(s.Date(0));
  s.Given(t, kAna);
  EXPECT_TRUE(s.state.StaffTrained("olga"));
}

v1::MakeCommitmentRequest Commit(std::string id, std::string owner) {
  auto c = ForAccount<v1::MakeCommitmentRequest>("acme");
  c.set_commitment_id(std::move(id));
  c.set_description("Priority allocation of urgent spare parts");
  c.set_owner_person_id(std::move(owner));
  c.set_due_by("2026-06-30");
  return c;
}

TEST_F(People, CommitmentsAreOwnedByOperationsOrSupplyChainNotSales) {
  EXPECT_EQ(
      Render(s.When(Commit("c1", "sid"), kKim)),
      "FAILED_PRECONDITION: rule commitment.owned_by_operations: 'sid' is not in operations or "
      "supply chain: commitments to a key account are owned and delivered by them, not by sales");
  EXPECT_EQ(Render(s.When(Commit("c1", "olga"), kKim)),
            "CommitmentMade{programme_id: \"emea-kam\" account_id: \"acme\" commitment_id: \"c1\" "
            "description: \"Priority allocation of urgent spare parts\" owner_person_id: \"olga\" "
            "owning_function: PERSON_FUNCTION_OPERATIONS due_by: \"2026-06-30\"}");
}

TEST_F(People, ACommitmentIsMadeOnceAndClosedOnce) {
  s.Given(Commit("c1", "olga"), kKim);
  EXPECT_EQ(Render(s.When(Commit("c1", "olga"), kKim)),
            "ALREADY_EXISTS: rule commitment.unique: commitment 'c1' already exists");
  auto done = WithProgramme(v1::FulfilCommitmentRequest{});
  done.set_commitment_id("c1");
  done.set_evidence("Delivered within 24h on 3 occasions");
  s.Given(done, kKim);
  EXPECT_EQ(Render(s.When(done, kKim)),
            "FAILED_PRECONDITION: rule commitment.open: commitment 'c1' is already fulfilled");
  auto breach = WithProgramme(v1::BreachCommitmentRequest{});
  breach.set_commitment_id("c9");
  breach.set_reason("Missed");
  EXPECT_EQ(Render(s.When(breach, kKim)),
            "FAILED_PRECONDITION: rule commitment.must_exist: commitment 'c9' was never made");
}

}  // namespace
}  // namespace kam::testing
