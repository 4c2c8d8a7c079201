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
  GovernanceService(const readmodel::Store& store, const readmodel::ProjectionRuntime& runtime,
                    const server::Authenticator& auth, std::string topic);

  grpc::Status GetProgramme(grpc::ServerContext* context, const v1::GetProgrammeRequest* request,
                            v1::GetProgrammeResponse* response) override;
  grpc::Status GetScorecard(grpc::ServerContext* context, const v1::GetScorecardRequest* request,
                            v1::GetScorecardResponse* response) override;
  grpc::Status VerifyHistory(grpc::ServerContext* context, const v1::VerifyHistoryRequest* request,
                             v1::VerifyHistoryResponse* response) override;

 private:
  // Authenticates (any role may read) and waits for the requested consistency.
  absl::Status Prepare(grpc::ServerContext* context, const v1::Consistency& consistency) const;

  const readmodel::Store& store_;
  const readmodel::ProjectionRuntime& runtime_;
  const server::Authenticator& auth_;
  std::string topic_;
};

}  // namespace kam::projections
