// GovernanceQueryService over the history read model.
//
//   kam::projections::GovernanceService svc(store, runtime, auth, topic);
//   server.Add(&svc);
#pragma once

#include <string>

#include "kam/v1/governance_service.grpc.pb.h"
#include "readmodel/projection_runtime.h"
#include "readmodel/store.h"
#include "server/auth.h"

namespace kam::projections {

class GovernanceService final : public v1::GovernanceQueryService::Service {
 public:
  // `runtime` folds the programme topic `topic`; `metrics_runtime` (may be null: no
  // economics) folds `metrics_topic` into the same store.
  GovernanceService(const readmodel::Store& store, const readmodel::ProjectionRuntime& runtime,
                    const server::Authenticator& auth, std::string topic,
                    const readmodel::ProjectionRuntime* metrics_runtime = nullptr,
                    std::string metrics_topic = "");

  grpc::Status GetProgramme(grpc::ServerContext* context, const v1::GetProgrammeRequest* request,
                            v1::GetProgrammeResponse* response) override;
  grpc::Status GetScorecard(grpc::ServerContext* context, const v1::GetScorecardRequest* request,
                            v1::GetScorecardResponse* response) override;
  grpc::Status VerifyHistory(grpc::ServerContext* context, const v1::VerifyHistoryRequest* request,
                             v1::VerifyHistoryResponse* response) override;
  grpc::Status GetRegister(grpc::ServerContext* context, const v1::GetRegisterRequest* request,
                           v1::GetRegisterResponse* response) override;
  grpc::Status GetEconomics(grpc::ServerContext* context, const v1::GetEconomicsRequest* request,
                            v1::GetEconomicsResponse* response) override;

 private:
  // Authenticates (any role may read) and waits for the requested consistency.
  absl::Status Prepare(grpc::ServerContext* context, const v1::Consistency& consistency) const;

  const readmodel::Store& store_;
  const readmodel::ProjectionRuntime& runtime_;
  const server::Authenticator& auth_;
  std::string topic_;
  const readmodel::ProjectionRuntime* metrics_runtime_;
  std::string metrics_topic_;
};

}  // namespace kam::projections
