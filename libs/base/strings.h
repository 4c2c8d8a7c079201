// String concatenation that takes std::string_view. Debian's Abseil is built without
// std::string_view aliasing, so absl::StrCat rejects std::string_view arguments.
//
//   std::string s = kam::base::StrCat("account '", id, "' at version ", 3);
//   kam::base::StrAppend(&s, " (", reason, ")");
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace kam::base {
namespace strings_internal {

inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
template <typename T>
requires(std::is_arithmetic_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}

}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::Append(*out, args), ...);
}

}  // namespace kam::base
