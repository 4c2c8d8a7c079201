// HistoryQueryService over the history read model.
//
//   kam::projections::HistoryService svc(store, runtime, auth, topic);
//   server.Add(&svc);
#pragma once

#include <functional>
#include <string>

#include "kam/v1/history_service.grpc.pb.h"
#include "readmodel/projection_runtime.h"
#include "readmodel/store.h"
#include "server/auth.h"

namespace kam::projections {

class HistoryService final : public v1::HistoryQueryService::Service {
 public:
  HistoryService(const readmodel::Store& store, const readmodel::ProjectionRuntime& runtime,
                 const server::Authenticator& auth, std::string topic);

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

 private:
  // One page of the programme's events listed under `index` (an AccountKeyPrefix or
  // PersonKeyPrefix; empty: all of the programme's events), after `after_version`,
  // keeping those `keep` accepts.
  absl::Status Page(const std::string& programme_id, const std::string& index,
                    uint64_t after_version, uint32_t page_size,
                    const std::function<bool(const v1::EventEnvelope&)>& keep,
                    google::protobuf::RepeatedPtrField<v1::HistoryEntry>* entries,
                    std::string* next_page_token) const;

  const readmodel::Store& store_;
  const readmodel::ProjectionRuntime& runtime_;
  const server::Authenticator& auth_;
  std::string topic_;
};

}  // namespace kam::projections
