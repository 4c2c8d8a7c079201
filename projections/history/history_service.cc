#include "projections/history/history_service.h"

#include <charconv>

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/events.h"
#include "server/roles.h"
#include "server/status.h"

namespace kam::projections {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;

}  // namespace

HistoryService::HistoryService(const HistoryIndex& index,
                               const readmodel::ProjectionRuntime& runtime,
                               std::vector<const readmodel::ProjectionRuntime*> all,
                               const ReadScope& scope, int max_subscriptions,
                               server::StreamLimits limits, personal::KeyStore* keys)
    : index_(index),
      runtime_(runtime),
      all_(std::move(all)),
      scope_(scope),
      subscriptions_("Subscribe", max_subscriptions),
      deadlines_("Subscribe", limits,
                 "resume with SubscribeRequest.after set to the last position received"),
      keys_(keys),
      revealer_(keys != nullptr ? std::make_unique<personal::Revealer>(*keys) : nullptr) {}

grpc::Status HistoryService::GetAccountHistory(grpc::ServerContext* context,
                                               const v1::GetAccountHistoryRequest* request,
                                               v1::GetAccountHistoryResponse* response) {
  // The account case of GetHistory, which answers NOT_FOUND for an account without events.
  if (request->account_id().empty()) {
    return server::ToGrpc(base::InvalidField("account_id", "is required"));
  }
  v1::GetHistoryRequest query;
  query.set_programme_id(request->programme_id());
  query.set_account_id(request->account_id());
  query.set_page_size(request->page_size());
  query.set_page_token(request->page_token());
  *query.mutable_consistency() = request->consistency();
  v1::GetHistoryResponse page;
  if (grpc::Status s = GetHistory(context, &query, &page); !s.ok()) return s;
  if (page.entries().empty() && request->page_token().empty()) {
    return server::ToGrpc(absl::NotFoundError(base::StrCat("account '", request->account_id(),
                                                           "' has no history in programme '",
                                                           request->programme_id(), "'")));
  }
  response->mutable_entries()->Swap(page.mutable_entries());
  response->set_next_page_token(page.next_page_token());
  return grpc::Status::OK;
}

grpc::Status HistoryService::GetHistory(grpc::ServerContext* context,
                                        const v1::GetHistoryRequest* request,
                                        v1::GetHistoryResponse* response) {
  auto status = [&]() -> absl::Status {
    auto reader = scope_.Authorize(*context, "read history");
    if (!reader.ok()) return reader.status();
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    if (!request->account_id().empty() && !request->person_id().empty()) {
      return base::InvalidField("person_id", "give account_id or person_id, not both");
    }
    HistoryIndex::PageQuery query;
    query.programme_id = request->programme_id();
    if (!request->account_id().empty()) {
      KAM_RETURN_IF_ERROR(base::ValidateId("account_id", request->account_id()));
      query.scope = HistoryIndex::Scope::kAccount;
      query.subject_id = request->account_id();
    } else if (!request->person_id().empty()) {
      KAM_RETURN_IF_ERROR(base::ValidateId("person_id", request->person_id()));
      query.scope = HistoryIndex::Scope::kPerson;
      query.subject_id = request->person_id();
    }
    if (request->page_size() > kMaxPageSize) {
      return base::InvalidField("page_size", base::StrCat("must be at most ", kMaxPageSize));
    }
    if (request->event_types_size() > 100) return base::InvalidField("event_types", "at most 100");
    query.size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
    if (const std::string& t = request->page_token(); !t.empty()) {
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), query.after_version);
      // A token is a version this service returned: never near 2^64, where "the version
      // after it" would wrap round to page 1.
      if (ec != std::errc() || end != t.data() + t.size() ||
          query.after_version >= (uint64_t{1} << 62)) {
        return base::InvalidField("page_token", "is not a token this service returned");
      }
    }
    const bool has_from = request->has_recorded_from();
    const bool has_to = request->has_recorded_to();
    const auto from = domain::TimeOf(request->recorded_from());
    const auto to = domain::TimeOf(request->recorded_to());
    if (has_from && has_to && to < from) {
      return base::InvalidField("recorded_to", "must not be before recorded_from");
    }
    const std::set<std::string> types(request->event_types().begin(), request->event_types().end());
    KAM_RETURN_IF_ERROR(readmodel::AwaitConsistency(request->consistency(), {&runtime_}));
    // After the wait: a caller who waits for the event that registers them reads.
    KAM_RETURN_IF_ERROR(scope_.MayRead(*reader, request->programme_id()));
    query.keep = [&](const v1::EventEnvelope& env) {
      const auto at = domain::TimeOf(env.recorded_at());
      return (!has_from || at >= from) && (!has_to || at <= to) &&
             (types.empty() || types.contains(std::string(domain::EventName(env.event()))));
    };
    KAM_RETURN_IF_ERROR(
        index_.Page(query, response->mutable_entries(), response->mutable_next_page_token()));
    if (revealer_ != nullptr && scope_.SeesPersonalData(*reader, request->programme_id())) {
      for (v1::HistoryEntry& entry : *response->mutable_entries()) {
        revealer_->Reveal(*entry.mutable_envelope());
      }
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status HistoryService::Subscribe(grpc::ServerContext* context,
                                       const v1::SubscribeRequest* request,
                                       grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  auto reader = scope_.Authorize(*context, "subscribe");
  if (!reader.ok()) return server::ToGrpc(reader.status());
  if (!request->aggregate_id().empty()) {
    // The stream is of the programme topic: an aggregate is a programme.
    if (auto s = base::ValidateId("aggregate_id", request->aggregate_id()); !s.ok()) {
      return server::ToGrpc(s);
    }
    absl::Status may = scope_.MayRead(*reader, request->aggregate_id());
    if (absl::IsPermissionDenied(may)) {
      // A reader registered a moment ago may not be folded yet: once the read model has read
      // the log to its end (at most a second), the answer stands.
      const uint64_t seen = runtime_.progress().records_applied;
      runtime_.WaitForMore(seen, std::chrono::milliseconds(200));
      if (runtime_.WaitCaughtUp(std::chrono::seconds(1)).ok()) {
        may = scope_.MayRead(*reader, request->aggregate_id());
      }
    }
    if (!may.ok()) return server::ToGrpc(may);
  }
  if (!request->account_id().empty()) {
    if (auto s = base::ValidateId("account_id", request->account_id()); !s.ok()) {
      return server::ToGrpc(s);
    }
  }
  if (request->after_size() > readmodel::kMaxConsistencyPositions) {
    return server::ToGrpc(
        base::InvalidField("after", base::StrCat("at most ", readmodel::kMaxConsistencyPositions,
                                                 " positions (one per partition)")));
  }
  if (request->event_types_size() > 64) {
    return server::ToGrpc(base::InvalidField("event_types", "at most 64 types"));
  }
  const std::set<std::string> types(request->event_types().begin(), request->event_types().end());
  std::map<int32_t, int64_t> next;  // per partition: the next offset to deliver
  for (const auto& p : request->after()) {
    if (p.topic() != index_.programme_topic() || p.partition() < 0 || p.offset() < 0) {
      return server::ToGrpc(base::InvalidField(
          "after", base::StrCat("position ", p.topic(), "/", p.partition(), "@", p.offset(),
                                " is not a position of ", index_.programme_topic())));
    }
    next[p.partition()] = p.offset() + 1;
  }
  auto slot = subscriptions_.TryAcquire();  // held until the stream ends
  if (!slot.ok()) return server::ToGrpc(slot.status());
  // The idle clock runs only while a Write waits for the subscriber to read (the loop and the
  // scan touch it): a quiet log is not idleness, a subscriber that reads nothing is. Past its
  // lifetime the stream ends OK between two entries, and the client resumes after the last
  // position it received.
  auto watch = deadlines_.Start(*context);  // destroyed before the handler returns
  // Without a programme filter, the events of the caller's programmes only.
  ReadScope::StreamFilter readable = scope_.Filter(std::move(*reader));
  uint64_t seen = 0;
  while (!context->IsCancelled() && !watch->Overdue()) {
    watch->Touch();
    seen = runtime_.progress().records_applied;
    const bool open = index_.ScanLog(next, [&](v1::HistoryEntry entry) {
      watch->Touch();
      if (watch->Overdue()) return false;  // between two entries: a clean end
      const auto& env = entry.envelope();
      const bool match =
          (request->aggregate_id().empty() || env.aggregate_id() == request->aggregate_id()) &&
          (request->account_id().empty() ||
           domain::AccountOf(env.event()) == request->account_id()) &&
          (types.empty() || types.contains(std::string(domain::EventName(env.event())))) &&
          readable.Passes(env);
      if (!match) return true;
      if (revealer_ != nullptr && readable.Reveals(env))
        revealer_->Reveal(*entry.mutable_envelope());
      v1::SubscribeResponse out;
      *out.mutable_entry() = std::move(entry);
      return writer->Write(out);
    });
    if (!open) break;  // the subscriber went away, the watchdog closed it, or it is overdue
    runtime_.WaitForMore(seen, std::chrono::milliseconds(500));
  }
  if (absl::Status ended = watch->Ended(); !ended.ok()) return server::ToGrpc(ended);
  return grpc::Status::OK;  // ended by the client, or past the lifetime: the client resumes
}

grpc::Status HistoryService::GetProjectionStatus(grpc::ServerContext* context,
                                                 const v1::GetProjectionStatusRequest* /*request*/,
                                                 v1::GetProjectionStatusResponse* response) {
  // Positions, lags and digests, no programme's data: every caller that reads at all.
  if (auto reader = scope_.Authorize(*context, "read the projection status"); !reader.ok()) {
    return server::ToGrpc(reader.status());
  }
  response->set_topic(index_.programme_topic());
  response->set_caught_up(true);
  absl::Status error;
  for (const readmodel::ProjectionRuntime* runtime : all_) {
    const auto progress = runtime->progress();
    for (const auto& [p, next] : progress.next_offsets) {
      auto* out = response->add_partitions();
      out->set_topic(runtime->topic());
      out->set_partition(p);
      out->set_next_offset(next);
      auto end = progress.end_offsets.find(p);
      out->set_end_offset(end == progress.end_offsets.end() ? -1 : end->second);
      if (auto lag = progress.partition_lag.find(p); lag != progress.partition_lag.end()) {
        out->set_lag(lag->second);
      }
      if (auto d = progress.digests.find(p); d != progress.digests.end()) {
        out->set_fold_digest(absl::BytesToHexString(d->second));
      }
    }
    response->set_lag(response->lag() + progress.lag);
    response->set_caught_up(response->caught_up() && progress.caught_up);
    response->set_records_applied_since_start(response->records_applied_since_start() +
                                              progress.records_applied);
    if (error.ok()) error = progress.error;
    if (error.ok()) error = progress.stalled;  // folding paused: the store refuses writes
  }
  response->set_records_folded_total(index_.FoldedCount());
  response->set_error(std::string(error.message()));
  return grpc::Status::OK;
}

grpc::Status HistoryService::LookupPersonalDataKeys(
    grpc::ServerContext* context, const v1::LookupPersonalDataKeysRequest* request,
    v1::LookupPersonalDataKeysResponse* response) {
  auto status = [&]() -> absl::Status {
    auto reader = scope_.Authorize(*context, "look up personal-data keys");
    if (!reader.ok()) return reader.status();
    if (!reader->who.Has(server::roles::kPersonalData)) {
      return base::RuleViolated(
          absl::StatusCode::kPermissionDenied, kPersonalDataKeyLookup,
          base::StrCat(reader->who.name,
                       " may not look up personal-data keys: only a token with "
                       "the '",
                       server::roles::kPersonalData, "' role does"));
    }
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    if (request->person_ids().empty() || request->person_ids_size() > 1000) {
      return base::InvalidField("person_ids", "give 1..1000 person ids");
    }
    if (keys_ == nullptr) {
      return absl::FailedPreconditionError(
          "this read side has no key store (--key-dir): it opens no personal data");
    }
    // The programme folded up to what is stored first: an erasure stored but not yet met
    // destroys its key here, so a key is never handed out after its erasure was folded.
    (void)scope_.SeesPersonalData(*reader, request->programme_id());
    for (int i = 0; i < request->person_ids_size(); ++i) {
      const std::string& person = request->person_ids(i);
      KAM_RETURN_IF_ERROR(base::ValidateId(base::StrCat("person_ids[", i, "]"), person));
      auto found = keys_->Lookup(personal::KeyId(request->programme_id(), person));
      if (!found.ok()) return found.status();
      auto* out = response->add_keys();
      out->set_person_id(person);
      switch (found->state) {
        case personal::KeyLookup::State::kKey:
          out->set_key(found->key);
          break;
        case personal::KeyLookup::State::kErased:
          out->set_erased(true);
          out->set_placeholder(domain::ErasedPersonName(found->number));
          break;
        case personal::KeyLookup::State::kUnknown:
          out->set_unknown(true);
          break;
      }
    }
    base::Log(base::StrCat("personal-data keys of ", request->person_ids_size(),
                           " person(s) of programme '", request->programme_id(), "' looked up by ",
                           reader->who.name));
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

}  // namespace kam::projections
