// The platform's servers for end-to-end tests, each behind a real gRPC server on an
// ephemeral port, started from the same libraries as the binaries.
//
//   kam::testing::CommandServer commands(kafka, "t1-");       // ProgrammeCommandService
//   auto stub = commands.Stub();
//   grpc::ClientContext ctx;  kam::testing::Authorize(ctx, "tok-ana-champion");
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "absl/status/statusor.h"
#include "base/ids.h"
#include "base/strings.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "projections/host/read_side.h"
#include "server/auth.h"
#include "server/server.h"
#include "services/metrics/inbound_ingester.h"
#include "services/metrics/metrics_service.h"
#include "services/programme/programme_service.h"
#include "support/members.h"

namespace kam::testing {

// One principal per role (and the standard cast of tests/unit/scenario.h for champion,
// steering board, manager and sponsor), and zoe, a second key account manager for a second
// programme. A role grants no reads: reading a programme needs a registered person of it
// (RegisterBoardObserver), except for the admin.
inline constexpr char kTestTokens[] =
    "tok-admin-000    admin@supplier.example admin\n"
    "tok-ana-champion ana@supplier.example   champion\n"
    "tok-sam-board    sam@supplier.example   sponsor\n"
    "tok-kim-kam      kim@supplier.example   kam\n"
    "tok-eve-sponsor  eve@supplier.example   sponsor\n"
    "tok-bob-board    bob@supplier.example   board\n"
    "tok-zoe-kam      zoe@supplier.example   kam\n"
    "tok-erp-publish  erp@supplier.example   publisher\n"
    "tok-dw-personal  dw@supplier.example    personal-data\n";

inline std::unique_ptr<server::Authenticator> TestAuth() {
  return std::move(*server::Authenticator::FromText(kTestTokens, "test-tokens"));
}

inline std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return ctx;
}

inline std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);  // so tests can send what the server must refuse
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

template <typename Service>
std::unique_ptr<server::GrpcServer> Serve(Service* service) {
  auto s = std::make_unique<server::GrpcServer>(server::ServerOptions{});
  s->Add(service);
  if (auto st = s->Start(); !st.ok()) throw std::runtime_error(st.ToString());
  return s;
}

class CommandServer {
 public:
  CommandServer(const eventlog::KafkaOptions& kafka, const std::string& prefix,
                std::chrono::milliseconds append_timeout = std::chrono::milliseconds(10000),
                std::vector<int32_t> owned = {}, eventlog::Integrity integrity = {},
                std::optional<eventlog::OwnershipOptions> group = std::nullopt,
                std::shared_ptr<personal::KeyStore> keys = nullptr)
      : auth_(TestAuth()) {
    config_.kafka = kafka;
    config_.topic_prefix = prefix;
    config_.transactional_id = prefix + "programme-writer";
    config_.append_timeout = append_timeout;
    config_.owned_partitions = std::move(owned);
    config_.writer_group = std::move(group);  // --ownership group
    config_.signer = integrity.signer;
    config_.keyring = integrity.keyring;
    config_.keys = std::move(keys);
    auto svc = services::ProgrammeService::Create(config_, *auth_);
    if (!svc.ok()) throw std::runtime_error(svc.status().ToString());
    service_ = std::move(*svc);
    server_ = Serve(service_.get());
  }
  std::unique_ptr<v1::ProgrammeCommandService::Stub> Stub() const {
    return v1::ProgrammeCommandService::NewStub(ChannelTo(server_->port()));
  }
  services::ProgrammeService& service() { return *service_; }
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<server::Authenticator> auth_;
  services::ProgrammeServiceConfig config_;
  std::unique_ptr<services::ProgrammeService> service_;
  std::unique_ptr<server::GrpcServer> server_;
};

class MetricsServer {
 public:
  MetricsServer(const eventlog::KafkaOptions& kafka, const std::string& prefix, bool inbound,
                std::shared_ptr<personal::KeyStore> keys = nullptr)
      : auth_(TestAuth()) {
    services::MetricsServiceConfig config;
    config.keys = std::move(keys);
    config.kafka = kafka;
    config.topic_prefix = prefix;
    config.transactional_id = prefix + "metrics-writer";
    auto svc = services::MetricsService::Create(config, *auth_);
    if (!svc.ok()) throw std::runtime_error(svc.status().ToString());
    service_ = std::move(*svc);
    if (inbound) {
      ingester_ = std::make_unique<services::InboundIngester>(
          kafka, *service_,
          services::IngesterOptions{.topic_prefix = prefix, .group_id = prefix + "ingester"});
      if (auto s = ingester_->Start(); !s.ok()) throw std::runtime_error(s.ToString());
    }
    server_ = Serve(service_.get());
  }
  ~MetricsServer() {
    server_.reset();
    ingester_.reset();
  }
  std::unique_ptr<v1::MetricsCommandService::Stub> Stub() const {
    return v1::MetricsCommandService::NewStub(ChannelTo(server_->port()));
  }
  services::MetricsService& service() { return *service_; }
  services::InboundIngester& ingester() { return *ingester_; }
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<server::Authenticator> auth_;
  std::unique_ptr<services::MetricsService> service_;
  std::unique_ptr<services::InboundIngester> ingester_;
  std::unique_ptr<server::GrpcServer> server_;
};

// The read side (ReadSide::Create, as in kam-history-projection) behind a gRPC server.
class HistoryServer {
 public:
  HistoryServer(const eventlog::KafkaOptions& kafka, const std::string& prefix,
                const std::string& data_dir,
                std::shared_ptr<const eventlog::Keyring> keyring = nullptr,
                int max_subscriptions = 32, std::shared_ptr<personal::KeyStore> keys = nullptr)
      : auth_(TestAuth()) {
    auto read = projections::ReadSide::Create(
        projections::ReadSideConfig{.kafka = kafka,
                                    .topic_prefix = prefix,
                                    .data_dir = data_dir,
                                    .keyring = std::move(keyring),
                                    .max_subscriptions = max_subscriptions,
                                    .keys = std::move(keys)},
        *auth_);
    if (!read.ok()) throw std::runtime_error(read.status().ToString());
    read_ = std::move(*read);
    server_ = std::make_unique<server::GrpcServer>(server::ServerOptions{});
    for (grpc::Service* service : read_->services()) server_->Add(service);
    if (auto st = server_->Start(); !st.ok()) throw std::runtime_error(st.ToString());
  }
  ~HistoryServer() {
    server_.reset();
    read_.reset();
  }
  std::unique_ptr<v1::HistoryQueryService::Stub> Stub() const {
    return v1::HistoryQueryService::NewStub(ChannelTo(server_->port()));
  }
  std::unique_ptr<v1::GovernanceQueryService::Stub> GovernanceStub() const {
    return v1::GovernanceQueryService::NewStub(ChannelTo(server_->port()));
  }
  const readmodel::ProjectionRuntime& runtime() const { return read_->programmes(); }
  bool WaitCaughtUp(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return read_->WaitCaughtUp(timeout).ok();
  }
  uint64_t folded() const { return read_->index().FoldedCount(); }
  // A consistent copy of the store (a backup), as ReadSide::Checkpoint.
  absl::StatusOr<projections::StoreCheckpoint> Checkpoint(const std::string& to) const {
    return read_->Checkpoint(to);
  }
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<server::Authenticator> auth_;
  std::unique_ptr<projections::ReadSide> read_;
  std::unique_ptr<server::GrpcServer> server_;
};

}  // namespace kam::testing
