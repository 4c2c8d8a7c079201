// String concatenation that takes std::string_view. Debian's Abseil is built without
// std::string_view aliasing, so absl::StrCat rejects std::string_view arguments.
//
//   std::string s = kam::base::StrCat("account '", id, "' at version ", 3);
//   kam::base::StrAppend(&s, " (", reason, ")");
#pragma once

#include <charconv>
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
requires(std::is_integral_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}
// Floating point in the shortest form that reads back exactly: 50, 0.1, 5333333.333333333.
template <typename T>
requires std::is_floating_point_v<T>
void Append(std::string& out, T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
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
