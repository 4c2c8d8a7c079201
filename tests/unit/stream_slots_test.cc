// The bound on long-lived streams: slots are taken up to the bound, refused beyond it with
// a status that names the stream and the bound, and given back when a stream ends. Their
// deadlines: idle and lifetime, each ending a stream with a status that names the limit.
#include "server/stream_slots.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "server/stream_deadlines.h"

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

namespace kam::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A clock the test moves, and the streams the deadlines ended, as "stream: status".
struct Harness {
  StreamDeadlines::TimePoint now{};
  std::vector<std::string> ended;
  StreamDeadlines deadlines;

  explicit Harness(StreamLimits limits)
      : deadlines(
            "StreamMetrics", limits, "send the rest on a new stream", [this] { return now; },
            /*watchdog=*/false) {}
  std::unique_ptr<StreamDeadlines::Watch> Start(const std::string& name) {
    return deadlines.Start([this, name](const absl::Status& s) {
      ended.push_back(name + ": " + std::string(absl::StatusCodeToString(s.code())));
    });
  }
};

TEST(StreamDeadlines, AStreamOnWhichTheClientDoesNothingIsClosedNamingTheIdleLimit) {
  Harness h({.idle = seconds(60), .lifetime = seconds(3600)});
  auto quiet = h.Start("quiet");
  auto chatty = h.Start("chatty");
  auto committing = h.Start("committing");
  h.now += seconds(59);
  chatty->Touch();
  auto busy = committing->Busy();  // the server is committing: not the client's time
  h.deadlines.CheckNow();
  EXPECT_TRUE(h.ended.empty());
  h.now += seconds(1);
  h.deadlines.CheckNow();
  h.deadlines.CheckNow();  // once only
  EXPECT_EQ(h.ended, std::vector<std::string>{"quiet: DEADLINE_EXCEEDED"});
  EXPECT_EQ(quiet->Ended().message(),
            "StreamMetrics: idle for 60 s, the limit (--stream-idle-timeout-s): the client "
            "neither sent nor read a message; the stream was closed; send the rest on a new "
            "stream");
  EXPECT_TRUE(chatty->Ended().ok());
  EXPECT_TRUE(committing->Ended().ok());
  h.now += seconds(100);
  h.deadlines.CheckNow();
  EXPECT_EQ(h.ended.size(), 2u) << "the committing one is never idle while busy";
  EXPECT_EQ(h.ended.back(), "chatty: DEADLINE_EXCEEDED");
}

TEST(StreamDeadlines, AStreamPastItsLifetimeIsOverdueThenCancelledAfterTheGrace) {
  Harness h({.idle = milliseconds(0), .lifetime = seconds(3600), .grace = seconds(5)});
  auto stream = h.Start("old");
  h.now += seconds(3599);
  EXPECT_FALSE(stream->Overdue());
  h.now += seconds(1);
  EXPECT_TRUE(stream->Overdue()) << "the handler ends it at its next clean point";
  h.deadlines.CheckNow();
  EXPECT_TRUE(h.ended.empty());
  h.now += seconds(5);  // still blocked on its client
  h.deadlines.CheckNow();
  EXPECT_EQ(h.ended, std::vector<std::string>{"old: DEADLINE_EXCEEDED"});
  EXPECT_EQ(stream->Ended(), stream->LifetimeStatus());
  EXPECT_EQ(stream->LifetimeStatus().message(),
            "StreamMetrics: open for 3600 s, the limit (--stream-max-lifetime-s); the stream "
            "was closed; send the rest on a new stream");
}

TEST(StreamDeadlines, AStreamThatEndedIsNoLongerWatched) {
  Harness h({.idle = seconds(1), .lifetime = seconds(10)});
  {
    auto gone = h.Start("gone");
    EXPECT_EQ(h.deadlines.watched(), 1);
  }
  EXPECT_EQ(h.deadlines.watched(), 0);
  h.now += seconds(60);
  h.deadlines.CheckNow();
  EXPECT_TRUE(h.ended.empty());
}

TEST(StreamDeadlines, TheWatchdogThreadClosesAnIdleStreamOnTime) {
  StreamDeadlines deadlines("Subscribe", {.idle = milliseconds(100), .lifetime = seconds(60)},
                            "resume");
  std::atomic<bool> cancelled{false};
  const auto started = std::chrono::steady_clock::now();
  auto watch = deadlines.Start([&](const absl::Status&) { cancelled = true; });
  while (!cancelled && std::chrono::steady_clock::now() - started < seconds(5)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(cancelled);
  EXPECT_GE(took, milliseconds(100));
  EXPECT_LT(took, milliseconds(1000));
}

}  // namespace
}  // namespace kam::server
