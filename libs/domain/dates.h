// Calendar dates of the domain: ISO-8601 "YYYY-MM-DD" strings in events, absl::CivilDay
// in state. Business time (the envelope's occurred_at) becomes a UTC day.
//
//   absl::StatusOr<absl::CivilDay> d = kam::domain::ParseDate("visit_date", "2026-11-26");
//   int64_t days = kam::domain::DaysBetween(admitted_on, retired_on);
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace kam::domain {

// INVALID_ARGUMENT naming `field` unless `text` is a real date "YYYY-MM-DD" in 1900..2999.
absl::StatusOr<absl::CivilDay> ParseDate(std::string_view field, std::string_view text);
std::string FormatDate(absl::CivilDay day);
absl::CivilDay DayOf(absl::Time t);
absl::CivilDay DayOf(const google::protobuf::Timestamp& ts);
absl::Time TimeOf(const google::protobuf::Timestamp& ts);
inline int64_t DaysBetween(absl::CivilDay from, absl::CivilDay to) { return to - from; }

}  // namespace kam::domain
