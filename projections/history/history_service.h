// HistoryQueryService over the history read model, scoped by a ReadScope (read_scope.h):
// histories of the programmes the caller reads; a change stream of their events only.
//
//   kam::projections::HistoryService svc(index, runtime, {&runtime}, scope);  // runtime folds
//   server.Add(&svc);                                     // index.programme_topic()
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kam/v1/history_service.grpc.pb.h"
#include "personal/seal.h"
#include "projections/history/history_index.h"
#include "projections/history/read_scope.h"
#include "readmodel/projection_runtime.h"
#include "server/stream_deadlines.h"
#include "server/stream_slots.h"

namespace kam::projections {

class HistoryService final : public v1::HistoryQueryService::Service {
 public:
  // `runtime` folds the programme topic; GetProjectionStatus reports every one of `all` (to
  // every caller allowed to read at all: it holds positions and lags, no programme's data).
  // At most `max_subscriptions` Subscribe streams are open at once (server::StreamSlots); a
  // subscriber that reads nothing for `limits.idle` is closed, and a stream open for
  // `limits.lifetime` ends OK so that its client resumes from its last position
  // (server::StreamDeadlines).
  HistoryService(const HistoryIndex& index, const readmodel::ProjectionRuntime& runtime,
                 std::vector<const readmodel::ProjectionRuntime*> all, const ReadScope& scope,
                 int max_subscriptions = 32, server::StreamLimits limits = {},
                 personal::KeyStore* keys = nullptr);

  grpc::Status GetAccountHistory(grpc::ServerContext* context,
                                 const v1::GetAccountHistoryRequest* request,
                                 v1::GetAccountHistoryResponse* response) override;
  grpc::Status GetHistory(grpc::ServerContext* context, const v1::GetHistoryRequest* request,
                          v1::GetHistoryResponse* response) override;
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override;
  grpc::Status GetProjectionStatus(grpc::ServerContext* context,
                                   const v1::GetProjectionStatusRequest* request,
                                   v1::GetProjectionStatusResponse* response) override;
  grpc::Status LookupPersonalDataKeys(grpc::ServerContext* context,
                                      const v1::LookupPersonalDataKeysRequest* request,
                                      v1::LookupPersonalDataKeysResponse* response) override;

 private:
  const HistoryIndex& index_;
  const readmodel::ProjectionRuntime& runtime_;
  const std::vector<const readmodel::ProjectionRuntime*> all_;
  const ReadScope& scope_;
  server::StreamSlots subscriptions_;
  server::StreamDeadlines deadlines_;
  personal::KeyStore* keys_;                      // null: personal fields stay sealed
  std::unique_ptr<personal::Revealer> revealer_;  // over keys_
};

}  // namespace kam::projections
