// The writer's clock, behind an interface so that tests move time instead of sleeping.
//
//   const kam::writer::Clock& clock = kam::writer::SystemClock();
//   absl::Time recorded_at = clock.Now();
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kam::writer {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system's real-time clock. Thread-safe.
const Clock& SystemClock();

}  // namespace kam::writer
