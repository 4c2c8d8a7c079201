// The writer without a broker: the pure pipeline (groups decided in order, reversible until
// they commit) and the partition writer's group commit over an in-memory log with injected
// failures. Golden strings read like the behaviour: "acme@1 globex@2".
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "base/errors.h"
#include "domain/metrics.h"
#include "domain/rules.h"
#include "eventlog/checkpoints.h"
#include "support/memory_event_log.h"
#include "unit/golden.h"
#include "writer/aggregate_writer.h"
#include "writer/pipeline.h"

namespace kam::writer {
namespace {

// A toy aggregate: the names it holds, each added once.
struct Roster {
  std::set<std::string> names;
};
void EvolveRoster(Roster& r, const v1::EventEnvelope& e) {
  if (e.event().has_account_nominated()) r.names.insert(e.event().account_nominated().account_id());
}

class FakeClock final : public Clock {
 public:
  absl::Time Now() const override { return now; }
  absl::Time now = absl::FromUnixSeconds(1790000000);
};

Command<Roster> Add(const std::string& roster, const std::string& name,
                    std::string request_id = "") {
  Command<Roster> c;
  c.aggregate_id = roster;
  c.metadata.set_client_request_id(request_id.empty() ? "add-" + roster + "-" + name : request_id);
  c.actor = "ana@supplier.example";
  c.decide = [name](const Roster& r, absl::Time) -> absl::StatusOr<domain::Events> {
    if (r.names.contains(name)) {
      return base::RuleViolated(absl::StatusCode::kAlreadyExists, domain::rules::kNominationUnique,
                                "'" + name + "' is already there");
    }
    domain::Events out(1);
    out[0].mutable_account_nominated()->set_account_id(name);
    return out;
  };
  return c;
}

// "<name>@<version>" per accepted command, or the error; in order.
std::string Render(const std::vector<Outcome>& outcomes) {
  std::string out;
  for (const auto& o : outcomes) {
    if (!out.empty()) out += " ";
    if (!o.result.ok()) {
      out += std::string(absl::StatusCodeToString(o.result.status().code()));
      continue;
    }
    out += base::StrCat(o.result->aggregate_id(), "@", o.result->aggregate_version(),
                        o.result->deduplicated() ? "(dup)" : "");
  }
  return out;
}

std::vector<v1::LogPosition> Positions(std::size_t n, int64_t from = 0) {
  std::vector<v1::LogPosition> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i].set_offset(from + static_cast<int64_t>(i));
  return out;
}

class Pipeline : public ::testing::Test {
 protected:
  Pipeline() {
    options.topic = "t";
    options.aggregate_type = "roster";
    options.evolve = &EvolveRoster;
  }
  PipelineOptions<Roster> options;
  Partition<Roster> part;
  FakeClock clock;
};

TEST_F(Pipeline, AGroupDecidesEachCommandOnTopOfTheOnesBefore) {
  Group<Roster> g(part, options, clock.Now());
  g.Add(Add("r1", "acme"));
  g.Add(Add("r1", "acme", "again-acme"));  // sees the first: rejected by the rule
  g.Add(Add("r1", "globex"));
  g.Add(Add("r2", "acme"));  // another aggregate: independent
  ASSERT_EQ(g.records().size(), 3u);
  const auto out = g.Commit(Positions(3));
  EXPECT_EQ(Render(out), "r1@1 ALREADY_EXISTS r1@2 r2@1");
  EXPECT_EQ(out[2].result->position().offset(), 1);
  EXPECT_EQ(domain::rules::kNominationUnique, base::RuleOf(out[1].result.status()));
  // The chain continues across the group's commands.
  auto first = eventlog::Open(g.records()[0].value);
  auto second = eventlog::Open(g.records()[1].value);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(second->envelope.previous_hash(), first->envelope.hash());
  EXPECT_EQ(part.aggregates["r1"].chain.version, 2u);
  EXPECT_EQ(part.next_offset, 3);
}

TEST_F(Pipeline, ARetryIsAnsweredWithTheOriginalResultInAndAfterItsGroup) {
  {
    Group<Roster> g(part, options, clock.Now());
    g.Add(Add("r1", "acme", "req-1"));
    g.Add(Add("r1", "acme", "req-1"));  // the same command twice in one group
    EXPECT_EQ(g.records().size(), 1u);
    EXPECT_EQ(Render(g.Commit(Positions(1))), "r1@1 r1@1(dup)");
  }
  Group<Roster> later(part, options, clock.Now());
  later.Add(Add("r1", "acme", "req-1"));
  EXPECT_TRUE(later.records().empty());
  EXPECT_EQ(Render(later.Commit({})), "r1@1(dup)");
}

TEST_F(Pipeline, ADryRunIsDecidedButWritesAndRemembersNothing) {
  {
    Group<Roster> g(part, options, clock.Now());
    g.Add(Add("r1", "acme"));
    g.Commit(Positions(1));
  }
  Group<Roster> g(part, options, clock.Now());
  auto dry = Add("r1", "globex", "req-dry");
  dry.metadata.set_dry_run(true);
  auto dry_rejected = Add("r1", "acme", "req-dry-2");
  dry_rejected.metadata.set_dry_run(true);
  dry_rejected.dead_letter = [](const absl::Status&) -> std::optional<eventlog::Record> {
    return eventlog::Record{"k", "v", "dlq", -1, {}};
  };
  g.Add(std::move(dry));
  g.Add(std::move(dry_rejected));
  g.Add(Add("r1", "globex", "req-dry"));  // the same request id for real: executes
  ASSERT_EQ(g.records().size(), 1u);      // no dead letter for a dry run, no event for it
  const auto out = g.Commit(Positions(1, 1));
  EXPECT_EQ(Render(out), "r1@2 ALREADY_EXISTS r1@2");
  EXPECT_TRUE(out[0].result->dry_run());
  EXPECT_FALSE(out[0].result->has_position());
  EXPECT_TRUE(out[0].result->event_ids().empty());
  EXPECT_FALSE(out[1].dead_lettered);
  EXPECT_FALSE(out[2].result->dry_run());
  EXPECT_FALSE(out[2].result->deduplicated());
  EXPECT_EQ(part.aggregates["r1"].chain.version, 2u);
}

TEST_F(Pipeline, AnAbortedGroupLeavesThePartitionExactlyAsItWas) {
  {
    Group<Roster> g(part, options, clock.Now());
    g.Add(Add("r1", "acme"));
    g.Commit(Positions(1));
  }
  const Chain before = part.aggregates["r1"].chain;
  Group<Roster> g(part, options, clock.Now());
  g.Add(Add("r1", "globex"));
  g.Add(Add("r1", "globex", "dup-globex"));  // rejected only because of the first
  g.Add(Add("r2", "initech"));               // a new aggregate
  g.Add(Add("r3", "x", ""));                 // fine on its own, but rides on the transaction
  Command<Roster> malformed = Add("r1", "y");
  malformed.metadata.clear_client_request_id();
  g.Add(malformed);                      // refused before any state was read
  g.Add(Add("r1", "acme", "dup-acme"));  // rejected on committed state? r1 was touched: waits
  const auto out = g.Abort(absl::UnavailableError("kafka went away"));
  EXPECT_EQ(Render(out),
            "UNAVAILABLE UNAVAILABLE UNAVAILABLE UNAVAILABLE INVALID_ARGUMENT UNAVAILABLE");
  EXPECT_EQ(part.aggregates.size(), 1u) << "aggregates created by the group are gone";
  EXPECT_EQ(part.aggregates["r1"].state.names, (std::set<std::string>{"acme"}));
  EXPECT_EQ(part.aggregates["r1"].chain.version, before.version);
  EXPECT_EQ(part.aggregates["r1"].chain.last_hash, before.last_hash);
  EXPECT_EQ(part.aggregates["r1"].chain.results.size(), 1u);
  EXPECT_EQ(part.next_offset, 1);
}

TEST_F(Pipeline, ARejectionThatDidNotDependOnTheGroupStandsWhenItAborts) {
  {
    Group<Roster> g(part, options, clock.Now());
    g.Add(Add("r1", "acme"));
    g.Commit(Positions(1));
  }
  Group<Roster> g(part, options, clock.Now());
  g.Add(Add("r1", "acme", "second-acme"));  // rejected on committed state alone
  g.Add(Add("r2", "globex"));
  EXPECT_EQ(Render(g.Abort(absl::UnavailableError("x"))), "ALREADY_EXISTS UNAVAILABLE");
}

TEST_F(Pipeline, AnExpectedVersionIsCheckedAgainstTheGroupsOwnTip) {
  Group<Roster> g(part, options, clock.Now());
  g.Add(Add("r1", "acme"));
  auto stale = Add("r1", "globex");
  stale.metadata.set_expected_version(0);
  auto current = Add("r1", "initech");
  current.metadata.set_expected_version(1);
  g.Add(stale);
  g.Add(current);
  EXPECT_EQ(Render(g.Commit(Positions(2))), "r1@1 ABORTED r1@2");
}

TEST_F(Pipeline, ABrokenHistoryRefusesEveryCommandNamingTheRule) {
  part.aggregates["r1"].chain.broken = "history of roster 'r1' is broken at version 3";
  Group<Roster> g(part, options, clock.Now());
  g.Add(Add("r1", "acme"));
  const auto out = g.Commit({});
  ASSERT_FALSE(out[0].result.ok());
  EXPECT_EQ(base::RuleOf(out[0].result.status()), domain::rules::kHistoryIntact);
  EXPECT_EQ(out[0].result.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(Pipeline, BusinessTimeInTheFutureIsRefused) {
  Group<Roster> g(part, options, clock.Now());
  auto c = Add("r1", "acme");
  *c.metadata.mutable_occurred_at() = ToTimestamp(clock.Now() + absl::Hours(1));
  g.Add(c);
  const auto out = g.Commit({});
  EXPECT_EQ(base::FieldOf(out[0].result.status()), "metadata.occurred_at");
}

// The metrics aggregate is taken back event by event instead of being copied.
TEST(PipelineRevert, AnAbortRevertsMetricsEventByEvent) {
  PipelineOptions<domain::MetricsState> options;
  options.topic = "m";
  options.aggregate_type = std::string(domain::kMetricsAggregateType);
  options.evolve = &domain::Evolve;
  options.evolve_undoable = &domain::EvolveUndoable;
  Partition<domain::MetricsState> part;
  auto metric = [](const std::string& record) {
    Command<domain::MetricsState> c;
    c.aggregate_id = "p:acme";
    c.metadata.set_client_request_id(record);
    c.decide = [record](const domain::MetricsState& s, absl::Time now) {
      v1::RecordMetricRequest r;
      auto* m = r.mutable_metric();
      m->set_programme_id("p");
      m->set_account_id("acme");
      m->set_kind(v1::METRIC_KIND_REVENUE);
      m->set_period_start("2025-01-01");
      m->set_period_end("2025-01-31");
      m->mutable_amount()->set_currency("EUR");
      m->mutable_amount()->set_minor_units(100);
      m->set_source_system("erp");
      m->set_source_record_id(record);
      return domain::Decide(s, r, {"erp", now});
    };
    return c;
  };
  {
    Group<domain::MetricsState> g(part, options, absl::Now());
    g.Add(metric("inv-1"));
    g.Commit(Positions(1));
  }
  const std::string before = domain::EncodeSnapshot(part.aggregates["p:acme"].state);
  Group<domain::MetricsState> g(part, options, absl::Now());
  g.Add(metric("inv-2"));
  g.Add(metric("inv-3"));
  g.Abort(absl::UnavailableError("x"));
  EXPECT_EQ(domain::EncodeSnapshot(part.aggregates["p:acme"].state), before);
  EXPECT_EQ(part.aggregates["p:acme"].state.sources.size(), 1u);
}

// --- The partition writer over the in-memory log -------------------------------------------

class GroupCommit : public ::testing::Test {
 protected:
  void Start(std::string checkpoint_topic = "",
             std::chrono::milliseconds checkpoint_interval = std::chrono::milliseconds(0),
             DedupWindow dedup = {}) {
    auto log = std::make_unique<testing::MemoryEventLog>();
    log_ = log.get();
    WriterOptions o;
    o.topic = "rosters";
    o.aggregate_type = "roster";
    o.partitions = 1;
    o.transactional_id = "w";
    o.checkpoint_topic = std::move(checkpoint_topic);
    o.checkpoint_interval = checkpoint_interval;
    o.dedup = dedup;
    writer_ = std::make_unique<AggregateWriter<Roster>>(std::move(log), o, &EvolveRoster,
                                                        SnapshotCodec<Roster>{}, nullptr, clock_);
    ASSERT_TRUE(writer_->Start().ok());
  }
  std::vector<std::string> Logged() const {
    std::vector<std::string> out;
    for (const auto& r : log_->Records("rosters", 0)) {
      auto o = eventlog::Open(r.value);
      out.push_back(o->envelope.event().account_nominated().account_id());
    }
    return out;
  }
  FakeClock clock_;
  testing::MemoryEventLog* log_ = nullptr;
  std::unique_ptr<AggregateWriter<Roster>> writer_;
};

TEST_F(GroupCommit, CommandsArrivingDuringATransactionShareTheNextOne) {
  Start();
  log_->HoldAppends();
  auto first = writer_->Submit(Add("r1", "acme"));
  log_->AwaitHeld(1);  // the first transaction is in flight
  std::vector<std::future<Outcome>> queued;
  for (const char* name : {"b", "c", "d", "e"}) queued.push_back(writer_->Submit(Add("r1", name)));
  queued.push_back(writer_->Submit(Add("r1", "b", "b-again")));  // rejected: b is in the group
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(queued[0].wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "nothing is answered before its transaction commits";
  log_->ReleaseAppends();
  EXPECT_EQ(Render({first.get()}), "r1@1");
  std::vector<Outcome> rest;
  for (auto& f : queued) rest.push_back(f.get());
  EXPECT_EQ(Render(rest), "r1@2 r1@3 r1@4 r1@5 ALREADY_EXISTS");
  EXPECT_EQ(log_->transactions(), 2) << "the four queued commands went in one transaction";
  EXPECT_EQ(rest[3].result->position().offset(), 4);
  EXPECT_EQ(Logged(), (std::vector<std::string>{"acme", "b", "c", "d", "e"}));
}

TEST_F(GroupCommit, AFailedTransactionAnswersItsWholeGroupUnavailableAndRetriesSucceedOnce) {
  Start();
  log_->HoldAppends();
  auto lead = writer_->Submit(Add("r1", "lead"));
  log_->AwaitHeld(1);
  std::vector<std::future<Outcome>> group;
  for (const char* name : {"x", "y", "z"}) group.push_back(writer_->Submit(Add("r1", name)));
  log_->FailNext(testing::MemoryEventLog::Fault::kAbort);  // the group's transaction
  log_->ReleaseAppends();
  EXPECT_EQ(Render({lead.get()}), "r1@1");
  std::vector<Outcome> failed;
  for (auto& f : group) failed.push_back(f.get());
  EXPECT_EQ(Render(failed), "UNAVAILABLE UNAVAILABLE UNAVAILABLE");
  EXPECT_EQ(Logged(), (std::vector<std::string>{"lead"})) << "none of the group is visible";
  // Retries with the same request ids execute once, continuing the chain.
  std::vector<Command<Roster>> again;
  for (const char* name : {"x", "y", "z"}) again.push_back(Add("r1", name));
  EXPECT_EQ(Render(writer_->ExecuteAll(again)), "r1@2 r1@3 r1@4");
  EXPECT_EQ(Render(writer_->ExecuteAll(again)), "r1@2(dup) r1@3(dup) r1@4(dup)");
  EXPECT_EQ(Logged(), (std::vector<std::string>{"lead", "x", "y", "z"}));
}

TEST_F(GroupCommit, AfterAnUnknownOutcomeThatCommittedARetryGetsTheOriginalResult) {
  Start();
  log_->FailNext(testing::MemoryEventLog::Fault::kUnknownCommitted);
  auto lost = writer_->Submit(Add("r1", "acme")).get();
  EXPECT_EQ(lost.result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Logged(), (std::vector<std::string>{"acme"})) << "it did commit";
  // The partition reads the log from its last known offset before the next group.
  auto retry = writer_->Submit(Add("r1", "acme")).get();
  EXPECT_EQ(Render({retry}), "r1@1(dup)");
  EXPECT_EQ(retry.result->position().offset(), 0);
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "globex")).get()}), "r1@2");
  EXPECT_EQ(Logged(), (std::vector<std::string>{"acme", "globex"}));
}

TEST_F(GroupCommit, AfterAnUnknownOutcomeThatDidNotCommitARetryExecutesOnce) {
  Start();
  log_->FailNext(testing::MemoryEventLog::Fault::kUnknownNotCommitted);
  EXPECT_FALSE(writer_->Submit(Add("r1", "acme")).get().result.ok());
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "acme")).get()}), "r1@1");
  EXPECT_EQ(Logged(), (std::vector<std::string>{"acme"}));
}

TEST_F(GroupCommit, AFencedWriterAnswersEveryCommandWithTheReasonNotTheOwner) {
  Start();
  log_->FailNext(testing::MemoryEventLog::Fault::kFenced);
  for (const char* name : {"acme", "globex"}) {
    auto out = writer_->Submit(Add("r1", name)).get();
    ASSERT_FALSE(out.result.ok());
    EXPECT_EQ(out.result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(base::ReasonOf(out.result.status()), base::kReasonNotOwner);
  }
  EXPECT_TRUE(Logged().empty());
}

TEST_F(GroupCommit, ATransactionCarriesItsDeadLettersAndConsumerOffsets) {
  Start();
  auto rejected = Add("r1", "acme", "dup");
  rejected.dead_letter = [](const absl::Status& why) -> std::optional<eventlog::Record> {
    return eventlog::Record{
        "r1", "the original", "rosters.dlq", -1, {{"kam-dlq-reason", std::string(why.message())}}};
  };
  std::vector<Command<Roster>> batch = {Add("r1", "acme"), rejected};
  auto out = writer_
                 ->SubmitTransaction(0, std::move(batch),
                                     eventlog::TransactionOffsets{nullptr, "inbound", {{0, 42}}})
                 .get();
  EXPECT_EQ(Render(out), "r1@1 ALREADY_EXISTS");
  EXPECT_TRUE(out[1].dead_lettered);
  EXPECT_EQ(log_->transactions(), 1);
  const auto dlq = log_->AllRecords("rosters.dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].headers[0].second, "rule nomination.unique: 'acme' is already there");
  EXPECT_EQ(log_->committed_offsets()["inbound"][0], 42);
  EXPECT_EQ(Logged(), (std::vector<std::string>{"acme"}));
}

TEST_F(GroupCommit, ARequestIdReusedForAnotherCommandIsRefusedInAndAfterItsGroup) {
  Start();
  auto with_fingerprint = [](Command<Roster> c, std::string fp) {
    c.fingerprint = std::move(fp);
    return c;
  };
  log_->HoldAppends();
  auto lead = writer_->Submit(with_fingerprint(Add("r1", "lead"), "fp-lead"));
  log_->AwaitHeld(1);
  // Queued behind the lead: "a" and, with a's request id, another command.
  auto a = writer_->Submit(with_fingerprint(Add("r1", "a", "req-a"), "fp-a"));
  auto b = writer_->Submit(with_fingerprint(Add("r1", "b", "req-a"), "fp-b"));
  auto a_again = writer_->Submit(with_fingerprint(Add("r1", "a", "req-a"), "fp-a"));
  log_->ReleaseAppends();
  EXPECT_EQ(Render({lead.get(), a.get(), b.get(), a_again.get()}),
            "r1@1 r1@2 ALREADY_EXISTS r1@2(dup)");
  // After the commit: the same command is deduplicated, another one refused with the reason.
  EXPECT_EQ(Render({writer_->Submit(with_fingerprint(Add("r1", "a", "req-a"), "fp-a")).get()}),
            "r1@2(dup)");
  auto reused = writer_->Submit(with_fingerprint(Add("r1", "c", "req-a"), "fp-c")).get();
  EXPECT_EQ(reused.result.status().message(),
            "metadata.client_request_id: 'req-a' was already used for a different command, or "
            "by another caller, on roster 'r1' (it wrote version 2); a retry repeats the command "
            "exactly as the same caller, a new command needs a new request id");
  // A command without a fingerprint (an older client) is taken as the same one.
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "c", "req-a")).get()}), "r1@2(dup)");
  EXPECT_EQ(Logged(), (std::vector<std::string>{"lead", "a"}));
}

TEST_F(GroupCommit, ResultsAreRememberedForTheDedupWindowOnly) {
  Start("", std::chrono::milliseconds(0), DedupWindow{absl::Hours(1), 3});
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "a", "req-a")).get()}), "r1@1");
  clock_.now += absl::Minutes(30);
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "b", "req-b")).get()}), "r1@2");
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "a", "req-a")).get()}), "r1@1(dup)")
      << "within the hour: the original result";
  clock_.now += absl::Minutes(45);  // req-a is now 75 minutes older than the newest command
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "c", "req-c")).get()}), "r1@3");
  // Forgotten: a retry that late is a new command (here refused by the rule, not replayed).
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "a", "req-a")).get()}), "ALREADY_EXISTS");
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "b", "req-b")).get()}), "r1@2(dup)");
  // And at most three are kept, whatever their age.
  for (const char* n : {"d", "e", "f"}) {
    ASSERT_TRUE(writer_->Submit(Add("r1", n, std::string("req-") + n)).get().result.ok());
  }
  EXPECT_EQ(Render({writer_->Submit(Add("r1", "b", "req-b")).get()}), "ALREADY_EXISTS");
}

// "<aggregate>@<version>" per tip of each checkpoint on "cps", "*" after a complete one.
std::vector<std::string> Checkpoints(const testing::MemoryEventLog& log) {
  std::vector<std::string> out;
  for (const auto& r : log.AllRecords("cps")) {
    auto c = eventlog::OpenCheckpoint(r.value, nullptr);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) continue;
    EXPECT_EQ(r.key, "rosters/0");
    std::string line = c->complete() ? "*" : "";
    for (const auto& tip : c->tips()) {
      line += base::StrCat(line.empty() || line == "*" ? "" : " ", tip.aggregate_id(), "@",
                           tip.version());
      EXPECT_EQ(tip.hash().size(), 32u);
    }
    out.push_back(base::StrCat(line, " <", c->next_offset()));
  }
  return out;
}

TEST_F(GroupCommit, ACheckpointStatesEveryTipThenOnlyThoseThatMoved) {
  Start("cps");
  ASSERT_TRUE(writer_->CheckpointAll().ok());
  EXPECT_TRUE(Checkpoints(*log_).empty()) << "an empty partition has nothing to state";
  ASSERT_TRUE(writer_->Submit(Add("r1", "acme")).get().result.ok());
  ASSERT_TRUE(writer_->Submit(Add("r2", "beta")).get().result.ok());
  ASSERT_TRUE(writer_->CheckpointAll().ok());
  ASSERT_TRUE(writer_->CheckpointAll().ok());  // nothing moved: nothing written
  ASSERT_TRUE(writer_->Submit(Add("r1", "gamma")).get().result.ok());
  ASSERT_TRUE(writer_->CheckpointAll().ok());
  EXPECT_EQ(Checkpoints(*log_), (std::vector<std::string>{"*r1@1 r2@1 <2", "r1@2 <3"}));
  writer_->Stop();  // nothing moved since: no checkpoint at shutdown either
  EXPECT_EQ(Checkpoints(*log_).size(), 2u);
  EXPECT_EQ(writer_->counters().checkpoints, 2u);
}

TEST_F(GroupCommit, CheckpointsAreTakenPeriodicallyAndWhenTheWriterStops) {
  Start("cps", std::chrono::milliseconds(50));
  ASSERT_TRUE(writer_->Submit(Add("r1", "acme")).get().result.ok());
  for (int i = 0; i < 200 && Checkpoints(*log_).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Checkpoints(*log_), std::vector<std::string>{"*r1@1 <1"});
  ASSERT_TRUE(writer_->Submit(Add("r2", "beta")).get().result.ok());
  writer_->Stop();
  const auto all = Checkpoints(*log_);
  ASSERT_EQ(all.size(), 2u) << "the stop states what moved since the last one";
  EXPECT_EQ(all[1], "r2@1 <2");
}

TEST_F(GroupCommit, ACommandForAPartitionNotOwnedIsRefusedWithTheReason) {
  Start();
  auto out = writer_->SubmitTransaction(7, {Add("r1", "acme")}, std::nullopt).get();
  EXPECT_EQ(base::ReasonOf(out[0].result.status()), base::kReasonNotOwner);
}

// --- Handing a partition over between two instances (what a writer group's rebalance does) --

// One log shared by two writers, as two instances share a Kafka cluster.
class SharedLog final : public EventLog {
 public:
  explicit SharedLog(testing::MemoryEventLog& log) : log_(log) {}
  absl::Status EnsureTopic(const std::string& topic, int partitions) override {
    return log_.EnsureTopic(topic, partitions);
  }
  absl::StatusOr<int> PartitionCount(const std::string& topic) override {
    return log_.PartitionCount(topic);
  }
  std::unique_ptr<PartitionLog> OpenPartition(const std::string& topic, int32_t partition,
                                              const std::string& id) override {
    return log_.OpenPartition(topic, partition, id);
  }

 private:
  testing::MemoryEventLog& log_;
};

class Handover : public ::testing::Test {
 protected:
  std::unique_ptr<AggregateWriter<Roster>> Instance() {
    WriterOptions o;
    o.topic = "rosters";
    o.aggregate_type = "roster";
    o.partitions = 1;
    o.transactional_id = "w";
    o.owned_by_group = true;
    auto w = std::make_unique<AggregateWriter<Roster>>(std::make_unique<SharedLog>(log_), o,
                                                       &EvolveRoster, SnapshotCodec<Roster>{},
                                                       nullptr, clock_);
    EXPECT_TRUE(w->Start().ok());
    return w;
  }
  FakeClock clock_;
  testing::MemoryEventLog log_;
};

TEST_F(Handover, AWriterOfAGroupOwnsNothingUntilAPartitionIsAcquired) {
  auto a = Instance();
  EXPECT_TRUE(a->owned_partitions().empty());
  auto refused = a->Submit(Add("r1", "acme")).get();
  EXPECT_EQ(base::ReasonOf(refused.result.status()), base::kReasonNotOwner);
  ASSERT_TRUE(a->Acquire(0).ok());
  EXPECT_EQ(a->owned_partitions(), std::vector<int32_t>{0});
  EXPECT_EQ(Render({a->Submit(Add("r1", "acme")).get()}), "r1@1");
  EXPECT_EQ(a->Acquire(3).code(), absl::StatusCode::kInvalidArgument) << "no such partition";
}

TEST_F(Handover, TheTransactionInFlightFinishesTheQueueIsSentOnAndTheNewOwnerRemembersResults) {
  auto a = Instance();
  auto b = Instance();
  ASSERT_TRUE(a->Acquire(0).ok());
  const uint64_t epoch = a->ownership_epoch();
  const Outcome first = a->Submit(Add("r1", "acme")).get();
  ASSERT_TRUE(first.result.ok());
  log_.HoldAppends();
  auto in_flight = a->Submit(Add("r1", "globex"));
  log_.AwaitHeld(1);
  auto queued = a->Submit(Add("r1", "initech"));
  std::thread release([&] { a->Release(0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  log_.ReleaseAppends();
  release.join();
  EXPECT_NE(a->ownership_epoch(), epoch) << "the ingesters follow the epoch";
  const Outcome globex = in_flight.get();
  EXPECT_EQ(Render({globex}), "r1@2") << "the transaction in flight commits";
  const Outcome sent_on = queued.get();
  ASSERT_FALSE(sent_on.result.ok());
  EXPECT_EQ(base::ReasonOf(sent_on.result.status()), base::kReasonRebalancing)
      << "the new owner is not known yet: the client retries shortly";
  EXPECT_NE(sent_on.result.status().message().find("moved to another instance"), std::string::npos)
      << sent_on.result.status();
  EXPECT_EQ(base::ReasonOf(a->Submit(Add("r1", "hooli")).get().result.status()),
            base::kReasonNotOwner);

  ASSERT_TRUE(b->Acquire(0).ok());
  // The client retries both at the new owner with their request ids.
  const Outcome again = b->Submit(Add("r1", "globex")).get();
  EXPECT_EQ(Render({again}), "r1@2(dup)");
  EXPECT_EQ(again.result->position().offset(), globex.result->position().offset());
  EXPECT_EQ(Render({b->Submit(Add("r1", "initech")).get()}), "r1@3");
  EXPECT_EQ(Render({b->Submit(Add("r1", "acme")).get()}), "r1@1(dup)");
  std::vector<std::string> logged;
  for (const auto& r : log_.Records("rosters", 0)) {
    logged.push_back(eventlog::Open(r.value)->envelope.event().account_nominated().account_id());
  }
  EXPECT_EQ(logged, (std::vector<std::string>{"acme", "globex", "initech"}));
}

TEST_F(Handover, AnInstanceThatTakesAPartitionBackFencesTheOneThatHadIt) {
  auto a = Instance();
  auto b = Instance();
  ASSERT_TRUE(a->Acquire(0).ok());
  ASSERT_TRUE(b->Acquire(0).ok());  // a did not release it: it is a zombie now
  const Outcome zombie = a->Submit(Add("r1", "acme")).get();
  ASSERT_FALSE(zombie.result.ok());
  EXPECT_EQ(base::ReasonOf(zombie.result.status()), base::kReasonNotOwner);
  EXPECT_EQ(Render({b->Submit(Add("r1", "acme")).get()}), "r1@1");
  EXPECT_EQ(log_.Records("rosters", 0).size(), 1u);
  // The group gives it back to a: its fenced writer is replaced, not reused.
  ASSERT_TRUE(a->Acquire(0).ok());
  EXPECT_EQ(Render({a->Submit(Add("r1", "globex")).get()}), "r1@2");
  EXPECT_EQ(base::ReasonOf(b->Submit(Add("r1", "initech")).get().result.status()),
            base::kReasonNotOwner);
  EXPECT_EQ(log_.Records("rosters", 0).size(), 2u);
}

}  // namespace
}  // namespace kam::writer
