// A bound on the long-lived streams a server keeps open at once (Subscribe, StreamMetrics):
// each holds one of the synchronous server's threads for as long as the client wants, so
// without a bound a few clients could take every thread and starve the unary calls.
//
//   kam::server::StreamSlots subscriptions("Subscribe", 32);
//   auto slot = subscriptions.TryAcquire();
//   if (!slot.ok()) return kam::server::ToGrpc(slot.status());   // RESOURCE_EXHAUSTED
//   ... serve the stream; the slot is given back when `slot` goes out of scope
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kam::server {

class StreamSlots {
 public:
  StreamSlots(std::string what, int max) : what_(std::move(what)), max_(max) {}

  class Slot {
   public:
    explicit Slot(std::atomic<int>* open) : open_(open) {}
    Slot(Slot&& other) noexcept : open_(other.open_) { other.open_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (open_ != nullptr) open_->fetch_sub(1);
    }

   private:
    std::atomic<int>* open_;
  };

  // A slot, or RESOURCE_EXHAUSTED naming the stream and the bound when all are taken.
  absl::StatusOr<Slot> TryAcquire();
  int open() const { return open_.load(); }
  int max() const { return max_; }

 private:
  const std::string what_;
  const int max_;
  std::atomic<int> open_{0};
};

}  // namespace kam::server
