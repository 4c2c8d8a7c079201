// Request bodies that do not parse as their RPC's message, sent as raw bytes over real gRPC
// to the real services (server/malformed_request.h): unary and server-streaming calls are
// INVALID_ARGUMENT naming the message type (and, for invalid UTF-8, the field) while a valid
// request is still served; the bidirectional StreamMetrics, which reads raw bodies, answers
// the items before a bad one and then ends INVALID_ARGUMENT naming it.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/ids.h"
#include "support/kafka_broker.h"
#include "support/metric_events.h"
#include "support/raw_call.h"
#include "support/servers.h"

namespace kam {
namespace {

using testing::Context;

constexpr char kNominate[] = "/kam.v1.ProgrammeCommandService/NominateAccount";

// NominateAccountRequest{programme_id: "emea-kam", account_id: <0xff 0xfe 0xfd>}, by hand:
// field 2 and field 3, wire type 2 (length-delimited). proto3 refuses a string that is not
// UTF-8.
std::string InvalidUtf8Nomination() {
  return std::string(
      "\x12\x08"
      "emea-kam"
      "\x1a\x03\xff\xfe\xfd",
      15);
}

// 'n' (0x6e) is field 13 with wire type 6, which does not exist.
const std::string kGarbage = "not a protobuf \xff\xff";
// Field 2 announces 80 bytes; 3 follow.
const std::string kTruncated(
    "\x12\x50"
    "emea",
    6);

::testing::AssertionResult Says(const grpc::Status& status, const std::string& part) {
  if (status.error_message().find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << status.error_message() << "\" lacks \"" << part << "\"";
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool Next(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  return cq.Next(&tag, &ok) && ok;
}

void Drain(grpc::CompletionQueue& cq) {
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

// One unary call whose request body is `bytes`.
grpc::Status CallUnary(int port, const std::string& method, const std::string& bytes,
                       const std::string& token = "tok-kim-kam") {
  return testing::CallRaw(testing::ChannelTo(port), method, token, bytes);
}

struct StreamOutcome {
  grpc::Status status;
  int replies = 0;
};

// One streaming call: sends each of `bodies` as a request body, half-closes, reads every
// reply, and returns the status.
StreamOutcome CallStream(int port, const std::string& method,
                         const std::vector<std::string>& bodies, const std::string& token) {
  grpc::GenericStub stub(testing::ChannelTo(port));
  grpc::CompletionQueue cq;
  auto ctx = Context(token);
  auto* tag = reinterpret_cast<void*>(1);
  auto call = stub.PrepareCall(ctx.get(), method, &cq);
  StreamOutcome out;
  call->StartCall(tag);
  if (Next(cq)) {
    for (const std::string& body : bodies) {
      call->Write(Buffer(body), tag);
      if (!Next(cq)) break;
    }
    call->WritesDone(tag);
    Next(cq);
    grpc::ByteBuffer reply;
    while (true) {
      call->Read(&reply, tag);
      if (!Next(cq)) break;
      ++out.replies;
    }
  }
  call->Finish(&out.status, tag);
  Next(cq);
  Drain(cq);
  return out;
}

TEST(MalformedBody, AUnaryRequestThatDoesNotParseIsInvalidArgumentNamingItsType) {
  testing::CommandServer commands(testing::SharedKafka(), testing::UniqueTopicPrefix());

  const grpc::Status utf8 = CallUnary(commands.port(), kNominate, InvalidUtf8Nomination());
  EXPECT_EQ(utf8.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << utf8.error_message();
  EXPECT_TRUE(Says(utf8, "the request is not a valid kam.v1.NominateAccountRequest: "));
  EXPECT_TRUE(Says(utf8, "kam.v1.NominateAccountRequest.account_id"));
  EXPECT_TRUE(Says(utf8, "invalid UTF-8"));

  for (const std::string& bytes : {kGarbage, kTruncated}) {
    const grpc::Status s = CallUnary(commands.port(), kNominate, bytes);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(s.error_message(),
              "the request is not a valid kam.v1.NominateAccountRequest: its bytes do not parse "
              "as that message");
  }
  // The handler never ran: no caller is authenticated for a body that does not parse, and
  // none learns more than the message type, which reflection publishes anyway.
  EXPECT_EQ(CallUnary(commands.port(), kNominate, kGarbage, "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(MalformedBody, AValidRequestIsStillServedAndTheHandlersOwnErrorsAreUntouched) {
  testing::CommandServer commands(testing::SharedKafka(), testing::UniqueTopicPrefix());
  auto stub = commands.Stub();
  {
    v1::CharterProgrammeRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    req.set_programme_id("emea-kam");
    req.set_name("EMEA key accounts");
    req.set_rationale("Grow profitable strategic customers");
    v1::CharterProgrammeResponse resp;
    ASSERT_TRUE(stub->CharterProgramme(Context("tok-admin-000").get(), req, &resp).ok());
    ASSERT_TRUE(testing::RegisterKimAndBob(*stub, "emea-kam").ok());
  }
  v1::NominateAccountRequest nomination;
  nomination.mutable_metadata()->set_client_request_id(base::NewEventId());
  nomination.set_programme_id("emea-kam");
  nomination.set_account_id("acme");
  nomination.set_account_name("ACME Industries");
  nomination.set_rationale("Top-5 by contribution, multi-site");
  // The same call path as the malformed bodies: raw bytes through the generic stub.
  const grpc::Status ok = CallUnary(commands.port(), kNominate, nomination.SerializeAsString());
  EXPECT_TRUE(ok.ok()) << ok.error_code() << " " << ok.error_message();

  // A body that parses but breaks a rule is the handler's answer, with its own message.
  v1::NominateAccountRequest unnamed = nomination;
  unnamed.mutable_metadata()->set_client_request_id(base::NewEventId());
  unnamed.set_account_id("");
  const grpc::Status refused = CallUnary(commands.port(), kNominate, unnamed.SerializeAsString());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Says(refused, "is not a valid"));
  // A handler's INTERNAL is left as it is: tests/unit/rpc_telemetry_test.cc provokes one.
}

TEST(MalformedBody, AServerStreamingRequestThatDoesNotParseIsInvalidArgumentNamingItsType) {
  const std::string prefix = testing::UniqueTopicPrefix();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kam-malformed-" + prefix);
  std::filesystem::remove_all(dir);
  {
    testing::HistoryServer history(testing::SharedKafka(), prefix, dir.string());
    // SubscribeRequest{aggregate_id: <0xff 0xfe>}: field 2, wire type 2.
    const StreamOutcome utf8 = CallStream(history.port(), "/kam.v1.HistoryQueryService/Subscribe",
                                          {std::string("\x12\x02\xff\xfe", 4)}, "tok-admin-000");
    EXPECT_EQ(utf8.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << utf8.status.error_message();
    EXPECT_TRUE(Says(utf8.status, "the request is not a valid kam.v1.SubscribeRequest: "));
    EXPECT_TRUE(Says(utf8.status, "kam.v1.SubscribeRequest.aggregate_id"));
    EXPECT_EQ(utf8.replies, 0);

    const StreamOutcome garbage = CallStream(
        history.port(), "/kam.v1.HistoryQueryService/Subscribe", {kGarbage}, "tok-admin-000");
    EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(Says(garbage.status, "the request is not a valid kam.v1.SubscribeRequest: "));
  }
  std::filesystem::remove_all(dir);
}

// A bidirectional stream: the synchronous server's generated reader would end its reads at
// a body that does not parse, as at the client's half-close, and the call would be OK.
// StreamMetrics reads raw bodies instead: it answers the items before the bad one (they are
// recorded), reads nothing after it, and ends INVALID_ARGUMENT naming the item and why.
TEST(MalformedBody, ABidiStreamAnswersTheItemsBeforeABadBodyThenRefusesItByNumber) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  auto item = [](const std::string& record, const std::string& source_system) {
    v1::StreamMetricsRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    *req.mutable_metric() = testing::Revenue(record);
    req.mutable_metric()->set_source_system(source_system);
    return req.SerializeAsString();
  };
  const std::string utf8 = item("r2", "erp\xff");  // invalid UTF-8 in a string field
  const StreamOutcome garbage = CallStream(
      metrics.port(), "/kam.v1.MetricsCommandService/StreamMetrics",
      {item("r0", "erp"), item("r1", "erp"), kGarbage, item("r3", "erp")}, "tok-erp-publish");
  EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(garbage.status.error_message(),
            "item 2: the request is not a valid kam.v1.StreamMetricsRequest: its bytes do not "
            "parse as that message; the items before it were answered, nothing after it was read");
  EXPECT_EQ(garbage.replies, 2);
  const StreamOutcome bad_text = CallStream(
      metrics.port(), "/kam.v1.MetricsCommandService/StreamMetrics", {utf8}, "tok-erp-publish");
  EXPECT_EQ(bad_text.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Says(bad_text.status,
                   "item 0: the request is not a valid "
                   "kam.v1.StreamMetricsRequest: "));
  EXPECT_TRUE(Says(bad_text.status, "invalid UTF-8")) << bad_text.status.error_message();
  EXPECT_EQ(bad_text.replies, 0);
}

}  // namespace
}  // namespace kam
