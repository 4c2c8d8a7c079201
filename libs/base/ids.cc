#include "base/ids.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

#include "absl/strings/str_format.h"
#include "base/errors.h"
#include "base/strings.h"

namespace kam::base {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::string Quote(std::string_view value) {
  constexpr std::size_t kShown = 40;
  std::string shown(value.substr(0, kShown));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return base::StrCat("'", shown, value.size() > kShown ? "...'" : "'");
}

// Returns false if `s` is not valid UTF-8 (overlong forms and surrogates included).
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

absl::Status ValidateId(std::string_view field, std::string_view value) {
  if (value.empty()) return InvalidField(field, "is required");
  if (value.size() > kMaxIdLength) {
    return InvalidField(
        field, base::StrCat("must be at most ", kMaxIdLength, " characters, got ", value.size()));
  }
  bool ok = value[0] != '.' && value[0] != '_' && value[0] != '-';
  for (char c : value) ok = ok && IsIdChar(c);
  if (!ok) {
    return InvalidField(field, base::StrCat("must be lower-case letters, digits, '.', '_' or '-', "
                                            "starting with a letter or digit; got ",
                                            Quote(value)));
  }
  return absl::OkStatus();
}

absl::Status ValidateText(std::string_view field, std::string_view value, std::size_t max_length) {
  if (value.empty()) return InvalidField(field, "is required");
  if (value.size() > max_length) {
    return InvalidField(field,
                        base::StrCat("must be at most ", max_length, " bytes, got ", value.size()));
  }
  if (!IsValidUtf8(value)) return InvalidField(field, "must be valid UTF-8");
  bool blank = true;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      return InvalidField(field, "must not contain control characters");
    }
    if (c != ' ' && c != '\n' && c != '\t') blank = false;
  }
  if (blank) return InvalidField(field, "must not be blank");
  return absl::OkStatus();
}

absl::Status ValidateRequestId(std::string_view field, std::string_view value) {
  if (value.empty()) return InvalidField(field, "is required (a retry must carry the same id)");
  if (value.size() > kMaxRequestIdLength) {
    return InvalidField(field, base::StrCat("must be at most ", kMaxRequestIdLength,
                                            " characters, got ", value.size()));
  }
  for (char c : value) {
    if (c < 0x21 || c > 0x7e) return InvalidField(field, "must be printable ASCII without spaces");
  }
  return absl::OkStatus();
}

std::string NewEventId() {
  static std::mutex mu;
  static std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    hi = rng();
    lo = rng();
  }
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 1
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

}  // namespace kam::base
