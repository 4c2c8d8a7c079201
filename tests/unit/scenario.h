// Given / when / then for the programme aggregate, with plain values and a test clock.
//
//   Scenario s;                                   // day 2026-01-05, nothing chartered
//   s.Given(Charter(), kAdmin);                   // must be accepted; folded into s.state
//   EXPECT_EQ(Render(s.When(Nominate("acme"), kKim)), "AccountNominated{...}");  // not folded
//   s.Apply(...)                                  // decided and, if accepted, folded
//   s.AdvanceDays(40);
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "domain/programme.h"
#include "unit/golden.h"

namespace kam::testing {

// Principals of the standard cast (see WithStandardCast).
inline const std::string kAdmin = "admin@supplier.example";
inline const std::string kAna = "ana@supplier.example";    // champion
inline const std::string kSam = "sam@supplier.example";    // steering board
inline const std::string kKim = "kim@supplier.example";    // key account manager, fully trained
inline const std::string kEve = "eve@supplier.example";    // executive (sponsor)
inline const std::string kOlga = "olga@supplier.example";  // operations
inline const std::string kSid = "sid@supplier.example";    // sales

class Scenario {
 public:
  domain::ProgrammeState state;
  absl::Time now = absl::FromCivil(absl::CivilDay(2026, 1, 5), absl::UTCTimeZone());
  uint64_t version = 0;
  std::string last_event_id;

  template <typename Cmd>
  absl::StatusOr<domain::Events> When(const Cmd& cmd, const std::string& actor) const {
    return domain::Handle(
        state, cmd,
        domain::CommandContext{.actor = actor, .now = now, .platform_admin = actor == kAdmin});
  }

  template <typename Cmd>
  absl::StatusOr<domain::Events> Apply(const Cmd& cmd, const std::string& actor) {
    auto events = When(cmd, actor);
    if (events.ok()) Fold(*events, actor);
    return events;
  }

  template <typename Cmd>
  domain::Events Given(const Cmd& cmd, const std::string& actor) {
    auto events = Apply(cmd, actor);
    EXPECT_TRUE(events.ok()) << "given " << cmd.GetDescriptor()->name() << ": " << events.status();
    return events.ok() ? *events : domain::Events{};
  }

  void Fold(const domain::Events& events, const std::string& actor = "") {
    for (const auto& e : events) {
      v1::EventEnvelope env;
      env.set_actor(actor);
      env.set_event_id("e" + std::to_string(++version));
      env.set_aggregate_version(version);
      env.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(now));
      *env.mutable_event() = e;
      domain::Evolve(state, env);
      last_event_id = env.event_id();
    }
  }

  void AdvanceDays(int days) { now += absl::Hours(24 * days); }
  absl::CivilDay today() const { return absl::ToCivilDay(now, absl::UTCTimeZone()); }
  std::string Date(int days_from_today) const {
    const absl::CivilDay d = today() + days_from_today;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(),
                  d.day());
    return buf;
  }
};

// ---- Command builders: valid by default, tests change the field under test. ----

template <typename Cmd>
Cmd WithProgramme(Cmd c) {
  c.mutable_metadata()->set_client_request_id("r");
  c.set_programme_id("emea-kam");
  return c;
}

inline v1::CharterProgrammeRequest Charter() {
  auto c = WithProgramme(v1::CharterProgrammeRequest{});
  c.set_name("EMEA key accounts");
  c.set_rationale("Grow profitable strategic customers");
  return c;
}

inline v1::RegisterPersonRequest Person(std::string id, std::string principal,
                                        std::initializer_list<v1::PersonFunction> functions,
                                        bool senior = false) {
  auto c = WithProgramme(v1::RegisterPersonRequest{});
  c.set_person_id(std::move(id));
  c.set_name("Person " + c.person_id());
  c.set_principal(std::move(principal));
  for (auto f : functions) c.add_functions(f);
  c.set_senior(senior);
  c.set_reports_to_top_management(senior);
  return c;
}

inline v1::AppointChampionRequest AppointChampion(std::string person_id) {
  auto c = WithProgramme(v1::AppointChampionRequest{});
  c.set_person_id(std::move(person_id));
  c.set_rationale("Board mandate");
  return c;
}

inline v1::SelectionCriterion Criterion(std::string id, uint32_t weight) {
  v1::SelectionCriterion c;
  c.set_criterion_id(id);
  c.set_name("Criterion " + id);
  c.set_weight_percent(weight);
  c.set_scale_min(1);
  c.set_scale_max(5);
  return c;
}

// Two criteria, 60% profit potential and 40% strategic fit, scale 1..5, threshold 60.
inline v1::PublishSelectionCriteriaRequest Criteria() {
  auto c = WithProgramme(v1::PublishSelectionCriteriaRequest{});
  *c.add_criteria() = Criterion("profit-potential", 60);
  *c.add_criteria() = Criterion("strategic-fit", 40);
  c.set_threshold(60);
  c.set_rationale("Profit-based selection");
  return c;
}

inline v1::NominateAccountRequest Nominate(std::string account) {
  auto c = WithProgramme(v1::NominateAccountRequest{});
  c.set_account_id(std::move(account));
  c.set_account_name("ACME Industries");
  c.set_rationale("Top-5 by contribution, multi-site");
  return c;
}

// Scores profit-potential and strategic-fit; 5/5 scores 100, 1/1 scores 0, 3/3 scores 50.
inline v1::AssessAccountRequest Assess(std::string account, int profit, int fit,
                                       uint32_t version = 1) {
  auto c = WithProgramme(v1::AssessAccountRequest{});
  c.set_account_id(std::move(account));
  c.set_criteria_version(version);
  auto* s1 = c.add_scores();
  s1->set_criterion_id("profit-potential");
  s1->set_score(profit);
  auto* s2 = c.add_scores();
  s2->set_criterion_id("strategic-fit");
  s2->set_score(fit);
  return c;
}

inline v1::AdmitAccountRequest Admit(std::string account, std::string justification = "") {
  auto c = WithProgramme(v1::AdmitAccountRequest{});
  c.set_account_id(std::move(account));
  c.set_exception_justification(std::move(justification));
  return c;
}

template <typename Cmd>
Cmd ForAccount(std::string account) {
  auto c = WithProgramme(Cmd{});
  c.set_account_id(std::move(account));
  return c;
}

// Registers the standard cast, appoints ana champion and publishes criteria v1:
//   ana (champion, senior), sam (steering board), kim (key account manager trained in
//   every skill), eve and ed (executives), olga (operations), sid (sales).
inline void WithStandardCast(Scenario& s) {
  using v1::PersonFunction;
  s.Given(Charter(), kAdmin);
  s.Given(Person("ana", kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, /*senior=*/true), kAdmin);
  s.Given(Person("sam", kSam, {v1::PERSON_FUNCTION_STEERING_BOARD, v1::PERSON_FUNCTION_EXECUTIVE}),
          kAdmin);
  s.Given(Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAdmin);
  s.Given(Person("eve", kEve, {v1::PERSON_FUNCTION_EXECUTIVE}), kAdmin);
  s.Given(Person("ed", "ed@supplier.example", {v1::PERSON_FUNCTION_EXECUTIVE}), kAdmin);
  s.Given(Person("olga", kOlga, {v1::PERSON_FUNCTION_OPERATIONS}), kAdmin);
  s.Given(Person("sid", kSid, {v1::PERSON_FUNCTION_SALES}), kAdmin);
  s.Given(AppointChampion("ana"), kAdmin);
  for (v1::Skill skill : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                          v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
    auto t = WithProgramme(v1::RecordManagerTrainingRequest{});
    t.set_person_id("kim");
    t.set_skill(skill);
    t.set_course("KAM academy");
    t.set_completed_on(s.Date(0));
    s.Given(t, kAna);
  }
  s.Given(Criteria(), kAna);
}

// Nominated by kim, assessed 5/5 (score 100) and admitted by ana.
inline void WithKeyAccount(Scenario& s, const std::string& account) {
  s.Given(Nominate(account), kKim);
  s.Given(Assess(account, 5, 5), kKim);
  s.Given(Admit(account), kAna);
}

}  // namespace kam::testing
