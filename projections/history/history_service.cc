#include "projections/history/history_service.h"

#include <rocksdb/db.h>

#include <charconv>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/events.h"
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

grpc::Status HistoryService::Subscribe(grpc::ServerContext* context,
                                       const v1::SubscribeRequest* request,
                                       grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  auto who = auth_.Authenticate(*context);
  if (!who.ok()) return server::ToGrpc(who.status());
  if (auto s = server::Authenticator::Require(*who, kReadRoles, "subscribe"); !s.ok()) {
    return server::ToGrpc(s);
  }
  if (!request->aggregate_id().empty() && request->aggregate_id().size() > 2 * base::kMaxIdLength) {
    return server::ToGrpc(base::InvalidField("aggregate_id", "is too long"));
  }
  if (!request->account_id().empty()) {
    if (auto s = base::ValidateId("account_id", request->account_id()); !s.ok()) {
      return server::ToGrpc(s);
    }
  }
  const std::set<std::string> types(request->event_types().begin(), request->event_types().end());
  std::map<int32_t, int64_t> next;  // per partition: the next offset to deliver
  for (const auto& p : request->after()) {
    if (p.topic() != topic_ || p.partition() < 0 || p.offset() < 0) {
      return server::ToGrpc(
          base::InvalidField("after", base::StrCat("position ", p.topic(), "/", p.partition(), "@",
                                                   p.offset(), " is not a position of ", topic_)));
    }
    next[p.partition()] = p.offset() + 1;
  }
  uint64_t seen = 0;
  while (!context->IsCancelled()) {
    seen = runtime_.progress().records_applied;
    std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(std::string(kLogPrefix)); it->Valid() && it->key().starts_with(kLogPrefix);) {
      std::string_view rest(it->key().data() + kLogPrefix.size(),
                            it->key().size() - kLogPrefix.size());
      const auto partition = static_cast<int32_t>(readmodel::DecodeU64(rest.substr(0, 8)));
      const auto offset = static_cast<int64_t>(readmodel::DecodeU64(rest.substr(8, 8)));
      const int64_t from = next.count(partition) ? next[partition] : 0;
      if (offset < from) {  // skip to this partition's cursor
        it->Seek(LogKey(partition, from));
        continue;
      }
      std::string value;
      if (store_.db()->Get(rocksdb::ReadOptions(), it->value(), &value).ok()) {
        auto entry = DecodeEntry(topic_, value);
        if (entry.ok()) {
          const auto& env = entry->envelope();
          const bool match =
              (request->aggregate_id().empty() || env.aggregate_id() == request->aggregate_id()) &&
              (request->account_id().empty() ||
               domain::AccountOf(env.event()) == request->account_id()) &&
              (types.empty() || types.contains(std::string(domain::EventName(env.event()))));
          if (match) {
            v1::SubscribeResponse out;
            *out.mutable_entry() = *std::move(entry);
            if (!writer->Write(out)) return grpc::Status::OK;  // the subscriber went away
          }
        }
      }
      next[partition] = offset + 1;
      it->Next();
    }
    runtime_.WaitForMore(seen, std::chrono::milliseconds(500));
  }
  return grpc::Status::OK;
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
