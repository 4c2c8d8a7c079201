#include "services/programme/programme_service.h"

#include "server/status.h"

namespace kam::services {
namespace {

const std::set<std::string> kCharterRoles = {"admin", "champion"};
const std::set<std::string> kNominateRoles = {"admin", "champion", "kam", "sponsor"};

}  // namespace

ProgrammeService::ProgrammeService(const ProgrammeServiceConfig& config,
                                   const server::Authenticator& auth)
    : auth_(auth),
      topic_(eventlog::AggregateTopic(config.topic_prefix, domain::kProgrammeAggregateType)),
      log_(config.kafka, config.transactional_id, config.append_timeout),
      writer_(log_,
              writer::WriterOptions{topic_, std::string(domain::kProgrammeAggregateType),
                                    config.partitions},
              &domain::Evolve) {}

absl::StatusOr<std::unique_ptr<ProgrammeService>> ProgrammeService::Create(
    const ProgrammeServiceConfig& config, const server::Authenticator& auth) {
  std::unique_ptr<ProgrammeService> self(new ProgrammeService(config, auth));
  if (auto s = self->writer_.Start(); !s.ok()) return s;
  return self;
}

template <typename Request>
grpc::Status ProgrammeService::Run(grpc::ServerContext* context, const std::set<std::string>& roles,
                                   const char* what, const Request& request,
                                   v1::CommandResult* out) {
  auto who = auth_.Authenticate(*context);
  if (!who.ok()) return server::ToGrpc(who.status());
  if (auto s = server::Authenticator::Require(*who, roles, what); !s.ok()) return server::ToGrpc(s);
  const domain::CommandContext ctx{who->name};
  auto result = writer_.Execute(
      request.programme_id(), request.metadata(), who->name,
      [&](const domain::ProgrammeState& state) { return domain::Decide(state, request, ctx); });
  if (!result.ok()) return server::ToGrpc(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ProgrammeService::CharterProgramme(grpc::ServerContext* context,
                                                const v1::CharterProgrammeRequest* request,
                                                v1::CharterProgrammeResponse* response) {
  return Run(context, kCharterRoles, "charter a programme", *request, response->mutable_result());
}

grpc::Status ProgrammeService::NominateAccount(grpc::ServerContext* context,
                                               const v1::NominateAccountRequest* request,
                                               v1::NominateAccountResponse* response) {
  return Run(context, kNominateRoles, "nominate an account", *request, response->mutable_result());
}

}  // namespace kam::services
