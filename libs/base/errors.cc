#include "base/errors.h"

#include "absl/strings/cord.h"
#include "base/strings.h"

namespace kam::base {
namespace {

std::string Payload(const absl::Status& status, std::string_view key) {
  auto p = status.GetPayload(absl::string_view(key.data(), key.size()));
  return p ? std::string(*p) : std::string();
}

}  // namespace

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  absl::Status s = absl::InvalidArgumentError(base::StrCat(field, ": ", problem));
  s.SetPayload(absl::string_view(kFieldPayload.data(), kFieldPayload.size()),
               absl::Cord(absl::string_view(field.data(), field.size())));
  return s;
}

absl::Status RuleViolated(absl::StatusCode code, std::string_view rule, std::string_view problem) {
  absl::Status s(code, base::StrCat("rule ", rule, ": ", problem));
  s.SetPayload(absl::string_view(kRulePayload.data(), kRulePayload.size()),
               absl::Cord(absl::string_view(rule.data(), rule.size())));
  return s;
}

absl::Status WithReason(absl::Status status, std::string_view reason) {
  status.SetPayload(absl::string_view(kReasonPayload.data(), kReasonPayload.size()),
                    absl::Cord(absl::string_view(reason.data(), reason.size())));
  return status;
}

std::string ReasonOf(const absl::Status& status) { return Payload(status, kReasonPayload); }

absl::Status WithOwner(absl::Status status, std::string_view owner) {
  status.SetPayload(absl::string_view(kOwnerPayload.data(), kOwnerPayload.size()),
                    absl::Cord(absl::string_view(owner.data(), owner.size())));
  return status;
}

std::string OwnerOf(const absl::Status& status) { return Payload(status, kOwnerPayload); }

std::string RuleOf(const absl::Status& status) { return Payload(status, kRulePayload); }
std::string FieldOf(const absl::Status& status) { return Payload(status, kFieldPayload); }

}  // namespace kam::base
