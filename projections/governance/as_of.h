// The programme as it stood at a past moment, on either time axis, by folding its stored
// events with the domain's own Evolve.
//
//   AsOfFold fold = kam::projections::FoldProgramme(history, as_of, absl::Now());
//   fold.state (domain::ProgrammeState), fold.events_folded, fold.day (for flags)
#pragma once

#include "absl/time/time.h"
#include "domain/programme.h"
#include "kam/v1/governance_service.pb.h"
#include "projections/history/history_index.h"

namespace kam::projections {

struct AsOfFold {
  domain::ProgrammeState state;
  uint64_t events_folded = 0;
  absl::Time at;  // the moment the view describes
};

// RECORDED: the events recorded at or before the time, in version (log) order.
// EFFECTIVE: the events in effect at the time, in log order: an event takes effect at its
// occurred_at, or a late entry (CommandMetadata.late_reason) at the programme's business
// time when it was entered. Both are prefixes of the log: states the write side decided on.
// Absent or zero time: now, everything.
AsOfFold FoldProgramme(const AggregateHistory& history, const v1::AsOf& as_of, absl::Time now);

// The view a query answers with, of `state` at `at` (for overdue visits), folded from
// `events_folded` events.
v1::ProgrammeView ToView(const domain::ProgrammeState& state, uint64_t events_folded,
                         absl::Time at);
inline v1::ProgrammeView ToView(const AsOfFold& fold) {
  return ToView(fold.state, fold.events_folded, fold.at);
}

// Folds `events` (version order) as of a moment: as FoldProgramme, starting from
// `start` (a checkpoint: the state after events [0, start_index)) when given.
AsOfFold FoldEvents(const std::vector<const v1::EventEnvelope*>& events, const v1::AsOf& as_of,
                    absl::Time now, const domain::ProgrammeState* start = nullptr,
                    std::size_t start_index = 0);

}  // namespace kam::projections
