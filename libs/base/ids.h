// Identifier and text validation shared by every entry point, and event ids.
//
//   if (auto s = kam::base::ValidateId("account_id", req.account_id()); !s.ok()) return s;
//   std::string id = kam::base::NewEventId();   // random UUID v4
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kam::base {

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxNameLength = 200;
inline constexpr std::size_t kMaxTextLength = 4000;
inline constexpr std::size_t kMaxRequestIdLength = 128;

// An id is 1..64 characters of [a-z0-9._-] starting with a letter or digit.
// The error is INVALID_ARGUMENT naming `field` and quoting (a prefix of) the value.
absl::Status ValidateId(std::string_view field, std::string_view value);

// Required free text: 1..max_length bytes of valid UTF-8 with no control characters
// other than newline and tab, and not only whitespace.
absl::Status ValidateText(std::string_view field, std::string_view value, std::size_t max_length);

// A client request id: 1..128 printable ASCII characters.
absl::Status ValidateRequestId(std::string_view field, std::string_view value);

// A random (version 4) UUID in canonical lower-case form. Thread-safe.
std::string NewEventId();

}  // namespace kam::base
