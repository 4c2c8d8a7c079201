#include "base/errors.h"

#include "base/strings.h"

namespace kam::base {

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(base::StrCat(field, ": ", problem));
}

absl::Status RuleViolated(absl::StatusCode code, std::string_view rule, std::string_view problem) {
  return absl::Status(code, base::StrCat("rule ", rule, ": ", problem));
}

}  // namespace kam::base
