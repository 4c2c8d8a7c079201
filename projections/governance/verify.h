// Re-checks an aggregate's stored history: every record's own hash over its stored
// bytes, versions 1..n without gaps or duplicates, and each previous_hash equal to the
// hash of the version before. Reports the first break.
//
//   kam::projections::Verification v = kam::projections::Verify(history);
//   if (!v.intact) std::cout << v.first_break;
#pragma once

#include <set>
#include <string>
#include <vector>

#include "domain/programme.h"
#include "projections/history/history_index.h"

namespace kam::projections {

// A record of the aggregate's partition kept out as not an authentic event of it.
struct QuarantinedRecord {
  std::string place;    // "<topic>/<partition>@<offset>" (empty if not known)
  std::string problem;  // as the writer and kamctl audit word it
  bool acknowledged = false;
};

struct Verification {
  bool intact = true;
  uint64_t events_checked = 0;
  std::string first_break;
  uint64_t first_break_version = 0;
  v1::LogPosition first_break_position;
  // The newest event checked: its version and hash (the chain's tip).
  uint64_t tip_version = 0;
  std::string tip_hash;
  // Every quarantined record; one not acknowledged (four-eyes, by the programme) is a break.
  std::vector<QuarantinedRecord> quarantined;
};

// Checks a history event by event, so that a caller keeping it can extend the check with
// new events instead of re-hashing the whole history.
class ChainVerifier {
 public:
  // The next stored event, in version order.
  void Add(const StoredEvent& event);
  // The result over the events added, and `history`'s duplicates and quarantined entries
  // (pass the history of the last events added; its quarantined entries must be all of
  // them, as HistoryIndex::Load gives them). A quarantined record whose place is in
  // `acknowledged` is listed as acknowledged instead of breaking the history.
  Verification Result(const AggregateHistory& history,
                      const std::set<std::string>& acknowledged = {}) const;

 private:
  void Fail(uint64_t version, const v1::LogPosition& at, std::string what);
  Verification v_;
  std::string previous_;
  uint64_t expected_ = 1;
};

Verification Verify(const AggregateHistory& history,
                    const std::set<std::string>& acknowledged = {});

// The places of `state`'s approved quarantine acknowledgements.
std::set<std::string> AcknowledgedPlaces(const domain::ProgrammeState& state);

// The scorecard's finding for a broken history (rule history.intact) of `programme_id`.
domain::Flag BreakFinding(const Verification& verification, std::string_view programme_id);

}  // namespace kam::projections
