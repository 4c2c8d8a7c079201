#include "projections/governance/membership.h"

namespace kam::projections {

Membership::Answer CacheMembership::Of(std::string_view programme_id,
                                       std::string_view principal) const {
  Answer answer;
  (void)cache_.WithProgramme(programme_id, [&](const GovernanceCache::Programme& p) {
    answer.reads = ReadsProgramme(p.state, principal);
    if (!p.events.empty()) answer.version = p.events.back().envelope.aggregate_version();
  });
  return answer;
}

}  // namespace kam::projections
