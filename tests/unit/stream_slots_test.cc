// The bound on long-lived streams: slots are taken up to the bound, refused beyond it with
// a status that names the stream and the bound, and given back when a stream ends.
#include "server/stream_slots.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

namespace kam::server {
namespace {

TEST(StreamSlots, AreTakenUpToTheBoundAndGivenBackWhenAStreamEnds) {
  StreamSlots slots("Subscribe", 2);
  auto first = slots.TryAcquire();
  std::optional<absl::StatusOr<StreamSlots::Slot>> second(slots.TryAcquire());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second->ok());
  EXPECT_EQ(slots.open(), 2);
  auto third = slots.TryAcquire();
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "at most 2 Subscribe streams are open at once on this server; close one (or resume "
            "later from the last position received) and retry");
  second.reset();  // that stream ended
  EXPECT_EQ(slots.open(), 1);
  EXPECT_TRUE(slots.TryAcquire().ok());
  EXPECT_EQ(slots.open(), 1) << "a slot not kept is given back at once";
}

TEST(StreamSlots, ManyThreadsNeverHoldMoreThanTheBound) {
  StreamSlots slots("StreamMetrics", 3);
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto slot = slots.TryAcquire();
        if (!slot.ok()) continue;
        int now = slots.open();
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(slots.open(), 0);
}

}  // namespace
}  // namespace kam::server
