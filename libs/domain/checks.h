// Checks shared by the programme's Decide functions (internal to libs/domain).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/programme.h"
#include "domain/rules.h"

namespace kam::domain::internal {

// programme_id is well-formed and names a chartered programme.
absl::Status RequireProgramme(const ProgrammeState& state, std::string_view programme_id);

// The actor is the programme's active champion or a registered steering-board member.
absl::Status RequireApprover(const ProgrammeState& state, const std::string& actor,
                             std::string_view what);

// Whether two principals are one pair of eyes: the same principal, or principals of the same
// registered person.
bool SamePerson(const ProgrammeState& state, const std::string& a, const std::string& b);

// account_id is well-formed and names an account of the programme.
absl::StatusOr<const AccountState*> FindAccount(const ProgrammeState& state,
                                                std::string_view account_id);

// The account is in one of `stages`; FAILED_PRECONDITION rule account.stage otherwise.
absl::Status RequireStage(const AccountState& account, std::string_view account_id,
                          std::initializer_list<AccountStage> stages, std::string_view what);

// `field` is well-formed and names a registered person.
absl::StatusOr<const Person*> FindPerson(const ProgrammeState& state, std::string_view field,
                                         std::string_view person_id);

// Optional free text: empty, or valid text of at most `max` bytes.
absl::Status OptionalText(std::string_view field, std::string_view value, std::size_t max);

// A date field that is required and not after `today` (the programme's day).
absl::StatusOr<absl::CivilDay> PastDate(std::string_view field, std::string_view value,
                                        absl::CivilDay today);

absl::Status FailedRule(std::string_view rule, std::string_view problem);

inline Events One(v1::Event event) {
  Events out;
  out.push_back(std::move(event));
  return out;
}

}  // namespace kam::domain::internal
