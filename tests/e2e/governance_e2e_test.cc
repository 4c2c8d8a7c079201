// Governance queries over gRPC against the real broker: the programme as of past moments
// on both time axes (with a late-recorded fact), the scorecard, and verification of a
// forged event appended to the topic.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "base/ids.h"
#include "eventlog/producer.h"
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
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(
      &S::NominateAccount, At(testing::Nominate("acme"), DaysAgo(now, 20)), "tok-kim-kam");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const absl::Time between = absl::Now() - absl::Milliseconds(700);
  // Recorded now, effective 25 days ago: the fact was late in reaching the platform.
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(
      &S::NominateAccount, At(testing::Nominate("globex"), DaysAgo(now, 25)), "tok-kim-kam");

  using V = std::vector<std::string>;
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_UNSPECIFIED, now),
            (V{"acme:nominated", "globex:nominated"}));
  // As recorded by then: globex was not yet known to the platform.
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_RECORDED, between), (V{"acme:nominated"}));
  // As effective 22 days ago: globex (nominated 25 days ago) already, acme (20) not yet.
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_EFFECTIVE, now - absl::Hours(24 * 22)),
            (V{"globex:nominated"}));
  EXPECT_EQ(AccountsAsOf(v1::TIME_AXIS_EFFECTIVE, now - absl::Hours(24 * 10)),
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
  Do<v1::NominateAccountRequest, v1::NominateAccountResponse>(
      &S::NominateAccount, meta(testing::Nominate("acme")), "tok-kim-kam");
  v1::VerifyHistoryRequest verify;
  verify.set_aggregate_type("programme");
  verify.set_aggregate_id("emea-kam");
  *verify.mutable_consistency()->add_at_least() = last_;
  v1::VerifyHistoryResponse verified;
  ASSERT_TRUE(gov_->VerifyHistory(Context("tok-bob-board").get(), verify, &verified).ok());
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.events_checked(), 2u);

  // A forger appends version 3 whose previous_hash is not version 2's hash.
  writer::Chain forged_tip;
  forged_tip.version = 2;
  forged_tip.last_hash = std::string(32, '\x42');
  writer::CommandInfo info;
  info.aggregate_type = "programme";
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
  EXPECT_EQ(verified.first_break_version(), 3u);
  EXPECT_EQ(verified.first_break_position().offset(), (*at)[0].offset());
  EXPECT_NE(verified.first_break().find("is not the hash of version 2"), std::string::npos)
      << verified.first_break();

  v1::GetScorecardRequest card;
  card.set_programme_id("emea-kam");
  v1::GetScorecardResponse scorecard;
  ASSERT_TRUE(gov_->GetScorecard(Context("tok-bob-board").get(), card, &scorecard).ok());
  EXPECT_FALSE(scorecard.history_intact());
  ASSERT_EQ(scorecard.steps_size(), 7);
  bool raised = false;
  for (const auto& f : scorecard.steps(6).flags()) raised = raised || f.rule() == "history.intact";
  EXPECT_TRUE(raised);
  EXPECT_EQ(scorecard.steps(6).rules_held_size(), 0);  // nothing is vouched for on a broken history
}

TEST_F(Governance, TheScorecardListsRulesHeldAndFlagsByStep) {
  using S = v1::ProgrammeCommandService::Stub;
  auto charter = testing::Charter();
  charter.mutable_metadata()->set_client_request_id(base::NewEventId());
  Do<v1::CharterProgrammeRequest, v1::CharterProgrammeResponse>(&S::CharterProgramme, charter,
                                                                "tok-admin-000");
  v1::GetScorecardRequest card;
  card.set_programme_id("emea-kam");
  *card.mutable_consistency()->add_at_least() = last_;
  v1::GetScorecardResponse scorecard;
  ASSERT_TRUE(gov_->GetScorecard(Context("tok-bob-board").get(), card, &scorecard).ok());
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
  EXPECT_EQ(gov_->GetScorecard(Context("tok-bob-board").get(), unknown, &scorecard).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gov_->GetScorecard(Context("").get(), card, &scorecard).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
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
    run(programme, 0, 10);
  }
  auto history = queries_->Stub();
  v1::SubscribeRequest from_start;
  auto first = ReadSome(*history, from_start, 9);  // dropped after 9 of 22
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
