// Every field of a programme state as text, for tests that compare states: two states render
// alike exactly when they are alike.
//
//   EXPECT_EQ(RenderState(after_undo), RenderState(before));
#pragma once

#include <string>

#include "absl/strings/str_join.h"
#include "base/strings.h"
#include "domain/programme.h"

namespace kam::testing {

inline std::string RenderState(const domain::ProgrammeState& s) {
  auto I = [](auto v) { return static_cast<int>(v); };
  std::string out = kam::base::StrCat(
      I(s.chartered), "|", s.programme_id, "|", s.name, "|", absl::FormatCivilTime(s.chartered_on),
      "|", s.min_key_accounts, "..", s.max_key_accounts, "|", s.parameters.ShortDebugString(), "|",
      absl::StrJoin(s.champions, ","), "|", I(s.had_champion), "|",
      absl::FormatTime(s.chartered_at), "|", absl::FormatTime(s.business_time), "|");
  if (s.criteria) {
    kam::base::StrAppend(&out, "criteria v", s.criteria->version, " ", s.criteria->threshold);
    for (const auto& c : s.criteria->criteria)
      kam::base::StrAppend(&out, " ", c.ShortDebugString());
  }
  auto day = [](const std::optional<absl::CivilDay>& d) {
    return d ? absl::FormatCivilTime(*d) : std::string("-");
  };
  for (const auto& [id, a] : s.accounts) {
    kam::base::StrAppend(
        &out, "\nA ", id, " ", a.name, " ", a.nominated_by, "/", a.nominated_by_person, " ",
        domain::StageName(a.stage), " ",
        a.assessment
            ? kam::base::StrCat(a.assessment->event_id, "/", a.assessment->criteria_version, "/",
                                a.assessment->weighted_score)
            : "-",
        " ", day(a.admitted_on), " ", day(a.incubated_on), " ", day(a.incubation_review_by), " ",
        day(a.retired_on), " ", I(a.admitted_as_exception), I(a.retired_within_min_tenure), " ",
        a.sponsor, "@", absl::FormatCivilTime(a.sponsor_since), " ", a.manager, " ",
        day(a.last_review));
    for (const auto& t : a.training_plan)
      kam::base::StrAppend(&out, " plan:", t.ShortDebugString());
    for (const auto& m : a.team) kam::base::StrAppend(&out, " team:", m);
    for (auto k : a.last_review_metrics) kam::base::StrAppend(&out, " rm:", I(k));
    for (auto k : a.objective_metrics) kam::base::StrAppend(&out, " om:", I(k));
  }
  for (const auto& [id, p] : s.people) {
    kam::base::StrAppend(&out, "\nP ", id, " ", p.name, " ", p.principal, " ", I(p.senior),
                         I(p.reports_to_top_management), I(p.board_level));
    for (auto f : p.functions) kam::base::StrAppend(&out, " f", I(f));
    for (const auto& o : p.other_principals) kam::base::StrAppend(&out, " also:", o);
  }
  for (const auto& [id, r] : s.records) {
    kam::base::StrAppend(&out, "\nR ", id, " ", I(r.kind), " ", r.person_id, " ", r.account_id, " ",
                         I(r.skill), I(r.competent), " ", absl::FormatCivilTime(r.date), " ",
                         r.benchmark_id, " ", r.version, I(r.retracted));
  }
  for (const auto& [id, c] : s.commitments) {
    kam::base::StrAppend(&out, "\nC ", id, " ", c.account_id, " ", c.owner_person_id, " ",
                         absl::FormatCivilTime(c.due_by), " ", static_cast<int>(c.status));
  }
  for (const auto& [key, ids] : s.record_index) {
    kam::base::StrAppend(&out, "\nI ", key.size());
    for (const auto& id : ids) kam::base::StrAppend(&out, " ", id);
  }
  for (const auto& b : s.benchmarks) kam::base::StrAppend(&out, "\nB ", b);
  for (const auto& b : s.practices) kam::base::StrAppend(&out, "\nBP ", b);
  kam::base::StrAppend(&out, "\nreview ", day(s.last_programme_review));
  return out;
}

}  // namespace kam::testing
