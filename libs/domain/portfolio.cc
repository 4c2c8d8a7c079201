// Steps 4 and 7: the account lifecycle - nominate, assess against the current criteria,
// admit / incubate / reject, review, retire - and the objectives an account is run by.
#include <cmath>

#include "domain/checks.h"

namespace kam::domain {
namespace {

using internal::FailedRule;
using internal::One;

absl::Status CheckMetricKinds(std::string_view field,
                              const google::protobuf::RepeatedField<int>& kinds) {
  if (kinds.empty()) return base::InvalidField(field, "is required");
  for (int k : kinds) {
    if (k == v1::METRIC_KIND_UNSPECIFIED || !v1::MetricKind_IsValid(k)) {
      return base::InvalidField(field, base::StrCat("has an unknown metric kind ", k));
    }
  }
  return absl::OkStatus();
}

// The checks an admission decision (admit or incubate) shares: approver, four eyes, and a
// complete assessment against the current criteria.
absl::StatusOr<const Assessment*> CheckAdmissionDecision(const ProgrammeState& state,
                                                         const AccountState& account,
                                                         std::string_view account_id,
                                                         const CommandContext& ctx,
                                                         std::string_view what) {
  KAM_RETURN_IF_ERROR(
      internal::RequireApprover(state, ctx.actor, base::StrCat(what, " an account")));
  // Four eyes are two persons, not two principals: one person's second principal is the
  // same pair of eyes.
  const auto approver = state.PersonByPrincipal(ctx.actor);
  const std::string nominator = !account.nominated_by_person.empty()
                                    ? account.nominated_by_person
                                    : state.PersonByPrincipal(account.nominated_by).value_or("");
  if (ctx.actor == account.nominated_by || (approver && *approver == nominator)) {
    return FailedRule(
        rules::kAdmissionFourEyes,
        base::StrCat(
            approver ? base::StrCat("person '", *approver, "' (", ctx.actor, ")") : ctx.actor,
            " nominated account '", account_id, "'",
            ctx.actor == account.nominated_by ? "" : base::StrCat(" as ", account.nominated_by),
            " and cannot also approve it"));
  }
  if (!state.criteria) {
    return FailedRule(rules::kAdmissionRequiresAssessment,
                      "the programme has no published selection criteria");
  }
  if (!account.assessment) {
    return FailedRule(rules::kAdmissionRequiresAssessment,
                      base::StrCat("account '", account_id, "' has not been assessed"));
  }
  if (account.assessment->criteria_version != state.criteria->version) {
    return FailedRule(
        rules::kAdmissionRequiresAssessment,
        base::StrCat("account '", account_id, "' was assessed against criteria v",
                     account.assessment->criteria_version, "; the current version is v",
                     state.criteria->version, ": assess it again"));
  }
  return &*account.assessment;
}

}  // namespace

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::NominateAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("account_id", cmd.account_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("account_name", cmd.account_name(), base::kMaxNameLength));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  if (auto it = state.accounts.find(cmd.account_id());
      it != state.accounts.end() &&
      (it->second.active() || it->second.stage == AccountStage::kNominated)) {
    return base::RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kNominationUnique,
        base::StrCat("account '", cmd.account_id(), "' is already nominated in programme '",
                     cmd.programme_id(), "' (by ", it->second.nominated_by, ")"));
  }
  v1::Event event;
  auto* e = event.mutable_account_nominated();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_account_name(cmd.account_name());
  e->set_rationale(cmd.rationale());
  e->set_nominated_by(ctx.actor);
  e->set_nominated_by_person(state.PersonByPrincipal(ctx.actor).value_or(""));
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AssessAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(internal::OptionalText("notes", cmd.notes(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(internal::RequireStage(
      **account, cmd.account_id(),
      {AccountStage::kNominated, AccountStage::kIncubating, AccountStage::kAdmitted}, "assess"));
  if (!state.criteria) {
    return FailedRule(rules::kAssessmentCurrentCriteria,
                      "the programme has no published selection criteria");
  }
  const Criteria& criteria = *state.criteria;
  if (cmd.criteria_version() != criteria.version) {
    return FailedRule(rules::kAssessmentCurrentCriteria,
                      base::StrCat("criteria_version ", cmd.criteria_version(),
                                   " is not the current version ", criteria.version));
  }
  if (!cmd.corrects_event_id().empty() &&
      (!(*account)->assessment || (*account)->assessment->event_id != cmd.corrects_event_id())) {
    return FailedRule(rules::kAssessmentComplete,
                      base::StrCat("corrects_event_id '", cmd.corrects_event_id(),
                                   "' is not the account's latest assessment"));
  }
  std::map<std::string, int32_t> scores;
  for (const auto& s : cmd.scores()) {
    if (!scores.emplace(s.criterion_id(), s.score()).second) {
      return FailedRule(rules::kAssessmentComplete,
                        base::StrCat("criterion '", s.criterion_id(), "' is scored twice"));
    }
  }
  double weighted = 0;
  for (const auto& c : criteria.criteria) {
    auto it = scores.find(c.criterion_id());
    if (it == scores.end()) {
      return FailedRule(rules::kAssessmentComplete,
                        base::StrCat("criterion '", c.criterion_id(), "' is not scored"));
    }
    if (it->second < c.scale_min() || it->second > c.scale_max()) {
      return FailedRule(
          rules::kAssessmentComplete,
          base::StrCat("score ", it->second, " for '", c.criterion_id(), "' is outside its scale ",
                       c.scale_min(), "..", c.scale_max()));
    }
    weighted += c.weight_percent() * static_cast<double>(it->second - c.scale_min()) /
                static_cast<double>(c.scale_max() - c.scale_min());
    scores.erase(it);
  }
  if (!scores.empty()) {
    return FailedRule(rules::kAssessmentComplete,
                      base::StrCat("criterion '", scores.begin()->first, "' is not in criteria v",
                                   criteria.version));
  }
  v1::Event event;
  auto* e = event.mutable_account_assessed();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_criteria_version(criteria.version);
  *e->mutable_scores() = cmd.scores();
  e->set_weighted_score(std::round(weighted * 100) / 100);
  e->set_assessed_by(ctx.actor);
  e->set_notes(cmd.notes());
  e->set_corrects_event_id(cmd.corrects_event_id());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AdmitAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(internal::OptionalText("exception_justification",
                                             cmd.exception_justification(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(internal::RequireStage(
      **account, cmd.account_id(), {AccountStage::kNominated, AccountStage::kIncubating}, "admit"));
  auto assessment = CheckAdmissionDecision(state, **account, cmd.account_id(), ctx, "admit");
  if (!assessment.ok()) return assessment.status();
  const bool exception = (*assessment)->weighted_score < state.criteria->threshold;
  if (exception && cmd.exception_justification().empty()) {
    return FailedRule(
        rules::kAdmissionException,
        base::StrCat("account '", cmd.account_id(), "' scored ", (*assessment)->weighted_score,
                     ", below the threshold ", state.criteria->threshold,
                     ": an exception needs exception_justification"));
  }
  if (state.AdmittedCount() + 1 > state.max_key_accounts) {
    return FailedRule(rules::kPortfolioMax,
                      base::StrCat("the programme already has ", state.AdmittedCount(),
                                   " key accounts, its maximum is ", state.max_key_accounts));
  }
  v1::Event event;
  auto* e = event.mutable_account_admitted();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_criteria_version((*assessment)->criteria_version);
  e->set_weighted_score((*assessment)->weighted_score);
  e->set_threshold(state.criteria->threshold);
  e->set_exception(exception);
  e->set_exception_justification(cmd.exception_justification());
  e->set_nominated_by((*account)->nominated_by);
  e->set_approved_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::IncubateAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  auto review_by = ParseDate("review_by", cmd.review_by());
  if (!review_by.ok()) return review_by.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  if (*review_by <= ctx.Today()) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kIncubationReviewDate,
                              base::StrCat("review_by ", cmd.review_by(), " must be after today"));
  }
  KAM_RETURN_IF_ERROR(
      internal::RequireStage(**account, cmd.account_id(), {AccountStage::kNominated}, "incubate"));
  auto assessment = CheckAdmissionDecision(state, **account, cmd.account_id(), ctx, "incubate");
  if (!assessment.ok()) return assessment.status();
  v1::Event event;
  auto* e = event.mutable_account_incubated();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_criteria_version((*assessment)->criteria_version);
  e->set_weighted_score((*assessment)->weighted_score);
  e->set_review_by(cmd.review_by());
  e->set_rationale(cmd.rationale());
  e->set_nominated_by((*account)->nominated_by);
  e->set_approved_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::RejectNominationRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(
      internal::RequireStage(**account, cmd.account_id(), {AccountStage::kNominated}, "reject"));
  KAM_RETURN_IF_ERROR(internal::RequireApprover(state, ctx.actor, "reject a nomination"));
  v1::Event event;
  auto* e = event.mutable_nomination_rejected();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_reason(cmd.reason());
  e->set_decided_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ReviewAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  if (cmd.outcome() == v1::REVIEW_OUTCOME_UNSPECIFIED ||
      !v1::ReviewOutcome_IsValid(cmd.outcome())) {
    return base::InvalidField("outcome", "must be RETAIN, WATCH or RETIRE");
  }
  KAM_RETURN_IF_ERROR(CheckMetricKinds("metrics_considered", cmd.metrics_considered()));
  KAM_RETURN_IF_ERROR(internal::OptionalText("notes", cmd.notes(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(internal::RequireStage(
      **account, cmd.account_id(), {AccountStage::kAdmitted, AccountStage::kIncubating}, "review"));
  v1::Event event;
  auto* e = event.mutable_account_reviewed();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_outcome(cmd.outcome());
  *e->mutable_metrics_considered() = cmd.metrics_considered();
  e->set_notes(cmd.notes());
  e->set_reviewed_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::RetireAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(internal::RequireStage(
      **account, cmd.account_id(), {AccountStage::kAdmitted, AccountStage::kIncubating}, "retire"));
  KAM_RETURN_IF_ERROR(internal::RequireApprover(state, ctx.actor, "retire an account"));
  const auto& a = **account;
  const int64_t tenure = a.admitted_on ? DaysBetween(*a.admitted_on, ctx.Today()) : 0;
  v1::Event event;
  auto* e = event.mutable_account_retired();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_reason(cmd.reason());
  e->set_approved_by(ctx.actor);
  e->set_tenure_days(static_cast<uint32_t>(std::max<int64_t>(tenure, 0)));
  e->set_within_min_tenure(a.admitted_on.has_value() &&
                           tenure < static_cast<int64_t>(state.parameters.min_tenure_days()));
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::SetAccountObjectivesRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("objectives", cmd.objectives(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(CheckMetricKinds("measured_by", cmd.measured_by()));
  KAM_RETURN_IF_ERROR(internal::RequireStage(**account, cmd.account_id(),
                                             {AccountStage::kAdmitted, AccountStage::kIncubating},
                                             "set objectives of"));
  v1::Event event;
  auto* e = event.mutable_account_objectives_set();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_objectives(cmd.objectives());
  *e->mutable_measured_by() = cmd.measured_by();
  e->set_set_by(ctx.actor);
  return One(std::move(event));
}

}  // namespace kam::domain
