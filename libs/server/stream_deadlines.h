// Idle and total deadlines on the long-lived streams (Subscribe, StreamMetrics). A
// synchronous handler blocked in Read (a client that sends nothing) or in Write (a client
// that reads nothing) cannot look at a clock, so one watchdog thread per service watches
// every open stream and ends an expired one with a status that names the limit.
//
//   kam::server::StreamDeadlines deadlines("StreamMetrics", limits,
//                                          "every outcome already received stands");
//   auto watch = deadlines.Start(*context);          // watched until `watch` is destroyed
//   while (stream->Read(&m)) {
//     watch->Touch();                                // the client did something
//     { auto busy = watch->Busy(); ... }             // the server, not the client, is awaited
//     if (watch->Overdue()) break;                   // past the lifetime: end it cleanly
//   }
//   if (absl::Status s = watch->Ended(); !s.ok()) return ToGrpc(s);  // the watchdog ended it
//
// The rules (a zero limit is off):
//  - idle: a stream with no Touch for `idle` while no Busy scope is held is cancelled with
//    DEADLINE_EXCEEDED "<what>: idle for 60 s, the limit (--stream-idle-timeout-s) ...";
//  - lifetime: Overdue() turns true `lifetime` after Start, and the handler ends the stream at
//    its next clean point (every answer owed written first); a stream still open `grace`
//    later (blocked on a client that neither sends nor reads) is cancelled with
//    DEADLINE_EXCEEDED "<what>: open for 3600 s, the limit (--stream-max-lifetime-s) ...".
// The cancellation carries that status to the client (grpc_call_cancel_with_status), and
// Ended() returns it, so the handler returns the same status the client saw.
//
// Thread-safe: Touch, Busy and Overdue are lock-free (called per message); Start and a
// Watch's destruction take the registry's lock, and the watchdog cancels under it, so it
// never cancels a call whose handler has already returned.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/flags.h"

namespace grpc {
class ServerContext;
}  // namespace grpc

namespace kam::server {

struct StreamLimits {
  // A stream on which the client neither sends nor reads a message for this long is closed.
  std::chrono::milliseconds idle{60000};
  // A stream open this long is ended by its handler at the next clean point.
  std::chrono::milliseconds lifetime{3600000};
  // After the lifetime, how long a handler blocked on its client has before it is cancelled.
  std::chrono::milliseconds grace{5000};
};

// --stream-idle-timeout-s (60) and --stream-max-lifetime-s (3600), for a binary that serves a
// stream; 0 turns a limit off.
void DefineStreamLimitFlags(Flags& flags);
// INVALID_ARGUMENT naming the flag if a value is out of range.
absl::StatusOr<StreamLimits> StreamLimitsFromFlags(const Flags& flags);

class StreamDeadlines {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;
  // Ends a call with a status (the gRPC version cancels the call with it).
  using Cancel = std::function<void(const absl::Status&)>;

  // `what` names the stream in statuses; `hint` tells the client what stands and what to do.
  // With `watchdog` false no thread runs and CheckNow() is called by hand (tests, with a fake
  // `clock`); null `clock`: std::chrono::steady_clock.
  StreamDeadlines(std::string what, StreamLimits limits, std::string hint, Clock clock = nullptr,
                  bool watchdog = true);
  ~StreamDeadlines();
  StreamDeadlines(const StreamDeadlines&) = delete;
  StreamDeadlines& operator=(const StreamDeadlines&) = delete;

  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    // The client sent or read a message: the idle clock starts again.
    void Touch();
    // While one is held the idle clock is stopped: the server is working (a commit, a scan),
    // not waiting for the client. Released, it touches.
    class BusyScope {
     public:
      explicit BusyScope(Watch* watch) : watch_(watch) { watch_->busy_.fetch_add(1); }
      BusyScope(const BusyScope&) = delete;
      BusyScope& operator=(const BusyScope&) = delete;
      ~BusyScope() {
        watch_->Touch();
        watch_->busy_.fetch_sub(1);
      }

     private:
      Watch* watch_;
    };
    [[nodiscard]] BusyScope Busy() { return BusyScope(this); }
    // Past the lifetime: the handler should end the stream now.
    bool Overdue() const;
    // The status the watchdog ended the stream with, or OK while it has not.
    absl::Status Ended() const;
    // The status that names the lifetime (for a handler that ends an overdue stream with it).
    absl::Status LifetimeStatus() const;

   private:
    friend class StreamDeadlines;
    Watch(StreamDeadlines* owner, Cancel cancel);
    int64_t Now() const;

    StreamDeadlines* const owner_;
    const Cancel cancel_;
    const int64_t started_;  // ns of the owner's clock
    std::atomic<int64_t> last_;
    std::atomic<int> busy_{0};
    absl::Status ended_;  // guarded by owner_->mu_
  };

  // Watches the stream of `context` until the Watch is destroyed (before the handler returns).
  std::unique_ptr<Watch> Start(grpc::ServerContext& context);
  // The same, ending the stream with `cancel`.
  std::unique_ptr<Watch> Start(Cancel cancel);

  // Cancels every watched stream past a limit; what the watchdog does each time it wakes.
  void CheckNow();
  int watched() const;
  const StreamLimits& limits() const { return limits_; }

 private:
  void Run();
  // The earliest instant (ns) at which a watched stream may expire; under mu_.
  int64_t NextExpiry() const;

  const std::string what_;
  const StreamLimits limits_;
  const std::string hint_;
  const Clock clock_;
  const std::string idle_message_;
  const std::string lifetime_message_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::set<Watch*> watches_;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace kam::server
