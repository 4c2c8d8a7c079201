// The live change feed of the board gateway: HistoryQueryService.Subscribe relayed to a
// browser as Server-Sent Events, resumable with Last-Event-ID.
//
// Each SSE event is "id: <cursor>\nevent: change\ndata: <HistoryEntry as JSON>\n\n". The
// cursor lists, per partition of the programme topic, the offset of the last event
// delivered or skipped ("0:17,1:4,2:9"); a browser that reconnects sends it back as
// Last-Event-ID and gets every later event exactly once. Without one, the feed starts at
// the read model's current end. A ": keep-alive" comment goes out every few seconds, so a
// proxy keeps the connection and a dead client is noticed.
//
//   auto relay = std::make_shared<kam::gateway::FeedRelay>(stub, credential, request, cursor);
//   relay->Start();
//   while (relay->Next(chunk, 15s)) sink.write(chunk);     // in the HTTP content provider
//
// Thread-safe; Cancel() ends a relay from any thread (e.g. at shutdown).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "kam/v1/history_service.grpc.pb.h"

namespace kam::gateway {

// "p:o,p:o" <-> {p: o}: at most 1024 partitions, offsets >= -1. INVALID_ARGUMENT naming
// Last-Event-ID when malformed.
absl::StatusOr<std::map<int32_t, int64_t>> ParseCursor(std::string_view text);
std::string FormatCursor(const std::map<int32_t, int64_t>& cursor);

class FeedRelay {
 public:
  // `cursor`: the last offset already seen per partition (the subscription starts after).
  FeedRelay(std::shared_ptr<v1::HistoryQueryService::Stub> stub, std::string credential,
            v1::SubscribeRequest request, std::map<int32_t, int64_t> cursor,
            std::size_t max_queued = 10000);
  ~FeedRelay();
  FeedRelay(const FeedRelay&) = delete;
  FeedRelay& operator=(const FeedRelay&) = delete;

  // Starts reading the subscription in a background thread.
  void Start();
  // Waits up to `wait` for events and renders them (or a keep-alive comment) into `out`.
  // False once the subscription has ended (or was cancelled): `out` then holds a final
  // "event: end" naming why, if there is something to say.
  bool Next(std::string& out, std::chrono::milliseconds wait);
  void Cancel();

 private:
  void Read();

  std::shared_ptr<v1::HistoryQueryService::Stub> stub_;
  std::string credential_;
  v1::SubscribeRequest request_;
  const std::size_t max_queued_;
  grpc::ClientContext context_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::HistoryEntry> queue_;
  std::map<int32_t, int64_t> cursor_;
  bool done_ = false;
  bool overflow_ = false;
  bool cancelled_ = false;
  grpc::Status status_;
};

}  // namespace kam::gateway
