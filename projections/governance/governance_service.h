// GovernanceQueryService over the history read model. Views are answered from a
// GovernanceCache (cache.h): each query folds only what was stored since the last one. Every
// view is of one programme and needs the caller to read it (ReadScope, read_scope.h);
// ListProgrammes lists only those the caller reads.
//
//   kam::projections::GovernanceService svc(index, runtime, metrics_runtime, scope, cache);
//   server.Add(&svc);
//
// `runtime` folds index.programme_topic() and `metrics_runtime` index.metrics_topic() into
// the store behind `index`; queries wait on them for read-your-writes.
#pragma once

#include <string>

#include "kam/v1/governance_service.grpc.pb.h"
#include "projections/governance/cache.h"
#include "projections/history/history_index.h"
#include "projections/history/read_scope.h"
#include "readmodel/projection_runtime.h"

namespace kam::projections {

class GovernanceService final : public v1::GovernanceQueryService::Service {
 public:
  GovernanceService(const HistoryIndex& index, const readmodel::ProjectionRuntime& runtime,
                    const readmodel::ProjectionRuntime& metrics_runtime, const ReadScope& scope,
                    GovernanceCache& cache, bool withholds_personal_data = false);

  grpc::Status ListProgrammes(grpc::ServerContext* context,
                              const v1::ListProgrammesRequest* request,
                              v1::ListProgrammesResponse* response) override;
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
  grpc::Status GetPortfolioEconomics(grpc::ServerContext* context,
                                     const v1::GetPortfolioEconomicsRequest* request,
                                     v1::GetPortfolioEconomicsResponse* response) override;

 private:
  // Authorizes the caller (ReadScope::Authorize) and waits for the requested consistency.
  absl::StatusOr<Reader> Prepare(grpc::ServerContext* context,
                                 const v1::Consistency& consistency) const;
  // Prepare, then the programme: its id is valid and the caller reads it.
  // `withhold` (optional) is set when the answer's personal fields are to be withheld from
  // the caller (a key store is configured and ReadScope::SeesPersonalData says no).
  absl::Status PrepareFor(grpc::ServerContext* context, const v1::Consistency& consistency,
                          std::string_view field, const std::string& programme_id,
                          bool* withhold = nullptr) const;

  const HistoryIndex& index_;
  const readmodel::ProjectionRuntime& runtime_;
  // The programme's discount rate (the default for a programme unknown here).
  double DiscountRate(const std::string& programme_id);

  const readmodel::ProjectionRuntime& metrics_runtime_;
  const ReadScope& scope_;
  GovernanceCache& cache_;
  const bool withholds_personal_data_;  // shared with the read side's Membership
};

}  // namespace kam::projections
