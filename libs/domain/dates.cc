#include "domain/dates.h"

#include "absl/strings/str_format.h"
#include "base/errors.h"
#include "base/strings.h"

namespace kam::domain {

absl::StatusOr<absl::CivilDay> ParseDate(std::string_view field, std::string_view text) {
  auto bad = [&] {
    return base::InvalidField(
        field, base::StrCat("must be a date YYYY-MM-DD, got '", text.substr(0, 20), "'"));
  };
  if (text.empty()) return base::InvalidField(field, "is required");
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lens[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (std::size_t k = 0; k < lens[i]; ++k) {
      const char c = text[starts[i] + k];
      if (c < '0' || c > '9') return bad();
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  const absl::CivilDay day(parts[0], parts[1], parts[2]);
  // CivilDay normalises (2026-02-30 -> 2026-03-02); a real date round-trips.
  if (day.year() != parts[0] || day.month() != parts[1] || day.day() != parts[2] ||
      parts[0] < 1900 || parts[0] > 2999) {
    return bad();
  }
  return day;
}

std::string FormatDate(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::CivilDay DayOf(absl::Time t) { return absl::ToCivilDay(t, absl::UTCTimeZone()); }

absl::Time TimeOf(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::CivilDay DayOf(const google::protobuf::Timestamp& ts) { return DayOf(TimeOf(ts)); }

}  // namespace kam::domain
