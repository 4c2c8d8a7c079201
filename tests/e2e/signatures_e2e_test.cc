// Signed events on the real broker: a forger who can write to the topic appends the next
// version of a programme with a correctly recomputed hash (unsigned, or signed with a key of
// their own). The read model does not fold it and VerifyHistory reports it; the writer,
// restarted, quarantines it on replay and the programme keeps working.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/programme.h"
#include "eventlog/checkpoints.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"
#include "eventlog/topics.h"
#include "support/kafka_broker.h"
#include "support/keys.h"
#include "support/run_binary.h"
#include "support/servers.h"
#include "unit/scenario.h"
#include "writer/envelopes.h"

namespace kam {
namespace {

using testing::Context;

class Signatures : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = std::filesystem::temp_directory_path() / ("kam-sig-" + prefix_);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    writer_key_ = testing::NewSigningKey(dir_, "writer");
    mallory_key_ = testing::NewSigningKey(dir_, "mallory");
    auto integrity = eventlog::LoadIntegrity(
        writer_key_.private_pem, testing::KeyringOf(dir_ + "/keyring.pem", {writer_key_}));
    ASSERT_TRUE(integrity.ok()) << integrity.status();
    integrity_ = *integrity;
    StartWriter();
    queries_ = std::make_unique<testing::HistoryServer>(testing::SharedKafka(), prefix_,
                                                        dir_ + "/read", integrity_.keyring);
    gov_ = queries_->GovernanceStub();
  }
  void TearDown() override {
    queries_.reset();
    commands_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartWriter() {
    commands_.reset();
    commands_ = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix_,
                                                         std::chrono::milliseconds(10000),
                                                         std::vector<int32_t>{}, integrity_);
  }

  // Charters emea-kam as the platform admin, with kim and bob as members (versions 1..3).
  v1::CommandResult Charter() {
    auto charter = testing::Charter();
    charter.mutable_metadata()->set_client_request_id(base::NewEventId());
    v1::CharterProgrammeResponse chartered;
    auto s =
        commands_->Stub()->CharterProgramme(Context("tok-admin-000").get(), charter, &chartered);
    EXPECT_TRUE(s.ok()) << s.error_message();
    // kim nominates, bob reads: versions 2 and 3.
    auto members = testing::RegisterKimAndBob(*commands_->Stub(), "emea-kam");
    EXPECT_TRUE(members.ok()) << members.status();
    return chartered.result();
  }

  v1::CommandResult Nominate(const std::string& account) {
    auto req = testing::Nominate(account);
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    v1::NominateAccountResponse resp;
    auto s = commands_->Stub()->NominateAccount(Context("tok-kim-kam").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.result();
  }

  v1::VerifyHistoryResponse Verify(const std::vector<v1::LogPosition>& at) {
    v1::VerifyHistoryRequest req;
    req.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
    req.set_aggregate_id("emea-kam");
    for (const auto& p : at) *req.mutable_consistency()->add_at_least() = p;
    v1::VerifyHistoryResponse resp;
    auto s = gov_->VerifyHistory(Context("tok-bob-board").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  std::vector<std::string> Accounts(const v1::LogPosition& at) {
    v1::GetProgrammeRequest req;
    req.set_programme_id("emea-kam");
    *req.mutable_consistency()->add_at_least() = at;
    v1::GetProgrammeResponse resp;
    auto s = gov_->GetProgramme(Context("tok-bob-board").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& a : resp.programme().accounts()) out.push_back(a.account_id());
    return out;
  }

  // The next version of emea-kam, chained to `tip` (version and hex hash), hash
  // recomputed: what anyone with write access to the topic can build.
  v1::LogPosition Forge(uint64_t version, const std::string& tip_hash_hex,
                        const eventlog::Signer* signer, const std::string& account) {
    writer::Chain tip;
    tip.version = version;
    tip.last_hash = absl::HexStringToBytes(tip_hash_hex);
    writer::CommandInfo info;
    info.aggregate_type = domain::kProgrammeAggregateType;
    info.aggregate_id = "emea-kam";
    info.actor = "kim@supplier.example";
    info.metadata.set_client_request_id(base::NewEventId());
    info.recorded_at = absl::Now();
    domain::Events events(1);
    events[0].mutable_account_nominated()->set_programme_id("emea-kam");
    events[0].mutable_account_nominated()->set_account_id(account);
    events[0].mutable_account_nominated()->set_account_name("Shell Company");
    auto sealed = writer::SealCommand(tip, info, events, signer);
    auto producer =
        eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "mallory");
    EXPECT_TRUE(producer.ok());
    std::vector<eventlog::Record> records = {{"emea-kam", sealed.bytes[0]}};
    auto at = (*producer)->Append(commands_->service().topic(),
                                  eventlog::PartitionFor("emea-kam", 3), records);
    EXPECT_TRUE(at.ok()) << at.status();
    return (*at)[0];
  }

  std::string prefix_;
  std::string dir_;
  testing::KeyFiles writer_key_, mallory_key_;
  eventlog::Integrity integrity_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<v1::GovernanceQueryService::Stub> gov_;
  v1::LogPosition last_position_;
};

TEST_F(Signatures, AForgedEventWithARecomputedHashIsQuarantinedAndTheProgrammeKeepsWorking) {
  Charter();
  const v1::CommandResult acme = Nominate("acme");
  auto verified = Verify({acme.position()});
  ASSERT_TRUE(verified.intact()) << verified.first_break();
  ASSERT_EQ(verified.tip_version(), 4u);

  // An unsigned forgery, and one signed with a key the keyring does not hold.
  const v1::LogPosition unsigned_at = Forge(4, verified.tip_hash(), nullptr, "shell-co");
  auto mallory = eventlog::Signer::FromPemFile(mallory_key_.private_pem);
  ASSERT_TRUE(mallory.ok());
  const v1::LogPosition foreign_at = Forge(4, verified.tip_hash(), mallory->get(), "shell-two");

  // The read model folds neither; verification reports the first, naming why and where.
  verified = Verify({unsigned_at, foreign_at});
  EXPECT_FALSE(verified.intact());
  EXPECT_NE(verified.first_break().find("it is not signed"), std::string::npos)
      << verified.first_break();
  EXPECT_NE(verified.first_break().find(base::StrCat("@", unsigned_at.offset())), std::string::npos)
      << verified.first_break();
  EXPECT_EQ(verified.tip_version(), 4u);
  EXPECT_EQ(Accounts(foreign_at), std::vector<std::string>{"acme"});

  // The writer still works: its next event is version 5, signed; the forgeries never
  // become part of the programme.
  const v1::CommandResult beta = Nominate("beta");
  EXPECT_EQ(beta.aggregate_version(), 5u);
  // Restarted, it replays the partition, quarantines both forgeries and carries on.
  StartWriter();
  const v1::CommandResult gamma = Nominate("gamma");
  EXPECT_EQ(gamma.aggregate_version(), 6u);
  EXPECT_EQ(Accounts(gamma.position()), (std::vector<std::string>{"acme", "beta", "gamma"}));
  verified = Verify({gamma.position()});
  EXPECT_EQ(verified.events_checked(), 6u);
  EXPECT_EQ(verified.tip_version(), 6u);

  // The restarted writer and the read model keep the same records out, for the same reasons.
  std::set<std::string> read_model_says;
  for (const auto& q : verified.quarantined()) {
    EXPECT_FALSE(q.acknowledged());
    read_model_says.insert(base::StrCat(q.record(), ": ", q.problem()));
  }
  const auto writer_list = commands_->service().writer().quarantined();
  EXPECT_EQ(std::set<std::string>(writer_list.begin(), writer_list.end()), read_model_says);
  EXPECT_EQ(read_model_says.size(), 2u);

  // An auditor's own check, straight from Kafka with only the public keys, agrees: six
  // authentic events in an unbroken chain, two records quarantined, the same tip.
  auto audit = testing::RunBinary(
      std::string(KAM_BINARY_DIR) + "/kamctl",
      {"audit", "--keyring", dir_ + "/keyring.pem", "--aggregate", "emea-kam", "-o", "json"},
      {{"KAM_BROKERS", testing::SharedKafka().brokers},
       {"KAM_TOPIC_PREFIX", prefix_},
       {"HOME", dir_}});
  EXPECT_EQ(audit.exit_code, 1) << audit.err << audit.out;
  auto report = nlohmann::json::parse(audit.out, nullptr, false);
  ASSERT_TRUE(report.is_array() && report.size() == 1) << audit.out << audit.err;
  EXPECT_EQ(report[0]["events"], 6);
  EXPECT_EQ(report[0]["intact"], true);
  EXPECT_EQ(report[0]["tip_version"], 6);
  EXPECT_EQ(report[0]["tip_hash"], verified.tip_hash());
  ASSERT_EQ(report[0]["quarantined"].size(), 2u) << audit.out;
  EXPECT_NE(report[0]["quarantined"][0].get<std::string>().find("it is not signed"),
            std::string::npos);
  EXPECT_NE(report[0]["quarantined"][1].get<std::string>().find("which the keyring does not hold"),
            std::string::npos);

  // After looking into it, the platform admin asks to acknowledge the two records; the
  // champion (another person) approves. Each step is an event of the programme.
  auto stub = commands_->Stub();
  auto run = [&](const std::string& token, auto&& invoke) {
    auto context = Context(token);
    return invoke(*stub, context.get());
  };
  ASSERT_TRUE(run("tok-admin-000", [&](auto& s, auto* ctx) {
                v1::RegisterPersonResponse r;
                auto req = testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_EXECUTIVE},
                                           /*senior=*/true);
                req.mutable_metadata()->set_client_request_id(base::NewEventId());
                return s.RegisterPerson(ctx, req, &r);
              }).ok());
  ASSERT_TRUE(run("tok-admin-000", [&](auto& s, auto* ctx) {
                v1::AppointChampionResponse r;
                auto req = testing::AppointChampion("ana");
                req.mutable_metadata()->set_client_request_id(base::NewEventId());
                return s.AppointChampion(ctx, req, &r);
              }).ok());
  auto request_ack = [&](const v1::LogPosition& at, const std::string& token) {
    return run(token, [&](auto& s, auto* ctx) {
      v1::RequestQuarantineAcknowledgementRequest req;
      req.mutable_metadata()->set_client_request_id(base::NewEventId());
      req.set_programme_id("emea-kam");
      *req.mutable_record() = at;
      req.set_reason("Written by a decommissioned test harness; its credentials are revoked");
      v1::RequestQuarantineAcknowledgementResponse r;
      return s.RequestQuarantineAcknowledgement(ctx, req, &r);
    });
  };
  auto approve_ack = [&](const v1::LogPosition& at, const std::string& token) {
    return run(token, [&](auto& s, auto* ctx) {
      v1::ApproveQuarantineAcknowledgementRequest req;
      req.mutable_metadata()->set_client_request_id(base::NewEventId());
      req.set_programme_id("emea-kam");
      *req.mutable_record() = at;
      v1::ApproveQuarantineAcknowledgementResponse r;
      auto st = s.ApproveQuarantineAcknowledgement(ctx, req, &r);
      last_position_ = r.result().position();
      return st;
    });
  };
  // Only a quarantined record of this programme is acknowledged.
  auto refused = request_ack(gamma.position(), "tok-admin-000");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("rule quarantine.must_be_quarantined"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(request_ack(unsigned_at, "tok-ana-champion").error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "only a platform admin requests";
  ASSERT_TRUE(request_ack(unsigned_at, "tok-admin-000").ok());
  EXPECT_EQ(approve_ack(unsigned_at, "tok-admin-000").error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "the requester, no member of the programme, does not approve";
  ASSERT_TRUE(approve_ack(unsigned_at, "tok-ana-champion").ok());
  verified = Verify({last_position_});
  EXPECT_FALSE(verified.intact()) << "the second record is not acknowledged yet";
  ASSERT_TRUE(request_ack(foreign_at, "tok-admin-000").ok());
  ASSERT_TRUE(approve_ack(foreign_at, "tok-ana-champion").ok());
  verified = Verify({last_position_});
  EXPECT_TRUE(verified.intact()) << verified.first_break();
  ASSERT_EQ(verified.quarantined_size(), 2);
  for (const auto& q : verified.quarantined()) EXPECT_TRUE(q.acknowledged()) << q.record();
  EXPECT_EQ(Accounts(last_position_), (std::vector<std::string>{"acme", "beta", "gamma"}))
      << "acknowledged records are still never folded";
}

// Per partition and topic: next offset and fold digest, once the read model has folded
// every position in `at`.
std::map<std::string, std::pair<int64_t, std::string>> FoldDigests(
    const testing::HistoryServer& read, const std::vector<v1::LogPosition>& at) {
  v1::GetHistoryRequest wait;  // any query with consistency waits for the positions
  wait.set_programme_id("emea-kam");
  for (const auto& p : at) *wait.mutable_consistency()->add_at_least() = p;
  v1::GetHistoryResponse ignored;
  EXPECT_TRUE(read.Stub()->GetHistory(Context("tok-bob-board").get(), wait, &ignored).ok());
  v1::GetProjectionStatusResponse status;
  EXPECT_TRUE(read.Stub()->GetProjectionStatus(Context("tok-bob-board").get(), {}, &status).ok());
  std::map<std::string, std::pair<int64_t, std::string>> out;
  for (const auto& p : status.partitions()) {
    out[base::StrCat(p.topic(), "/", p.partition())] = {p.next_offset(), p.fold_digest()};
  }
  return out;
}

TEST_F(Signatures, ARebuiltReadModelReachesTheLiveOnesFoldDigestsAtTheSameOffsets) {
  const v1::CommandResult chartered = Charter();
  // The live read model folds each command as it commits (many one-record batches), with
  // a forgery among them that it quarantines.
  std::vector<v1::LogPosition> at = {chartered.position()};
  for (int i = 0; i < 12; ++i) at.push_back(Nominate(base::StrCat("acct-", i)).position());
  const auto verified = Verify(at);
  at.push_back(Forge(verified.tip_version(), verified.tip_hash(), nullptr, "shell-co"));
  at.push_back(Nominate("after-forgery").position());
  const auto live = FoldDigests(*queries_, at);

  // A rebuild from offset 0 folds the same records in a few large batches.
  testing::HistoryServer rebuilt(testing::SharedKafka(), prefix_, dir_ + "/rebuilt",
                                 integrity_.keyring);
  EXPECT_EQ(FoldDigests(rebuilt, at), live);
  const std::string programme_partition =
      base::StrCat(commands_->service().topic(), "/", eventlog::PartitionFor("emea-kam", 3));
  ASSERT_TRUE(live.contains(programme_partition));
  EXPECT_EQ(live.at(programme_partition).first, at.back().offset() + 1);
  EXPECT_EQ(live.at(programme_partition).second.size(), 64u);

  // A read model that folds differently (here: without the keyring, so it takes the
  // forgery for an event) shows a different digest at the same offset.
  testing::HistoryServer trusting(testing::SharedKafka(), prefix_, dir_ + "/trusting");
  const auto other = FoldDigests(trusting, at);
  ASSERT_TRUE(other.contains(programme_partition));
  EXPECT_EQ(other.at(programme_partition).first, live.at(programme_partition).first);
  EXPECT_NE(other.at(programme_partition).second, live.at(programme_partition).second);
}

// Copies the committed records of `from_prefix`'s programme topic (dropping the last
// `drop_tail` of `partition`) and, if asked, of its checkpoints topic, to the same topics
// under `to_prefix`: the log as an auditor would find it after someone recreated the topics
// without their newest events. The copied positions of the programme topic.
std::vector<v1::LogPosition> CopyLog(const std::string& from_prefix, const std::string& to_prefix,
                                     int32_t partition, std::size_t drop_tail,
                                     bool with_checkpoints) {
  const auto kafka = testing::SharedKafka();
  std::vector<v1::LogPosition> copied;
  auto producer = eventlog::TransactionalProducer::Create(kafka, to_prefix + "copier");
  EXPECT_TRUE(producer.ok());
  auto copy = [&](const std::string& topic, const std::string& to, int partitions,
                  std::size_t drop) {
    EXPECT_TRUE(eventlog::EnsureTopic(kafka, to, partitions).ok());
    std::map<int32_t, std::vector<eventlog::Record>> records;
    EXPECT_TRUE(eventlog::ReadAll(kafka, topic, [&](const eventlog::ConsumedRecord& r) {
                  records[r.partition].push_back({r.key, r.value});
                  return absl::OkStatus();
                }).ok());
    for (auto& [p, list] : records) {
      if (p == partition && topic != eventlog::CheckpointTopic(from_prefix)) {
        list.resize(list.size() - std::min(drop, list.size()));
      }
      if (list.empty()) continue;
      auto at = (*producer)->Append(to, p, list);
      EXPECT_TRUE(at.ok()) << at.status();
      if (at.ok() && topic != eventlog::CheckpointTopic(from_prefix)) {
        copied.insert(copied.end(), at->begin(), at->end());
      }
    }
  };
  copy(eventlog::AggregateTopic(from_prefix, domain::kProgrammeAggregateType),
       eventlog::AggregateTopic(to_prefix, domain::kProgrammeAggregateType), 3, drop_tail);
  if (with_checkpoints) {
    copy(eventlog::CheckpointTopic(from_prefix), eventlog::CheckpointTopic(to_prefix), 1, 0);
  }
  return copied;
}

TEST_F(Signatures, ALogThatLostCheckpointedEventsIsReportedByTheReadModelAndTheAuditor) {
  Charter();
  v1::LogPosition last;
  for (const char* account : {"acme", "beta", "gamma", "delta"})
    last = Nominate(account).position();
  // The writer states its tips when it stops (and every interval while it runs).
  StartWriter();
  auto verified = Verify({last});
  ASSERT_TRUE(verified.intact()) << verified.first_break();
  for (int i = 0; i < 100 && verified.anchored_version() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    verified = Verify({last});
  }
  EXPECT_EQ(verified.anchored_version(), 7u) << "the live read model folded the checkpoint";
  EXPECT_TRUE(verified.intact()) << verified.first_break();

  // The board exports the checkpoints and keeps them outside the platform.
  const std::map<std::string, std::string> env = {{"KAM_BROKERS", testing::SharedKafka().brokers},
                                                  {"KAM_TOPIC_PREFIX", prefix_},
                                                  {"HOME", dir_}};
  const std::string kamctl = std::string(KAM_BINARY_DIR) + "/kamctl";
  auto exported = testing::RunBinary(
      kamctl, {"checkpoints", "--keyring", dir_ + "/keyring.pem", "-o", "json"}, env);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto list = nlohmann::json::parse(exported.out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1) << exported.out;
  EXPECT_EQ(list[0]["authentic"], true);
  EXPECT_EQ(list[0]["complete"], true);
  ASSERT_EQ(list[0]["tips"].size(), 1u);
  EXPECT_EQ(list[0]["tips"][0]["aggregate_id"], "emea-kam");
  EXPECT_EQ(list[0]["tips"][0]["version"], 7);
  EXPECT_EQ(list[0]["tips"][0]["hash"], verified.tip_hash());
  std::ofstream(dir_ + "/board.json") << exported.out;

  // Someone recreates the topics without the two newest events (versions 6 and 7).
  const int32_t partition = eventlog::PartitionFor("emea-kam", 3);
  const std::string cut = prefix_ + "cut-";
  const auto copied = CopyLog(prefix_, cut, partition, 2, /*with_checkpoints=*/true);
  ASSERT_FALSE(copied.empty());

  // A read model of that log reports the missing tail against the checkpoint.
  testing::HistoryServer rebuilt(testing::SharedKafka(), cut, dir_ + "/cut-read",
                                 integrity_.keyring);
  ASSERT_TRUE(rebuilt.WaitCaughtUp());
  auto gov = rebuilt.GovernanceStub();
  v1::VerifyHistoryRequest req;
  req.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
  req.set_aggregate_id("emea-kam");
  v1::VerifyHistoryResponse cut_verified;
  ASSERT_TRUE(gov->VerifyHistory(Context("tok-bob-board").get(), req, &cut_verified).ok());
  EXPECT_FALSE(cut_verified.intact());
  EXPECT_EQ(cut_verified.tip_version(), 5u);
  EXPECT_EQ(cut_verified.anchored_version(), 7u);
  EXPECT_NE(cut_verified.first_break().find("missing tail: the log ends at version 5"),
            std::string::npos)
      << cut_verified.first_break();

  // So does the auditor, straight from Kafka.
  auto audit = [&](const std::string& prefix, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "audit", "--keyring", dir_ + "/keyring.pem", "--aggregate", "emea-kam", "-o", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto e = env;
    e["KAM_TOPIC_PREFIX"] = prefix;
    return testing::RunBinary(kamctl, args, e);
  };
  auto report = audit(cut, {});
  EXPECT_EQ(report.exit_code, 1) << report.err;
  auto json = nlohmann::json::parse(report.out, nullptr, false);
  ASSERT_TRUE(json.is_array() && json.size() == 1) << report.out << report.err;
  EXPECT_EQ(json[0]["intact"], false);
  EXPECT_EQ(json[0]["tip_version"], 5);
  EXPECT_EQ(json[0]["anchored_version"], 7);
  EXPECT_NE(json[0]["checkpoint_problem"].get<std::string>().find("missing tail"),
            std::string::npos);

  // Without the checkpoints topic too, the log alone looks intact - the board's own copy
  // of the checkpoints still shows what is missing.
  const std::string cut_all = prefix_ + "cutall-";
  CopyLog(prefix_, cut_all, partition, 2, /*with_checkpoints=*/false);
  report = audit(cut_all, {});
  EXPECT_EQ(report.exit_code, 0) << report.out << report.err;
  report = audit(cut_all, {"--checkpoints", dir_ + "/board.json"});
  EXPECT_EQ(report.exit_code, 1) << report.out << report.err;
  EXPECT_NE(report.out.find("missing tail: the log ends at version 5"), std::string::npos)
      << report.out;

  // A checkpoint forged into the topic (unsigned) is not believed, and is reported.
  v1::Checkpoint forged;
  forged.set_topic(eventlog::AggregateTopic(cut, domain::kProgrammeAggregateType));
  forged.set_partition(partition);
  auto* tip = forged.add_tips();
  tip->set_aggregate_type(std::string(domain::kProgrammeAggregateType));
  tip->set_aggregate_id("emea-kam");
  tip->set_version(99);
  auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), cut + "forger");
  ASSERT_TRUE(producer.ok());
  std::vector<eventlog::Record> records = {
      {"x",
       eventlog::SealCheckpoint(forged, {forged.tips().begin(), forged.tips().end()}, nullptr)[0]}};
  ASSERT_TRUE((*producer)->Append(eventlog::CheckpointTopic(cut), 0, records).ok());
  report = audit(cut, {});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_NE(report.err.find("is not authentic and was not used"), std::string::npos) << report.err;
  json = nlohmann::json::parse(report.out, nullptr, false);
  ASSERT_TRUE(json.is_array() && json.size() == 1) << report.out;
  EXPECT_EQ(json[0]["anchored_version"], 7) << "the forged checkpoint's v99 is not believed";
}

TEST_F(Signatures, AWriterWhoseKeyIsNotInTheKeyringRefusesToStart) {
  auto other = testing::NewSigningKey(dir_, "other");
  auto integrity = eventlog::LoadIntegrity(writer_key_.private_pem,
                                           testing::KeyringOf(dir_ + "/other-ring.pem", {other}));
  ASSERT_TRUE(integrity.ok());
  services::ProgrammeServiceConfig config;
  config.kafka = testing::SharedKafka();
  config.topic_prefix = prefix_ + "x-";
  config.transactional_id = prefix_ + "x-writer";
  config.signer = integrity->signer;
  config.keyring = integrity->keyring;
  auto auth = testing::TestAuth();
  auto service = services::ProgrammeService::Create(config, *auth);
  EXPECT_EQ(service.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(service.status().message().find("the keyring does not hold this writer's signing key"),
            std::string::npos)
      << service.status();
}

}  // namespace
}  // namespace kam
