// Errors a caller can cause are values. Every message names the field or the rule:
//
//   return kam::base::InvalidField("account_id", "must not be empty");
//     -> INVALID_ARGUMENT "account_id: must not be empty"
//   return kam::base::RuleViolated(absl::StatusCode::kFailedPrecondition,
//                                  "admission.four_eyes", "the nominator cannot approve");
//     -> FAILED_PRECONDITION "rule admission.four_eyes: the nominator cannot approve"
#pragma once

#include <string_view>

#include "absl/status/status.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define KAM_RETURN_IF_ERROR(expr)                                    \
  do {                                                               \
    if (::absl::Status kam_s_ = (expr); !kam_s_.ok()) return kam_s_; \
  } while (false)

namespace kam::base {

absl::Status InvalidField(std::string_view field, std::string_view problem);
absl::Status RuleViolated(absl::StatusCode code, std::string_view rule, std::string_view problem);

}  // namespace kam::base
