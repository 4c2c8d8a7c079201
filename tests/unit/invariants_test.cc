// Long random command sequences: after every accepted command the programme's invariants
// hold, and every accepted decision satisfied the rules against the state it was made on.
// Checks are written independently of Decide, from KAM-DOMAIN.md. Seeds are fixed so a
// failure reproduces; the failing seed and step are printed.
#include <random>

#include "absl/strings/str_join.h"
#include "base/strings.h"
#include "domain/events.h"
#include "unit/scenario.h"
#include "unit/state_render.h"

namespace kam::testing {
namespace {

bool IsApprover(const domain::ProgrammeState& s, const std::string& actor) {
  for (const auto& [id, p] : s.people) {
    if (p.principal != actor) continue;
    return s.champions.contains(id) || p.Has(v1::PERSON_FUNCTION_STEERING_BOARD);
  }
  return false;
}

// The rules a decision must have respected, checked against the state before it.
void CheckDecision(const domain::ProgrammeState& pre, const domain::Events& events,
                   const std::string& actor) {
  for (const auto& e : events) {
    switch (e.kind_case()) {
      case v1::Event::kAccountAdmitted: {
        const auto& a = e.account_admitted();
        const auto& acct = pre.accounts.at(a.account_id());
        EXPECT_NE(actor, acct.nominated_by) << "four eyes";
        EXPECT_TRUE(IsApprover(pre, actor));
        ASSERT_TRUE(pre.criteria && acct.assessment);
        EXPECT_EQ(acct.assessment->criteria_version, pre.criteria->version);
        EXPECT_EQ(a.exception(), acct.assessment->weighted_score < pre.criteria->threshold);
        if (a.exception()) {
          EXPECT_FALSE(a.exception_justification().empty());
        }
        EXPECT_LT(pre.AdmittedCount(), pre.max_key_accounts);
        break;
      }
      case v1::Event::kAccountIncubated:
      case v1::Event::kNominationRejected:
      case v1::Event::kAccountRetired:
      case v1::Event::kSelectionCriteriaPublished:
      case v1::Event::kProgrammeParametersChanged:
        EXPECT_TRUE(IsApprover(pre, actor)) << domain::EventName(e);
        break;
      case v1::Event::kManagerAssigned: {
        const auto& m = e.manager_assigned();
        for (int skill : pre.parameters.required_skills()) {
          bool planned = false;
          for (const auto& item : m.training_plan()) planned = planned || item.skill() == skill;
          EXPECT_TRUE(pre.HasSkill(m.person_id(), static_cast<v1::Skill>(skill)) || planned);
        }
        EXPECT_TRUE(pre.people.at(m.person_id()).Has(v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER));
        break;
      }
      case v1::Event::kSponsorAssigned: {
        const auto& sp = e.sponsor_assigned();
        EXPECT_TRUE(pre.people.at(sp.person_id()).Has(v1::PERSON_FUNCTION_EXECUTIVE));
        EXPECT_LT(pre.SponsorLoad(sp.person_id()), pre.parameters.max_accounts_per_sponsor());
        break;
      }
      case v1::Event::kChampionAppointed: {
        EXPECT_FALSE(pre.champions.contains(e.champion_appointed().person_id()));
        const auto& p = pre.people.at(e.champion_appointed().person_id());
        EXPECT_TRUE(p.senior && p.reports_to_top_management);
        break;
      }
      default:
        break;
    }
  }
}

// What holds in every state the programme can reach.
void CheckState(const domain::ProgrammeState& s) {
  EXPECT_LE(s.AdmittedCount(), s.max_key_accounts);
  EXPECT_LE(s.min_key_accounts, s.max_key_accounts);
  for (const auto& champion : s.champions) {
    EXPECT_TRUE(s.people.contains(champion));
  }
  for (const auto& [id, p] : s.people) {
    EXPECT_LE(s.SponsorLoad(id), s.parameters.max_accounts_per_sponsor()) << id;
  }
  for (const auto& [id, a] : s.accounts) {
    if (a.stage == domain::AccountStage::kAdmitted) {
      EXPECT_TRUE(a.assessment.has_value()) << id;
    }
    if (!a.active()) {
      EXPECT_TRUE(a.sponsor.empty()) << id;
      EXPECT_TRUE(a.manager.empty()) << id;
    }
    if (!a.sponsor.empty()) {
      EXPECT_TRUE(s.people.at(a.sponsor).Has(v1::PERSON_FUNCTION_EXECUTIVE));
    }
  }
}

class RandomProgramme {
 public:
  explicit RandomProgramme(uint64_t seed) : rng_(seed) {
    WithStandardCast(s_);
    s_.Given(Person("max", "max@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}),
             kAna);
    auto p = WithProgramme(v1::ChangeProgrammeParametersRequest{});
    p.set_min_key_accounts(1);
    p.set_max_key_accounts(6);
    p.mutable_parameters()->set_max_accounts_per_sponsor(2);
    p.set_rationale("small programme: the bounds are reached often");
    s_.Given(p, kAna);
  }

  // One random command; returns whether it was accepted.
  bool Step() {
    if (Pick(10) == 0) s_.AdvanceDays(static_cast<int>(Pick(20)));
    const std::string actor = Of({kAna, kSam, kKim, kEve, kAdmin});
    const std::string account = "a" + std::to_string(Pick(12));
    switch (Pick(16)) {
      case 0:
      case 1:
        return Run(Nominate(account), actor);
      case 2:
      case 3: {
        const uint32_t version = s_.state.criteria ? s_.state.criteria->version : 1;
        return Run(Assess(account, 1 + static_cast<int>(Pick(5)), 1 + static_cast<int>(Pick(5)),
                          Pick(8) == 0 ? version - 1 : version),
                   actor);
      }
      case 4:
      case 5:
        return Run(Admit(account, Pick(2) == 0 ? "" : "strategic exception"), actor);
      case 6: {
        auto c = ForAccount<v1::IncubateAccountRequest>(account);
        c.set_rationale("try");
        c.set_review_by(s_.Date(1 + static_cast<int>(Pick(100))));
        return Run(c, actor);
      }
      case 7: {
        auto c = ForAccount<v1::RejectNominationRequest>(account);
        c.set_reason("no case");
        return Run(c, actor);
      }
      case 8: {
        auto c = ForAccount<v1::RetireAccountRequest>(account);
        c.set_reason("no longer qualifies");
        return Run(c, actor);
      }
      case 9: {
        auto c = ForAccount<v1::AssignSponsorRequest>(account);
        c.set_person_id(Of({"eve", "ed", "sam", "kim"}));
        return Run(c, actor);
      }
      case 10: {
        auto c = ForAccount<v1::ReleaseSponsorRequest>(account);
        c.set_reason("rotation");
        return Run(c, actor);
      }
      case 11: {
        auto c = ForAccount<v1::AssignManagerRequest>(account);
        c.set_person_id(Of({"kim", "max", "sid"}));
        for (int skill = 1; skill <= 5; ++skill) {
          if (Pick(3) != 0) {
            auto* item = c.add_training_plan();
            item->set_skill(static_cast<v1::Skill>(skill));
            item->set_due_by(s_.Date(static_cast<int>(Pick(60))));
          }
        }
        return Run(c, actor);
      }
      case 12: {
        auto c = ForAccount<v1::ReleaseManagerRequest>(account);
        c.set_reason("rotation");
        return Run(c, actor);
      }
      case 13: {
        auto c = WithProgramme(v1::ChangeProgrammeParametersRequest{});
        c.set_max_key_accounts(1 + static_cast<uint32_t>(Pick(8)));
        c.mutable_parameters()->set_max_accounts_per_sponsor(1 + static_cast<uint32_t>(Pick(3)));
        c.set_rationale("rebalance");
        return Run(c, actor);
      }
      case 14:
        return Pick(4) == 0 ? Run(Criteria(), actor) : false;
      default: {
        if (Pick(2) == 0) {
          auto t = WithProgramme(v1::RecordManagerTrainingRequest{});
          t.set_person_id("max");
          t.set_skill(static_cast<v1::Skill>(1 + Pick(5)));
          t.set_course("KAM academy");
          t.set_completed_on(s_.Date(0));
          return Run(t, actor);
        }
        if (s_.state.records.empty()) return false;
        auto it = s_.state.records.begin();
        std::advance(it, static_cast<long>(Pick(s_.state.records.size())));
        auto r = WithProgramme(v1::RetractRecordRequest{});
        r.set_event_id(it->first);
        r.set_reason("entered in error");
        return Run(r, actor);
      }
    }
  }

  const domain::ProgrammeState& state() const { return s_.state; }

 private:
  template <typename Cmd>
  bool Run(const Cmd& cmd, const std::string& actor) {
    const domain::ProgrammeState pre = s_.state;
    auto out = s_.When(cmd, actor);
    if (!out.ok()) {
      // A rejection names a field or a rule, and changes nothing.
      const std::string message(out.status().message());
      EXPECT_TRUE(message.find(": ") != std::string::npos) << message;
      return false;
    }
    CheckDecision(pre, *out, actor);
    // The writer may have to take these events back (a failed transaction): EvolveUndoable
    // and its undo, newest first, must restore the state exactly.
    {
      domain::ProgrammeState trial = s_.state;
      std::vector<domain::ProgrammeUndo> undo;
      uint64_t v = s_.version;
      for (const auto& e : *out) {
        v1::EventEnvelope env;
        env.set_event_id("e" + std::to_string(++v));
        env.set_aggregate_version(v);
        env.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(s_.now));
        *env.mutable_event() = e;
        undo.push_back(domain::EvolveUndoable(trial, env));
      }
      for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)(trial);
      EXPECT_EQ(RenderState(trial), RenderState(pre)) << "undo of " << domain::EventName((*out)[0]);
    }
    s_.Fold(*out);
    CheckState(s_.state);
    return true;
  }
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  std::string Of(std::initializer_list<std::string> options) {
    auto it = options.begin();
    std::advance(it, static_cast<long>(Pick(options.size())));
    return *it;
  }

  std::mt19937_64 rng_;
  Scenario s_;
};

TEST(Invariants, HoldAfterEveryAcceptedCommandOfLongRandomSequences) {
  int accepted = 0;
  int admitted_max = 0;
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    RandomProgramme p(seed);
    for (int step = 0; step < 2000; ++step) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
      accepted += p.Step() ? 1 : 0;
      admitted_max = std::max<int>(admitted_max, static_cast<int>(p.state().AdmittedCount()));
      if (::testing::Test::HasFailure()) return;
    }
  }
  // The sequences exercise the rules rather than bouncing off them.
  EXPECT_GT(accepted, 5000);
  EXPECT_GE(admitted_max, 4);
}

}  // namespace
}  // namespace kam::testing
