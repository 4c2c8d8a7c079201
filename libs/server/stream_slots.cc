#include "server/stream_slots.h"

#include "base/strings.h"

namespace kam::server {

absl::StatusOr<StreamSlots::Slot> StreamSlots::TryAcquire() {
  int now = open_.load();
  while (now < max_) {
    if (open_.compare_exchange_weak(now, now + 1)) return Slot(&open_);
  }
  return absl::ResourceExhaustedError(
      base::StrCat("at most ", max_, " ", what_,
                   " streams are open at once on this server; close one "
                   "(or resume later from the last position received) and retry"));
}

}  // namespace kam::server
