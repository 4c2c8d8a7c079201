// Steps 1, 2 and 5: sponsors and their visits, managers and their competencies, account
// teams and the training of operations and supply-chain staff.
#include "domain/checks.h"

namespace kam::domain {
namespace {

using internal::FailedRule;
using internal::One;

absl::Status CheckSkill(std::string_view field, int skill) {
  if (skill == v1::SKILL_UNSPECIFIED || !v1::Skill_IsValid(skill)) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kSkillRequired,
                              base::StrCat(field,
                                           " must be one of FINANCE, CONSULTING, PLANNING, "
                                           "INTERPERSONAL, INFLUENCE"));
  }
  return absl::OkStatus();
}

// The account named by the command, which must be admitted or incubating.
absl::StatusOr<const AccountState*> ActiveAccount(const ProgrammeState& state,
                                                  std::string_view account_id,
                                                  std::string_view what) {
  auto account = internal::FindAccount(state, account_id);
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(internal::RequireStage(
      **account, account_id, {AccountStage::kAdmitted, AccountStage::kIncubating}, what));
  return account;
}

}  // namespace

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AssignSponsorRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = ActiveAccount(state, cmd.account_id(), "assign a sponsor to");
  if (!account.ok()) return account.status();
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  if (!(*person)->Has(v1::PERSON_FUNCTION_EXECUTIVE)) {
    return FailedRule(rules::kSponsorExecutive,
                      base::StrCat("'", cmd.person_id(), "' is not a registered executive"));
  }
  if (!(*account)->sponsor.empty()) {
    return FailedRule(rules::kSponsorOnePerAccount,
                      base::StrCat("account '", cmd.account_id(), "' is sponsored by '",
                                   (*account)->sponsor, "'; release them first"));
  }
  const uint32_t load = state.SponsorLoad(cmd.person_id());
  if (load + 1 > state.parameters.max_accounts_per_sponsor()) {
    return FailedRule(
        rules::kSponsorMaxAccounts,
        base::StrCat("'", cmd.person_id(), "' already sponsors ", load,
                     " accounts, the maximum is ", state.parameters.max_accounts_per_sponsor()));
  }
  v1::Event event;
  auto* e = event.mutable_sponsor_assigned();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id(cmd.person_id());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ReleaseSponsorRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  if ((*account)->sponsor.empty()) {
    return FailedRule(rules::kSponsorMustBeAssigned,
                      base::StrCat("account '", cmd.account_id(), "' has no sponsor"));
  }
  v1::Event event;
  auto* e = event.mutable_sponsor_released();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id((*account)->sponsor);
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::LogSponsorVisitRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  auto date = internal::PastDate("visit_date", cmd.visit_date(), ctx.Today());
  if (!date.ok()) return date.status();
  KAM_RETURN_IF_ERROR(internal::OptionalText("notes", cmd.notes(), base::kMaxTextLength));
  if ((*account)->sponsor.empty()) {
    return FailedRule(rules::kSponsorMustBeAssigned,
                      base::StrCat("account '", cmd.account_id(), "' has no sponsor to visit it"));
  }
  v1::Event event;
  auto* e = event.mutable_sponsor_visit_logged();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id((*account)->sponsor);
  e->set_visit_date(cmd.visit_date());
  e->set_notes(cmd.notes());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AssessCompetencyRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  KAM_RETURN_IF_ERROR(CheckSkill("skill", cmd.skill()));
  KAM_RETURN_IF_ERROR(internal::OptionalText("notes", cmd.notes(), base::kMaxTextLength));
  v1::Event event;
  auto* e = event.mutable_competency_assessed();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_skill(cmd.skill());
  e->set_competent(cmd.competent());
  e->set_assessed_by(ctx.actor);
  e->set_notes(cmd.notes());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::RecordManagerTrainingRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  KAM_RETURN_IF_ERROR(CheckSkill("skill", cmd.skill()));
  KAM_RETURN_IF_ERROR(base::ValidateText("course", cmd.course(), base::kMaxNameLength));
  auto date = internal::PastDate("completed_on", cmd.completed_on(), ctx.Today());
  if (!date.ok()) return date.status();
  v1::Event event;
  auto* e = event.mutable_manager_trained();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_skill(cmd.skill());
  e->set_course(cmd.course());
  e->set_completed_on(cmd.completed_on());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::RecordStaffTrainingRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("course", cmd.course(), base::kMaxNameLength));
  auto date = internal::PastDate("completed_on", cmd.completed_on(), ctx.Today());
  if (!date.ok()) return date.status();
  v1::Event event;
  auto* e = event.mutable_staff_trained();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_course(cmd.course());
  e->set_completed_on(cmd.completed_on());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AssignManagerRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = ActiveAccount(state, cmd.account_id(), "assign a manager to");
  if (!account.ok()) return account.status();
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  std::map<int, absl::CivilDay> plan;
  for (int i = 0; i < cmd.training_plan_size(); ++i) {
    const auto& item = cmd.training_plan(i);
    const std::string field = base::StrCat("training_plan[", i, "]");
    KAM_RETURN_IF_ERROR(CheckSkill(field + ".skill", item.skill()));
    auto due = ParseDate(field + ".due_by", item.due_by());
    if (!due.ok()) return due.status();
    if (*due < ctx.Today()) {
      return FailedRule(rules::kManagerTrainedOrPlanned,
                        base::StrCat(field, ".due_by ", item.due_by(), " is in the past"));
    }
    if (!plan.emplace(item.skill(), *due).second) {
      return base::InvalidField(field + ".skill", "is planned twice");
    }
  }
  if (!(*person)->Has(v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER)) {
    return FailedRule(
        rules::kManagerRegistered,
        base::StrCat("'", cmd.person_id(), "' is not registered as a key account manager"));
  }
  if (!(*account)->manager.empty()) {
    return FailedRule(rules::kManagerOnePerAccount,
                      base::StrCat("account '", cmd.account_id(), "' is managed by '",
                                   (*account)->manager, "'; release them first"));
  }
  std::string missing;
  for (int skill : state.parameters.required_skills()) {
    const auto s = static_cast<v1::Skill>(skill);
    if (!state.HasSkill(cmd.person_id(), s) && !plan.contains(skill)) {
      base::StrAppend(&missing, missing.empty() ? "" : ", ", v1::Skill_Name(s));
    }
  }
  if (!missing.empty()) {
    return FailedRule(
        rules::kManagerTrainedOrPlanned,
        base::StrCat("'", cmd.person_id(), "' is neither trained nor assessed competent in ",
                     missing, " and the assignment has no dated training plan for it"));
  }
  v1::Event event;
  auto* e = event.mutable_manager_assigned();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id(cmd.person_id());
  // Only the gaps are kept in the plan: a planned skill already held is no plan.
  for (const auto& item : cmd.training_plan()) {
    if (!state.HasSkill(cmd.person_id(), item.skill())) *e->add_training_plan() = item;
  }
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ReleaseManagerRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  if ((*account)->manager.empty()) {
    return FailedRule(rules::kManagerMustBeAssigned,
                      base::StrCat("account '", cmd.account_id(), "' has no manager"));
  }
  v1::Event event;
  auto* e = event.mutable_manager_released();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id((*account)->manager);
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AssignTeamMemberRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = ActiveAccount(state, cmd.account_id(), "add a team member to");
  if (!account.ok()) return account.status();
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  if ((*account)->team.contains(cmd.person_id())) {
    return base::RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kTeamMembership,
        base::StrCat("'", cmd.person_id(), "' is already on the team of '", cmd.account_id(), "'"));
  }
  v1::Event event;
  auto* e = event.mutable_team_member_assigned();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id(cmd.person_id());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ReleaseTeamMemberRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateId("person_id", cmd.person_id()));
  if (!(*account)->team.contains(cmd.person_id())) {
    return FailedRule(
        rules::kTeamMembership,
        base::StrCat("'", cmd.person_id(), "' is not on the team of '", cmd.account_id(), "'"));
  }
  v1::Event event;
  auto* e = event.mutable_team_member_released();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_person_id(cmd.person_id());
  return One(std::move(event));
}

}  // namespace kam::domain
