// The read side's Membership (projections/history/read_scope.h) from the governance cache:
// each programme's people as the domain folds them, caught up with the store on every
// question, so the query services and the change stream share one fold and one answer.
//
//   kam::projections::CacheMembership membership(cache);
//   kam::projections::ReadScope scope(auth, membership);
//
// Thread-safe (the cache is).
#pragma once

#include "projections/governance/cache.h"
#include "projections/history/read_scope.h"

namespace kam::projections {

class CacheMembership final : public Membership {
 public:
  explicit CacheMembership(GovernanceCache& cache) : cache_(cache) {}
  // reads = false and version 0 for a programme with no stored history.
  Answer Of(std::string_view programme_id, std::string_view principal) const override;

 private:
  GovernanceCache& cache_;
};

}  // namespace kam::projections
