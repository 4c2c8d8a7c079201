// Erasing a person's personal data (issue 14): the rules erasure.* and what the state keeps.
#include <gtest/gtest.h>

#include "unit/scenario.h"

namespace kam::testing {
namespace {

v1::ErasePersonalDataRequest Erase(std::string person) {
  auto c = WithProgramme(v1::ErasePersonalDataRequest{});
  c.set_person_id(std::move(person));
  c.set_reason("DSR-2026-114");
  return c;
}

v1::ChangeMembershipRequest End(std::string person) {
  auto c = WithProgramme(v1::ChangeMembershipRequest{});
  c.set_person_id(std::move(person));
  c.set_reason("left the company");
  c.set_end(true);
  return c;
}

TEST(Erasure, OnlyAfterTheMembershipEndedAndOnlyOnce) {
  Scenario s;
  WithStandardCast(s);
  EXPECT_EQ(Render(s.When(Erase("olga"), kAna)),
            "FAILED_PRECONDITION: rule erasure.membership_active: the membership of 'olga' has "
            "not ended: end it first (ChangeMembership end), so an erased person never acts or "
            "reads again");
  s.Given(End("olga"), kAna);
  // An approver decides: a key account manager may not erase anyone.
  EXPECT_EQ(s.When(Erase("olga"), kKim).status().code(), absl::StatusCode::kPermissionDenied);
  auto blank = Erase("olga");
  blank.set_reason("");
  EXPECT_EQ(Render(s.When(blank, kAna)), "INVALID_ARGUMENT: reason: is required");
  EXPECT_EQ(s.When(Erase("nobody"), kAna).status().code(), absl::StatusCode::kFailedPrecondition);
  auto events = s.Given(Erase("olga"), kAna);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0].personal_data_erased();
  EXPECT_EQ(e.person_id(), "olga");
  EXPECT_EQ(e.person_number(), 6u);  // ana, sam, kim, eve, ed, olga
  EXPECT_EQ(e.approved_by(), kAna);
  EXPECT_EQ(e.approved_by_person(), "ana");
  EXPECT_EQ(Render(s.When(Erase("olga"), kSam)),
            "FAILED_PRECONDITION: rule erasure.already_erased: the personal data of 'olga' was "
            "erased already (erased person #6)");
}

TEST(Erasure, TheStateForgetsTheNameAndPrincipalsButKeepsThePersonAndTheirRecord) {
  Scenario s;
  WithStandardCast(s);
  s.Given(Nominate("acme"), kKim);
  auto kim_end = End("kim");
  s.Given(kim_end, kAna);
  s.Given(Erase("kim"), kSam);
  const domain::Person& kim = s.state.people.at("kim");
  EXPECT_EQ(kim.name, "erased person #3");
  EXPECT_TRUE(kim.principal.empty());
  EXPECT_TRUE(kim.other_principals.empty());
  EXPECT_TRUE(kim.erased);
  EXPECT_TRUE(kim.Has(v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER));  // the role stays
  EXPECT_TRUE(s.state.HasSkill("kim", v1::SKILL_FINANCE));        // and the trainings
  // The nomination still counts as kim's for four eyes, without kim's principal.
  EXPECT_EQ(s.state.accounts.at("acme").nominated_by, "erased person #3");
  EXPECT_EQ(s.state.accounts.at("acme").nominated_by_person, "kim");
  // Nobody authenticates as the erased principal, and the principal is free again.
  EXPECT_FALSE(s.state.PersonByPrincipal(kKim).has_value());
}

TEST(Erasure, UndoRestoresEverythingTheErasureTouched) {
  Scenario s;
  WithStandardCast(s);
  s.Given(Nominate("acme"), kKim);
  s.Given(End("kim"), kAna);
  const domain::ProgrammeState before = s.state;
  auto events = s.When(Erase("kim"), kSam);
  ASSERT_TRUE(events.ok());
  v1::EventEnvelope env;
  env.set_event_id("erase");
  *env.mutable_event() = (*events)[0];
  auto undo = domain::EvolveUndoable(s.state, env);
  EXPECT_TRUE(s.state.people.at("kim").erased);
  undo(s.state);
  EXPECT_EQ(s.state.people.at("kim").name, before.people.at("kim").name);
  EXPECT_EQ(s.state.people.at("kim").principal, kKim);
  EXPECT_EQ(s.state.accounts.at("acme").nominated_by, kKim);
}

}  // namespace
}  // namespace kam::testing
