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

// RECORDED: events recorded at or before the time, in version (log) order.
// EFFECTIVE: events that occurred at or before the time, in occurred_at order (ties by
// version), whenever they were recorded. Absent or zero time: now, everything.
AsOfFold FoldProgramme(const AggregateHistory& history, const v1::AsOf& as_of, absl::Time now);

// The view a query answers with.
v1::ProgrammeView ToView(const AsOfFold& fold);

}  // namespace kam::projections
