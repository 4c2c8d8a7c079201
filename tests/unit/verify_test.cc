// Verification of a stored history, as the scorecard and VerifyHistory see it: an intact
// chain vouches for the rules; a forged or missing record breaks it (rule history.intact).
#include "projections/governance/verify.h"

#include <gtest/gtest.h>

#include "domain/rules.h"
#include "eventlog/codec.h"
#include "support/events.h"

namespace kam::projections {
namespace {

AggregateHistory Stored(const std::vector<std::string>& records) {
  AggregateHistory h;
  int64_t offset = 0;
  for (const std::string& bytes : records) {
    auto opened = eventlog::Open(bytes);
    EXPECT_TRUE(opened.ok());
    StoredEvent e{opened->envelope, {}, opened->hash_ok};
    e.position.set_topic("kam.programme.v1");
    e.position.set_offset(offset++);
    h.events.push_back(std::move(e));
  }
  return h;
}

TEST(Verify, AnIntactChainIsIntact) {
  testing::EventFactory f;
  const auto v = Verify(Stored({f.Nominated("p", "a"), f.Nominated("p", "b")}));
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.events_checked, 2u);
}

TEST(Verify, AMissingVersionBreaksTheChainAndTheScorecardNamesTheRule) {
  testing::EventFactory f;
  const std::string first = f.Nominated("p", "a");
  f.Nominated("p", "lost");
  const auto v = Verify(Stored({first, f.Nominated("p", "c")}));
  ASSERT_FALSE(v.intact);
  EXPECT_EQ(v.first_break_version, 3u);
  EXPECT_NE(v.first_break.find("expected version 2"), std::string::npos) << v.first_break;
  const domain::Flag finding = BreakFinding(v, "p");
  EXPECT_EQ(finding.rule, domain::rules::kHistoryIntact);
  EXPECT_EQ(finding.step, 7);
  EXPECT_EQ(finding.subject, "programme p");
  EXPECT_EQ(finding.detail, v.first_break);
}

TEST(Verify, ATamperedRecordFailsItsHash) {
  testing::EventFactory f;
  std::string forged = f.Nominated("p", "a");
  forged[10] ^= 1;
  const auto v = Verify(Stored({forged}));
  EXPECT_FALSE(v.intact);
}

}  // namespace
}  // namespace kam::projections
