#include "domain/checks.h"

namespace kam::domain::internal {

absl::Status FailedRule(std::string_view rule, std::string_view problem) {
  return base::RuleViolated(absl::StatusCode::kFailedPrecondition, rule, problem);
}

absl::Status RequireProgramme(const ProgrammeState& state, std::string_view programme_id) {
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", programme_id));
  if (!state.chartered) {
    // The id names nothing: a field error, not a broken rule of an existing programme.
    return base::InvalidField("programme_id",
                              base::StrCat("programme '", programme_id, "' is not chartered (rule ",
                                           rules::kProgrammeMustExist, ")"));
  }
  return absl::OkStatus();
}

absl::Status RequireApprover(const ProgrammeState& state, const std::string& actor,
                             std::string_view what) {
  if (auto person = state.PersonByPrincipal(actor)) {
    if (state.champions.contains(*person)) return absl::OkStatus();
    if (state.people.at(*person).Has(v1::PERSON_FUNCTION_STEERING_BOARD)) return absl::OkStatus();
  }
  return FailedRule(rules::kApprovalChampionOrBoard,
                    base::StrCat(actor, " may not ", what,
                                 ": only an active champion of the programme or a registered "
                                 "steering-board member approves"));
}

bool SamePerson(const ProgrammeState& state, const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto pa = state.PersonByPrincipal(a);
  return pa && pa == state.PersonByPrincipal(b);
}

absl::StatusOr<const AccountState*> FindAccount(const ProgrammeState& state,
                                                std::string_view account_id) {
  KAM_RETURN_IF_ERROR(base::ValidateId("account_id", account_id));
  auto it = state.accounts.find(std::string(account_id));
  if (it == state.accounts.end()) {
    return base::RuleViolated(
        absl::StatusCode::kFailedPrecondition, rules::kAccountMustExist,
        base::StrCat("account '", account_id, "' has not been nominated in programme '",
                     state.programme_id, "'"));
  }
  return &it->second;
}

absl::Status RequireStage(const AccountState& account, std::string_view account_id,
                          std::initializer_list<AccountStage> stages, std::string_view what) {
  for (AccountStage s : stages) {
    if (account.stage == s) return absl::OkStatus();
  }
  std::string allowed;
  for (AccountStage s : stages)
    base::StrAppend(&allowed, allowed.empty() ? "" : " or ", StageName(s));
  return FailedRule(rules::kAccountStage,
                    base::StrCat("cannot ", what, " account '", account_id, "': it is ",
                                 StageName(account.stage), ", not ", allowed));
}

absl::StatusOr<const Person*> FindPerson(const ProgrammeState& state, std::string_view field,
                                         std::string_view person_id) {
  KAM_RETURN_IF_ERROR(base::ValidateId(field, person_id));
  auto it = state.people.find(std::string(person_id));
  if (it == state.people.end()) {
    return base::RuleViolated(
        absl::StatusCode::kFailedPrecondition, rules::kPersonMustExist,
        base::StrCat(field, " '", person_id, "' is not a registered person of the programme"));
  }
  return &it->second;
}

absl::Status OptionalText(std::string_view field, std::string_view value, std::size_t max) {
  if (value.empty()) return absl::OkStatus();
  return base::ValidateText(field, value, max);
}

absl::StatusOr<absl::CivilDay> PastDate(std::string_view field, std::string_view value,
                                        absl::CivilDay today) {
  auto day = ParseDate(field, value);
  if (!day.ok()) return day.status();
  if (*day > today) {
    return base::RuleViolated(
        absl::StatusCode::kInvalidArgument, rules::kDateNotFuture,
        base::StrCat(field, " ", value, " is after today (", FormatDate(today), ")"));
  }
  return day;
}

}  // namespace kam::domain::internal
