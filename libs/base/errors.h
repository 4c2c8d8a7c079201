// Errors a caller can cause are values. Every message names the field or the rule:
//
//   return kam::base::InvalidField("account_id", "must not be empty");
//     -> INVALID_ARGUMENT "account_id: must not be empty"
//   return kam::base::RuleViolated(absl::StatusCode::kFailedPrecondition,
//                                  "admission.four_eyes", "the nominator cannot approve");
//     -> FAILED_PRECONDITION "rule admission.four_eyes: the nominator cannot approve"
#pragma once

#include <string>
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

// The rule or field an error names, carried as status payloads (set by the two functions
// above) so that adapters hand them on as data (server/status.h puts them into the gRPC
// status details) and nobody parses a message. Empty when the error names none.
inline constexpr std::string_view kRulePayload = "kam.v1/rule";
inline constexpr std::string_view kFieldPayload = "kam.v1/field";
inline constexpr std::string_view kReasonPayload = "kam.v1/reason";
std::string RuleOf(const absl::Status& status);
std::string FieldOf(const absl::Status& status);

// A machine-readable reason for an error that is neither a rule nor a field, so that a
// caller decides by value ("partition_not_owned": send the command to another instance).
inline constexpr std::string_view kReasonNotOwner = "partition_not_owned";
// No instance owns the partition at this moment: the writer group is moving it (an
// instance joined, left or died). Retrying shortly with the same request id succeeds.
inline constexpr std::string_view kReasonRebalancing = "partition_rebalancing";
absl::Status WithReason(absl::Status status, std::string_view reason);
std::string ReasonOf(const absl::Status& status);

// With kReasonNotOwner: the endpoint of the instance that owns the partition now (as it
// advertises itself), when known; server/status.h hands it on as ErrorDetail.owner.
inline constexpr std::string_view kOwnerPayload = "kam.v1/owner";
absl::Status WithOwner(absl::Status status, std::string_view owner);
std::string OwnerOf(const absl::Status& status);

}  // namespace kam::base
