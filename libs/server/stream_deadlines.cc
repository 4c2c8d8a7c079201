#include "server/stream_deadlines.h"

#include <grpc/grpc.h>
#include <grpcpp/server_context.h>

#include <algorithm>

#include "base/strings.h"

namespace kam::server {
namespace {

constexpr int64_t kNever = INT64_MAX;
// The watchdog looks at least this often (a stream whose server was busy becomes idle-able).
constexpr std::chrono::nanoseconds kMaxSleep = std::chrono::seconds(1);

int64_t Ns(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// "60 s", or "1500 ms" when it is not whole seconds.
std::string Span(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return base::StrCat(d.count() / 1000, " s");
  return base::StrCat(d.count(), " ms");
}

}  // namespace

void DefineStreamLimitFlags(Flags& flags) {
  flags.Define("stream-idle-timeout-s", "60",
               "close a stream (Subscribe, StreamMetrics) on which the client neither sends nor "
               "reads a message for this long (0: never)");
  flags.Define("stream-max-lifetime-s", "3600",
               "end a stream open this long (Subscribe ends OK and its client resumes from its "
               "last position; 0: never)");
}

absl::StatusOr<StreamLimits> StreamLimitsFromFlags(const Flags& flags) {
  long idle = 0;
  long lifetime = 0;
  for (auto s : {flags.GetInt("stream-idle-timeout-s", 0, 86400, idle),
                 flags.GetInt("stream-max-lifetime-s", 0, 7 * 86400, lifetime)}) {
    if (!s.ok()) return s;
  }
  StreamLimits limits;
  limits.idle = std::chrono::seconds(idle);
  limits.lifetime = std::chrono::seconds(lifetime);
  return limits;
}

StreamDeadlines::StreamDeadlines(std::string what, StreamLimits limits, std::string hint,
                                 Clock clock, bool watchdog)
    : what_(std::move(what)),
      limits_(limits),
      hint_(std::move(hint)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      idle_message_(base::StrCat(what_, ": idle for ", Span(limits_.idle),
                                 ", the limit (--stream-idle-timeout-s): the client neither sent "
                                 "nor read a message; the stream was closed; ",
                                 hint_)),
      lifetime_message_(base::StrCat(what_, ": open for ", Span(limits_.lifetime),
                                     ", the limit (--stream-max-lifetime-s); the stream was "
                                     "closed; ",
                                     hint_)) {
  if (watchdog) watchdog_ = std::thread([this] { Run(); });
}

StreamDeadlines::~StreamDeadlines() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

StreamDeadlines::Watch::Watch(StreamDeadlines* owner, Cancel cancel)
    : owner_(owner), cancel_(std::move(cancel)), started_(Now()), last_(started_) {}

StreamDeadlines::Watch::~Watch() {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  owner_->watches_.erase(this);
}

int64_t StreamDeadlines::Watch::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(owner_->clock_().time_since_epoch())
      .count();
}

void StreamDeadlines::Watch::Touch() { last_.store(Now(), std::memory_order_relaxed); }

bool StreamDeadlines::Watch::Overdue() const {
  return owner_->limits_.lifetime.count() > 0 && Now() - started_ >= Ns(owner_->limits_.lifetime);
}

absl::Status StreamDeadlines::Watch::Ended() const {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  return ended_;
}

absl::Status StreamDeadlines::Watch::LifetimeStatus() const {
  return absl::DeadlineExceededError(owner_->lifetime_message_);
}

std::unique_ptr<StreamDeadlines::Watch> StreamDeadlines::Start(grpc::ServerContext& context) {
  // Valid until the handler returns, which is after the Watch is gone.
  grpc_call* call = context.c_call();
  return Start([call](const absl::Status& status) {
    const std::string message(status.message());
    grpc_call_cancel_with_status(call, static_cast<grpc_status_code>(status.code()),
                                 message.c_str(), nullptr);
  });
}

std::unique_ptr<StreamDeadlines::Watch> StreamDeadlines::Start(Cancel cancel) {
  std::unique_ptr<Watch> watch(new Watch(this, std::move(cancel)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.insert(watch.get());
  }
  wake_.notify_all();
  return watch;
}

int StreamDeadlines::watched() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(watches_.size());
}

void StreamDeadlines::CheckNow() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_().time_since_epoch()).count();
  for (Watch* w : watches_) {
    if (!w->ended_.ok()) continue;  // cancelled already
    if (limits_.lifetime.count() > 0 &&
        now - w->started_ >= Ns(limits_.lifetime) + Ns(limits_.grace)) {
      w->ended_ = absl::DeadlineExceededError(lifetime_message_);
    } else if (limits_.idle.count() > 0 && w->busy_.load() == 0 &&
               now - w->last_.load(std::memory_order_relaxed) >= Ns(limits_.idle)) {
      w->ended_ = absl::DeadlineExceededError(idle_message_);
    } else {
      continue;
    }
    w->cancel_(w->ended_);
  }
}

int64_t StreamDeadlines::NextExpiry() const {
  int64_t next = kNever;
  for (const Watch* w : watches_) {
    if (!w->ended_.ok()) continue;
    if (limits_.lifetime.count() > 0) {
      next = std::min(next, w->started_ + Ns(limits_.lifetime) + Ns(limits_.grace));
    }
    if (limits_.idle.count() > 0 && w->busy_.load() == 0) {
      next = std::min(next, w->last_.load(std::memory_order_relaxed) + Ns(limits_.idle));
    }
  }
  return next;
}

void StreamDeadlines::Run() {
  while (true) {
    CheckNow();
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return;
    const int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_().time_since_epoch()).count();
    const int64_t next = NextExpiry();
    const auto sleep = next == kNever ? kMaxSleep
                                      : std::clamp(std::chrono::nanoseconds(next - now),
                                                   std::chrono::nanoseconds(0), kMaxSleep);
    // A new stream wakes it (its deadlines may be the earliest); a touch only moves one later.
    wake_.wait_for(lock, sleep);
    if (stopping_) return;
  }
}

}  // namespace kam::server
