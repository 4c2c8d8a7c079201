// The write side over real gRPC against the real broker: fencing between instances,
// partition ownership, the authorisation matrix, oversized requests, the programme's rules
// through the API with the authenticated principal, and metrics ingestion.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/ids.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "support/kafka_broker.h"
#include "support/metric_events.h"
#include "support/raw_call.h"
#include "support/servers.h"
#include "unit/scenario.h"

namespace kam {
namespace {

using std::chrono::milliseconds;
using testing::Context;
using testing::Revenue;

// Stands in for a reply the test does not read: converts to any response pointer.
struct Sink {
  template <typename T>
  operator T*() const {  // NOLINT(google-explicit-constructor)
    static thread_local T reply;
    reply.Clear();
    return &reply;
  }
};

template <typename Req>
Req Meta(Req r) {
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  return r;
}

// Every event of `aggregate` in `topic`, in log order.
std::vector<v1::EventEnvelope> EventsOf(const std::string& topic, const std::string& aggregate) {
  std::vector<v1::EventEnvelope> out;
  auto s = eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
    if (r.key != aggregate) return absl::OkStatus();
    auto opened = eventlog::Open(r.value);
    EXPECT_TRUE(opened.ok() && opened->hash_ok);
    if (opened.ok()) out.push_back(opened->envelope);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Versions 1..n without gaps, each chained to the hash of the one before.
void ExpectUnbrokenChain(const std::vector<v1::EventEnvelope>& events) {
  std::string previous;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].aggregate_version(), i + 1);
    EXPECT_EQ(events[i].previous_hash(), previous) << "version " << i + 1;
    previous = events[i].hash();
  }
}

TEST(WriteSide, ASecondInstanceFencesTheFirstAndNoWriteInterleaves) {
  const std::string prefix = testing::UniqueTopicPrefix();
  auto first = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix);
  auto a = first->Stub();
  ASSERT_TRUE(
      a->CharterProgramme(Context("tok-admin-000").get(), Meta(testing::Charter()), Sink{}).ok());
  ASSERT_TRUE(testing::RegisterKimAndBob(*a, "emea-kam").ok());
  v1::NominateAccountResponse r1;
  ASSERT_TRUE(
      a->NominateAccount(Context("tok-kim-kam").get(), Meta(testing::Nominate("acme")), &r1).ok());

  // The second instance claims the same partitions: it fences the first, then rebuilds.
  testing::CommandServer second(testing::SharedKafka(), prefix);
  auto b = second.Stub();
  v1::NominateAccountResponse late;
  auto zombie =
      a->NominateAccount(Context("tok-kim-kam").get(), Meta(testing::Nominate("globex")), &late);
  EXPECT_EQ(zombie.error_code(), grpc::StatusCode::UNAVAILABLE) << zombie.error_message();
  EXPECT_NE(zombie.error_message().find("was fenced"), std::string::npos) << zombie.error_message();

  v1::NominateAccountResponse r2;
  ASSERT_TRUE(
      b->NominateAccount(Context("tok-kim-kam").get(), Meta(testing::Nominate("globex")), &r2)
          .ok());
  EXPECT_EQ(r2.result().aggregate_version(), 5u);  // the second saw the first's four events

  const auto events = EventsOf(second.service().topic(), "emea-kam");
  ASSERT_EQ(events.size(), 5u);
  ExpectUnbrokenChain(events);
  EXPECT_EQ(events[4].event().account_nominated().account_id(), "globex");
}

TEST(WriteSide, AnInstanceWritesOnlyThePartitionsItOwns) {
  const std::string prefix = testing::UniqueTopicPrefix();
  const int32_t home = eventlog::PartitionFor("emea-kam", 3);
  testing::CommandServer other(testing::SharedKafka(), prefix, milliseconds(10000),
                               {(home + 1) % 3});
  auto s = other.Stub()->CharterProgramme(Context("tok-admin-000").get(), Meta(testing::Charter()),
                                          Sink{});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("which this instance does not own"), std::string::npos)
      << s.error_message();
  testing::CommandServer owner(testing::SharedKafka(), prefix, milliseconds(10000), {home});
  EXPECT_TRUE(
      owner.Stub()
          ->CharterProgramme(Context("tok-admin-000").get(), Meta(testing::Charter()), Sink{})
          .ok());
}

// Calls `method` with an empty request through the generic stub: the server
// authenticates and authorises before it looks at the request.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                       const std::string& token) {
  return testing::CallRaw(channel, method, token, "");
}

TEST(WriteSide, TheAuthorisationMatrixHoldsForEveryRpcAndRole) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  const std::map<std::string, std::string> tokens = {
      {"admin", "tok-admin-000"}, {"champion", "tok-ana-champion"}, {"sponsor", "tok-eve-sponsor"},
      {"kam", "tok-kim-kam"},     {"publisher", "tok-erp-publish"}, {"board", "tok-bob-board"}};
  const std::set<std::string> governance = {"admin", "champion"};
  const std::set<std::string> approvers = {"admin", "champion", "sponsor"};
  const std::set<std::string> team = {"admin", "champion", "kam"};
  const std::set<std::string> people = {"admin", "champion", "kam", "sponsor"};
  const std::set<std::string> training = {"admin", "champion", "publisher"};
  // Publishers also record the facts of their systems and register people who cannot sign
  // in (membership decides the rest).
  const std::set<std::string> registrars = {"admin", "champion", "sponsor", "publisher"};
  const std::set<std::string> visits = {"admin", "champion", "kam", "sponsor", "publisher"};
  const std::set<std::string> outcomes = {"admin", "champion", "kam", "publisher"};
  // The specification, written out independently of the services' own tables.
  const std::map<std::string, std::set<std::string>> allowed = {
      {"CharterProgramme", {"admin"}},
      {"ChangeProgrammeParameters", approvers},
      {"RegisterPerson", registrars},
      {"ChangeMembership", approvers},
      {"ErasePersonalData", approvers},
      {"AppointChampion", approvers},
      {"StandDownChampion", approvers},
      {"PublishSelectionCriteria", approvers},
      {"NominateAccount", people},
      {"AssessAccount", team},
      {"AdmitAccount", approvers},
      {"IncubateAccount", approvers},
      {"RejectNomination", approvers},
      {"ReviewAccount", people},
      {"RetireAccount", approvers},
      {"SetAccountObjectives", team},
      {"AssignSponsor", governance},
      {"ReleaseSponsor", governance},
      {"LogSponsorVisit", visits},
      {"AssessCompetency", governance},
      {"RecordManagerTraining", training},
      {"RecordStaffTraining", training},
      {"AssignManager", governance},
      {"ReleaseManager", governance},
      {"AssignTeamMember", team},
      {"ReleaseTeamMember", team},
      {"MakeCommitment", team},
      {"FulfilCommitment", outcomes},
      {"BreachCommitment", outcomes},
      {"ReviewProgramme", governance},
      {"RecordBenchmark", governance},
      {"AdoptBestPractice", governance},
      {"RetractRecord", governance},
      {"RequestQuarantineAcknowledgement", {"admin"}},
      {"ApproveQuarantineAcknowledgement", approvers},
      {"RecordMetric", {"admin", "publisher"}},
      {"RecordMetricBatch", {"admin", "publisher"}}};

  auto check = [&](const google::protobuf::ServiceDescriptor* service, int port) {
    auto channel = testing::ChannelTo(port);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      if (m->client_streaming()) continue;  // StreamMetrics: checked below
      const std::string path = "/" + service->full_name() + "/" + m->name();
      ASSERT_TRUE(allowed.contains(m->name())) << "no expectation for " << m->name();
      EXPECT_EQ(CallEmpty(channel, path, "").error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << path;
      EXPECT_EQ(CallEmpty(channel, path, "tok-not-a-token").error_code(),
                grpc::StatusCode::UNAUTHENTICATED)
          << path;
      for (const auto& [role, token] : tokens) {
        const auto code = CallEmpty(channel, path, token).error_code();
        if (allowed.at(m->name()).contains(role)) {
          // Allowed: the empty request then fails validation (no request id), or is an empty
          // batch - in no case an authentication or permission error.
          EXPECT_TRUE(code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::OK)
              << path << " as " << role << ": " << code;
        } else {
          EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED) << path << " as " << role;
        }
      }
    }
  };
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  check(pool->FindServiceByName("kam.v1.ProgrammeCommandService"), commands.port());
  check(pool->FindServiceByName("kam.v1.MetricsCommandService"), metrics.port());
}

TEST(WriteSide, AnOversizedRequestIsResourceExhaustedAndWritesNothing) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  auto stub = commands.Stub();
  ASSERT_TRUE(
      stub->CharterProgramme(Context("tok-admin-000").get(), Meta(testing::Charter()), Sink{})
          .ok());
  auto huge = Meta(testing::Nominate("acme"));
  huge.set_rationale(std::string(5 << 20, 'x'));
  auto s = stub->NominateAccount(Context("tok-kim-kam").get(), huge, Sink{});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(EventsOf(commands.service().topic(), "emea-kam").size(), 1u);
}

// The rules through the API, with approvals made by the authenticated caller.
TEST(WriteSide, TheRulesHoldThroughTheApiWithTheAuthenticatedPrincipal) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  auto stub = commands.Stub();
  auto ok = [](const grpc::Status& s) { return s.ok() ? std::string("OK") : s.error_message(); };
  ASSERT_EQ(
      ok(stub->CharterProgramme(Context("tok-admin-000").get(), Meta(testing::Charter()), Sink{})),
      "OK");
  for (auto person :
       {testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true),
        testing::Person("sam", testing::kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}),
        testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER})}) {
    ASSERT_EQ(ok(stub->RegisterPerson(Context("tok-admin-000").get(), Meta(person), Sink{})), "OK");
  }
  ASSERT_EQ(ok(stub->AppointChampion(Context("tok-admin-000").get(),
                                     Meta(testing::AppointChampion("ana")), Sink{})),
            "OK");
  // Criteria are approved by the champion; the platform admin is no member of the programme.
  auto denied = stub->PublishSelectionCriteria(Context("tok-admin-000").get(),
                                               Meta(testing::Criteria()), Sink{});
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("rule membership.required"), std::string::npos)
      << denied.error_message();
  // kim is a member, but no approver.
  denied = stub->PublishSelectionCriteria(Context("tok-kim-kam").get(), Meta(testing::Criteria()),
                                          Sink{});
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("may not call PublishSelectionCriteria"), std::string::npos)
      << denied.error_message();
  ASSERT_EQ(ok(stub->PublishSelectionCriteria(Context("tok-ana-champion").get(),
                                              Meta(testing::Criteria()), Sink{})),
            "OK");
  // The champion nominates; the champion may not also admit (four eyes on principals).
  ASSERT_EQ(ok(stub->NominateAccount(Context("tok-ana-champion").get(),
                                     Meta(testing::Nominate("acme")), Sink{})),
            "OK");
  auto stale = Meta(testing::Assess("acme", 5, 5, /*version=*/7));
  auto s = stub->AssessAccount(Context("tok-kim-kam").get(), stale, Sink{});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("rule assessment.current_criteria"), std::string::npos);
  ASSERT_EQ(ok(stub->AssessAccount(Context("tok-kim-kam").get(),
                                   Meta(testing::Assess("acme", 3, 3)), Sink{})),
            "OK");
  s = stub->AdmitAccount(Context("tok-ana-champion").get(),
                         Meta(testing::Admit("acme", "strategic")), Sink{});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("rule admission.four_eyes"), std::string::npos)
      << s.error_message();
  // sam (steering board) approves, but the score is below threshold: justification needed.
  s = stub->AdmitAccount(Context("tok-sam-board").get(), Meta(testing::Admit("acme")), Sink{});
  EXPECT_NE(s.error_message().find("rule admission.exception_justified"), std::string::npos);
  v1::AdmitAccountResponse admitted;
  ASSERT_EQ(ok(stub->AdmitAccount(Context("tok-sam-board").get(),
                                  Meta(testing::Admit("acme", "Entry into hydrogen")), &admitted)),
            "OK");
  const auto events = EventsOf(commands.service().topic(), "emea-kam");
  ASSERT_FALSE(events.empty());
  const auto& last = events.back().event().account_admitted();
  EXPECT_TRUE(last.exception());
  EXPECT_EQ(last.approved_by(), testing::kSam);
  EXPECT_EQ(last.nominated_by(), testing::kAna);
  EXPECT_EQ(events.back().actor(), testing::kSam);
  ExpectUnbrokenChain(events);
}

// Each way around the programme's authority that a hostile insider could try, over gRPC,
// refused with the rule named: a role held in one programme gives nothing in another, a
// member grants no membership unless an approver, four eyes are two persons, business time
// is not free input - and a programme with two champions works with either.
TEST(WriteSide, EveryAuthorityBypassIsRefusedNamingTheRule) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  auto stub = commands.Stub();
  auto ok = [](const grpc::Status& s) { return s.ok() ? std::string("OK") : s.error_message(); };
  auto refused = [](const grpc::Status& s, grpc::StatusCode code, const std::string& rule) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find("rule " + rule), std::string::npos) << s.error_message();
  };
  auto in = [](auto request, const std::string& programme) {
    request.set_programme_id(programme);
    return Meta(std::move(request));
  };
  const std::string kEmea = "emea-kam", kApac = "apac-kam";
  // emea-kam, chartered an hour ago: ana champion, sam steering board, kim manager, eve
  // executive.
  auto charter = in(testing::Charter(), kEmea);
  charter.mutable_metadata()->mutable_occurred_at()->set_seconds(
      absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
  ASSERT_EQ(ok(stub->CharterProgramme(Context("tok-admin-000").get(), charter, Sink{})), "OK");
  for (auto person :
       {testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true),
        testing::Person("sam", testing::kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}, true),
        testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}),
        testing::Person("eve", testing::kEve, {v1::PERSON_FUNCTION_EXECUTIVE})}) {
    ASSERT_EQ(ok(stub->RegisterPerson(Context("tok-admin-000").get(), in(person, kEmea), Sink{})),
              "OK");
  }
  ASSERT_EQ(ok(stub->AppointChampion(Context("tok-admin-000").get(),
                                     in(testing::AppointChampion("ana"), kEmea), Sink{})),
            "OK");
  // apac-kam: a programme ana has no part in. One human holds both sam's and eve's tokens
  // there: person "sam" with eve's principal as a second one.
  ASSERT_EQ(ok(stub->CharterProgramme(Context("tok-admin-000").get(), in(testing::Charter(), kApac),
                                      Sink{})),
            "OK");
  auto sam = testing::Person("sam", testing::kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}, true);
  sam.add_other_principals(testing::kEve);
  for (auto person :
       {sam, testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER})}) {
    ASSERT_EQ(ok(stub->RegisterPerson(Context("tok-admin-000").get(), in(person, kApac), Sink{})),
              "OK");
  }
  ASSERT_EQ(ok(stub->AppointChampion(Context("tok-admin-000").get(),
                                     in(testing::AppointChampion("sam"), kApac), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->PublishSelectionCriteria(Context("tok-sam-board").get(),
                                              in(testing::Criteria(), kApac), Sink{})),
            "OK");

  // 1. Cross-programme champion: ana is champion of emea-kam, nobody in apac-kam.
  auto self = testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_STEERING_BOARD}, true);
  refused(stub->RegisterPerson(Context("tok-ana-champion").get(), in(self, kApac), Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.required");
  auto down = in(v1::StandDownChampionRequest{}, kApac);
  down.set_person_id("sam");
  down.set_reason("hostile take-over");
  refused(stub->StandDownChampion(Context("tok-ana-champion").get(), down, Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.required");
  ASSERT_EQ(ok(stub->NominateAccount(Context("tok-kim-kam").get(),
                                     in(testing::Nominate("acme"), kApac), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->AssessAccount(Context("tok-kim-kam").get(),
                                   in(testing::Assess("acme", 5, 5), kApac), Sink{})),
            "OK");
  refused(stub->AdmitAccount(Context("tok-ana-champion").get(), in(testing::Admit("acme"), kApac),
                             Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.required");
  // ... and the platform admin, who set apac-kam up, grants nothing once it has a champion.
  refused(stub->RegisterPerson(Context("tok-admin-000").get(), in(self, kApac), Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.required");

  // 2. A member who is no approver registers a steering-board member (here: a second self).
  auto board = testing::Person("eve-board", "eve.board@supplier.example",
                               {v1::PERSON_FUNCTION_STEERING_BOARD});
  refused(stub->RegisterPerson(Context("tok-eve-sponsor").get(), in(board, kEmea), Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.granted_by_approver");

  // 3. One human with two principals: nominates as eve, approves as sam - one person.
  ASSERT_EQ(ok(stub->NominateAccount(Context("tok-eve-sponsor").get(),
                                     in(testing::Nominate("globex"), kApac), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->AssessAccount(Context("tok-kim-kam").get(),
                                   in(testing::Assess("globex", 5, 5), kApac), Sink{})),
            "OK");
  auto four_eyes = stub->AdmitAccount(Context("tok-sam-board").get(),
                                      in(testing::Admit("globex"), kApac), Sink{});
  refused(four_eyes, grpc::StatusCode::FAILED_PRECONDITION, "admission.four_eyes");
  EXPECT_NE(four_eyes.error_message().find("person 'sam'"), std::string::npos);

  // 4. Business time: nothing before the charter (a 1970 nomination), and an admission
  // backdated before its nomination is refused unless it is an explicit late entry.
  auto ancient = in(testing::Nominate("initech"), kEmea);
  ancient.mutable_metadata()->mutable_occurred_at()->set_seconds(86400);
  refused(stub->NominateAccount(Context("tok-kim-kam").get(), ancient, Sink{}),
          grpc::StatusCode::INVALID_ARGUMENT, "time.not_before_charter");
  ASSERT_EQ(ok(stub->PublishSelectionCriteria(Context("tok-ana-champion").get(),
                                              in(testing::Criteria(), kEmea), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->NominateAccount(Context("tok-kim-kam").get(),
                                     in(testing::Nominate("acme"), kEmea), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->AssessAccount(Context("tok-kim-kam").get(),
                                   in(testing::Assess("acme", 5, 5), kEmea), Sink{})),
            "OK");
  auto backdated = in(testing::Admit("acme"), kEmea);
  backdated.mutable_metadata()->mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(
      absl::Now() - absl::Minutes(30)));  // after the charter, before the nomination
  refused(stub->AdmitAccount(Context("tok-ana-champion").get(), backdated, Sink{}),
          grpc::StatusCode::INVALID_ARGUMENT, "time.in_order");

  // 5. Two champions: ana appoints sam as the second; each approves an admission.
  ASSERT_EQ(ok(stub->AppointChampion(Context("tok-ana-champion").get(),
                                     in(testing::AppointChampion("sam"), kEmea), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->NominateAccount(Context("tok-kim-kam").get(),
                                     in(testing::Nominate("globex"), kEmea), Sink{})),
            "OK");
  ASSERT_EQ(ok(stub->AssessAccount(Context("tok-kim-kam").get(),
                                   in(testing::Assess("globex", 5, 5), kEmea), Sink{})),
            "OK");
  EXPECT_EQ(ok(stub->AdmitAccount(Context("tok-ana-champion").get(),
                                  in(testing::Admit("acme"), kEmea), Sink{})),
            "OK");
  EXPECT_EQ(ok(stub->AdmitAccount(Context("tok-sam-board").get(),
                                  in(testing::Admit("globex"), kEmea), Sink{})),
            "OK");
  // 6. A leaver: sam ends eve's membership; eve's token then acts in nothing.
  auto leave = in(v1::ChangeMembershipRequest{}, kEmea);
  leave.set_person_id("eve");
  leave.set_end(true);
  leave.set_reason("left the company");
  refused(stub->ChangeMembership(Context("tok-eve-sponsor").get(), leave, Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.granted_by_approver");
  ASSERT_EQ(ok(stub->ChangeMembership(Context("tok-sam-board").get(), leave, Sink{})), "OK");
  refused(stub->NominateAccount(Context("tok-eve-sponsor").get(),
                                in(testing::Nominate("hooli"), kEmea), Sink{}),
          grpc::StatusCode::PERMISSION_DENIED, "membership.required");

  // Every refusal above wrote nothing: each log holds exactly the accepted commands.
  const auto emea = EventsOf(commands.service().topic(), kEmea);
  const auto apac = EventsOf(commands.service().topic(), kApac);
  EXPECT_EQ(emea.size(), 15u);  // charter, 4 people, champion, criteria, 2x(nominate, assess),
                                // champion, 2 admissions, eve's leaving
  EXPECT_EQ(apac.size(), 9u);   // charter, 2 people, champion, criteria, 2x(nominate, assess)
  ExpectUnbrokenChain(emea);
  ExpectUnbrokenChain(apac);
}

TEST(WriteSide, ServesTlsWhenConfigured) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("kam-tls-" + testing::UniqueTopicPrefix());
  std::filesystem::create_directories(dir);
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  testing::CommandServer commands(testing::SharedKafka(), testing::UniqueTopicPrefix());
  server::GrpcServer tls({.tls_cert_file = dir + "/cert.pem", .tls_key_file = dir + "/key.pem"});
  tls.Add(&commands.service());
  ASSERT_TRUE(tls.Start().ok());
  const std::string target = "127.0.0.1:" + std::to_string(tls.port());

  std::ifstream in(dir + "/cert.pem");
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  auto secure =
      v1::ProgrammeCommandService::NewStub(grpc::CreateChannel(target, grpc::SslCredentials(ssl)));
  auto s = secure->CharterProgramme(Context("").get(), Meta(testing::Charter()), Sink{});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << s.error_message();  // reached the server

  auto plain = v1::ProgrammeCommandService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  auto ctx = Context("tok-admin-000");
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(plain->CharterProgramme(ctx.get(), Meta(testing::Charter()), Sink{}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  tls.Shutdown();
  std::filesystem::remove_all(dir);
}

// Records of the dead-letter topic with their reasons.
std::vector<std::string> DeadLetterReasons(const std::string& topic) {
  std::vector<std::string> out;
  auto s = eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == "kam-dlq-reason") out.push_back(v);
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(Metrics, BatchesRecordTheValidAndDeadLetterTheInvalidWithTheReason) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  auto stub = metrics.Stub();
  v1::RecordMetricBatchRequest batch;
  for (int i = 0; i < 3; ++i) {
    auto* item = batch.add_items();
    item->mutable_metadata()->set_client_request_id("batch-" + std::to_string(i));
    *item->mutable_metric() = Revenue("r" + std::to_string(i), 1000 * (i + 1));
  }
  batch.mutable_items(1)->mutable_metric()->mutable_amount()->set_currency("euro");
  v1::RecordMetricBatchResponse resp;
  ASSERT_TRUE(stub->RecordMetricBatch(Context("tok-erp-publish").get(), batch, &resp).ok());
  EXPECT_EQ(resp.recorded(), 2u);
  EXPECT_EQ(resp.rejected(), 1u);
  EXPECT_EQ(resp.outcomes(1).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(resp.outcomes(1).dead_lettered());
  EXPECT_EQ(resp.outcomes(2).result().aggregate_version(), 2u);
  EXPECT_EQ(DeadLetterReasons(eventlog::DeadLetterTopic(eventlog::InboundMetricsTopic(prefix))),
            std::vector<std::string>{
                "INVALID_ARGUMENT: metric.amount.currency: must be an ISO-4217 code like EUR"});

  v1::RecordMetricBatchRequest too_big;
  for (std::size_t i = 0; i <= services::kMaxMetricBatch; ++i) too_big.add_items();
  auto s = stub->RecordMetricBatch(Context("tok-erp-publish").get(), too_big, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("items: at most 1000"), std::string::npos);
}

TEST(Metrics, AStreamAnswersEveryItemInOrder) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  auto stub = metrics.Stub();
  auto ctx = Context("tok-erp-publish");
  auto stream = stub->StreamMetrics(ctx.get());
  for (int i = 0; i < 4; ++i) {
    v1::StreamMetricsRequest req;
    req.mutable_metadata()->set_client_request_id("s-" + std::to_string(i));
    *req.mutable_metric() =
        Revenue(i == 2 ? "r0" : "r" + std::to_string(i), 100);  // 2 duplicates 0
    ASSERT_TRUE(stream->Write(req));
  }
  stream->WritesDone();
  std::vector<int> codes;
  v1::StreamMetricsResponse resp;
  while (stream->Read(&resp)) codes.push_back(resp.outcome().code());
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(codes, (std::vector<int>{0, 0, grpc::StatusCode::ALREADY_EXISTS, 0}));
}

TEST(Metrics, TheInboundTopicIsIngestedAndRejectsGoToTheDeadLetterTopic) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/true);
  auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix + "erp");
  ASSERT_TRUE(producer.ok());
  const std::string key = "emea-kam:acme";
  auto record = [&](v1::InboundMetric m) { return eventlog::Record{key, m.SerializeAsString()}; };
  v1::InboundMetric good;
  good.set_publisher("erp");
  *good.mutable_metric() = Revenue("inv-1", 5000);
  v1::InboundMetric bad = good;
  bad.mutable_metric()->set_kind(v1::METRIC_KIND_CONTRIBUTION);
  bad.mutable_metric()->set_source_record_id("inv-2");
  std::vector<eventlog::Record> records = {record(good),
                                           record(bad),
                                           {key, "not a protobuf \xff"},
                                           record(good) /* a replay: harmless */};
  ASSERT_TRUE((*producer)
                  ->Append(metrics.ingester().topic(), eventlog::PartitionFor(key, 3), records)
                  .ok());
  for (int i = 0;
       i < 200 &&
       metrics.ingester().stats().recorded + metrics.ingester().stats().dead_lettered < 4;
       ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  const auto stats = metrics.ingester().stats();
  EXPECT_EQ(stats.recorded, 2u);  // the record and its replay (deduplicated)
  EXPECT_EQ(stats.dead_lettered, 2u);
  const auto reasons =
      DeadLetterReasons(eventlog::DeadLetterTopic(eventlog::InboundMetricsTopic(prefix)));
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_NE(reasons[0].find("rule metric.derived_not_recordable"), std::string::npos) << reasons[0];
  EXPECT_EQ(reasons[1], "INVALID_ARGUMENT: value: is not a serialised kam.v1.InboundMetric");
  const auto events = EventsOf(metrics.service().topic(), key);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor(), "publisher:erp");
  EXPECT_EQ(events[0].client_request_id(), "erp/inv-1");
}

// A publisher token records metrics only for the programmes it is a publisher (or a
// commanding member) of, as the programme topic says at the time: a grant made just before
// is honoured, a programme that does not exist, another programme, a board observer and an
// ended membership are refused naming the rule, and so is a period that has not ended.
TEST(Metrics, OnlyThePublishersAndMembersOfAProgrammeRecordItsMetrics) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  auto stub = metrics.Stub();
  auto record = [&](const std::string& token, v1::MetricRecorded m) {
    v1::RecordMetricRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    *req.mutable_metric() = std::move(m);
    v1::RecordMetricResponse resp;
    const grpc::Status s = stub->RecordMetric(Context(token).get(), req, &resp);
    return s.ok() ? std::string("OK") : s.error_message();
  };
  EXPECT_EQ(record("tok-erp-publish", Revenue("r1", 100)),
            "metric.programme_id: programme 'emea-kam' is not chartered (rule "
            "programme.must_exist)");
  // Chartered, the ERP registered, and its first metric at once: the service waits for the
  // programme topic rather than refusing a grant it has not read yet.
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  EXPECT_EQ(record("tok-erp-publish", Revenue("r1", 100)), "OK");
  auto elsewhere = Revenue("r2", 100);
  elsewhere.set_programme_id("apac-kam");
  EXPECT_EQ(record("tok-erp-publish", elsewhere),
            "metric.programme_id: programme 'apac-kam' is not chartered (rule "
            "programme.must_exist)");
  // A batch naming programme after programme the caller is no member of is refused item by
  // item without a wait for each (200 waits of 1 s would outlast the call's deadline).
  v1::RecordMetricBatchRequest strangers;
  for (int i = 0; i < 200; ++i) {
    auto* item = strangers.add_items();
    item->mutable_metadata()->set_client_request_id(base::NewEventId());
    *item->mutable_metric() = Revenue("s" + std::to_string(i), 100);
    item->mutable_metric()->set_programme_id("elsewhere-" + std::to_string(i));
  }
  v1::RecordMetricBatchResponse refused;
  auto quick = Context("tok-erp-publish");
  quick->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const grpc::Status batch = stub->RecordMetricBatch(quick.get(), strangers, &refused);
  ASSERT_TRUE(batch.ok()) << batch.error_message();
  EXPECT_EQ(refused.rejected(), 200u);
  // The platform admin is a member of no programme: it fabricates no revenue.
  EXPECT_EQ(record("tok-admin-000", Revenue("r3", 100)),
            "rule membership.required: admin@supplier.example may not RecordMetric in programme "
            "'emea-kam': it is not the principal of a registered person of that programme");
  auto future = Revenue("r4", 100);
  future.set_period_start("2099-01-01");
  future.set_period_end("2099-12-31");
  EXPECT_EQ(record("tok-erp-publish", future).substr(0, 58),
            "rule metric.period: metric.period_end 2099-12-31 is after ");
  // The ERP's membership ends (a steering-board member approves): from then on its metrics
  // are refused.
  ASSERT_TRUE(testing::RegisterMember(*commands.Stub(), "emea-kam", "ana", "ana@supplier.example",
                                      v1::PERSON_FUNCTION_STEERING_BOARD)
                  .ok());
  v1::ChangeMembershipRequest end;
  end.mutable_metadata()->set_client_request_id(base::NewEventId());
  end.set_programme_id("emea-kam");
  end.set_person_id("erp");
  end.set_end(true);
  end.set_reason("replaced by the new ERP");
  ASSERT_TRUE(
      commands.Stub()->ChangeMembership(Context("tok-ana-champion").get(), end, Sink{}).ok());
  std::string after_end;
  for (int i = 0; i < 100; ++i) {  // the follower reads the change within milliseconds
    after_end = record("tok-erp-publish", Revenue("r5-" + std::to_string(i), 100));
    if (after_end != "OK") break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(after_end,
            "rule membership.required: erp@supplier.example may not RecordMetric in programme "
            "'emea-kam': it is not the principal of a registered person of that programme");
}

}  // namespace
}  // namespace kam
