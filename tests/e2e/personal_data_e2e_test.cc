// Personal data end to end (issue 14): a person registered and used across the seven steps
// (sponsor, manager, visits, nominations, an admission decision, reviews) is erased, and
// every read path - each query, the board's JSON, the change stream, an independent Kafka
// reader - shows their data unreadable while the history still verifies, the register
// explains their decision by role, and a clean rebuild, a restored read-model backup and a
// restored key backup all show the same.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/signing.h"
#include "eventlog/topics.h"
#include "gateway/board_server.h"
#include "personal/keys.h"
#include "support/kafka_broker.h"
#include "support/keys.h"
#include "support/members.h"
#include "support/metric_events.h"
#include "support/run_binary.h"
#include "support/servers.h"
#include "unit/scenario.h"

namespace kam {
namespace {

using json = nlohmann::json;
using testing::Context;

// What of eve may be read nowhere after her erasure (and nowhere in the log, ever).
const std::vector<std::string> kEvesData = {
    "Eve Erasmus",     "eve@supplier.example", "eve.erasmus@sso.example",
    "Eve met the CFO", "Eve backs Globex",     "Eve reviewed ACME"};
constexpr char kErasedEve[] = "erased person #4";  // ana, sam, kim, eve

// The places in `text` where any of eve's data occurs.
std::vector<std::string> EveIn(const std::string& text) {
  std::vector<std::string> found;
  for (const std::string& s : kEvesData) {
    if (text.find(s) != std::string::npos) found.push_back(s);
  }
  return found;
}

// A sealed value opened the way docs/topics.md ("Personal data") tells an outside consumer
// to: written here from the documentation, not with the platform's code.
std::string OpenAsDocumented(const std::string& token, const std::string& key,
                             const std::string& field) {
  const std::string prefix = "kam-pd1:";
  if (token.rfind(prefix, 0) != 0) return "";
  const std::string rest = token.substr(prefix.size());
  const std::string key_id = rest.substr(0, rest.find(':'));
  std::string sealed;
  if (!absl::Base64Unescape(rest.substr(rest.find(':') + 1), &sealed) || sealed.size() < 28) {
    return "";
  }
  const std::string aad = key_id + std::string(1, '\0') + field;
  const std::size_t n = sealed.size() - 28;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, u(key), u(sealed)) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, u(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                              u(sealed) + 12, static_cast<int>(n)) == 1;
  std::string tag = sealed.substr(12 + n);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1 &&
       EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? out : "";
}

// Today's date (UTC), for the dates of trainings and visits.
std::string Today() {
  return absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
}

class PersonalData : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = (std::filesystem::temp_directory_path() / ("kam-pd-" + prefix_)).string();
    std::filesystem::create_directories(dir_);
    auto writer_key = testing::NewSigningKey(dir_, "writer");
    auto integrity = eventlog::LoadIntegrity(
        writer_key.private_pem, testing::KeyringOf(dir_ + "/keyring.pem", {writer_key}));
    ASSERT_TRUE(integrity.ok()) << integrity.status();
    integrity_ = *integrity;
    // The write side and the read side are separate key-store clients of one directory, as
    // separate processes are.
    commands_ = std::make_unique<testing::CommandServer>(
        testing::SharedKafka(), prefix_, std::chrono::milliseconds(10000), std::vector<int32_t>{},
        integrity_, std::nullopt, Keys());
    queries_ = StartReadSide(dir_ + "/read");
    stub_ = commands_->Stub();
  }
  void TearDown() override {
    board_.reset();
    queries_.reset();
    commands_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<personal::KeyStore> Keys(const std::string& dir = "") {
    auto keys = personal::OpenFileKeyStore(dir.empty() ? dir_ + "/keys" : dir);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return std::shared_ptr<personal::KeyStore>(std::move(*keys));
  }
  std::unique_ptr<testing::HistoryServer> StartReadSide(const std::string& data_dir,
                                                        const std::string& key_dir = "") {
    return std::make_unique<testing::HistoryServer>(testing::SharedKafka(), prefix_, data_dir,
                                                    integrity_.keyring, 32, Keys(key_dir));
  }

  // Sends a command as `token` (a fresh request id); fails the test if it is refused.
  template <typename Request, typename Response>
  v1::CommandResult Do(grpc::Status (v1::ProgrammeCommandService::Stub::*method)(
                           grpc::ClientContext*, const Request&, Response*),
                       Request request, const std::string& token) {
    request.mutable_metadata()->set_client_request_id(base::NewEventId());
    Response response;
    const grpc::Status s = ((*stub_).*method)(Context(token).get(), request, &response);
    EXPECT_TRUE(s.ok()) << Request::descriptor()->name() << " as " << token << ": "
                        << s.error_message();
    last_ = response.result().position();
    return response.result();
  }
  template <typename Request, typename Response>
  grpc::Status Try(grpc::Status (v1::ProgrammeCommandService::Stub::*method)(grpc::ClientContext*,
                                                                             const Request&,
                                                                             Response*),
                   Request request, const std::string& token) {
    request.mutable_metadata()->set_client_request_id(base::NewEventId());
    Response response;
    return ((*stub_).*method)(Context(token).get(), request, &response);
  }
  void WaitFolded(testing::HistoryServer& q) {
    ASSERT_TRUE(q.runtime().WaitFor({&last_, 1}, std::chrono::seconds(30)).ok());
  }

  // The seven steps with eve in them: executive sponsor (step 2), trained key account
  // manager (steps 1 and 5), steering-board member who admits an account and nominates
  // another (steps 3 and 4), and a reviewer (step 7).
  void SevenSteps() {
    using P = v1::ProgrammeCommandService::Stub;
    Do(&P::CharterProgramme, testing::Charter(), "tok-admin-000");
    auto ana = testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true);
    ana.set_name("Ana Champion");
    Do(&P::RegisterPerson, ana, "tok-admin-000");
    Do(&P::RegisterPerson,
       testing::Person("sam", testing::kSam,
                       {v1::PERSON_FUNCTION_STEERING_BOARD, v1::PERSON_FUNCTION_EXECUTIVE}),
       "tok-admin-000");
    Do(&P::RegisterPerson,
       testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}),
       "tok-admin-000");
    auto eve = testing::Person("eve", testing::kEve,
                               {v1::PERSON_FUNCTION_EXECUTIVE, v1::PERSON_FUNCTION_STEERING_BOARD,
                                v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER});
    eve.set_name("Eve Erasmus");
    eve.add_other_principals("eve.erasmus@sso.example");
    Do(&P::RegisterPerson, eve, "tok-admin-000");
    ASSERT_TRUE(testing::RegisterBoardObserver(*stub_, "emea-kam").ok());
    ASSERT_TRUE(testing::RegisterPublisher(*stub_, "emea-kam").ok());  // erp, a person too
    Do(&P::AppointChampion, testing::AppointChampion("ana"), "tok-admin-000");
    for (v1::Skill skill : {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                            v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE}) {
      auto t = testing::WithProgramme(v1::RecordManagerTrainingRequest{});
      t.set_person_id("eve");
      t.set_skill(skill);
      t.set_course("KAM academy");
      t.set_completed_on(Today());
      Do(&P::RecordManagerTraining, t, "tok-ana-champion");
    }
    Do(&P::PublishSelectionCriteria, testing::Criteria(), "tok-ana-champion");
    // kim nominates acme, eve admits it; eve nominates globex, ana admits it.
    Do(&P::NominateAccount, testing::Nominate("acme"), "tok-kim-kam");
    Do(&P::AssessAccount, testing::Assess("acme", 5, 5), "tok-kim-kam");
    Do(&P::AdmitAccount, testing::Admit("acme"), "tok-eve-sponsor");
    auto globex = testing::Nominate("globex");
    globex.set_account_name("Globex");
    globex.set_rationale("Eve backs Globex: strategic fit");
    Do(&P::NominateAccount, globex, "tok-eve-sponsor");
    Do(&P::AssessAccount, testing::Assess("globex", 5, 4), "tok-kim-kam");
    Do(&P::AdmitAccount, testing::Admit("globex"), "tok-ana-champion");
    // eve sponsors and manages acme, visits it and reviews it.
    auto sponsor = testing::ForAccount<v1::AssignSponsorRequest>("acme");
    sponsor.set_person_id("eve");
    Do(&P::AssignSponsor, sponsor, "tok-ana-champion");
    auto manager = testing::ForAccount<v1::AssignManagerRequest>("acme");
    manager.set_person_id("eve");
    Do(&P::AssignManager, manager, "tok-ana-champion");
    auto visit = testing::ForAccount<v1::LogSponsorVisitRequest>("acme");
    visit.set_visit_date(Today());
    visit.set_notes("Eve met the CFO about the 2027 contract");
    Do(&P::LogSponsorVisit, visit, "tok-eve-sponsor");
    auto review = testing::ForAccount<v1::ReviewAccountRequest>("acme");
    review.set_outcome(v1::REVIEW_OUTCOME_RETAIN);
    review.add_metrics_considered(v1::METRIC_KIND_GROSS_MARGIN);
    review.set_notes("Eve reviewed ACME: retain");
    Do(&P::ReviewAccount, review, "tok-eve-sponsor");
    // She leaves: released from acme, her membership ended.
    auto release = testing::ForAccount<v1::ReleaseSponsorRequest>("acme");
    release.set_reason("leaves the company");
    Do(&P::ReleaseSponsor, release, "tok-ana-champion");
    auto release_manager = testing::ForAccount<v1::ReleaseManagerRequest>("acme");
    release_manager.set_reason("leaves the company");
    Do(&P::ReleaseManager, release_manager, "tok-ana-champion");
  }

  v1::ErasePersonalDataRequest EraseEve() {
    auto erase = testing::WithProgramme(v1::ErasePersonalDataRequest{});
    erase.set_person_id("eve");
    erase.set_reason("DSR-2026-114");
    return erase;
  }
  void EndEve() {
    auto end = testing::WithProgramme(v1::ChangeMembershipRequest{});
    end.set_person_id("eve");
    end.set_reason("left the company");
    end.set_end(true);
    Do(&v1::ProgrammeCommandService::Stub::ChangeMembership, end, "tok-ana-champion");
  }

  // Every read of the programme a board member makes, as `token`, in one text.
  std::string EveryQuery(testing::HistoryServer& q, const std::string& token) {
    std::string all;
    auto history = q.Stub();
    auto governance = q.GovernanceStub();
    v1::GetProgrammeRequest programme;
    programme.set_programme_id("emea-kam");
    v1::GetProgrammeResponse p;
    EXPECT_TRUE(governance->GetProgramme(Context(token).get(), programme, &p).ok());
    all += p.DebugString();
    // As of a moment before the erasure, on both axes.
    for (v1::TimeAxis axis : {v1::TIME_AXIS_RECORDED, v1::TIME_AXIS_EFFECTIVE}) {
      auto as_of = programme;
      as_of.mutable_as_of()->set_axis(axis);
      *as_of.mutable_as_of()->mutable_time() = before_erasure_;
      v1::GetProgrammeResponse then;
      const grpc::Status s = governance->GetProgramme(Context(token).get(), as_of, &then);
      EXPECT_TRUE(s.ok()) << s.error_message();
      all += then.DebugString();
    }
    v1::GetScorecardRequest scorecard;
    scorecard.set_programme_id("emea-kam");
    v1::GetScorecardResponse sc;
    EXPECT_TRUE(governance->GetScorecard(Context(token).get(), scorecard, &sc).ok());
    all += sc.DebugString();
    v1::GetRegisterRequest reg;
    reg.set_programme_id("emea-kam");
    v1::GetRegisterResponse r;
    EXPECT_TRUE(governance->GetRegister(Context(token).get(), reg, &r).ok());
    all += r.DebugString();
    v1::GetHistoryRequest h;
    h.set_programme_id("emea-kam");
    h.set_page_size(1000);
    v1::GetHistoryResponse hr;
    EXPECT_TRUE(history->GetHistory(Context(token).get(), h, &hr).ok());
    all += hr.DebugString();
    h.set_person_id("eve");
    EXPECT_TRUE(history->GetHistory(Context(token).get(), h, &hr).ok());
    all += hr.DebugString();
    v1::GetAccountHistoryRequest a;
    a.set_programme_id("emea-kam");
    a.set_account_id("acme");
    v1::GetAccountHistoryResponse ar;
    EXPECT_TRUE(history->GetAccountHistory(Context(token).get(), a, &ar).ok());
    all += ar.DebugString();
    all += Stream(q, token);
    return all;
  }

  // The change stream of the programme from its first event, until it is quiet.
  std::string Stream(testing::HistoryServer& q, const std::string& token) {
    auto ctx = Context(token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(2500));
    v1::SubscribeRequest req;
    req.set_aggregate_id("emea-kam");
    auto stream = q.Stub()->Subscribe(ctx.get(), req);
    std::string all;
    v1::SubscribeResponse r;
    int n = 0;
    while (stream->Read(&r)) {
      all += r.DebugString();
      ++n;
    }
    stream->Finish();
    EXPECT_GT(n, 20);
    return all;
  }

  // The board's JSON through the gateway, logged in as bob (board observer).
  std::string BoardJson(testing::HistoryServer& q) {
    gateway::BoardOptions options;
    options.listen = "127.0.0.1:0";
    options.queries = "127.0.0.1:" + std::to_string(q.port());
    auto board = gateway::BoardServer::Create(options);
    EXPECT_TRUE(board.ok()) << board.status();
    board_ = std::move(*board);
    EXPECT_TRUE(board_->Start().ok());
    httplib::Client c("127.0.0.1", board_->port());
    c.set_read_timeout(std::chrono::seconds(20));
    const std::string origin = "http://127.0.0.1:" + std::to_string(board_->port());
    auto login = c.Post("/api/session", {{"Origin", origin}},
                        json{{"token", "tok-bob-board"}}.dump(), "application/json");
    EXPECT_TRUE(login && login->status == 200);
    if (!login) return "";
    const std::string set = login->get_header_value("Set-Cookie");
    const httplib::Headers cookie = {{"Cookie", set.substr(0, set.find(';'))}};
    std::string all;
    for (const std::string path :
         {"/api/programmes/emea-kam", "/api/programmes/emea-kam/scorecard",
          "/api/programmes/emea-kam/register", "/api/programmes/emea-kam/history?pageSize=1000"}) {
      auto r = c.Get(path, cookie);
      EXPECT_TRUE(r && r->status == 200) << path << ": " << (r ? r->body : "no answer");
      if (r) all += r->body;
    }
    board_.reset();
    return all;
  }

  // kamctl (the built binary) against the servers, as the holder of `token`.
  testing::RunResult Kamctl(const std::string& token, const std::vector<std::string>& args) {
    return testing::RunBinary(std::string(KAM_BINARY_DIR) + "/kamctl", args,
                              {{"KAM_COMMANDS", "127.0.0.1:" + std::to_string(commands_->port())},
                               {"KAM_QUERIES", "127.0.0.1:" + std::to_string(queries_->port())},
                               {"KAM_TOKEN", token},
                               {"HOME", dir_},
                               {"TZ", "UTC"},
                               {"NO_COLOR", "1"}});
  }

  // What the board sees of the programme apart from personal data: the programme view and
  // the scorecard with every personal value blanked.
  std::string AllButPersonalData(const std::string& token) {
    v1::GetProgrammeRequest req;
    req.set_programme_id("emea-kam");
    v1::GetProgrammeResponse p;
    EXPECT_TRUE(queries_->GovernanceStub()->GetProgramme(Context(token).get(), req, &p).ok());
    p.mutable_programme()->clear_events_folded();
    personal::Withhold(p);
    // An erased person's principals are gone, not replaced: compare without any.
    for (auto& person : *p.mutable_programme()->mutable_people()) {
      person.clear_principal();
      person.clear_other_principals();
    }
    v1::GetScorecardRequest sreq;
    sreq.set_programme_id("emea-kam");
    v1::GetScorecardResponse sc;
    EXPECT_TRUE(queries_->GovernanceStub()->GetScorecard(Context(token).get(), sreq, &sc).ok());
    personal::Withhold(sc);
    return p.DebugString() + sc.DebugString();
  }

  // Every record of the programme topic, read straight from the broker.
  std::vector<std::string> LogRecords() {
    std::vector<std::string> out;
    const std::string topic = eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType);
    EXPECT_TRUE(
        eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
          out.push_back(r.value);
          return absl::OkStatus();
        }).ok());
    return out;
  }

  std::string prefix_, dir_;
  eventlog::Integrity integrity_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> stub_;
  std::unique_ptr<gateway::BoardServer> board_;
  v1::LogPosition last_;
  google::protobuf::Timestamp before_erasure_;
};

TEST_F(PersonalData, AnErasedPersonIsUnreadableEverywhereWhileTheHistoryHoldsAndExplains) {
  using P = v1::ProgrammeCommandService::Stub;
  SevenSteps();
  WaitFolded(*queries_);
  before_erasure_.set_seconds(absl::ToUnixSeconds(absl::Now()) + 1);
  absl::SleepFor(absl::Seconds(2));

  // Before: the log never held eve's data in the clear, a member reads it, the operator
  // does not, and an outside consumer with the personal-data role opens it as documented.
  const std::vector<std::string> before = LogRecords();
  ASSERT_GT(before.size(), 20u);
  for (const std::string& record : before) {
    EXPECT_EQ(EveIn(record), std::vector<std::string>{}) << "a record holds eve's data";
    EXPECT_EQ(record.find("ana@supplier.example"), std::string::npos);
  }
  const std::string as_ana = EveryQuery(*queries_, "tok-ana-champion");
  EXPECT_EQ(EveIn(as_ana).size(), kEvesData.size()) << "a member reads all of it";
  {
    v1::GetProgrammeRequest req;
    req.set_programme_id("emea-kam");
    v1::GetProgrammeResponse admin;
    ASSERT_TRUE(
        queries_->GovernanceStub()->GetProgramme(Context("tok-admin-000").get(), req, &admin).ok());
    EXPECT_EQ(EveIn(admin.DebugString()), std::vector<std::string>{});
    EXPECT_NE(admin.DebugString().find("(withheld)"), std::string::npos);
    v1::GetHistoryRequest h;
    h.set_programme_id("emea-kam");
    h.set_page_size(1000);
    v1::GetHistoryResponse sealed;
    ASSERT_TRUE(queries_->Stub()->GetHistory(Context("tok-admin-000").get(), h, &sealed).ok());
    EXPECT_EQ(EveIn(sealed.DebugString()), std::vector<std::string>{});
    // The outside consumer: the key through the lookup API, the token from the log.
    v1::LookupPersonalDataKeysRequest lookup;
    lookup.set_programme_id("emea-kam");
    lookup.add_person_ids("eve");
    v1::LookupPersonalDataKeysResponse keys;
    ASSERT_TRUE(queries_->Stub()
                    ->LookupPersonalDataKeys(Context("tok-dw-personal").get(), lookup, &keys)
                    .ok());
    ASSERT_EQ(keys.keys_size(), 1);
    ASSERT_EQ(keys.keys(0).key().size(), 32u);
    std::string opened;
    for (const std::string& record : before) {
      auto env = eventlog::Open(record, integrity_.keyring.get());
      if (env.ok() && env->envelope.event().has_person_registered() &&
          env->envelope.event().person_registered().person_id() == "eve") {
        opened = OpenAsDocumented(env->envelope.event().person_registered().name(),
                                  keys.keys(0).key(), "kam.v1.PersonRegistered.name");
      }
    }
    EXPECT_EQ(opened, "Eve Erasmus");
    EXPECT_EQ(queries_->Stub()
                  ->LookupPersonalDataKeys(Context("tok-ana-champion").get(), lookup, &keys)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // A metric recorded by the ERP's person: the metrics service seals its actor too.
  {
    testing::MetricsServer metrics(testing::SharedKafka(), prefix_, /*inbound=*/false, Keys());
    v1::RecordMetricRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    *req.mutable_metric() = testing::Revenue("r-1");
    v1::RecordMetricResponse resp;
    const grpc::Status s =
        metrics.Stub()->RecordMetric(Context("tok-erp-publish").get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    int seen = 0;
    ASSERT_TRUE(eventlog::ReadAll(
                    testing::SharedKafka(),
                    eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType),
                    [&](const eventlog::ConsumedRecord& r) {
                      auto env = eventlog::Open(r.value);
                      EXPECT_TRUE(env.ok());
                      if (env.ok()) {
                        EXPECT_TRUE(env->envelope.actor().starts_with("kam-pd1:emea-kam/erp:"))
                            << env->envelope.actor();
                      }
                      EXPECT_EQ(r.value.find("erp@supplier.example"), std::string::npos);
                      ++seen;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(seen, 1);
  }

  // Backups taken before the erasure: the read model's, and the key store's.
  auto checkpoint = queries_->Checkpoint(dir_ + "/read-backup");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  std::filesystem::copy(dir_ + "/keys", dir_ + "/keys-backup",
                        std::filesystem::copy_options::recursive);

  // The erasure: refused while she is a member, then approved by sam.
  const grpc::Status early = Try(&P::ErasePersonalData, EraseEve(), "tok-sam-board");
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("rule erasure.membership_active"), std::string::npos);
  EndEve();
  WaitFolded(*queries_);
  const std::string unchanged = AllButPersonalData("tok-ana-champion");
  Do(&P::ErasePersonalData, EraseEve(), "tok-sam-board");
  WaitFolded(*queries_);
  auto erased = Keys()->Lookup("emea-kam/eve");
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased->state, personal::KeyLookup::State::kErased);
  EXPECT_EQ(erased->number, 4u);

  // Every query, the change stream and the board's JSON: nothing of eve, her placeholder.
  const std::string after = EveryQuery(*queries_, "tok-ana-champion");
  EXPECT_EQ(EveIn(after), std::vector<std::string>{});
  EXPECT_NE(after.find(kErasedEve), std::string::npos);
  const std::string board = BoardJson(*queries_);
  EXPECT_EQ(EveIn(board), std::vector<std::string>{});
  EXPECT_NE(board.find(kErasedEve), std::string::npos);
  // Others stay readable, and nothing but personal data changed: every account, sponsor,
  // manager, skill, flag and rule reads as before the erasure.
  EXPECT_NE(after.find("Ana Champion"), std::string::npos);
  EXPECT_EQ(AllButPersonalData("tok-ana-champion"), unchanged);
  // The operator's change stream carries the personal fields sealed, as the log holds them.
  const std::string operator_stream = Stream(*queries_, "tok-admin-000");
  EXPECT_EQ(EveIn(operator_stream), std::vector<std::string>{});
  EXPECT_NE(operator_stream.find("kam-pd1:emea-kam/ana:"), std::string::npos);
  // kamctl, as a person meets it: the member's table shows the placeholder; the operator's
  // shows the sealed values by whose they are.
  const auto table = Kamctl("tok-ana-champion", {"events", "emea-kam", "--page-size", "1000"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(EveIn(table.out), std::vector<std::string>{});
  EXPECT_NE(table.out.find(kErasedEve), std::string::npos) << table.out;
  const auto people = Kamctl("tok-ana-champion", {"programme", "emea-kam"});
  EXPECT_EQ(people.exit_code, 0) << people.err;
  EXPECT_EQ(EveIn(people.out), std::vector<std::string>{});
  const auto sealed_table = Kamctl("tok-admin-000", {"events", "emea-kam", "--page-size", "1000"});
  EXPECT_EQ(sealed_table.exit_code, 0) << sealed_table.err;
  EXPECT_NE(sealed_table.out.find("[sealed: emea-kam/"), std::string::npos) << sealed_table.out;
  EXPECT_EQ(sealed_table.out.find("kam-pd1:"), std::string::npos);

  // The register explains eve's decision by her role, and her nomination as hers.
  v1::GetRegisterRequest reg;
  reg.set_programme_id("emea-kam");
  v1::GetRegisterResponse r;
  ASSERT_TRUE(
      queries_->GovernanceStub()->GetRegister(Context("tok-bob-board").get(), reg, &r).ok());
  ASSERT_GE(r.entries_size(), 2);
  EXPECT_EQ(r.entries(0).account_id(), "acme");
  EXPECT_EQ(r.entries(0).decided_by(), kErasedEve);
  EXPECT_EQ(r.entries(0).decided_by_role(), "steering board");
  EXPECT_EQ(r.entries(0).decided_by_person(), "eve");
  EXPECT_EQ(r.entries(1).account_id(), "globex");
  EXPECT_EQ(r.entries(1).nominated_by(), kErasedEve);
  EXPECT_EQ(r.entries(1).nomination_rationale(), kErasedEve);
  EXPECT_EQ(r.entries(1).decided_by(), testing::kAna);
  EXPECT_EQ(r.entries(1).decided_by_role(), "champion");

  // The history verifies: hashes, chain and signatures cover the sealed bytes.
  v1::VerifyHistoryRequest verify;
  verify.set_aggregate_type("programme");
  verify.set_aggregate_id("emea-kam");
  v1::VerifyHistoryResponse verified;
  ASSERT_TRUE(queries_->GovernanceStub()
                  ->VerifyHistory(Context("tok-ana-champion").get(), verify, &verified)
                  .ok());
  EXPECT_TRUE(verified.intact()) << verified.DebugString();
  EXPECT_GT(verified.events_checked(), 20u);

  // The independent reader: the same records as before plus two, the erasure recorded with
  // the person's number and no personal data, and eve's tokens no longer open for anyone.
  const std::vector<std::string> log = LogRecords();
  ASSERT_EQ(log.size(), before.size() + 2);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(log[i], before[i]);
  auto erasure = eventlog::Open(log.back(), integrity_.keyring.get());
  ASSERT_TRUE(erasure.ok());
  ASSERT_TRUE(erasure->authentic());
  EXPECT_EQ(erasure->signature, eventlog::SignatureCheck::kValid);
  const auto& e = erasure->envelope.event().personal_data_erased();
  EXPECT_EQ(e.person_id(), "eve");
  EXPECT_EQ(e.person_number(), 4u);
  EXPECT_EQ(e.approved_by_person(), "sam");
  EXPECT_EQ(EveIn(log.back()), std::vector<std::string>{});
  v1::LookupPersonalDataKeysRequest lookup;
  lookup.set_programme_id("emea-kam");
  lookup.add_person_ids("eve");
  lookup.add_person_ids("ana");
  v1::LookupPersonalDataKeysResponse keys;
  ASSERT_TRUE(queries_->Stub()
                  ->LookupPersonalDataKeys(Context("tok-dw-personal").get(), lookup, &keys)
                  .ok());
  EXPECT_TRUE(keys.keys(0).erased());
  EXPECT_TRUE(keys.keys(0).key().empty());
  EXPECT_EQ(keys.keys(0).placeholder(), kErasedEve);
  EXPECT_EQ(keys.keys(1).key().size(), 32u);

  // A clean rebuild from offset zero answers the same.
  {
    auto rebuilt = StartReadSide(dir_ + "/rebuilt");
    WaitFolded(*rebuilt);
    for (const std::string token : {"tok-ana-champion", "tok-bob-board"}) {
      v1::GetRegisterResponse again;
      ASSERT_TRUE(rebuilt->GovernanceStub()->GetRegister(Context(token).get(), reg, &again).ok());
      EXPECT_EQ(again.SerializeAsString(), r.SerializeAsString());
      v1::GetHistoryRequest h;
      h.set_programme_id("emea-kam");
      h.set_page_size(1000);
      v1::GetHistoryResponse one, two;
      ASSERT_TRUE(queries_->Stub()->GetHistory(Context(token).get(), h, &one).ok());
      ASSERT_TRUE(rebuilt->Stub()->GetHistory(Context(token).get(), h, &two).ok());
      EXPECT_EQ(one.SerializeAsString(), two.SerializeAsString());
      v1::GetProgrammeRequest p;
      p.set_programme_id("emea-kam");
      v1::GetProgrammeResponse p1, p2;
      ASSERT_TRUE(queries_->GovernanceStub()->GetProgramme(Context(token).get(), p, &p1).ok());
      ASSERT_TRUE(rebuilt->GovernanceStub()->GetProgramme(Context(token).get(), p, &p2).ok());
      EXPECT_EQ(p1.programme().people_size(), p2.programme().people_size());
      for (int i = 0; i < p1.programme().people_size(); ++i) {
        EXPECT_EQ(p1.programme().people(i).DebugString(), p2.programme().people(i).DebugString());
      }
    }
  }

  // The read-model backup taken before the erasure, restored after it, with the key store's
  // backup from before restored too: nothing erased shows, and the restored key is shredded
  // again by the first reader of the erasure.
  {
    queries_.reset();
    const std::string restored_keys = dir_ + "/keys-restored";
    std::filesystem::copy(dir_ + "/keys-backup", restored_keys,
                          std::filesystem::copy_options::recursive);
    auto restored = StartReadSide(checkpoint->path, restored_keys);
    WaitFolded(*restored);
    const std::string seen = EveryQuery(*restored, "tok-ana-champion");
    EXPECT_EQ(EveIn(seen), std::vector<std::string>{});
    EXPECT_NE(seen.find(kErasedEve), std::string::npos);
    auto shredded = Keys(restored_keys)->Lookup("emea-kam/eve");
    ASSERT_TRUE(shredded.ok());
    EXPECT_EQ(shredded->state, personal::KeyLookup::State::kErased);
    // The backup's files never held eve's data in the clear.
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir_ + "/read-backup")) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      EXPECT_EQ(EveIn(bytes), std::vector<std::string>{}) << f.path();
    }
  }

  // The writer restarted replays the erasure: eve is erased once, and her principal is free.
  commands_.reset();
  commands_ = std::make_unique<testing::CommandServer>(
      testing::SharedKafka(), prefix_, std::chrono::milliseconds(10000), std::vector<int32_t>{},
      integrity_, std::nullopt, Keys());
  stub_ = commands_->Stub();
  const grpc::Status twice = Try(&P::ErasePersonalData, EraseEve(), "tok-ana-champion");
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(twice.error_message().find("rule erasure.already_erased"), std::string::npos);
  auto successor = testing::Person("eve2", testing::kEve, {v1::PERSON_FUNCTION_SALES});
  Do(&P::RegisterPerson, successor, "tok-ana-champion");
}

}  // namespace
}  // namespace kam
