// End to end over real gRPC against the real broker: the programme command service
// writes to Kafka, the history projection folds into RocksDB and serves the query.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "base/ids.h"
#include "server/status.h"
#include "support/kafka_broker.h"
#include "support/servers.h"

namespace kam {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One running platform: the command service and the history projection, each behind
// its own gRPC server on an ephemeral port, sharing one topic namespace.
class Platform {
 public:
  Platform(const eventlog::KafkaOptions& kafka, std::string prefix, std::string data_dir,
           milliseconds append_timeout = milliseconds(10000))
      : kafka_(kafka),
        prefix_(std::move(prefix)),
        data_dir_(std::move(data_dir)),
        append_timeout_(append_timeout) {
    StartCommands();
    queries_ = std::make_unique<testing::HistoryServer>(kafka_, prefix_, data_dir_);
    query_stub_ = queries_->Stub();
  }

  void StartCommands() {
    commands_ = std::make_unique<testing::CommandServer>(kafka_, prefix_, append_timeout_);
    command_stub_ = commands_->Stub();
  }
  void StopCommands() {
    command_stub_.reset();
    commands_.reset();
  }

  grpc::Status Charter(const std::string& programme, const std::string& token,
                       v1::CommandResult* out = nullptr) {
    v1::CharterProgrammeRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    req.set_programme_id(programme);
    req.set_name("EMEA key accounts");
    req.set_rationale("Grow profitable strategic customers");
    v1::CharterProgrammeResponse resp;
    auto s = command_stub_->CharterProgramme(testing::Context(token).get(), req, &resp);
    if (out != nullptr) *out = resp.result();
    if (!s.ok()) return s;
    // kim nominates and bob reads: members of the programme (versions 2 and 3).
    auto members = testing::RegisterKimAndBob(*command_stub_, programme);
    if (!members.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, members.status().ToString());
    return s;
  }

  grpc::Status Nominate(v1::NominateAccountRequest req, const std::string& token,
                        v1::CommandResult* out = nullptr) {
    v1::NominateAccountResponse resp;
    auto s = command_stub_->NominateAccount(testing::Context(token).get(), req, &resp);
    if (out != nullptr) *out = resp.result();
    return s;
  }

  grpc::Status History(const std::string& programme, const std::string& account,
                       const v1::LogPosition* after, v1::GetAccountHistoryResponse* out,
                       uint32_t wait_ms = 20000) {
    v1::GetAccountHistoryRequest req;
    req.set_programme_id(programme);
    req.set_account_id(account);
    if (after != nullptr) *req.mutable_consistency()->add_at_least() = *after;
    req.mutable_consistency()->set_wait_timeout_ms(wait_ms);
    return query_stub_->GetAccountHistory(testing::Context("tok-bob-board").get(), req, out);
  }

  uint64_t folded() const { return queries_->folded(); }

 private:
  eventlog::KafkaOptions kafka_;
  std::string prefix_;
  std::string data_dir_;
  milliseconds append_timeout_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> command_stub_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<v1::HistoryQueryService::Stub> query_stub_;
};

v1::NominateAccountRequest Nomination(const std::string& account,
                                      std::string request_id = base::NewEventId()) {
  v1::NominateAccountRequest req;
  req.mutable_metadata()->set_client_request_id(std::move(request_id));
  req.set_programme_id("emea-kam");
  req.set_account_id(account);
  req.set_account_name("ACME Industries");
  req.set_rationale("Top-5 by contribution, multi-site");
  return req;
}

class ProgrammeE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = std::filesystem::temp_directory_path() / ("kam-e2e-" + prefix_);
    std::filesystem::remove_all(dir_);
    platform_ = std::make_unique<Platform>(testing::SharedKafka(), prefix_, dir_);
    ASSERT_TRUE(platform_->Charter("emea-kam", "tok-admin-000").ok());
  }
  void TearDown() override {
    platform_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string prefix_;
  std::string dir_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(ProgrammeE2E, NominatesOverGrpcAndReadsTheHistoryBack) {
  v1::CommandResult result;
  ASSERT_TRUE(platform_->Nominate(Nomination("acme"), "tok-kim-kam", &result).ok());
  EXPECT_EQ(result.aggregate_id(), "emea-kam");
  EXPECT_EQ(result.aggregate_version(), 4u);  // charter, kim, bob, then this nomination
  EXPECT_EQ(result.position().topic(), prefix_ + "kam.programme.v1");
  EXPECT_FALSE(result.deduplicated());

  v1::GetAccountHistoryResponse history;
  auto s = platform_->History("emea-kam", "acme", &result.position(), &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(history.entries_size(), 1);
  const auto& env = history.entries(0).envelope();
  EXPECT_EQ(env.event().account_nominated().account_id(), "acme");
  EXPECT_EQ(env.event().account_nominated().nominated_by(), "kim@supplier.example");
  EXPECT_EQ(env.actor(), "kim@supplier.example");
  EXPECT_EQ(env.aggregate_version(), 4u);
  EXPECT_EQ(env.previous_hash().size(), 32u);  // chained to the event before
  EXPECT_EQ(env.event_id(), result.event_ids(0));
  EXPECT_EQ(history.entries(0).position().offset(), result.position().offset());
}

TEST_F(ProgrammeE2E, BadInputIsRejectedNamingTheFieldOrRuleAndWritesNothing) {
  struct Case {
    std::string name;
    v1::NominateAccountRequest req;
    std::string token;
    grpc::StatusCode code;
    std::string mentions;
  };
  std::vector<Case> cases;
  cases.push_back({"empty account id", Nomination(""), "tok-kim-kam",
                   grpc::StatusCode::INVALID_ARGUMENT, "account_id: is required"});
  cases.push_back({"malformed account id", Nomination("ACME Corp"), "tok-kim-kam",
                   grpc::StatusCode::INVALID_ARGUMENT, "account_id: must be lower-case"});
  auto no_name = Nomination("acme");
  no_name.clear_account_name();
  cases.push_back({"missing name", no_name, "tok-kim-kam", grpc::StatusCode::INVALID_ARGUMENT,
                   "account_name: is required"});
  auto unknown = Nomination("acme");
  unknown.set_programme_id("apac-kam");
  cases.push_back({"unknown programme", unknown, "tok-kim-kam", grpc::StatusCode::INVALID_ARGUMENT,
                   "programme_id: programme 'apac-kam' is not chartered"});
  auto no_request_id = Nomination("acme");
  no_request_id.mutable_metadata()->clear_client_request_id();
  cases.push_back({"missing request id", no_request_id, "tok-kim-kam",
                   grpc::StatusCode::INVALID_ARGUMENT, "metadata.client_request_id: is required"});
  cases.push_back(
      {"no token", Nomination("acme"), "", grpc::StatusCode::UNAUTHENTICATED, "authorization"});
  cases.push_back({"unknown token", Nomination("acme"), "tok-nobody-123",
                   grpc::StatusCode::UNAUTHENTICATED, "unknown bearer token"});
  cases.push_back({"board is read-only", Nomination("acme"), "tok-bob-board",
                   grpc::StatusCode::PERMISSION_DENIED, "may not call NominateAccount"});
  auto stale = Nomination("acme");
  stale.mutable_metadata()->set_expected_version(7);
  cases.push_back({"stale expected version", stale, "tok-kim-kam", grpc::StatusCode::ABORTED,
                   "is at version 3, not 7"});
  cases.push_back({"not a member of the programme", Nomination("acme"), "tok-zoe-kam",
                   grpc::StatusCode::PERMISSION_DENIED,
                   "rule membership.required: zoe@supplier.example may not NominateAccount in "
                   "programme 'emea-kam'"});
  for (const auto& c : cases) {
    auto s = platform_->Nominate(c.req, c.token);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.mentions), std::string::npos)
        << c.name << ": " << s.error_message();
  }
  // Nothing was written: the programme is still at version 3.
  auto ok = Nomination("acme");
  ok.mutable_metadata()->set_expected_version(3);
  v1::CommandResult result;
  ASSERT_TRUE(platform_->Nominate(ok, "tok-kim-kam", &result).ok());
  EXPECT_EQ(result.aggregate_version(), 4u);

  auto dup = platform_->Nominate(Nomination("acme"), "tok-kim-kam");
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(dup.error_message().find("rule nomination.unique"), std::string::npos)
      << dup.error_message();
  // The rule and the field also travel as data, for clients that decide by them.
  EXPECT_EQ(server::DetailOf(dup).rule(), "nomination.unique");
  EXPECT_EQ(server::DetailOf(dup).field(), "");
  EXPECT_EQ(server::DetailOf(platform_->Nominate(Nomination(""), "tok-kim-kam")).field(),
            "account_id");

  v1::GetAccountHistoryResponse history;
  ASSERT_TRUE(platform_->History("emea-kam", "acme", &result.position(), &history).ok());
  EXPECT_EQ(history.entries_size(), 1);
}

TEST_F(ProgrammeE2E, ARetryReturnsTheOriginalResultAlsoAfterARestart) {
  const auto req = Nomination("acme", "retry-me-1");
  v1::CommandResult first;
  ASSERT_TRUE(platform_->Nominate(req, "tok-kim-kam", &first).ok());
  v1::CommandResult again;
  ASSERT_TRUE(platform_->Nominate(req, "tok-kim-kam", &again).ok());
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.position().offset(), first.position().offset());

  platform_->StopCommands();
  platform_->StartCommands();  // rebuilds from the log
  v1::CommandResult after_restart;
  ASSERT_TRUE(platform_->Nominate(req, "tok-kim-kam", &after_restart).ok());
  EXPECT_TRUE(after_restart.deduplicated());
  EXPECT_EQ(after_restart.event_ids(0), first.event_ids(0));
  EXPECT_EQ(after_restart.aggregate_version(), 4u);
  EXPECT_EQ(after_restart.position().offset(), first.position().offset());

  v1::GetAccountHistoryResponse history;
  ASSERT_TRUE(platform_->History("emea-kam", "acme", &first.position(), &history).ok());
  EXPECT_EQ(history.entries_size(), 1);

  // The same request id with a different command is refused, not answered with acme's
  // result - also after the restart, when the writer knows it only from the log.
  auto other = Nomination("globex", "retry-me-1");
  v1::CommandResult refused;
  const grpc::Status reused = platform_->Nominate(other, "tok-kim-kam", &refused);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << reused.error_message();
  EXPECT_NE(reused.error_message().find("metadata.client_request_id: 'retry-me-1' was already "
                                        "used for a different command, or by another caller, "
                                        "on programme 'emea-kam' (it wrote version 4)"),
            std::string::npos)
      << reused.error_message();
  // The same request from another caller (zoe, no member of the programme) is not answered
  // with kim's result: a result is told only to the caller who made the command.
  v1::CommandResult replayed;
  const grpc::Status stolen = platform_->Nominate(req, "tok-zoe-kam", &replayed);
  EXPECT_EQ(stolen.error_code(), grpc::StatusCode::ALREADY_EXISTS) << stolen.error_message();
  EXPECT_TRUE(replayed.event_ids().empty());
  auto changed = req;  // the same account, another rationale: another command too
  changed.set_rationale("A different reason");
  EXPECT_EQ(platform_->Nominate(changed, "tok-kim-kam", &refused).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  auto timed = req;  // only the metadata differs (here: the business time): the same command
  timed.mutable_metadata()->mutable_occurred_at()->set_seconds(1700000000);
  v1::CommandResult same;
  ASSERT_TRUE(platform_->Nominate(timed, "tok-kim-kam", &same).ok());
  EXPECT_TRUE(same.deduplicated());
}

TEST_F(ProgrammeE2E, AQueryThatCannotReachItsPositionFailsInsteadOfAnsweringStale) {
  v1::CommandResult result;
  ASSERT_TRUE(platform_->Nominate(Nomination("acme"), "tok-kim-kam", &result).ok());
  v1::LogPosition future = result.position();
  future.set_offset(future.offset() + 1000);
  v1::GetAccountHistoryResponse history;
  auto s = platform_->History("emea-kam", "acme", &future, &history, /*wait_ms=*/300);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_NE(s.error_message().find("has not reached"), std::string::npos) << s.error_message();
}

// A broker outage: the command fails with UNAVAILABLE, nothing of it is written, and the
// service recovers when the broker returns. Uses a private broker this test may stop.
TEST(ProgrammeOutage, ACommandDuringAnOutageIsUnavailableAndWritesNothing) {
  testing::PrivateBroker broker;
  broker.Start();
  eventlog::KafkaOptions kafka;
  kafka.brokers = broker.brokers();
  const std::string dir = std::filesystem::temp_directory_path() / "kam-e2e-outage";
  std::filesystem::remove_all(dir);
  {
    Platform platform(kafka, "outage-", dir, milliseconds(3000));
    ASSERT_TRUE(platform.Charter("emea-kam", "tok-admin-000").ok());

    broker.Stop();
    // Several commands at once: they queue behind each other and fail as groups.
    std::vector<v1::NominateAccountRequest> lost;
    for (int i = 0; i < 5; ++i) {
      lost.push_back(Nomination("lost-" + std::to_string(i), "during-outage-" + std::to_string(i)));
    }
    std::vector<std::thread> callers;
    std::vector<grpc::Status> failed(lost.size());
    for (std::size_t i = 0; i < lost.size(); ++i) {
      callers.emplace_back([&, i] { failed[i] = platform.Nominate(lost[i], "tok-kim-kam"); });
    }
    for (auto& t : callers) t.join();
    for (const auto& s : failed) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    }

    broker.Start();
    v1::CommandResult later;
    grpc::Status after;
    // Until the writer's cluster watch sees the broker again (a few hundred ms) a try is
    // refused at once, so the client backs off between tries, as kamctl does.
    for (int i = 0; i < 40; ++i) {
      after = platform.Nominate(Nomination("globex"), "tok-kim-kam", &later);
      if (after.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(milliseconds(250));
    }
    ASSERT_TRUE(after.ok()) << after.error_message();
    EXPECT_EQ(later.aggregate_version(), 4u);  // the failed command left no event behind

    v1::GetAccountHistoryResponse history;
    ASSERT_TRUE(platform.History("emea-kam", "globex", &later.position(), &history).ok());
    auto missing = platform.History("emea-kam", "lost-0", nullptr, &history);
    EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
    EXPECT_EQ(platform.folded(), 4u);  // the charter, kim, bob and globex, nothing else

    // The clients' retries of the failed commands now succeed, each once.
    std::set<uint64_t> versions;
    for (int round = 0; round < 2; ++round) {
      for (const auto& req : lost) {
        v1::CommandResult retried;
        ASSERT_TRUE(platform.Nominate(req, "tok-kim-kam", &retried).ok());
        EXPECT_EQ(retried.deduplicated(), round == 1);
        versions.insert(retried.aggregate_version());
      }
    }
    EXPECT_EQ(versions, (std::set<uint64_t>{5, 6, 7, 8, 9}));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kam
