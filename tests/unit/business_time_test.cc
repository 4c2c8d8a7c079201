// Honest business time (rules time.*): a command's business time is not before the charter nor,
// unless it is an explicit late entry, before the programme's business time; a late entry
// takes effect at the programme's business time; and the effective-time view shows only states
// the write side decided on.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "absl/strings/match.h"
#include "projections/governance/as_of.h"
#include "unit/scenario.h"
#include "unit/state_render.h"

namespace kam::testing {
namespace {

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

// Runs `cmd` with business time `at` (the writer passes metadata.occurred_at as `now`).
template <typename Cmd>
absl::StatusOr<domain::Events> ApplyAt(Scenario& s, Cmd cmd, const std::string& actor,
                                       absl::Time at, const std::string& late_reason = "") {
  cmd.mutable_metadata()->set_late_reason(late_reason);
  const absl::Time real = s.now;
  s.now = at;
  auto out = s.Apply(cmd, actor);
  s.now = real;
  return out;
}

TEST(BusinessTime, NothingHappensBeforeTheCharter) {
  Scenario s;
  WithStandardCast(s);  // chartered 2026-01-05
  EXPECT_EQ(Render(ApplyAt(s, Nominate("acme"), kKim, Day(1970, 1, 2))),
            "INVALID_ARGUMENT: rule time.not_before_charter: metadata.occurred_at "
            "1970-01-02T00:00:00Z is before programme 'emea-kam' was chartered "
            "(2026-01-05T00:00:00Z)");
  // Not even as a late entry.
  EXPECT_EQ(ApplyAt(s, Nominate("acme"), kKim, Day(2025, 12, 1), "found in an old mailbox")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BusinessTime, ABackdatedAdmissionIsRefusedUnlessItIsAnExplicitLateEntry) {
  Scenario s;
  WithStandardCast(s);
  s.AdvanceDays(30);  // 2026-02-04
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  // Admitting "as of" a day before the nomination would let the effective-time view show an
  // admission nobody checked, and would start the tenure clock early.
  EXPECT_EQ(Render(ApplyAt(s, Admit("acme"), kAna, Day(2026, 1, 10))),
            "INVALID_ARGUMENT: rule time.in_order: metadata.occurred_at 2026-01-10T00:00:00Z is "
            "before the programme's business time 2026-02-04T00:00:00Z: a fact that reaches the "
            "platform late is entered with metadata.late_reason, and takes effect now");
  // With a reason it is a late entry: accepted, decided against today's state, and it takes
  // effect today: the rule clocks (tenure, cadences) never run from the claimed day.
  auto late = ApplyAt(s, Admit("acme"), kAna, Day(2026, 1, 10), "board minutes reached us late");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(s.state.accounts.at("acme").admitted_on, absl::CivilDay(2026, 2, 4));
  // A reason on a fact that is not late is refused: it would claim a correction that is not.
  auto on_time = Nominate("globex");
  EXPECT_EQ(Render(ApplyAt(s, on_time, kKim, s.now, "late")),
            "INVALID_ARGUMENT: metadata.late_reason: is only for a fact whose occurred_at "
            "precedes the programme's business time; this one does not");
}

TEST(BusinessTime, ALateEntryCannotHideAnAdmitThenDemote) {
  Scenario s;
  WithStandardCast(s);
  s.AdvanceDays(500);  // 2027-05-20
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  // An admission claimed to date from the programme's first months, entered late: if its
  // claimed day counted, the account would have served its minimum tenure by now.
  auto admit = ApplyAt(s, Admit("acme"), kAna, Day(2026, 2, 1), "minutes found late");
  ASSERT_TRUE(admit.ok()) << admit.status();
  EXPECT_EQ(s.state.accounts.at("acme").admitted_on, absl::CivilDay(2027, 5, 20));
  s.AdvanceDays(20);
  auto retire = ForAccount<v1::RetireAccountRequest>("acme");
  retire.set_reason("no longer qualifies");
  auto out = s.Apply(retire, kAna);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE((*out)[0].account_retired().within_min_tenure());
  EXPECT_EQ((*out)[0].account_retired().tenure_days(), 20u);
}

TEST(BusinessTime, AProgrammesDaysAreTheDaysOfItsTimeZone) {
  Scenario s;
  auto charter = Charter();
  charter.set_time_zone("Mars/Olympus_Mons");
  EXPECT_EQ(Render(s.When(charter, kAdmin)),
            "INVALID_ARGUMENT: time_zone: 'Mars/Olympus_Mons' is not an IANA time zone (e.g. "
            "Europe/Stockholm, UTC)");
  charter.set_time_zone("Pacific/Auckland");  // UTC+13 in January
  s.now = absl::FromCivil(absl::CivilSecond(2026, 1, 5, 20, 0, 0), absl::UTCTimeZone());
  s.Given(charter, kAdmin);
  EXPECT_EQ(s.state.time_zone_name, "Pacific/Auckland");
  s.Given(Person("ana", kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true), kAdmin);
  s.Given(Person("eve", kEve, {v1::PERSON_FUNCTION_EXECUTIVE}), kAdmin);
  s.Given(Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAdmin);
  s.Given(AppointChampion("ana"), kAdmin);
  // 20:00 UTC on 5 January is 09:00 on 6 January in Auckland: the programme's today.
  EXPECT_EQ(s.state.chartered_on, absl::CivilDay(2026, 1, 6));
  auto t = WithProgramme(v1::RecordManagerTrainingRequest{});
  t.set_person_id("kim");
  t.set_skill(v1::SKILL_FINANCE);
  t.set_course("KAM academy");
  t.set_completed_on("2026-01-06");
  EXPECT_TRUE(s.When(t, kAna).ok()) << "6 January is today there, not tomorrow";
  t.set_completed_on("2026-01-07");
  EXPECT_EQ(Render(s.When(t, kAna)),
            "INVALID_ARGUMENT: rule date.not_in_future: completed_on 2026-01-07 is after today "
            "(2026-01-06)");
}

// The property: drive random command sequences with random business times (on time, backdated
// without a reason, backdated as late entries) and check that every state the effective-time
// view (and the recorded-time view) can show at any instant is one the decisions accepted.
TEST(BusinessTime, EveryEffectiveTimeViewIsAStateTheWriteSideDecidedOn) {
  int late_entries = 0;
  int refused_backdated = 0;
  int views = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
    Scenario s;
    std::vector<v1::EventEnvelope> log;
    std::set<std::string> decided = {RenderState(s.state)};  // before anything: no programme
    auto record = [&](const domain::Events& events, absl::Time business) {
      for (const auto& e : events) {
        v1::EventEnvelope env;
        env.set_event_id("e" + std::to_string(log.size() + 1));
        env.set_aggregate_version(log.size() + 1);
        env.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(business));
        env.mutable_recorded_at()->set_seconds(absl::ToUnixSeconds(s.now));
        *env.mutable_event() = e;
        log.push_back(env);
      }
      decided.insert(RenderState(s.state));
    };
    // The set-up, as the writer would record it (the charter dated a week back).
    auto charter = ApplyAt(s, Charter(), kAdmin, s.now - absl::Hours(24 * 7));
    ASSERT_TRUE(charter.ok());
    record(*charter, s.now - absl::Hours(24 * 7));
    for (const auto& p : {Person("ana", kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true),
                          Person("sam", kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}),
                          Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}),
                          Person("eve", kEve, {v1::PERSON_FUNCTION_EXECUTIVE})}) {
      record(*ApplyAt(s, p, kAdmin, s.now), s.now);
    }
    record(*ApplyAt(s, AppointChampion("ana"), kAdmin, s.now), s.now);
    record(*ApplyAt(s, Criteria(), kAna, s.now), s.now);

    for (int step = 0; step < 400; ++step) {
      if (pick(4) == 0) s.AdvanceDays(static_cast<int>(pick(10)));
      // The business time: on time, or backdated up to 20 days (maybe before the charter).
      absl::Time business = s.now;
      std::string reason;
      if (pick(3) == 0) {
        business = s.now - absl::Hours(static_cast<int64_t>(pick(20 * 24)));
        if (pick(2) == 0) reason = "reached us late";
      }
      const std::string account = "a" + std::to_string(pick(6));
      const std::string actor = pick(2) == 0 ? kAna : (pick(2) == 0 ? kKim : kSam);
      absl::StatusOr<domain::Events> out;
      switch (pick(6)) {
        case 0:
          out = ApplyAt(s, Nominate(account), actor, business, reason);
          break;
        case 1:
          out = ApplyAt(s, Assess(account, 1 + static_cast<int>(pick(5)), 5), actor, business,
                        reason);
          break;
        case 2:
          out = ApplyAt(s, Admit(account, "strategic"), actor, business, reason);
          break;
        case 3: {
          auto c = ForAccount<v1::RetireAccountRequest>(account);
          c.set_reason("no longer qualifies");
          out = ApplyAt(s, c, actor, business, reason);
          break;
        }
        case 4: {
          auto c = ForAccount<v1::AssignSponsorRequest>(account);
          c.set_person_id("eve");
          out = ApplyAt(s, c, actor, business, reason);
          break;
        }
        default: {
          auto c = ForAccount<v1::RejectNominationRequest>(account);
          c.set_reason("no case");
          out = ApplyAt(s, c, actor, business, reason);
          break;
        }
      }
      if (!out.ok()) {
        if (absl::StrContains(out.status().message(), "time.in_order")) ++refused_backdated;
        continue;
      }
      if (!reason.empty()) ++late_entries;
      record(*out, business);
    }
    // Every instant the views can distinguish: each event's times, and just before and after.
    std::vector<const v1::EventEnvelope*> events;
    for (const auto& e : log) events.push_back(&e);
    std::set<int64_t> instants;
    for (const auto& e : log) {
      for (int64_t t : {e.occurred_at().seconds(), e.recorded_at().seconds()}) {
        instants.insert({t - 1, t, t + 1});
      }
    }
    for (int64_t t : instants) {
      for (v1::TimeAxis axis : {v1::TIME_AXIS_EFFECTIVE, v1::TIME_AXIS_RECORDED}) {
        v1::AsOf as_of;
        as_of.set_axis(axis);
        as_of.mutable_time()->set_seconds(t);
        const auto fold = projections::FoldEvents(events, as_of, s.now);
        ++views;
        EXPECT_TRUE(decided.contains(RenderState(fold.state)))
            << "the " << v1::TimeAxis_Name(axis) << " view at " << t << " (" << fold.events_folded
            << " events) shows a state no decision accepted";
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
  // The sequences exercise both kinds of backdating.
  EXPECT_GT(late_entries, 100);
  EXPECT_GT(refused_backdated, 100);
  EXPECT_GT(views, 4000);
}

}  // namespace
}  // namespace kam::testing
