#include "projections/history/history_service.h"

#include <rocksdb/db.h>

#include <charconv>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "projections/history/history_fold.h"
#include "server/status.h"

namespace kam::projections {
namespace {

const std::set<std::string> kReadRoles = {"admin", "board",     "champion",
                                          "kam",   "publisher", "sponsor"};
constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;
constexpr uint32_t kDefaultWaitMs = 5000;
constexpr uint32_t kMaxWaitMs = 30000;

absl::Status AwaitConsistency(const readmodel::ProjectionRuntime& runtime,
                              const v1::Consistency& c) {
  if (c.at_least().empty()) return absl::OkStatus();
  if (c.wait_timeout_ms() > kMaxWaitMs) {
    return base::InvalidField("consistency.wait_timeout_ms",
                              base::StrCat("must be at most ", kMaxWaitMs));
  }
  const uint32_t wait = c.wait_timeout_ms() == 0 ? kDefaultWaitMs : c.wait_timeout_ms();
  const std::vector<v1::LogPosition> positions(c.at_least().begin(), c.at_least().end());
  return runtime.WaitFor(positions, std::chrono::milliseconds(wait));
}

}  // namespace

HistoryService::HistoryService(const readmodel::Store& store,
                               const readmodel::ProjectionRuntime& runtime,
                               const server::Authenticator& auth, std::string topic)
    : store_(store), runtime_(runtime), auth_(auth), topic_(std::move(topic)) {}

grpc::Status HistoryService::GetAccountHistory(grpc::ServerContext* context,
                                               const v1::GetAccountHistoryRequest* request,
                                               v1::GetAccountHistoryResponse* response) {
  auto status = [&]() -> absl::Status {
    auto who = auth_.Authenticate(*context);
    if (!who.ok()) return who.status();
    KAM_RETURN_IF_ERROR(server::Authenticator::Require(*who, kReadRoles, "read history"));
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(base::ValidateId("account_id", request->account_id()));
    if (request->page_size() > kMaxPageSize) {
      return base::InvalidField("page_size", base::StrCat("must be at most ", kMaxPageSize));
    }
    const uint32_t page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
    uint64_t after = 0;
    if (const std::string& t = request->page_token(); !t.empty()) {
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), after);
      if (ec != std::errc() || end != t.data() + t.size()) {
        return base::InvalidField("page_token", "is not a token this service returned");
      }
    }
    KAM_RETURN_IF_ERROR(AwaitConsistency(runtime_, request->consistency()));

    const std::string prefix = AccountKeyPrefix(request->programme_id(), request->account_id());
    std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
    uint64_t last = 0;
    for (it->Seek(base::StrCat(prefix, readmodel::EncodeU64(after + 1)));
         it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (response->entries_size() == static_cast<int>(page_size)) {
        response->set_next_page_token(std::to_string(last));
        break;
      }
      last = readmodel::DecodeU64(
          std::string_view(it->key().data() + prefix.size(), it->key().size() - prefix.size()));
      std::string value;
      rocksdb::Status s = store_.db()->Get(
          rocksdb::ReadOptions(), EventKey("programme", request->programme_id(), last), &value);
      if (!s.ok())
        return absl::InternalError(base::StrCat("history index is dangling: ", s.ToString()));
      auto entry = DecodeEntry(topic_, value);
      if (!entry.ok()) return entry.status();
      *response->add_entries() = *std::move(entry);
    }
    if (response->entries_size() == 0 && after == 0) {
      return absl::NotFoundError(base::StrCat("account '", request->account_id(),
                                              "' has no history in programme '",
                                              request->programme_id(), "'"));
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status HistoryService::GetProjectionStatus(grpc::ServerContext* context,
                                                 const v1::GetProjectionStatusRequest* /*request*/,
                                                 v1::GetProjectionStatusResponse* response) {
  auto who = auth_.Authenticate(*context);
  if (!who.ok()) return server::ToGrpc(who.status());
  if (auto s = server::Authenticator::Require(*who, kReadRoles, "read the projection status");
      !s.ok()) {
    return server::ToGrpc(s);
  }
  const auto progress = runtime_.progress();
  response->set_topic(topic_);
  for (const auto& [p, next] : progress.next_offsets) {
    auto* out = response->add_partitions();
    out->set_partition(p);
    out->set_next_offset(next);
    auto end = progress.end_offsets.find(p);
    out->set_end_offset(end == progress.end_offsets.end() ? -1 : end->second);
  }
  response->set_lag(progress.lag);
  response->set_caught_up(progress.caught_up);
  response->set_records_applied_since_start(progress.records_applied);
  response->set_records_folded_total(FoldedCount(store_));
  response->set_error(std::string(progress.error.message()));
  return grpc::Status::OK;
}

}  // namespace kam::projections
