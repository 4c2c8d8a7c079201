// Governance queries over gRPC against the real broker: the programme as of past moments
// on both time axes (with a late-recorded fact), the scorecard, and verification of a
// forged event appended to the topic.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/escaping.h"
#include "base/ids.h"
#include "domain/dates.h"
#include "domain/events.h"
#include "domain/metrics.h"
#include "domain/rules.h"
#include "eventlog/producer.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "support/kafka_broker.h"
#include "support/servers.h"
#include "unit/scenario.h"
#include "writer/envelopes.h"

namespace kam {
namespace {

using google::protobuf::util::TimeUtil;
using testing::Context;

google::protobuf::Timestamp DaysAgo(absl::Time now, int days) {
  return TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now - absl::Hours(24 * days)));
}

template <typename Req>
Req At(Req r, const google::protobuf::Timestamp& occurred) {
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  *r.mutable_metadata()->mutable_occurred_at() = occurred;
  return r;
}

class Governance : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = std::filesystem::temp_directory_path() / ("kam-gov-" + prefix_);
    std::filesystem::remove_all(dir_);
    commands_ = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix_);
    queries_ = std::make_unique<testing::HistoryServer>(testing::SharedKafka(), prefix_, dir_);
    stub_ = commands_->Stub();
    gov_ = queries_->GovernanceStub();
  }
  void TearDown() override {
    queries_.reset();
    commands_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs a command and remembers its position for read-your-writes.
  template <typename Req, typename Resp, typename Call>
  void Do(Call call, const Req& req, const std::string& token) {
    Resp resp;
    auto s = ((*stub_).*call)(Context(token).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    last_ = resp.result().position();
  }

  // Registers a person of `programme` by the platform admin (the programme has no champion
  // yet): "bob", the board observer whose token every read here uses, or "kim", the manager
  // who nominates. Returns the event id.
  std::string Join(const std::string& programme, const std::string& who,
                   const google::protobuf::Timestamp* occurred = nullptr) {
    auto person =
        who == "bob"
            ? testing::Person("bob", "bob@supplier.example", {v1::PERSON_FUNCTION_BOARD_OBSERVER})
            : testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER});
    person.set_programme_id(programme);
    person.mutable_metadata()->set_client_request_id(base::NewEventId());
    if (occurred != nullptr) *person.mutable_metadata()->mutable_occurred_at() = *occurred;
    v1::RegisterPersonResponse resp;
    auto s = stub_->RegisterPerson(Context("tok-admin-000").get(), person, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    last_ = resp.result().position();
    return resp.result().event_ids_size() > 0 ? resp.result().event_ids(0) : "";
  }

  std::vector<std::string> AccountsAsOf(v1::TimeAxis axis, absl::Time t,
                                        grpc::Status* status = nullptr) {
    v1::GetProgrammeRequest req;
    req.set_programme_id("emea-kam");
    *req.mutable_consistency()->add_at_least() = last_;
    if (axis != v1::TIME_AXIS_UNSPECIFIED) {
      req.mutable_as_of()->set_axis(axis);
      *req.mutable_as_of()->mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
    }
    v1::GetProgrammeResponse resp;
    auto s = gov_->GetProgramme(Context("tok-bob-board").get(), req, &resp);
    if (status != nullptr) *status = s;
    std::vector<std::string> out;
    for (const auto& a : resp.programme().accounts())
      out.push_back(a.account_id() + ":" + a.stage());
    return out;
  }

  std::string prefix_, dir_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> stub_;
  std::unique_ptr<v1::GovernanceQueryService::Stub> gov_;
  v1::LogPosition last_;
};

TEST_F(Governance, AsOfAnswersBothTimeAxesWithALateRecordedFact) {
  const absl::Time now = absl::Now();
  using S = v1::ProgrammeCommandService::Stub;
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(
      &S::CharterProgramme, At(testing::Charter(), DaysAgo(now, 30)), "tok-admin-000");
  const auto chartered = DaysAgo(now, 30);
  Join("emea-kam", "bob", &chartered);
  Join("emea-kam", "kim", &chartered);
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(
      &S::NominateAccount, At(testing::Nominate("acme"), DaysAgo(now, 20)), "tok-kim-kam");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const absl::Time between = absl::Now() - absl::Milliseconds(700);
  // Claimed 25 days ago, after a fact of 20 days ago: refused unless it says why it is late
  // (rule time.in_order); nothing before the charter at all (time.not_before_charter).
  auto late = At(testing::Nominate("globex"), DaysAgo(now, 25));
  v1::NominateAccountResponse refused;
  auto refusal = stub_->NominateAccount(Context("tok-kim-kam").get(), late, &refused);
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refusal.error_message().find("rule time.in_order"), std::string::npos)
      << refusal.error_message();
  auto ancient = late;
  ancient.mutable_metadata()->mutable_occurred_at()->set_seconds(86400);  // 1970-01-02
  refusal = stub_->NominateAccount(Context("tok-kim-kam").get(), ancient, &refused);
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refusal.error_message().find("rule time.not_before_charter"), std::string::npos)
      << refusal.error_message();
  // Recorded now, claimed 25 days ago: an explicit late entry. It takes effect at the
  // programme's business time when it was entered (20 days ago), and keeps its claim.
  late.mutable_metadata()->set_late_reason("the nomination form was mislaid");
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(&S::NominateAccount, late,
                                                              "tok-kim-kam");

  using V = std::vector<std::string>;
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_UNSPECIFIED, now),
            (V{"acme:nominated", "globex:nominated"}));
  // As recorded by then: globex was not yet known to the platform.
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_RECORDED, between), (V{"acme:nominated"}));
  // As effective 22 days ago: neither yet. The late entry does not rewrite what the
  // programme looked like before it was entered: no view shows globex without acme, a state
  // the write side never decided on.
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_EFFECTIVE, now - absl::Hours(24 * 22)), (V{}));
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_EFFECTIVE, now - absl::Hours(24 * 19)),
            (V{"acme:nominated", "globex:nominated"}));
  // Before the charter took effect there was no programme.
  grpc::Status before;
  AccountsAsOf(v1::TIME_AXIS_EFFECTIVE, now - absl::Hours(24 * 40), &before);
  EXPECT_EQ(before.error_code(), grpc::StatusCode::NOT_FOUND) << before.error_message();
  // An as-of time needs an axis.
  v1::GetProgrammeRequest bad;
  bad.set_programme_id("emea-kam");
  *bad.mutable_as_of()->mutable_time() = DaysAgo(now, 1);
  v1::GetProgrammeResponse resp;
  auto s = gov_->GetProgramme(Context("tok-bob-board").get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("as_of.axis"), std::string::npos);
}

TEST_F(Governance, AForgedEventIsDetectedByVerificationAndRaisedOnTheScorecard) {
  using S = v1::ProgrammeCommandService::Stub;
  auto meta = [](auto r) {
    r.mutable_metadata()->set_client_request_id(base::NewEventId());
    return r;
  };
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(
      &S::CharterProgramme, meta(testing::Charter()), "tok-admin-000");
  Join("emea-kam", "bob");
  Join("emea-kam", "kim");
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(
      &S::NominateAccount, meta(testing::Nominate("acme")), "tok-kim-kam");
  v1::VerifyHistoryRequest verify;
  verify.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
  verify.set_aggregate_id("emea-kam");
  *verify.mutable_consistency()->add_at_least() = last_;
  v1::VerifyHistoryResponse verified;
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.events_checked(), 4u);

  // A forger appends version 5 whose previous_hash is not version 4's hash.
  writer::Chain forged_tip;
  forged_tip.version = 4;
  forged_tip.last_hash = std::string(32, '\x42');
  writer::CommandInfo info;
  info.aggregate_type = domain::kProgrammeAggregateType;
  info.aggregate_id = "emea-kam";
  info.actor = "mallory";
  info.metadata.set_client_request_id("forged");
  info.recorded_at = absl::Now();
  domain::Events events(1);
  events[0].mutable_account_nominated()->set_programme_id("emea-kam");
  events[0].mutable_account_nominated()->set_account_id("shell-co");
  auto sealed = writer::SealCommand(forged_tip, info, events);
  auto producer =
      eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "mallory");
  ASSERT_TRUE(producer.ok());
  std::vector<eventlog::Record> records = {{"emea-kam", sealed.bytes[0]}};
  auto at = (*producer)->Append(commands_->service().topic(), eventlog::PartitionFor("emea-kam", 3),
                                records);
  ASSERT_TRUE(at.ok());

  *verify.mutable_consistency()->mutable_at_least(0) = (*at)[0];
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  EXPECT_FALSE(verified.intact());
  EXPECT_EQ(verified.first_break_version(), 5u);
  EXPECT_EQ(verified.first_break_position().offset(), (*at)[0].offset());
  EXPECT_NE(verified.first_break().find("is not the hash of version 4"), std::string::npos)
      << verified.first_break();

  v1::GetScorecardRequest card;
  card.set_programme_id("emea-kam");
  v1::GetScorecardResponse scorecard;
  ASSERT_TRUE(gov_->GetScorecard(Context("tok-bob-board").get(), card, &scorecard).ok());
  EXPECT_FALSE(scorecard.history_intact());
  ASSERT_EQ(scorecard.steps_size(), 7);
  bool raised = false;
  for (const auto& f : scorecard.steps(6).flags())
    raised = raised || f.rule() == domain::rules::kHistoryIntact;
  EXPECT_TRUE(raised);
  EXPECT_EQ(scorecard.steps(6).rules_held_size(), 0);  // nothing is vouched for on a broken history
}

// The read model trusts an envelope only where its place agrees: a well-chained next
// version of a programme appended under another programme's key, or into the metrics
// topic, is not folded into that programme; verification of the aggregate whose partition
// holds it reports it instead.
TEST_F(Governance, AnEventInTheWrongTopicOrUnderTheWrongKeyIsNotFoldedAndIsReported) {
  using S = v1::ProgrammeCommandService::Stub;
  auto meta = [](auto r) {
    r.mutable_metadata()->set_client_request_id(base::NewEventId());
    return r;
  };
  auto charter = meta(testing::Charter());
  charter.set_programme_id("real-kam");
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(&S::CharterProgramme, charter,
                                                                "tok-admin-000");
  auto decoy = meta(testing::Charter());
  decoy.set_programme_id("decoy-kam");
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(&S::CharterProgramme, decoy,
                                                                "tok-admin-000");
  Join("decoy-kam", "bob");
  Join("real-kam", "bob");
  const v1::LogPosition charted = last_;
  // What a forger with the topic's write rights could build: version 3 of real-kam, chained
  // to version 2's true hash (read back from the store).
  v1::VerifyHistoryRequest verify;
  verify.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
  verify.set_aggregate_id("real-kam");
  *verify.mutable_consistency()->add_at_least() = charted;
  v1::VerifyHistoryResponse verified;
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  ASSERT_TRUE(verified.intact());
  writer::Chain tip;
  tip.version = 2;
  ASSERT_EQ(verified.tip_version(), 2u);
  tip.last_hash = absl::HexStringToBytes(verified.tip_hash());
  writer::CommandInfo info;
  info.aggregate_type = domain::kProgrammeAggregateType;
  info.aggregate_id = "real-kam";
  info.actor = "mallory";
  info.metadata.set_client_request_id("misfiled");
  info.recorded_at = absl::Now();
  domain::Events events(1);
  events[0].mutable_account_nominated()->set_programme_id("real-kam");
  events[0].mutable_account_nominated()->set_account_id("shell-co");
  auto sealed = writer::SealCommand(tip, info, events);
  auto producer =
      eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "misfiler");
  ASSERT_TRUE(producer.ok());
  // Under decoy-kam's key in the programme topic...
  std::vector<eventlog::Record> under_decoy = {{"decoy-kam", sealed.bytes[0]}};
  auto at = (*producer)->Append(commands_->service().topic(),
                                eventlog::PartitionFor("decoy-kam", 3), under_decoy);
  ASSERT_TRUE(at.ok()) << at.status();
  // ... and in the metrics topic, under real-kam's key.
  const std::string metrics_topic =
      eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType);
  ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), metrics_topic, 3).ok());
  std::vector<eventlog::Record> in_metrics = {{"real-kam", sealed.bytes[0]}};
  auto at_metrics =
      (*producer)->Append(metrics_topic, eventlog::PartitionFor("real-kam", 3), in_metrics);
  ASSERT_TRUE(at_metrics.ok()) << at_metrics.status();

  // real-kam is untouched: two events, intact, no shell-co.
  verify.mutable_consistency()->clear_at_least();
  *verify.mutable_consistency()->add_at_least() = (*at)[0];
  *verify.mutable_consistency()->add_at_least() = (*at_metrics)[0];
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  EXPECT_TRUE(verified.intact()) << verified.first_break();
  EXPECT_EQ(verified.events_checked(), 2u);
  // decoy-kam's partition holds a record that is not its event: reported, naming both.
  verify.set_aggregate_id("decoy-kam");
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  EXPECT_FALSE(verified.intact());
  EXPECT_NE(verified.first_break().find(
                "declares programme 'real-kam' version 3 but sits under key 'decoy-kam'"),
            std::string::npos)
      << verified.first_break();
  v1::GetProgrammeRequest get;
  get.set_programme_id("real-kam");
  v1::GetProgrammeResponse programme;
  ASSERT_TRUE(gov_->GetProgramme(Context("tok-bob-board").get(), get, &programme).ok());
  EXPECT_EQ(programme.programme().accounts_size(), 0);
}

TEST_F(Governance, TheScorecardListsRulesHeldAndFlagsByStep) {
  using S = v1::ProgrammeCommandService::Stub;
  auto charter = testing::Charter();
  charter.mutable_metadata()->set_client_request_id(base::NewEventId());
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(&S::CharterProgramme, charter,
                                                                "tok-admin-000");
  Join("emea-kam", "bob");
  v1::GetScorecardRequest card;
  card.set_programme_id("emea-kam");
  *card.mutable_consistency()->add_at_least() = last_;
  v1::GetScorecardResponse scorecard;
  const auto read = gov_->GetScorecard(Context("tok-bob-board").get(), card, &scorecard);
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_TRUE(scorecard.history_intact());
  ASSERT_EQ(scorecard.steps_size(), 7);
  EXPECT_EQ(scorecard.steps(2).title(), "A KAM champion");
  ASSERT_EQ(scorecard.steps(2).flags_size(), 1);
  EXPECT_EQ(scorecard.steps(2).flags(0).rule(), "flag.step3.no_active_champion");
  bool four_eyes = false;
  for (const auto& r : scorecard.steps(3).rules_held())
    four_eyes = four_eyes || r == "admission.four_eyes";
  EXPECT_TRUE(four_eyes);
  v1::GetScorecardRequest unknown;
  unknown.set_programme_id("nope");
  // The operator learns that it does not exist; a board member only that it may not read it.
  EXPECT_EQ(gov_->GetScorecard(Context("tok-admin-000").get(), unknown, &scorecard).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gov_->GetScorecard(Context("tok-bob-board").get(), unknown, &scorecard).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(gov_->GetScorecard(Context("").get(), card, &scorecard).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Calls stub.Rpc with `request` under a fresh request id as `token`, asserts that it is
// accepted, and remembers its log position in `last`.
#define KAM_CALL_ON(stub, last, Rpc, request, token)                          \
  {                                                                           \
    auto req = request;                                                       \
    req.mutable_metadata()->set_client_request_id(base::NewEventId());        \
    v1::Rpc##Response resp;                                                   \
    const grpc::Status status = (stub).Rpc(Context(token).get(), req, &resp); \
    ASSERT_TRUE(status.ok()) << #Rpc << ": " << status.error_message();       \
    (last) = resp.result().position();                                        \
  }

// A programme with a champion (ana), a steering-board member (sam), a manager (kim), a board
// observer (bob, who reads) and criteria; a1 admitted (score 100), a2 admitted below threshold as
// an exception, a3 rejected, then a1 retired at once: an admit-then-demote.
void WithDecisions(v1::ProgrammeCommandService::Stub& stub, v1::LogPosition& last) {
  auto run = [&](const grpc::Status& s, const v1::CommandResult& r) {
    ASSERT_TRUE(s.ok()) << s.error_message();
    last = r.position();
  };
#define KAM_CALL(Rpc, request, token)                                       \
  {                                                                         \
    auto req = request;                                                     \
    req.mutable_metadata()->set_client_request_id(base::NewEventId());      \
    v1::Rpc##Response resp;                                                 \
    const grpc::Status status = stub.Rpc(Context(token).get(), req, &resp); \
    run(status, resp.result());                                             \
  }
  KAM_CALL(CharterProgramme, testing::Charter(), "tok-admin-000");
  KAM_CALL(RegisterPerson,
           testing::Person("ana", testing::kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true),
           "tok-admin-000");
  KAM_CALL(RegisterPerson,
           testing::Person("sam", testing::kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}),
           "tok-admin-000");
  KAM_CALL(RegisterPerson,
           testing::Person("kim", testing::kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}),
           "tok-admin-000");
  KAM_CALL(RegisterPerson,
           testing::Person("bob", "bob@supplier.example", {v1::PERSON_FUNCTION_BOARD_OBSERVER}),
           "tok-admin-000");
  KAM_CALL(AppointChampion, testing::AppointChampion("ana"), "tok-admin-000");
  KAM_CALL(PublishSelectionCriteria, testing::Criteria(), "tok-ana-champion");
  KAM_CALL(NominateAccount, testing::Nominate("a1"), "tok-kim-kam");
  KAM_CALL(AssessAccount, testing::Assess("a1", 5, 5), "tok-kim-kam");
  KAM_CALL(AdmitAccount, testing::Admit("a1"), "tok-ana-champion");
  KAM_CALL(NominateAccount, testing::Nominate("a2"), "tok-kim-kam");
  KAM_CALL(AssessAccount, testing::Assess("a2", 3, 3), "tok-kim-kam");
  KAM_CALL(AdmitAccount, testing::Admit("a2", "Entry into hydrogen"), "tok-sam-board");
  KAM_CALL(NominateAccount, testing::Nominate("a3"), "tok-kim-kam");
  auto reject = testing::ForAccount<v1::RejectNominationRequest>("a3");
  reject.set_reason("No growth case");
  KAM_CALL(RejectNomination, reject, "tok-ana-champion");
  auto retire = testing::ForAccount<v1::RetireAccountRequest>("a1");
  retire.set_reason("Acquired by a competitor");
  KAM_CALL(RetireAccount, retire, "tok-ana-champion");
#undef KAM_CALL
}

TEST_F(Governance, TheRegisterShowsEveryDecisionWithOverrideAndAdmitThenDemoteRates) {
  WithDecisions(*stub_, last_);
  v1::GetRegisterRequest req;
  req.set_programme_id("emea-kam");
  *req.mutable_consistency()->add_at_least() = last_;
  v1::GetRegisterResponse reg;
  ASSERT_TRUE(gov_->GetRegister(Context("tok-bob-board").get(), req, &reg).ok());
  ASSERT_EQ(reg.entries_size(), 4);
  std::vector<std::string> rows;
  for (const auto& e : reg.entries()) {
    rows.push_back(e.account_id() + " " + e.decision() + " by " + e.decided_by() +
                   " (nominated by " + e.nominated_by() + ", score " +
                   std::to_string(static_cast<int>(e.weighted_score())) +
                   (e.exception() ? ", exception: " + e.justification() : "") +
                   (e.within_min_tenure() ? ", within minimum tenure" : "") + ")");
  }
  EXPECT_EQ(
      rows,
      (std::vector<std::string>{
          "a1 admitted by ana@supplier.example (nominated by kim@supplier.example, score 100)",
          "a2 admitted by sam@supplier.example (nominated by kim@supplier.example, score 50, "
          "exception: Entry into hydrogen)",
          "a3 rejected by ana@supplier.example (nominated by kim@supplier.example, score 0)",
          "a1 retired by ana@supplier.example (nominated by kim@supplier.example, score 100, "
          "within minimum tenure)"}));
  EXPECT_EQ(reg.entries(0).scores_size(), 2);
  EXPECT_EQ(reg.entries(0).nomination_rationale(), "Top-5 by contribution, multi-site");
  EXPECT_EQ(reg.admissions(), 2u);
  EXPECT_EQ(reg.exceptions(), 1u);
  EXPECT_DOUBLE_EQ(reg.override_rate(), 0.5);
  EXPECT_EQ(reg.admit_then_demote(), 1u);
  EXPECT_DOUBLE_EQ(reg.admit_then_demote_rate(), 0.5);
}

TEST_F(Governance, HistoryOfTheProgrammeOfAPersonFilteredAndPaged) {
  WithDecisions(*stub_, last_);
  auto history = queries_->Stub();
  auto get = [&](v1::GetHistoryRequest req) {
    req.set_programme_id("emea-kam");
    *req.mutable_consistency()->add_at_least() = last_;
    std::vector<std::string> names;
    for (int page = 0; page < 100; ++page) {
      v1::GetHistoryResponse resp;
      auto s = history->GetHistory(Context("tok-bob-board").get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& e : resp.entries()) {
        names.push_back(std::string(domain::EventName(e.envelope().event())));
      }
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return names;
  };
  v1::GetHistoryRequest all;
  all.set_page_size(4);  // 16 events: four pages
  EXPECT_EQ(get(all).size(), 16u);
  v1::GetHistoryRequest admitted;
  admitted.add_event_types("AccountAdmitted");
  EXPECT_EQ(get(admitted), (std::vector<std::string>{"AccountAdmitted", "AccountAdmitted"}));
  v1::GetHistoryRequest ana;
  ana.set_person_id("ana");
  EXPECT_EQ(get(ana), (std::vector<std::string>{"PersonRegistered", "ChampionAppointed"}));
  v1::GetHistoryRequest a1;
  a1.set_account_id("a1");
  EXPECT_EQ(get(a1), (std::vector<std::string>{"AccountNominated", "AccountAssessed",
                                               "AccountAdmitted", "AccountRetired"}));
  v1::GetHistoryRequest before;
  *before.mutable_recorded_to() = DaysAgo(absl::Now(), 1);
  EXPECT_TRUE(get(before).empty());
  v1::GetHistoryRequest both;
  both.set_programme_id("emea-kam");
  both.set_account_id("a1");
  both.set_person_id("ana");
  v1::GetHistoryResponse resp;
  auto s = history->GetHistory(Context("tok-bob-board").get(), both, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("person_id"), std::string::npos);
}

TEST_F(Governance, EconomicsShowContributionAndLifetimeValueWithTheFormula) {
  ASSERT_TRUE(testing::CharterWithErp(*stub_).ok());  // the ERP publishes emea-kam's metrics
  testing::MetricsServer metrics(testing::SharedKafka(), prefix_, /*inbound=*/false);
  auto stub = metrics.Stub();
  v1::LogPosition at;
  auto record = [&](v1::MetricKind kind, int64_t cents, double ratio, const std::string& activity) {
    v1::RecordMetricRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    auto* m = req.mutable_metric();
    m->set_programme_id("emea-kam");
    m->set_account_id("acme");
    m->set_kind(kind);
    m->set_activity(activity);
    m->set_period_start("2025-01-01");
    m->set_period_end("2025-12-31");
    if (kind == v1::METRIC_KIND_RETENTION_RATE) {
      m->set_ratio(ratio);
    } else {
      m->mutable_amount()->set_currency("EUR");
      m->mutable_amount()->set_minor_units(cents);
    }
    m->set_source_system("erp");
    m->set_source_record_id(base::NewEventId());
    v1::RecordMetricResponse resp;
    auto s = stub->RecordMetric(Context("tok-erp-publish").get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    at = resp.result().position();
  };
  record(v1::METRIC_KIND_REVENUE, 10000000, 0, "");
  record(v1::METRIC_KIND_GROSS_MARGIN, 3000000, 0, "");
  record(v1::METRIC_KIND_COST_TO_SERVE, 600000, 0, "logistics");
  record(v1::METRIC_KIND_COST_TO_SERVE, 400000, 0, "field-service");
  record(v1::METRIC_KIND_RETENTION_RATE, 0, 0.8, "");
  v1::GetEconomicsRequest req;
  req.set_programme_id("emea-kam");
  req.set_account_id("acme");
  *req.mutable_consistency()->add_at_least() = at;
  v1::GetEconomicsResponse econ;
  // The programme has no reading member but its publisher: the operator reads it.
  auto s = gov_->GetEconomics(Context("tok-admin-000").get(), req, &econ);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(econ.years_size(), 1);
  EXPECT_EQ(econ.years(0).revenue(), 10000000);
  EXPECT_EQ(econ.years(0).contribution(), 2000000);
  EXPECT_EQ(econ.years(0).cost_to_serve_by_activity().at("logistics"), 600000);
  EXPECT_EQ(econ.formula(), "CLV = m * r / (1 + d - r)");
  EXPECT_DOUBLE_EQ(econ.margin_m(), 2000000);
  EXPECT_DOUBLE_EQ(econ.retention_r(), 0.8);
  EXPECT_DOUBLE_EQ(econ.discount_d(), 0.1);  // the charter's default
  ASSERT_TRUE(econ.has_clv());
  EXPECT_NEAR(econ.clv(), 2000000 * 0.8 / 0.3, 0.01);
  EXPECT_EQ(econ.projection_size(), 5);
  EXPECT_TRUE(econ.flags().empty());
  v1::VerifyHistoryRequest verify;
  verify.set_aggregate_type(std::string(domain::kMetricsAggregateType));
  verify.set_aggregate_id("emea-kam:acme");
  v1::VerifyHistoryResponse verified;
  auto vs = gov_->VerifyHistory(Context("tok-admin-000").get(), verify, &verified);
  ASSERT_TRUE(vs.ok()) << vs.error_message();
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.events_checked(), 5u);
  req.set_account_id("nobody");
  req.clear_consistency();
  EXPECT_EQ(gov_->GetEconomics(Context("tok-admin-000").get(), req, &econ).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gov_->GetEconomics(Context("tok-bob-board").get(), req, &econ).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(Governance, ThePortfolioShowsSponsorsVisitsCommitmentsAndTheScorecardStepSix) {
  WithDecisions(*stub_, last_);  // a2 is the one active key account
#define KAM_CALL(Rpc, request, token) KAM_CALL_ON((*stub_), last_, Rpc, request, token)
  // After the first champion, the champion grants memberships.
  KAM_CALL(RegisterPerson, testing::Person("eve", testing::kEve, {v1::PERSON_FUNCTION_EXECUTIVE}),
           "tok-ana-champion");
  KAM_CALL(RegisterPerson,
           testing::Person("olga", testing::kOlga, {v1::PERSON_FUNCTION_OPERATIONS}),
           "tok-ana-champion");
  auto sponsor = testing::ForAccount<v1::AssignSponsorRequest>("a2");
  sponsor.set_person_id("eve");
  KAM_CALL(AssignSponsor, sponsor, "tok-ana-champion");
  const std::string today = domain::FormatDate(domain::DayOf(absl::Now()));
  auto visit = testing::ForAccount<v1::LogSponsorVisitRequest>("a2");
  visit.set_visit_date(today);
  KAM_CALL(LogSponsorVisit, visit, "tok-eve-sponsor");
  auto commit = testing::ForAccount<v1::MakeCommitmentRequest>("a2");
  commit.set_commitment_id("priority-supply");
  commit.set_description("Priority allocation of urgent spare parts");
  commit.set_owner_person_id("olga");
  commit.set_due_by("2099-12-31");
  KAM_CALL(MakeCommitment, commit, "tok-kim-kam");
#undef KAM_CALL

  v1::GetProgrammeRequest req;
  req.set_programme_id("emea-kam");
  *req.mutable_consistency()->add_at_least() = last_;
  v1::GetProgrammeResponse resp;
  ASSERT_TRUE(gov_->GetProgramme(Context("tok-bob-board").get(), req, &resp).ok());
  const auto& p = resp.programme();
  EXPECT_EQ(p.admitted_key_accounts(), 1u);
  EXPECT_DOUBLE_EQ(p.sponsor_coverage(), 1.0);
  ASSERT_EQ(p.commitments_size(), 1);
  EXPECT_EQ(p.commitments(0).status(), "open");
  EXPECT_EQ(p.commitments(0).owner_person_id(), "olga");
  const v1::AccountView* a2 = nullptr;
  for (const auto& a : p.accounts()) a2 = a.account_id() == "a2" ? &a : a2;
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->sponsor(), "eve");
  EXPECT_EQ(a2->last_sponsor_visit(), today);
  EXPECT_FALSE(a2->sponsor_visit_overdue());
  EXPECT_TRUE(a2->admitted_as_exception());

  // A negative contribution after cost-to-serve reaches the scorecard's step 6, from the ERP
  // that the champion registers as the programme's publisher.
  ASSERT_TRUE(testing::RegisterPublisher(*stub_, "emea-kam", "erp@supplier.example", "erp",
                                         "tok-ana-champion")
                  .ok());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix_, /*inbound=*/false);
  v1::LogPosition metric_at;
  for (auto [kind, cents, activity] :
       {std::tuple{v1::METRIC_KIND_GROSS_MARGIN, 100000, ""},
        std::tuple{v1::METRIC_KIND_COST_TO_SERVE, 250000, "field-service"}}) {
    v1::RecordMetricRequest m;
    m.mutable_metadata()->set_client_request_id(base::NewEventId());
    auto* metric = m.mutable_metric();
    metric->set_programme_id("emea-kam");
    metric->set_account_id("a2");
    metric->set_kind(kind);
    metric->set_activity(activity);
    metric->set_period_start("2025-01-01");
    metric->set_period_end("2025-12-31");
    metric->mutable_amount()->set_currency("EUR");
    metric->mutable_amount()->set_minor_units(cents);
    metric->set_source_system("erp");
    metric->set_source_record_id(base::NewEventId());
    v1::RecordMetricResponse out;
    ASSERT_TRUE(metrics.Stub()->RecordMetric(Context("tok-erp-publish").get(), m, &out).ok());
    metric_at = out.result().position();
  }
  v1::GetScorecardRequest card;
  card.set_programme_id("emea-kam");
  *card.mutable_consistency()->add_at_least() = metric_at;
  v1::GetScorecardResponse scorecard;
  ASSERT_TRUE(gov_->GetScorecard(Context("tok-bob-board").get(), card, &scorecard).ok());
  bool negative = false;
  for (const auto& f : scorecard.steps(5).flags()) {
    negative =
        negative || (f.rule() == "flag.step6.negative_contribution" && f.subject() == "account a2");
  }
  EXPECT_TRUE(negative);

  // The portfolio's economics in one call: the accounts with metrics, each as GetEconomics
  // answers for it alone.
  v1::GetPortfolioEconomicsRequest portfolio;
  portfolio.set_programme_id("emea-kam");
  v1::GetPortfolioEconomicsResponse all;
  ASSERT_TRUE(gov_->GetPortfolioEconomics(Context("tok-bob-board").get(), portfolio, &all).ok());
  ASSERT_EQ(all.accounts_size(), 1);
  EXPECT_EQ(all.accounts(0).account_id(), "a2");
  EXPECT_EQ(all.accounts(0).stage(), "admitted");
  v1::GetEconomicsRequest one;
  one.set_programme_id("emea-kam");
  one.set_account_id("a2");
  v1::GetEconomicsResponse alone;
  ASSERT_TRUE(gov_->GetEconomics(Context("tok-bob-board").get(), one, &alone).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(all.accounts(0).economics(), alone));
  EXPECT_LT(all.accounts(0).economics().years(0).contribution(), 0);
}

// Reads up to `want` entries from a subscription, then drops it.
std::vector<v1::HistoryEntry> ReadSome(v1::HistoryQueryService::Stub& stub,
                                       const v1::SubscribeRequest& req, std::size_t want) {
  std::vector<v1::HistoryEntry> out;
  auto ctx = Context("tok-bob-board");
  auto reader = stub.Subscribe(ctx.get(), req);
  v1::SubscribeResponse resp;
  while (out.size() < want && reader->Read(&resp)) out.push_back(resp.entry());
  ctx->TryCancel();
  while (reader->Read(&resp)) {
  }
  (void)reader->Finish();
  return out;
}

TEST_F(Governance, ASubscriptionDroppedAndResumedSeesEveryEventExactlyOnce) {
  // Two programmes in different partitions, so that resumption is per partition.
  std::string other;
  for (const char* candidate : {"apac-kam", "amer-kam", "nordics-kam", "dach-kam", "iberia-kam"}) {
    if (eventlog::PartitionFor(candidate, 3) != eventlog::PartitionFor("emea-kam", 3)) {
      other = candidate;
      break;
    }
  }
  ASSERT_FALSE(other.empty());
  std::set<std::string> written;
  auto run = [&](const std::string& programme, int from, int to) {
    for (int i = from; i < to; ++i) {
      auto n = testing::Nominate("acct-" + std::to_string(i));
      n.set_programme_id(programme);
      n.mutable_metadata()->set_client_request_id(base::NewEventId());
      v1::NominateAccountResponse resp;
      ASSERT_TRUE(stub_->NominateAccount(Context("tok-kim-kam").get(), n, &resp).ok());
      written.insert(resp.result().event_ids(0));
      last_ = resp.result().position();
    }
  };
  for (const std::string& programme : {std::string("emea-kam"), other}) {
    auto c = testing::Charter();
    c.set_programme_id(programme);
    c.mutable_metadata()->set_client_request_id(base::NewEventId());
    v1::CharterProgrammeResponse resp;
    ASSERT_TRUE(stub_->CharterProgramme(Context("tok-admin-000").get(), c, &resp).ok());
    written.insert(resp.result().event_ids(0));
    written.insert(Join(programme, "bob"));  // bob's stream carries both programmes
    written.insert(Join(programme, "kim"));
    run(programme, 0, 10);
  }
  auto history = queries_->Stub();
  v1::SubscribeRequest from_start;
  auto first = ReadSome(*history, from_start, 9);  // dropped after 9 of 26
  ASSERT_EQ(first.size(), 9u);
  run("emea-kam", 10, 15);  // more arrive while nobody listens
  run(other, 10, 15);

  v1::SubscribeRequest resume;
  std::map<int32_t, v1::LogPosition> last_seen;
  for (const auto& e : first) last_seen[e.position().partition()] = e.position();
  for (const auto& [p, pos] : last_seen) *resume.add_after() = pos;
  auto rest = ReadSome(*history, resume, written.size() - first.size());

  std::vector<std::string> ids;
  for (const auto* batch : {&first, &rest}) {
    for (const auto& e : *batch) ids.push_back(e.envelope().event_id());
  }
  const std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), unique.size()) << "a duplicate was delivered";
  EXPECT_EQ(unique, written) << "an event was missed";

  // Filters: one account's events only.
  v1::SubscribeRequest filtered;
  filtered.set_aggregate_id(other);
  filtered.set_account_id("acct-3");
  auto one = ReadSome(*history, filtered, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].envelope().event().account_nominated().account_id(), "acct-3");
  v1::SubscribeRequest bad;
  auto* pos = bad.add_after();
  pos->set_topic("elsewhere");
  auto ctx = Context("tok-bob-board");
  auto reader = history->Subscribe(ctx.get(), bad);
  v1::SubscribeResponse resp;
  while (reader->Read(&resp)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kam

namespace kam {
namespace {

// Issue 12's resource limits over real gRPC: Subscribe streams beyond the bound are refused
// (and admitted again when one ends); a query names at most 64 positions, and waits for all
// of them within one budget, not one per position.
TEST(ReadSideLimits, StreamsAreBoundedAndAQueryWaitsOneBudgetForAllItsPositions) {
  const std::string prefix = testing::UniqueTopicPrefix();
  const std::string dir = std::filesystem::temp_directory_path() / ("kam-limits-" + prefix);
  testing::HistoryServer queries(testing::SharedKafka(), prefix, dir, nullptr,
                                 /*max_subscriptions=*/2);
  auto stub = queries.Stub();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>>> open;
  auto subscribe = [&] {
    contexts.push_back(testing::Context("tok-bob-board"));
    open.push_back(stub->Subscribe(contexts.back().get(), v1::SubscribeRequest{}));
  };
  subscribe();
  subscribe();
  // Both are being served once the read side sees them (no message is due on an empty log).
  v1::GetProjectionStatusResponse status;
  ASSERT_TRUE(stub->GetProjectionStatus(testing::Context("tok-bob-board").get(), {}, &status).ok());
  grpc::Status refused;
  for (int i = 0; i < 100; ++i) {  // the two streams reach the server asynchronously
    auto ctx = testing::Context("tok-bob-board");
    auto third = stub->Subscribe(ctx.get(), v1::SubscribeRequest{});
    v1::SubscribeResponse ignored;
    third->Read(&ignored);
    refused = third->Finish();
    if (refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("at most 2 Subscribe streams are open at once"),
            std::string::npos)
      << refused.error_message();
  // Unary calls still get through.
  EXPECT_TRUE(stub->GetProjectionStatus(testing::Context("tok-bob-board").get(), {}, &status).ok());
  contexts[0]->TryCancel();  // one stream ends: another is admitted
  open[0]->Finish();
  // The server notices the cancellation at its next check (within half a second).
  bool admitted = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!admitted && std::chrono::steady_clock::now() < give_up) {
    auto ctx = testing::Context("tok-bob-board");
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(700));
    auto again = stub->Subscribe(ctx.get(), v1::SubscribeRequest{});
    v1::SubscribeResponse ignored;
    again->Read(&ignored);
    admitted = again->Finish().error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;  // served
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(admitted);
  contexts[1]->TryCancel();
  open[1]->Finish();

  // More positions than any query needs are refused, naming the field.
  const std::string topic = eventlog::AggregateTopic(prefix, domain::kProgrammeAggregateType);
  v1::GetHistoryRequest many;
  many.set_programme_id("emea-kam");
  for (int i = 0; i < 65; ++i) {
    auto* p = many.mutable_consistency()->add_at_least();
    p->set_topic(topic);
    p->set_partition(0);
    p->set_offset(i);
  }
  v1::GetHistoryResponse history;
  // (as the operator: the programme does not exist, so nobody else reads it)
  auto s = stub->GetHistory(testing::Context("tok-admin-000").get(), many, &history);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("consistency.at_least: at most 64 positions"), std::string::npos)
      << s.error_message();
  // Three positions the read model will not reach, 1 s to wait: about 1 s in all, not 3.
  v1::GetHistoryRequest unreachable;
  unreachable.set_programme_id("emea-kam");
  unreachable.mutable_consistency()->set_wait_timeout_ms(1000);
  for (int32_t p = 0; p < 3; ++p) {
    auto* at = unreachable.mutable_consistency()->add_at_least();
    at->set_topic(topic);
    at->set_partition(p);
    at->set_offset(1000000);
  }
  const auto started = std::chrono::steady_clock::now();
  s = stub->GetHistory(testing::Context("tok-admin-000").get(), unreachable, &history);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << "each position waited its own second";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kam
