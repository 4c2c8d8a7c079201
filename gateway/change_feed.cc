#include "gateway/change_feed.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "base/errors.h"
#include "base/strings.h"
#include "google/protobuf/util/json_util.h"
#include "server/status.h"

namespace kam::gateway {
namespace {

constexpr std::size_t kMaxPartitions = 1024;

template <typename T>
bool ParseInt(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

absl::StatusOr<std::map<int32_t, int64_t>> ParseCursor(std::string_view text) {
  std::map<int32_t, int64_t> out;
  if (text.empty()) return out;
  if (text.size() > kMaxPartitions * 32) return base::InvalidField("Last-Event-ID", "is too long");
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    std::vector<absl::string_view> po = absl::StrSplit(part, ':');
    int32_t p = 0;
    int64_t o = 0;
    if (po.size() != 2 || !ParseInt(std::string_view(po[0].data(), po[0].size()), p) ||
        !ParseInt(std::string_view(po[1].data(), po[1].size()), o) || p < 0 ||
        p >= static_cast<int32_t>(kMaxPartitions) || o < -1 || !out.emplace(p, o).second) {
      return base::InvalidField("Last-Event-ID",
                                "must be a cursor this gateway sent (partition:offset,...)");
    }
  }
  return out;
}

std::string FormatCursor(const std::map<int32_t, int64_t>& cursor) {
  std::string out;
  for (const auto& [p, o] : cursor) base::StrAppend(&out, out.empty() ? "" : ",", p, ":", o);
  return out;
}

FeedRelay::FeedRelay(std::shared_ptr<v1::HistoryQueryService::Stub> stub, std::string credential,
                     v1::SubscribeRequest request, std::map<int32_t, int64_t> cursor,
                     std::size_t max_queued)
    : stub_(std::move(stub)),
      credential_(std::move(credential)),
      request_(std::move(request)),
      max_queued_(max_queued),
      cursor_(std::move(cursor)) {}

FeedRelay::~FeedRelay() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void FeedRelay::Start() {
  context_.AddMetadata("authorization", "Bearer " + credential_);
  thread_ = std::thread([this] { Read(); });
}

void FeedRelay::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  context_.TryCancel();
  cv_.notify_all();
}

void FeedRelay::Read() {
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(&context_, request_);
  v1::SubscribeResponse response;
  while (reader->Read(&response)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= max_queued_) {
      overflow_ = true;  // a reader this slow reconnects with its cursor
      context_.TryCancel();
      break;
    }
    queue_.push_back(std::move(*response.mutable_entry()));
    cv_.notify_all();
  }
  grpc::Status status = reader->Finish();
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(status);
  done_ = true;
  cv_.notify_all();
}

bool FeedRelay::Next(std::string& out, std::chrono::milliseconds wait) {
  out.clear();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [&] { return !queue_.empty() || done_ || cancelled_; });
  if (cancelled_) return false;
  google::protobuf::util::JsonPrintOptions json;
  json.always_print_primitive_fields = true;
  while (!queue_.empty()) {
    v1::HistoryEntry entry = std::move(queue_.front());
    queue_.pop_front();
    cursor_[entry.position().partition()] = entry.position().offset();
    std::string data;
    (void)google::protobuf::util::MessageToJsonString(entry, &data, json);
    base::StrAppend(&out, "id: ", FormatCursor(cursor_), "\nevent: change\ndata: ", data, "\n\n");
  }
  if (!out.empty()) return true;
  if (done_) {
    const std::string why = overflow_ ? "the client fell too far behind; reconnect to resume"
                                      : base::StrCat(server::CodeName(status_.error_code()), ": ",
                                                     status_.error_message());
    base::StrAppend(&out, "event: end\ndata: ", nlohmann::json{{"reason", why}}.dump(), "\n\n");
    return false;
  }
  out = ": keep-alive\n\n";
  return true;
}

}  // namespace kam::gateway
