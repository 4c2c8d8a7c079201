// The programme command service: gRPC handlers that authenticate, authorise, call the
// pure domain through the programme aggregate's single writer, and map the outcome.
//
//   auto svc = kam::services::ProgrammeService::Create(config, auth);   // rebuilds from the log
//   server.Add(svc->grpc_service());
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "domain/programme.h"
#include "eventlog/kafka.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "server/auth.h"
#include "writer/aggregate_writer.h"
#include "writer/log_session.h"

namespace kam::services {

struct ProgrammeServiceConfig {
  eventlog::KafkaOptions kafka;
  std::string topic_prefix;
  int partitions = 3;
  // Owns every partition of the programme topic for now; a second instance with the
  // same id fences this one.
  std::string transactional_id = "kam.programme-writer";
  std::chrono::milliseconds append_timeout{10000};
};

class ProgrammeService final : public v1::ProgrammeCommandService::Service {
 public:
  // Takes over the writer's transactional.id and rebuilds the aggregates from the log.
  static absl::StatusOr<std::unique_ptr<ProgrammeService>> Create(
      const ProgrammeServiceConfig& config, const server::Authenticator& auth);

  grpc::Status CharterProgramme(grpc::ServerContext* context,
                                const v1::CharterProgrammeRequest* request,
                                v1::CharterProgrammeResponse* response) override;
  grpc::Status NominateAccount(grpc::ServerContext* context,
                               const v1::NominateAccountRequest* request,
                               v1::NominateAccountResponse* response) override;

  const std::string& topic() const { return topic_; }

 private:
  ProgrammeService(const ProgrammeServiceConfig& config, const server::Authenticator& auth);

  // Authenticates, authorises (one of `roles`) and executes `request` on its programme.
  template <typename Request>
  grpc::Status Run(grpc::ServerContext* context, const std::set<std::string>& roles,
                   const char* what, const Request& request, v1::CommandResult* out);

  const server::Authenticator& auth_;
  std::string topic_;
  writer::LogSession log_;
  writer::AggregateWriter<domain::ProgrammeState> writer_;
};

}  // namespace kam::services
