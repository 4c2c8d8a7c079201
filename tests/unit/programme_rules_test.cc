// The programme's rules, as given events / when command / then events or rejection.
#include <gtest/gtest.h>

#include "domain/programme.h"
#include "domain/rules.h"
#include "unit/golden.h"

namespace kam::domain {
namespace {

using testing::Render;

v1::CharterProgrammeRequest Charter(std::string id = "emea-kam") {
  v1::CharterProgrammeRequest c;
  c.set_programme_id(std::move(id));
  c.set_name("EMEA key accounts");
  c.set_rationale("Grow profitable strategic customers");
  return c;
}

v1::NominateAccountRequest Nominate(std::string account = "acme") {
  v1::NominateAccountRequest n;
  n.set_programme_id("emea-kam");
  n.set_account_id(std::move(account));
  n.set_account_name("ACME Industries");
  n.set_rationale("Top-5 by contribution, multi-site");
  return n;
}

// Given: the events of `commands`, decided and folded in order.
ProgrammeState Given(
    std::initializer_list<std::function<absl::StatusOr<Events>(const ProgrammeState&)>> steps) {
  ProgrammeState s;
  for (const auto& step : steps) {
    auto events = step(s);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) continue;
    for (const auto& e : *events) Evolve(s, e);
  }
  return s;
}

const CommandContext kAna{"ana@supplier.example"};

auto Chartered() {
  return [](const ProgrammeState& s) { return Decide(s, Charter(), kAna); };
}
auto Nominated(std::string account) {
  return [account](const ProgrammeState& s) { return Decide(s, Nominate(account), kAna); };
}

TEST(CharterProgramme, RecordsTheProgrammeWithDefaultBounds) {
  EXPECT_EQ(Render(Decide(ProgrammeState{}, Charter(), kAna)),
            "ProgrammeChartered{programme_id: \"emea-kam\" name: \"EMEA key accounts\" "
            "min_key_accounts: 5 max_key_accounts: 25 rationale: \"Grow profitable strategic "
            "customers\"}");
}

TEST(CharterProgramme, KeepsExplicitBounds) {
  auto c = Charter();
  c.set_min_key_accounts(3);
  c.set_max_key_accounts(12);
  auto out = Decide(ProgrammeState{}, c, kAna);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0].programme_chartered().min_key_accounts(), 3u);
  EXPECT_EQ((*out)[0].programme_chartered().max_key_accounts(), 12u);
}

TEST(CharterProgramme, RejectsBoundsOutsideTheCeiling) {
  auto c = Charter();
  c.set_min_key_accounts(5);
  c.set_max_key_accounts(101);
  EXPECT_EQ(Render(Decide(ProgrammeState{}, c, kAna)),
            "INVALID_ARGUMENT: rule portfolio.bounds: min_key_accounts and max_key_accounts must "
            "satisfy 1 <= min <= max <= 100; got 5..101");
  c.set_min_key_accounts(9);
  c.set_max_key_accounts(8);
  EXPECT_EQ(Decide(ProgrammeState{}, c, kAna).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CharterProgramme, RejectsASecondCharterOfTheSameId) {
  auto state = Given({Chartered()});
  EXPECT_EQ(Render(Decide(state, Charter(), kAna)),
            "ALREADY_EXISTS: rule programme.unique: programme 'emea-kam' is already chartered");
}

TEST(CharterProgramme, NamesTheMissingField) {
  auto c = Charter();
  c.clear_name();
  EXPECT_EQ(Render(Decide(ProgrammeState{}, c, kAna)), "INVALID_ARGUMENT: name: is required");
  c = Charter("Bad Id");
  EXPECT_EQ(Render(Decide(ProgrammeState{}, c, kAna)),
            "INVALID_ARGUMENT: programme_id: must be lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit; got 'Bad Id'");
}

TEST(NominateAccount, RecordsTheNominationWithTheAuthenticatedNominator) {
  auto state = Given({Chartered()});
  EXPECT_EQ(Render(Decide(state, Nominate(), kAna)),
            "AccountNominated{programme_id: \"emea-kam\" account_id: \"acme\" account_name: \"ACME "
            "Industries\" rationale: \"Top-5 by contribution, multi-site\" nominated_by: "
            "\"ana@supplier.example\"}");
}

TEST(NominateAccount, RejectsAnUnknownProgrammeNamingTheField) {
  EXPECT_EQ(Render(Decide(ProgrammeState{}, Nominate(), kAna)),
            "INVALID_ARGUMENT: programme_id: programme 'emea-kam' is not chartered (rule "
            "programme.must_exist)");
}

TEST(NominateAccount, RejectsEmptyAndMalformedAccountIds) {
  auto state = Given({Chartered()});
  EXPECT_EQ(Render(Decide(state, Nominate(""), kAna)), "INVALID_ARGUMENT: account_id: is required");
  EXPECT_EQ(Render(Decide(state, Nominate("ACME/1"), kAna)),
            "INVALID_ARGUMENT: account_id: must be lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit; got 'ACME/1'");
  EXPECT_EQ(Render(Decide(state, Nominate(std::string(65, 'a')), kAna)),
            "INVALID_ARGUMENT: account_id: must be at most 64 characters, got 65");
}

TEST(NominateAccount, RejectsMissingNameAndRationale) {
  auto state = Given({Chartered()});
  auto n = Nominate();
  n.clear_account_name();
  EXPECT_EQ(Render(Decide(state, n, kAna)), "INVALID_ARGUMENT: account_name: is required");
  n = Nominate();
  n.set_rationale("   \n ");
  EXPECT_EQ(Render(Decide(state, n, kAna)), "INVALID_ARGUMENT: rationale: must not be blank");
  n.set_rationale(std::string(4001, 'x'));
  EXPECT_EQ(Render(Decide(state, n, kAna)),
            "INVALID_ARGUMENT: rationale: must be at most 4000 bytes, got 4001");
}

TEST(NominateAccount, RejectsADuplicateNomination) {
  auto state = Given({Chartered(), Nominated("acme")});
  EXPECT_EQ(Render(Decide(state, Nominate("acme"), kAna)),
            "ALREADY_EXISTS: rule nomination.unique: account 'acme' is already nominated in "
            "programme 'emea-kam' (by ana@supplier.example)");
  EXPECT_TRUE(Decide(state, Nominate("globex"), kAna).ok());
}

TEST(Evolve, FoldsTheNominationsIntoThePortfolio) {
  auto state = Given({Chartered(), Nominated("acme"), Nominated("globex")});
  EXPECT_TRUE(state.chartered);
  EXPECT_EQ(state.min_key_accounts, 5u);
  ASSERT_EQ(state.accounts.size(), 2u);
  EXPECT_EQ(state.accounts.at("globex").nominated_by, "ana@supplier.example");
}

}  // namespace
}  // namespace kam::domain
