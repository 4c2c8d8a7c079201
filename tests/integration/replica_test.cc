// Read replicas, with the real kam-history-projection binary against the real broker.
//
// Each replica reads every partition by itself (manual assignment, no consumer group) and
// keeps its offsets in its own RocksDB, so two processes with their own --data-dir fold the
// same log independently, and a command's position token is honoured by whichever one a
// query reaches. A new replica starts from a store checkpoint of a live one (SIGUSR1 with
// --store-checkpoint-dir) taken while commands keep coming, folds only what came after, and
// ends with the same per-partition fold digests - and the same store - as a clean rebuild.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "eventlog/producer.h"
#include "eventlog/topics.h"
#include "projections/history/history_index.h"
#include "readmodel/store.h"
#include "support/kafka_broker.h"
#include "support/members.h"
#include "support/metric_events.h"
#include "support/prometheus.h"
#include "support/run_binary.h"
#include "support/servers.h"

namespace kam {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kAdmin[] = "tok-admin-000";

bool Eventually(const std::function<bool()>& done, milliseconds timeout = seconds(60)) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One kam-history-projection process; SIGTERM (then SIGKILL) when destroyed.
class Replica {
 public:
  Replica(const std::string& name, const std::string& base, const std::string& prefix,
          const std::string& data_dir, const std::string& checkpoint_dir = "")
      : name_(name), log_(base + "/" + name + ".log") {
    std::vector<std::string> args = {std::string(KAM_BINARY_DIR) + "/kam-history-projection",
                                     "--brokers",
                                     testing::SharedBroker(),
                                     "--kafka-replication-factor",
                                     "1",
                                     "--topic-prefix",
                                     prefix,
                                     "--tokens",
                                     base + "/tokens",
                                     "--data-dir",
                                     data_dir,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    if (!checkpoint_dir.empty())
      args.insert(args.end(), {"--store-checkpoint-dir", checkpoint_dir});
    started_ = Clock::now();
    pid_ = testing::SpawnBinary(std::move(args), log_, /*append=*/false);
    port_ = AwaitField("port");
    metrics_port_ = AwaitField("metrics_port");
    stub_ = v1::HistoryQueryService::NewStub(testing::ChannelTo(port_));
  }
  ~Replica() { Stop(); }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Ends the process (SIGTERM: it finishes the batch in hand and closes the store).
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    if (!Eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, seconds(20))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  void Signal(int sig) const { kill(pid_, sig); }

  // Every JSON line it logged so far.
  std::vector<nlohmann::json> Lines() const {
    std::ifstream in(log_);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  // The first logged line whose msg starts with `msg`, waiting for it.
  nlohmann::json AwaitLine(const std::string& msg, std::size_t skip = 0) const {
    nlohmann::json found;
    const bool ok = Eventually([&] {
      std::size_t seen = 0;
      for (const auto& line : Lines()) {
        if (line.value("msg", "").starts_with(msg) && seen++ == skip) {
          found = line;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(ok) << name_ << " never logged \"" << msg << "\"; see " << log_;
    return found;
  }
  int AwaitField(const std::string& key) const {
    int value = -1;
    const bool ok = Eventually([&] {
      for (const auto& line : Lines()) {
        if (line.contains(key) && line[key].is_number_integer()) {
          value = line[key].get<int>();
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(ok) << name_ << " never logged \"" << key << "\"; see " << log_;
    return value;
  }

  v1::GetProjectionStatusResponse Status() const {
    v1::GetProjectionStatusResponse out;
    auto ctx = testing::Context(kAdmin);
    const grpc::Status s = stub_->GetProjectionStatus(ctx.get(), {}, &out);
    EXPECT_TRUE(s.ok()) << name_ << ": " << s.error_message();
    return out;
  }
  // Waits until it has read every partition to the end; the seconds since it was started.
  double AwaitCaughtUp() const {
    EXPECT_TRUE(Eventually([&] {
      const auto s = Status();
      return s.caught_up() && s.lag() == 0 && s.error().empty();
    })) << name_
        << " did not catch up; see " << log_;
    return SecondsSince(started_);
  }

  // A person's history, read only once the replica has folded `at` (read-your-writes).
  grpc::Status PersonHistory(const std::string& person, const v1::LogPosition& at,
                             v1::GetHistoryResponse& out, uint32_t wait_ms = 10000) const {
    v1::GetHistoryRequest r;
    r.set_programme_id("emea-kam");
    r.set_person_id(person);
    *r.mutable_consistency()->add_at_least() = at;
    r.mutable_consistency()->set_wait_timeout_ms(wait_ms);
    auto ctx = testing::Context(kAdmin);
    return stub_->GetHistory(ctx.get(), r, &out);
  }

  int metrics_port() const { return metrics_port_; }
  const std::string& log() const { return log_; }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = -1;
  int metrics_port_ = -1;
  Clock::time_point started_;
  std::unique_ptr<v1::HistoryQueryService::Stub> stub_;
};

// Per (topic, partition): "next_offset digest", the figures two equal read models share.
std::map<std::string, std::string> Positions(const v1::GetProjectionStatusResponse& s) {
  std::map<std::string, std::string> out;
  for (const auto& p : s.partitions()) {
    out[base::StrCat(p.topic(), "/", p.partition())] =
        base::StrCat(p.next_offset(), " ", p.fold_digest());
  }
  return out;
}

class ReadReplicas : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    base_ = (fs::temp_directory_path() / ("kam-replica-" + prefix_)).string();
    fs::remove_all(base_);
    fs::create_directories(base_);
    std::ofstream(base_ + "/tokens") << testing::kTestTokens;
    // chmod 600: a service refuses a tokens file others can read.
    fs::permissions(base_ + "/tokens", fs::perms::owner_read | fs::perms::owner_write);
    commands_ = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix_);
    stub_ = commands_->Stub();
  }
  void TearDown() override {
    stub_.reset();
    commands_.reset();
    fs::remove_all(base_);
  }

  v1::LogPosition Charter() {
    v1::CharterProgrammeRequest r;
    r.mutable_metadata()->set_client_request_id(base::NewEventId());
    r.set_programme_id("emea-kam");
    r.set_name("EMEA key accounts");
    r.set_rationale("Grow profitable strategic customers");
    v1::CharterProgrammeResponse resp;
    auto ctx = testing::Context(kAdmin);
    const grpc::Status s = stub_->CharterProgramme(ctx.get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.result().position();
  }
  // Registers person `id` (a board observer) of emea-kam; its event's position.
  v1::LogPosition Register(const std::string& id) {
    auto at = testing::RegisterBoardObserver(*stub_, "emea-kam", id,
                                             base::StrCat(id, "@supplier.example"));
    EXPECT_TRUE(at.ok()) << at.status();
    return at.ok() ? *at : v1::LogPosition();
  }

  std::string prefix_;
  std::string base_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> stub_;
};

TEST_F(ReadReplicas, EitherReplicaHonoursACommandsPositionToken) {
  Replica a("a", base_, prefix_, base_ + "/a");
  Replica b("b", base_, prefix_, base_ + "/b");
  Charter();
  for (int i = 0; i < 5; ++i) {
    const std::string person = base::StrCat("p", i);
    const v1::LogPosition at = Register(person);
    // Asked at once, right after the command: each replica answers only once it has
    // folded the position, and then the write is there.
    for (const Replica* replica : {&a, &b}) {
      v1::GetHistoryResponse history;
      const grpc::Status s = replica->PersonHistory(person, at, history);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_EQ(history.entries_size(), 1) << person;
      EXPECT_EQ(history.entries(0).position().offset(), at.offset());
    }
  }
  // A position no replica can reach yet is refused, never answered from what is folded.
  v1::LogPosition ahead = Register("p-last");
  ahead.set_offset(ahead.offset() + 1000);
  for (const Replica* replica : {&a, &b}) {
    v1::GetHistoryResponse history;
    const grpc::Status s = replica->PersonHistory("p-last", ahead, history, 300);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  }
  // Each folded everything by itself: the same positions and fold digests everywhere.
  a.AwaitCaughtUp();
  b.AwaitCaughtUp();
  const auto sa = a.Status();
  const auto sb = b.Status();
  EXPECT_EQ(sa.records_folded_total(), 7u);  // the charter and six people
  EXPECT_EQ(sb.records_folded_total(), 7u);
  EXPECT_EQ(Positions(sa), Positions(sb));
}

TEST_F(ReadReplicas, AReplicaStartedFromACheckpointOfALiveOneFoldsOnlyTheTailExactlyOnce) {
  // A log worth copying rather than refolding: metrics filled straight into their topic.
  constexpr int kFilled = 120000;
  const std::string metrics_topic =
      eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType);
  ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), metrics_topic, 3).ok());
  auto producer =
      eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "metrics-fill");
  ASSERT_TRUE(producer.ok()) << producer.status();
  testing::MetricEventFactory metrics;
  auto append_metrics = [&](int n) {
    std::map<int32_t, std::vector<eventlog::Record>> by_partition;
    for (int i = 0; i < n; ++i) {
      auto [id, bytes] = metrics.Next("bulk", base::StrCat("acct-", i % 60));
      const int32_t p = eventlog::PartitionFor(id, 3);
      by_partition[p].push_back({std::move(id), std::move(bytes)});
    }
    for (auto& [p, records] : by_partition) {
      for (std::size_t from = 0; from < records.size(); from += 5000) {
        const std::size_t to = std::min(records.size(), from + 5000);
        const std::span<const eventlog::Record> part(records.data() + from, to - from);
        auto at = (*producer)->Append(metrics_topic, p, part, seconds(60));
        ASSERT_TRUE(at.ok()) << at.status();
      }
    }
  };
  append_metrics(kFilled);
  Charter();
  for (int i = 0; i < 20; ++i) Register(base::StrCat("early-", i));

  const std::string checkpoints = base_ + "/checkpoints";
  Replica a("a", base_, prefix_, base_ + "/a", checkpoints);
  const double a_first_fold = a.AwaitCaughtUp();

  // Commands and metrics keep coming while A is copied and B starts.
  std::atomic<bool> stop_load{false};
  std::atomic<int> commands_sent{0};
  std::thread load([&] {
    while (!stop_load) {
      Register(base::StrCat("load-", commands_sent++));
      append_metrics(200);
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  struct Joined {  // a failed ASSERT below still ends the load before the test returns
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joined() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joined{stop_load, load};
  ASSERT_TRUE(Eventually([&] { return commands_sent >= 10; }));

  // The checkpoint, made by the live A on SIGUSR1 while the load goes on.
  a.Signal(SIGUSR1);
  const nlohmann::json made = a.AwaitLine("store checkpoint made");
  const int sent_at_checkpoint = commands_sent;
  ASSERT_TRUE(fs::exists(checkpoints + "/latest"));
  const std::string checkpoint = fs::canonical(checkpoints + "/latest").string();
  EXPECT_EQ(made.value("path", ""), checkpoint);
  const uint64_t in_checkpoint = made.value("records_folded", uint64_t{0});
  EXPECT_GE(in_checkpoint, static_cast<uint64_t>(kFilled + 21));
  // B is another machine: a plain copy of the checkpoint's files, not its hard links.
  const std::string b_dir = base_ + "/b";
  const auto copy_started = Clock::now();
  fs::copy(checkpoint, b_dir, fs::copy_options::recursive);
  const double copy_seconds = SecondsSince(copy_started);
  // The load stops here so that B's time to catch up and the rebuild's are measured alike,
  // on a log that does not move (under load "caught up" holds only between two appends).
  ASSERT_TRUE(Eventually([&] { return commands_sent >= sent_at_checkpoint + 10; }));
  stop_load = true;
  load.join();

  Replica b("b", base_, prefix_, b_dir);
  const double b_to_serve = b.AwaitCaughtUp();

  // More commands once B serves; a new command's position token is honoured on B (and A).
  for (int i = 0; i < 10; ++i) Register(base::StrCat("after-b-", i));
  append_metrics(2000);
  const v1::LogPosition fresh = Register("after-b");
  for (const Replica* replica : {&a, &b}) {
    v1::GetHistoryResponse history;
    const grpc::Status s = replica->PersonHistory("after-b", fresh, history);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(history.entries_size(), 1);
    EXPECT_EQ(history.entries(0).position().offset(), fresh.offset());
  }
  // The writer appends its final checkpoint record as it stops; after that nothing moves.
  stub_.reset();
  commands_.reset();

  // A clean rebuild from offset 0 of the same log, for the digests and the time.
  Replica c("c", base_, prefix_, base_ + "/c");
  const double rebuild = c.AwaitCaughtUp();

  v1::GetProjectionStatusResponse sa, sb, sc;
  ASSERT_TRUE(Eventually([&] {
    sa = a.Status();
    sb = b.Status();
    sc = c.Status();
    return sa.caught_up() && sb.caught_up() && sc.caught_up() && Positions(sa) == Positions(sb) &&
           Positions(sb) == Positions(sc);
  })) << "A, B and the rebuild never agreed";
  // Exactly once: every record folded once, whether from the checkpoint or after it.
  EXPECT_EQ(sb.records_folded_total(), sc.records_folded_total());
  EXPECT_EQ(sa.records_folded_total(), sc.records_folded_total());
  for (const auto& p : sb.partitions()) {  // empty only before a partition's first record
    EXPECT_EQ(p.fold_digest().empty(), p.next_offset() == 0) << p.topic() << "/" << p.partition();
  }
  // B did not start from offset 0: of the history topics it folded just what the checkpoint
  // lacked (the checkpoints topic is not in records_folded_total; its runtime counts apart).
  const testing::Samples b_metrics = testing::Scrape(b.metrics_port());
  const auto b_history_folded = static_cast<uint64_t>(
      b_metrics.Sum(
          "kam_fold_records_total",
          {{"topic", eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType)}}) +
      b_metrics.Sum("kam_fold_records_total", {{"topic", metrics_topic}}));
  EXPECT_EQ(b_history_folded + in_checkpoint, sb.records_folded_total());
  EXPECT_LT(sb.records_applied_since_start(), sb.records_folded_total() - in_checkpoint + 100);
  EXPECT_GE(sc.records_applied_since_start(), sc.records_folded_total());

  // And byte for byte: the three stores hold the same keys and values.
  a.Stop();
  b.Stop();
  c.Stop();
  std::map<std::string, std::string> digests;
  for (const char* name : {"a", "b", "c"}) {
    auto store = readmodel::Store::OpenReadOnly(base_ + "/" + name, {});
    ASSERT_TRUE(store.ok()) << store.status();
    digests[name] = (*store)->Digest();
  }
  EXPECT_EQ(digests["a"], digests["c"]);
  EXPECT_EQ(digests["b"], digests["c"]);

  std::cout << std::fixed << std::setprecision(2)
            << "[ replicas ] log: " << sc.records_folded_total() << " records ("
            << commands_sent.load() << " commands and " << commands_sent.load() * 200
            << " metrics of load, the checkpoint after " << sent_at_checkpoint << ")\n"
            << "[ replicas ] A folded " << kFilled + 21 << " records from offset 0 in "
            << a_first_fold << " s\n"
            << "[ replicas ] checkpoint of live A: " << in_checkpoint << " records, "
            << made.value("bytes", uint64_t{0}) << " bytes ("
            << made.value("linked_bytes", uint64_t{0}) << " hard-linked), made in "
            << made.value("ms", int64_t{0}) << " ms; copied for B in " << copy_seconds << " s\n"
            << "[ replicas ] B from the checkpoint: caught up " << b_to_serve << " s after start, "
            << b_history_folded << " records folded\n"
            << "[ replicas ] clean rebuild: caught up " << rebuild << " s after start, "
            << sc.records_applied_since_start() << " records folded\n";
}

TEST_F(ReadReplicas, SigusrOneKeepsTheNewestCheckpointsBehindLatest) {
  Charter();
  const std::string checkpoints = base_ + "/checkpoints";
  Replica a("a", base_, prefix_, base_ + "/a", checkpoints);  // --store-checkpoint-keep 2
  a.AwaitCaughtUp();
  std::vector<std::string> made;
  for (int i = 0; i < 3; ++i) {
    const std::string person = base::StrCat("p", i);
    const v1::LogPosition at = Register(person);
    // Folded before the checkpoint is asked for (an acknowledged command is not folded yet).
    v1::GetHistoryResponse folded;
    ASSERT_TRUE(a.PersonHistory(person, at, folded).ok());
    a.Signal(SIGUSR1);
    made.push_back(a.AwaitLine("store checkpoint made", i).value("path", ""));
  }
  std::vector<std::string> present;
  for (const auto& entry : fs::directory_iterator(checkpoints)) {
    present.push_back(entry.path().filename().string());
  }
  std::sort(present.begin(), present.end());
  ASSERT_EQ(present.size(), 3u);  // two checkpoints and the link
  EXPECT_EQ(checkpoints + "/" + present[0], made[1]);
  EXPECT_EQ(checkpoints + "/" + present[1], made[2]);
  EXPECT_EQ(present[2], "latest");
  EXPECT_EQ(fs::read_symlink(checkpoints + "/latest"), fs::path(made[2]).filename());
  // Each is a read model at some offsets: the newest holds the charter and the three people.
  auto newest = readmodel::Store::OpenReadOnly(made[2], {});
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(projections::HistoryIndex(**newest, "", "").FoldedCount(), 4u);

  // Without --store-checkpoint-dir a SIGUSR1 is refused in the log; the replica serves on.
  Replica b("b", base_, prefix_, base_ + "/b");
  b.Signal(SIGUSR1);
  b.AwaitLine("SIGUSR1 ignored");
  EXPECT_TRUE(b.Status().error().empty());
  EXPECT_FALSE(fs::exists(base_ + "/b/latest"));
}

}  // namespace
}  // namespace kam
