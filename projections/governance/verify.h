// Re-checks an aggregate's stored history: every record's own hash over its stored
// bytes, versions 1..n without gaps or duplicates, and each previous_hash equal to the
// hash of the version before. Reports the first break.
//
//   kam::projections::Verification v = kam::projections::Verify(history);
//   if (!v.intact) std::cout << v.first_break;
#pragma once

#include <string>

#include "domain/programme.h"
#include "projections/history/history_index.h"

namespace kam::projections {

struct Verification {
  bool intact = true;
  uint64_t events_checked = 0;
  std::string first_break;
  uint64_t first_break_version = 0;
  v1::LogPosition first_break_position;
};

Verification Verify(const AggregateHistory& history);

// The scorecard's finding for a broken history (rule history.intact) of `programme_id`.
domain::Flag BreakFinding(const Verification& verification, std::string_view programme_id);

}  // namespace kam::projections
