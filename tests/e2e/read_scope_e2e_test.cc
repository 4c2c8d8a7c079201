// Scoped reads over real gRPC (issue 12): every read RPC of HistoryQueryService and
// GovernanceQueryService x every token role x member / non-member of a programme, allowed or
// refused with the rule named; a programme that does not exist is refused in the same words as
// one the caller is not a member of; a change stream without a filter carries only the
// caller's programmes, membership taken as each event is delivered.
//
// The walk goes over the services' descriptors: a read RPC added without an expectation here
// fails the test.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/ids.h"
#include "google/protobuf/dynamic_message.h"
#include "support/kafka_broker.h"
#include "support/raw_call.h"
#include "support/servers.h"
#include "unit/scenario.h"

namespace kam {
namespace {

using testing::Context;

constexpr char kA[] = "prog-a";  // ana, sam, kim, eve and bob (board observer) read it
constexpr char kB[] = "prog-b";  // zoe reads it; eve is only its publisher here
constexpr char kNone[] = "prog-none";

struct Token {
  std::string token;
  std::string principal;
};
// Every token of kTestTokens, by a name for messages.
const std::map<std::string, Token>& Tokens() {
  static const auto* tokens = new std::map<std::string, Token>{
      {"admin", {"tok-admin-000", "admin@supplier.example"}},
      {"champion ana", {"tok-ana-champion", testing::kAna}},
      {"sponsor sam", {"tok-sam-board", testing::kSam}},
      {"kam kim", {"tok-kim-kam", testing::kKim}},
      {"sponsor eve", {"tok-eve-sponsor", testing::kEve}},
      {"board bob", {"tok-bob-board", "bob@supplier.example"}},
      {"kam zoe", {"tok-zoe-kam", "zoe@supplier.example"}},
      {"publisher erp", {"tok-erp-publish", "erp@supplier.example"}},
      // Opens personal data of what it reads, and reads nothing without a membership.
      {"personal-data dw", {"tok-dw-personal", "dw@supplier.example"}}};
  return *tokens;
}

// The specification, written out independently of the services: who reads which programme.
bool Reads(const std::string& name, const std::string& programme) {
  if (name == "admin") return true;
  if (name == "publisher erp") return false;
  if (programme == kA) {
    return std::set<std::string>{"champion ana", "sponsor sam", "kam kim", "sponsor eve",
                                 "board bob"}
        .contains(name);
  }
  if (programme == kB) return name == "kam zoe";
  return false;
}

// A request of `method` naming `programme` (and its account "acme"), built from the
// descriptor so that a new RPC needs no new code here, only an expectation.
std::string RequestFor(const google::protobuf::MethodDescriptor* method,
                       const std::string& programme, bool metrics_aggregate = false) {
  std::unique_ptr<google::protobuf::Message> req(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method->input_type())
          ->New());
  const auto* d = req->GetDescriptor();
  const auto* r = req->GetReflection();
  auto set = [&](const char* field, const std::string& value) {
    if (const auto* f = d->FindFieldByName(field)) r->SetString(req.get(), f, value);
  };
  set("programme_id", programme);
  set("account_id", "acme");
  set("aggregate_type", metrics_aggregate ? "account-metrics" : "programme");
  set("aggregate_id", metrics_aggregate ? programme + ":acme" : programme);
  return req->SerializeAsString();
}

class ScopedReads : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = std::filesystem::temp_directory_path() / ("kam-scope-" + prefix_);
    std::filesystem::remove_all(dir_);
    commands_ = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix_);
    metrics_ = std::make_unique<testing::MetricsServer>(testing::SharedKafka(), prefix_, false);
    queries_ = std::make_unique<testing::HistoryServer>(testing::SharedKafka(), prefix_, dir_);
    stub_ = commands_->Stub();
    using F = v1::PersonFunction;
    // No champion is appointed: the platform admin registers the members.
    for (const char* p : {kA, kB}) {
      auto charter = testing::Charter();
      charter.set_programme_id(p);
      Command(&v1::ProgrammeCommandService::Stub::CharterProgramme, charter, "tok-admin-000");
    }
    const std::vector<std::tuple<const char*, const char*, std::string, F>> people = {
        {kA, "ana", testing::kAna, v1::PERSON_FUNCTION_EXECUTIVE},
        {kA, "sam", testing::kSam, v1::PERSON_FUNCTION_STEERING_BOARD},
        {kA, "kim", testing::kKim, v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER},
        {kA, "eve", testing::kEve, v1::PERSON_FUNCTION_EXECUTIVE},
        {kA, "bob", "bob@supplier.example", v1::PERSON_FUNCTION_BOARD_OBSERVER},
        {kA, "erp", "erp@supplier.example", v1::PERSON_FUNCTION_PUBLISHER},
        {kB, "zoe", "zoe@supplier.example", v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER},
        {kB, "eve", testing::kEve, v1::PERSON_FUNCTION_PUBLISHER},
        {kB, "erp", "erp@supplier.example", v1::PERSON_FUNCTION_PUBLISHER}};
    for (const auto& [programme, id, principal, function] : people) {
      Register(programme, id, principal, function);
    }
    Nominate(kA, "acme", "tok-kim-kam");
    Nominate(kB, "acme", "tok-zoe-kam");
    for (const char* p : {kA, kB}) {
      v1::RecordMetricRequest req;
      req.mutable_metadata()->set_client_request_id(base::NewEventId());
      auto* m = req.mutable_metric();
      m->set_programme_id(p);
      m->set_account_id("acme");
      m->set_kind(v1::METRIC_KIND_REVENUE);
      m->set_period_start("2025-01-01");
      m->set_period_end("2025-12-31");
      m->mutable_amount()->set_currency("EUR");
      m->mutable_amount()->set_minor_units(100000);
      m->set_source_system("erp");
      m->set_source_record_id(base::NewEventId());
      v1::RecordMetricResponse resp;
      auto s = metrics_->Stub()->RecordMetric(Context("tok-erp-publish").get(), req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    ASSERT_TRUE(queries_->WaitCaughtUp());
  }
  void TearDown() override {
    queries_.reset();
    metrics_.reset();
    commands_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <typename Req, typename Resp>
  v1::LogPosition Command(grpc::Status (v1::ProgrammeCommandService::Stub::*rpc)(
                              grpc::ClientContext*, const Req&, Resp*),
                          Req req, const std::string& token) {
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    Resp resp;
    auto s = ((*stub_).*rpc)(Context(token).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Req::descriptor()->name() << ": " << s.error_message();
    return resp.result().position();
  }
  v1::LogPosition Register(const std::string& programme, const std::string& id,
                           const std::string& principal, v1::PersonFunction function) {
    auto person = testing::Person(id, principal, {function});
    person.set_programme_id(programme);
    return Command(&v1::ProgrammeCommandService::Stub::RegisterPerson, person, "tok-admin-000");
  }
  v1::LogPosition Nominate(const std::string& programme, const std::string& account,
                           const std::string& token) {
    auto nominate = testing::Nominate(account);
    nominate.set_programme_id(programme);
    return Command(&v1::ProgrammeCommandService::Stub::NominateAccount, nominate, token);
  }

  std::string prefix_, dir_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<testing::MetricsServer> metrics_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> stub_;
};

// The programmes a change stream without a filter carries to `token` (until it has been quiet
// for a while), or its error.
grpc::Status StreamedProgrammes(v1::HistoryQueryService::Stub& stub, const std::string& token,
                                const v1::SubscribeRequest& request,
                                std::set<std::string>* programmes) {
  auto ctx = Context(token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(2500));
  auto reader = stub.Subscribe(ctx.get(), request);
  v1::SubscribeResponse r;
  while (reader->Read(&r)) programmes->insert(r.entry().envelope().aggregate_id());
  return reader->Finish();
}

TEST_F(ScopedReads, EveryReadRpcForEveryRoleMemberAndNonMember) {
  enum class Kind { kProgramme, kList, kStatus, kStream, kKeys };
  const std::map<std::string, Kind> kinds = {{"GetAccountHistory", Kind::kProgramme},
                                             {"GetHistory", Kind::kProgramme},
                                             {"Subscribe", Kind::kStream},
                                             {"GetProjectionStatus", Kind::kStatus},
                                             {"LookupPersonalDataKeys", Kind::kKeys},
                                             {"ListProgrammes", Kind::kList},
                                             {"GetProgramme", Kind::kProgramme},
                                             {"GetScorecard", Kind::kProgramme},
                                             {"VerifyHistory", Kind::kProgramme},
                                             {"GetRegister", Kind::kProgramme},
                                             {"GetEconomics", Kind::kProgramme},
                                             {"GetPortfolioEconomics", Kind::kProgramme}};
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  auto channel = testing::ChannelTo(queries_->port());
  auto history = queries_->Stub();
  int checked = 0;
  for (const char* service_name : {"kam.v1.HistoryQueryService", "kam.v1.GovernanceQueryService"}) {
    const auto* service = pool->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      const std::string path = "/" + service->full_name() + "/" + m->name();
      ASSERT_TRUE(kinds.contains(m->name())) << "no read-scope expectation for " << path;
      // No token or an unknown one: UNAUTHENTICATED before anything else.
      if (!m->server_streaming()) {
        for (const std::string token : {"", "tok-not-a-token"}) {
          EXPECT_EQ(testing::CallRaw(channel, path, token, RequestFor(m, kA)).error_code(),
                    grpc::StatusCode::UNAUTHENTICATED)
              << path;
        }
      }
      for (const auto& [name, t] : Tokens()) {
        const std::string what = path + " as " + name;
        auto refused_publisher = [&](const grpc::Status& s) {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
          EXPECT_NE(s.error_message().find("rule reads.publishers_read_outcomes_only"),
                    std::string::npos)
              << what << ": " << s.error_message();
          EXPECT_NE(s.error_message().find("publishers read only their ingestion outcomes"),
                    std::string::npos)
              << what << ": " << s.error_message();
        };
        const bool publisher = name == "publisher erp";
        switch (kinds.at(m->name())) {
          case Kind::kProgramme:
            for (const std::string programme : {kA, kB, kNone}) {
              // VerifyHistory: the programme's own history and one of its accounts' metrics.
              for (const bool metrics : {false, true}) {
                if (metrics && m->name() != "VerifyHistory") continue;
                const auto s =
                    testing::CallRaw(channel, path, t.token, RequestFor(m, programme, metrics));
                const std::string about = what + " on " + programme + (metrics ? " metrics" : "");
                if (publisher) {
                  refused_publisher(s);
                } else if (Reads(name, programme)) {
                  if (programme == kNone) {
                    // Only the operator learns that it does not exist (or reads its empty
                    // history).
                    EXPECT_TRUE(s.error_code() == grpc::StatusCode::NOT_FOUND || s.ok())
                        << about << ": " << s.error_message();
                  } else {
                    EXPECT_TRUE(s.ok()) << about << ": " << s.error_message();
                  }
                } else {
                  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << about;
                  // Names the programme and the rule, in the same words whether or not the
                  // programme exists.
                  EXPECT_EQ(s.error_message(),
                            "rule membership.required: " + t.principal +
                                " is not a member of programme '" + programme +
                                "' (reads need a registered person of the programme, of any "
                                "function but publisher)")
                      << about;
                }
                ++checked;
              }
            }
            break;
          case Kind::kList: {
            std::string bytes;
            const auto s = testing::CallRaw(channel, path, t.token, RequestFor(m, kA), &bytes);
            if (publisher) {
              refused_publisher(s);
              break;
            }
            ASSERT_TRUE(s.ok()) << what << ": " << s.error_message();
            v1::ListProgrammesResponse list;
            ASSERT_TRUE(list.ParseFromString(bytes));
            std::set<std::string> listed, expected;
            for (const auto& p : list.programmes()) listed.insert(p.programme_id());
            for (const std::string p : {kA, kB}) {
              if (Reads(name, p)) expected.insert(p);
            }
            EXPECT_EQ(listed, expected) << what;
            EXPECT_EQ(list.principal(), t.principal);
            ++checked;
            break;
          }
          case Kind::kKeys: {
            // Only the personal-data role looks keys up (this read side has no key store, so
            // it is told that); everyone else is refused, whatever they read.
            const auto s = testing::CallRaw(channel, path, t.token, RequestFor(m, kA));
            if (publisher) {
              refused_publisher(s);
            } else if (name == "personal-data dw") {
              EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << what;
              EXPECT_EQ(s.error_message(), "person_ids: give 1..1000 person ids") << what;
            } else {
              EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
              EXPECT_NE(s.error_message().find("rule personal_data.key_lookup"), std::string::npos)
                  << what << ": " << s.error_message();
            }
            ++checked;
            break;
          }
          case Kind::kStatus: {
            const auto s = testing::CallRaw(channel, path, t.token, RequestFor(m, kA));
            if (publisher) {
              refused_publisher(s);
            } else {
              EXPECT_TRUE(s.ok()) << what << ": " << s.error_message();
            }
            ++checked;
            break;
          }
          case Kind::kStream: {
            // Filtered on one programme: its events, or refused at once.
            for (const std::string programme : {kA, kB}) {
              v1::SubscribeRequest req;
              req.set_aggregate_id(programme);
              std::set<std::string> seen;
              const auto s = StreamedProgrammes(*history, t.token, req, &seen);
              if (publisher) {
                refused_publisher(s);
              } else if (Reads(name, programme)) {
                EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << what;
                EXPECT_EQ(seen, std::set<std::string>{programme}) << what;
              } else {
                EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
                EXPECT_NE(s.error_message().find("rule membership.required"), std::string::npos)
                    << what << ": " << s.error_message();
                EXPECT_TRUE(seen.empty()) << what;
              }
              ++checked;
            }
            // Unfiltered: the caller's programmes only.
            std::set<std::string> seen, expected;
            const auto s = StreamedProgrammes(*history, t.token, {}, &seen);
            if (publisher) {
              refused_publisher(s);
            } else {
              EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << what;
              for (const std::string p : {kA, kB}) {
                if (Reads(name, p)) expected.insert(p);
              }
              EXPECT_EQ(seen, expected) << what;
            }
            ++checked;
            break;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

// Membership is taken when each event is delivered: a stream of a non-member carries nothing of
// the programme until the event that registers the reader, which it carries with every later one.
TEST_F(ScopedReads, AStreamCarriesAProgrammeFromTheEventThatMakesTheReaderAMember) {
  auto history = queries_->Stub();
  // From the end of the log as it is now.
  v1::SubscribeRequest from_now;
  auto last = Nominate(kA, "initech", "tok-kim-kam");
  *from_now.add_after() = last;
  auto ctx = Context("tok-zoe-kam");
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = history->Subscribe(ctx.get(), from_now);
  std::mutex mu;
  std::vector<std::string> seen_in_a;  // event names of programme A, in order
  std::thread reading([&] {
    v1::SubscribeResponse r;
    while (reader->Read(&r)) {
      const auto& env = r.entry().envelope();
      if (env.aggregate_id() != kA) continue;
      std::lock_guard<std::mutex> lock(mu);
      seen_in_a.push_back(env.event().has_person_registered()
                              ? "PersonRegistered " + env.event().person_registered().person_id()
                              : "AccountNominated " + env.event().account_nominated().account_id());
    }
  });
  auto seen = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen_in_a;
  };
  Nominate(kA, "globex", "tok-kim-kam");  // zoe is no member of A yet
  ASSERT_TRUE(queries_->WaitCaughtUp());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the stream's next scans
  EXPECT_TRUE(seen().empty());
  Register(kA, "zoe", "zoe@supplier.example", v1::PERSON_FUNCTION_BOARD_OBSERVER);
  Nominate(kA, "umbrella", "tok-kim-kam");
  for (int i = 0; i < 200 && seen().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(seen(),
            (std::vector<std::string>{"PersonRegistered zoe", "AccountNominated umbrella"}));
  ctx->TryCancel();
  reading.join();
}

// A reader registered a moment ago subscribes to the programme at once: the service lets
// the read model read to the end of the log before a refusal stands.
TEST_F(ScopedReads, AReaderRegisteredAMomentAgoSubscribesToItsProgrammeAtOnce) {
  auto history = queries_->Stub();
  Register(kA, "zoe", "zoe@supplier.example", v1::PERSON_FUNCTION_BOARD_OBSERVER);
  v1::SubscribeRequest mine;
  mine.set_aggregate_id(kA);
  auto ctx = Context("tok-zoe-kam");
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = history->Subscribe(ctx.get(), mine);
  v1::SubscribeResponse first;
  ASSERT_TRUE(reader->Read(&first)) << reader->Finish().error_message();
  EXPECT_EQ(first.entry().envelope().aggregate_id(), kA);
  ctx->TryCancel();
  reader->Finish();
  // Someone who is no member is still refused, and at once when the read model is caught up.
  ASSERT_TRUE(queries_->WaitCaughtUp());
  v1::SubscribeRequest theirs;
  theirs.set_aggregate_id(kB);
  auto other = Context("tok-bob-board");  // a board observer of A only
  const auto start = std::chrono::steady_clock::now();
  auto refused = history->Subscribe(other.get(), theirs);
  v1::SubscribeResponse none;
  EXPECT_FALSE(refused->Read(&none));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::cout << "a non-member's Subscribe refused after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
}

}  // namespace
}  // namespace kam
