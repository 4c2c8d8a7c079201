// Every call a GrpcServer answers (server/rpc_telemetry.h): counted by method and status
// code, timed, and logged inside its handler with its correlation and request ids - from the
// headers, else from the command's metadata - which leave the handler's thread with it.
// A body that does not parse is the caller's INVALID_ARGUMENT (server/malformed_request.h),
// counted so, while a handler's INTERNAL is left as it is.
#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/strings.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "server/process.h"
#include "server/server.h"
#include "support/log_capture.h"
#include "support/prometheus.h"
#include "support/raw_call.h"

namespace kam {
namespace {

constexpr char kMethod[] = "/kam.v1.ProgrammeCommandService/NominateAccount";

// Logs a line inside the handler; fails with INTERNAL for the account "boom".
class LoggingService final : public v1::ProgrammeCommandService::Service {
 public:
  grpc::Status NominateAccount(grpc::ServerContext*, const v1::NominateAccountRequest* request,
                               v1::NominateAccountResponse*) override {
    base::Log(base::StrCat("inside ", request->account_id()));
    if (request->account_id() == "boom") return {grpc::StatusCode::INTERNAL, "it broke"};
    if (request->account_id().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "account_id"};
    return grpc::Status::OK;
  }
};

// A NominateAccount call whose body is `bytes`, sent as they are.
grpc::Status CallRaw(int port, const std::string& bytes) {
  return testing::CallRaw(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()),
      kMethod, "", bytes);
}

// 'n' (0x6e) is field 13 with wire type 6, which does not exist.
constexpr char kGarbage[] = "not a protobuf";

testing::Samples Now() { return testing::Samples::Parse(base::Metrics().Render()); }

class RpcTelemetry : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<server::GrpcServer>(server::ServerOptions{});
    server_->Add(&service_);
    ASSERT_TRUE(server_->Start().ok());
    stub_ = v1::ProgrammeCommandService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  grpc::Status Nominate(const std::string& account, const std::string& correlation,
                        const std::string& request,
                        const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    v1::NominateAccountRequest req;
    req.set_account_id(account);
    if (!correlation.empty()) req.mutable_metadata()->set_correlation_id(correlation);
    if (!request.empty()) req.mutable_metadata()->set_client_request_id(request);
    grpc::ClientContext ctx;
    for (const auto& [k, v] : headers) ctx.AddMetadata(k, v);
    v1::NominateAccountResponse resp;
    return stub_->NominateAccount(&ctx, req, &resp);
  }
  static nlohmann::json Inside(const testing::LogCapture& logs, const std::string& account) {
    auto line =
        logs.Await([&](const nlohmann::json& l) { return l["msg"] == "inside " + account; });
    EXPECT_TRUE(line.has_value()) << "no line from the handler for " << account;
    return line.value_or(nlohmann::json::object());
  }

  LoggingService service_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> stub_;
};

TEST_F(RpcTelemetry, CountsAndTimesEveryCallByMethodAndCode) {
  const testing::Samples before = Now();
  ASSERT_TRUE(Nominate("acme", "", "").ok());
  ASSERT_TRUE(Nominate("globex", "", "").ok());
  EXPECT_EQ(Nominate("", "", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Nominate("boom", "", "").error_code(), grpc::StatusCode::INTERNAL);
  const testing::Samples after = Now();
  auto moved = [&](const std::string& name, const testing::Samples::Labels& labels) {
    return after.Sum(name, labels) - before.Sum(name, labels);
  };
  EXPECT_EQ(moved("kam_grpc_requests_total", {{"method", kMethod}, {"code", "OK"}}), 2);
  EXPECT_EQ(moved("kam_grpc_requests_total", {{"method", kMethod}, {"code", "INVALID_ARGUMENT"}}),
            1);
  EXPECT_EQ(moved("kam_grpc_requests_total", {{"method", kMethod}, {"code", "INTERNAL"}}), 1);
  EXPECT_EQ(moved("kam_grpc_request_duration_seconds_count", {{"method", kMethod}}), 4);
  EXPECT_EQ(moved("kam_grpc_request_duration_seconds_bucket", {{"method", kMethod}, {"le", "10"}}),
            4);
  EXPECT_GT(moved("kam_grpc_request_duration_seconds_sum", {{"method", kMethod}}), 0);
}

TEST_F(RpcTelemetry, TheHandlersLinesCarryTheCallsIdsAndAFaultIsLoggedWithThem) {
  testing::LogCapture logs;
  ASSERT_TRUE(Nominate("acme", "corr-1", "req-1").ok());
  const auto acme = Inside(logs, "acme");
  EXPECT_EQ(acme["correlation_id"], "corr-1");
  EXPECT_EQ(acme["request_id"], "req-1");

  // Headers win over the metadata.
  ASSERT_TRUE(Nominate("globex", "corr-2", "req-2",
                       {{"x-request-id", "hdr-req"}, {"x-correlation-id", "hdr-corr"}})
                  .ok());
  const auto globex = Inside(logs, "globex");
  EXPECT_EQ(globex["correlation_id"], "hdr-corr");
  EXPECT_EQ(globex["request_id"], "hdr-req");

  // A call without ids logs none: the last call's context left the handler's thread.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(Nominate("plain" + std::to_string(i), "", "").ok());
  for (int i = 0; i < 8; ++i) {
    const auto plain = Inside(logs, "plain" + std::to_string(i));
    EXPECT_FALSE(plain.contains("correlation_id")) << plain.dump();
    EXPECT_FALSE(plain.contains("request_id")) << plain.dump();
  }

  EXPECT_EQ(Nominate("boom", "corr-3", "req-3").error_code(), grpc::StatusCode::INTERNAL);
  auto failed = logs.Await([](const nlohmann::json& l) { return l["msg"] == "call failed"; });
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ((*failed)["level"], "error");
  EXPECT_EQ((*failed)["method"], kMethod);
  EXPECT_EQ((*failed)["code"], "INTERNAL");
  EXPECT_EQ((*failed)["error"], "it broke");
  EXPECT_EQ((*failed)["correlation_id"], "corr-3");
  EXPECT_EQ((*failed)["request_id"], "req-3");
  EXPECT_EQ(Inside(logs, "boom")["request_id"], "req-3");
}

TEST_F(RpcTelemetry, IdsAreBoundedInLength) {
  testing::LogCapture logs;
  ASSERT_TRUE(Nominate("long", "", "", {{"x-request-id", std::string(1000, 'x')}}).ok());
  EXPECT_EQ(Inside(logs, "long")["request_id"].get<std::string>().size(), 128u);
}

TEST_F(RpcTelemetry, ABodyThatDoesNotParseIsTheCallersFaultAndAHandlersInternalIsKept) {
  const testing::Samples before = Now();
  const grpc::Status garbage = CallRaw(server_->port(), kGarbage);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(garbage.error_message(),
            "the request is not a valid kam.v1.NominateAccountRequest: its bytes do not parse as "
            "that message");
  const grpc::Status boom = Nominate("boom", "", "");
  EXPECT_EQ(boom.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(boom.error_message(), "it broke");
  const testing::Samples after = Now();
  auto moved = [&](const std::string& code) {
    return after.Sum("kam_grpc_requests_total", {{"method", kMethod}, {"code", code}}) -
           before.Sum("kam_grpc_requests_total", {{"method", kMethod}, {"code", code}});
  };
  EXPECT_EQ(moved("INVALID_ARGUMENT"), 1);  // telemetry sees the status the client gets
  EXPECT_EQ(moved("INTERNAL"), 1);
}

// Why server/malformed_request.h exists: gRPC's synchronous server alone answers a body that
// does not parse INTERNAL, with protobuf's (proto3: empty) initialisation error as message.
TEST(MalformedRequest, GrpcAloneAnswersItInternalWithAnEmptyMessage) {
  LoggingService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> bare = builder.BuildAndStart();
  ASSERT_NE(bare, nullptr);
  const grpc::Status garbage = CallRaw(port, kGarbage);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(garbage.error_message(), "");
  bare->Shutdown();
}

TEST(GrpcLogs, GoThroughTheSameLogger) {
  testing::LogCapture logs;
  server::RouteLibraryLogs();
  grpc_init();  // gRPC logs nothing before it is initialised
  gpr_log(GPR_ERROR, "%s", "a line from grpc");
  grpc_shutdown();
  auto line = logs.Await([](const nlohmann::json& l) { return l["msg"] == "a line from grpc"; });
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["level"], "error");
  EXPECT_EQ((*line)["component"], "grpc");
  EXPECT_EQ((*line)["source"].get<std::string>().rfind("rpc_telemetry_test.cc:", 0), 0u);
}

}  // namespace
}  // namespace kam
