// Issue 13's first fault test: one broker of a three-node cluster is killed with SIGKILL
// while programme commands and metrics flow through the real services over gRPC.
// Afterwards an independent read_committed reader counts every event id: each acknowledged
// command must be in the log exactly once, an unacknowledged one at most once; the services
// must take commands again without a restart; and the read model that folded live through
// the kill must reach the same per-partition fold digests as a clean rebuild from offset 0.
//
// The test starts its own cluster with deploy/kafka/cluster.sh on KAM_TEST_CLUSTER_PORT
// (default 39800: nodes on +0, +10, +20, controllers one above) and stops it at the end.
// KAM_TEST_BROKER_KILL_SECONDS (default 20) is how long the clients send; the node
// (KAM_TEST_KILL_NODE, default 1) is killed a third of the way in; the programme writer's
// append timeout is KAM_TEST_APPEND_TIMEOUT_MS (default 3000). The figures go to stdout
// ("[broker-kill] ...") for the closing note; only the guarantees are asserted. On a
// failure the nodes' logs are kept in the test's directory (its path is printed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/ids.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "support/command_tally.h"
#include "support/kafka_broker.h"
#include "support/servers.h"

namespace kam {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::CallContext;
using testing::CharterOf;
using testing::CountLog;
using testing::EnvInt;
using testing::Figures;
using testing::LogCount;
using testing::PersonOf;
using testing::Retryable;
using testing::SecondsBetween;
using testing::SendWithRetries;
using testing::Sent;
using testing::Tally;
using testing::TallyOf;

constexpr int kPartitions = 3;  // the services' default, for both topics
constexpr char kMetricsProgramme[] = "bk-metrics";

// The first base port from `first` on (in steps of 30) whose six cluster ports are free: a
// second run on the same machine, or a leftover cluster, moves this one up instead of failing.
int FreeClusterBase(int first) {
  for (int base = first; base < first + 300; base += 30) {
    bool free = true;
    for (int offset : {0, 1, 10, 11, 20, 21}) free = free && testing::Bindable(base + offset);
    if (free) return base;
  }
  throw std::runtime_error(base::StrCat("no free ports for a test cluster from ", first));
}

v1::RecordMetricRequest MetricOf(const std::string& account, int64_t cents) {
  v1::RecordMetricRequest r;
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  auto* m = r.mutable_metric();
  m->set_programme_id(kMetricsProgramme);
  m->set_account_id(account);
  m->set_kind(v1::METRIC_KIND_REVENUE);
  m->set_period_start("2025-01-01");
  m->set_period_end("2025-01-31");
  m->mutable_amount()->set_currency("EUR");
  m->mutable_amount()->set_minor_units(cents);
  m->set_source_system("erp");
  m->set_source_record_id(base::NewEventId());
  return r;
}

// Per partition, the longest wait for an acknowledgement across the kill: from the last
// acknowledgement before the kill to the first one after it (the end of the run if none came).
std::map<int32_t, double> StallsAcross(const std::vector<Sent>& sent, Clock::time_point kill,
                                       Clock::time_point end) {
  std::map<int32_t, double> stalls;
  for (int32_t p = 0; p < kPartitions; ++p) {
    std::optional<Clock::time_point> before, after;
    for (const Sent& s : sent) {
      if (!s.acknowledged || s.partition != p) continue;
      if (s.answered <= kill && (!before || s.answered > *before)) before = s.answered;
      if (s.answered > kill && (!after || s.answered < *after)) after = s.answered;
    }
    stalls[p] = SecondsBetween(before.value_or(kill), after.value_or(end));
  }
  return stalls;
}

// Per partition of every topic the read side folds: next offset and fold digest.
using Digests = std::map<std::string, std::pair<int64_t, std::string>>;

Digests DigestsOf(const testing::HistoryServer& read) {
  v1::GetProjectionStatusResponse status;
  const grpc::Status s =
      read.Stub()->GetProjectionStatus(testing::Context("tok-admin-000").get(), {}, &status);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.error(), "");
  Digests out;
  for (const auto& p : status.partitions()) {
    out[base::StrCat(p.topic(), "/", p.partition())] = {p.next_offset(), p.fold_digest()};
  }
  return out;
}

bool SameOffsets(const Digests& a, const Digests& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [partition, at] : a) {
    const auto it = b.find(partition);
    if (it == b.end() || it->second.first != at.first) return false;
  }
  return true;
}

std::string StallText(const std::map<int32_t, double>& stalls) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  for (const auto& [p, s] : stalls) out << (p == 0 ? "" : ", ") << "p" << p << " " << s << " s";
  return out.str();
}

class BrokerKill : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kam-broker-kill-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const int base = FreeClusterBase(EnvInt("KAM_TEST_CLUSTER_PORT", 39800));
    const auto started = Clock::now();
    const auto brokers = Cluster(base::StrCat("start --port ", base));
    ASSERT_TRUE(brokers.has_value()) << "cluster.sh start failed; see " << dir_;
    brokers_ = *brokers;
    std::cout << "[broker-kill] cluster " << brokers_ << " started in " << std::fixed
              << std::setprecision(1) << SecondsBetween(started, Clock::now()) << " s" << std::endl;
  }

  void TearDown() override {
    // Stopped even when the test failed, and before the data goes.
    const auto stopping = Clock::now();
    Cluster("stop");
    std::cout << "[broker-kill] cluster stopped in " << std::fixed << std::setprecision(1)
              << SecondsBetween(stopping, Clock::now()) << " s" << std::endl;
    if (HasFailure()) {
      std::cout << "[broker-kill] the nodes' logs are kept in " << dir_ << "/node*/" << std::endl;
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs cluster.sh with `args` on this test's directory: its stdout without the newline,
  // or nothing if it failed. Its progress goes to the test's stderr.
  std::optional<std::string> Cluster(const std::string& args) const {
    // The data is thrown away: a node that cannot stop cleanly (the survivors of the kill
    // lose their controller quorum one by one) is killed after 10 s instead of 30.
    const std::string cmd = base::StrCat("KAM_KAFKA_STOP_GRACE_S=10 ", KAM_SOURCE_DIR,
                                         "/deploy/kafka/cluster.sh ", args, " --dir ", dir_);
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string out;
    std::array<char, 256> buffer{};
    while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) out += buffer.data();
    if (pclose(pipe) != 0) return std::nullopt;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  std::string dir_;
  std::string brokers_;
};

TEST_F(BrokerKill, EveryAcknowledgedCommandIsInTheLogOnceAndTheReadModelEqualsARebuild) {
  const auto test_start = Clock::now();
  const eventlog::KafkaOptions kafka{.brokers = brokers_, .replication_factor = 3};
  const std::string prefix = base::StrCat("bk", getpid(), "-");
  // The programme writer gives up on an append after 3 s (10 s by default): shorter than a
  // leader's move, so some commands end with an unknown outcome and their clients retry with
  // the same request id; the metrics writer keeps the default and waits the move out.
  const milliseconds append_timeout(EnvInt("KAM_TEST_APPEND_TIMEOUT_MS", 3000));
  auto commands = std::make_unique<testing::CommandServer>(kafka, prefix, append_timeout);
  auto metrics = std::make_unique<testing::MetricsServer>(kafka, prefix, /*inbound=*/false);
  const std::string programme_topic = commands->service().topic();
  const std::string metrics_topic = metrics->service().topic();
  // The read model folds live while the broker dies.
  auto live = std::make_unique<testing::HistoryServer>(kafka, prefix, dir_ + "/live");

  // The metrics' programme, with the publisher as its member (a metric names a programme).
  {
    auto stub = commands->Stub();
    v1::CharterProgrammeResponse chartered;
    const auto s = stub->CharterProgramme(CallContext("tok-admin-000").get(),
                                          CharterOf(kMetricsProgramme), &chartered);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::RegisterPersonResponse registered;
    auto erp = PersonOf(kMetricsProgramme, "erp", v1::PERSON_FUNCTION_PUBLISHER);
    const auto r = stub->RegisterPerson(CallContext("tok-admin-000").get(), erp, &registered);
    ASSERT_TRUE(r.ok()) << r.error_message();
  }

  const double setup_s = SecondsBetween(test_start, Clock::now());
  const int run_s = EnvInt("KAM_TEST_BROKER_KILL_SECONDS", 20);
  const int kill_node = EnvInt("KAM_TEST_KILL_NODE", 1);
  const auto start = Clock::now();
  const auto stop_sending = start + seconds(run_s);
  // A command sent just before the end may still retry, for a bounded time.
  const auto give_up_at = stop_sending + seconds(20);

  std::mutex mu;
  std::vector<Sent> programme_sent, metric_sent;
  std::vector<std::thread> clients;
  // Programme commands: each client charters a programme every fourth command and registers
  // people in its newest one in between, so aggregates on every partition grow chains.
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      auto stub = commands->Stub();
      std::vector<Sent> mine;
      std::string current;
      for (int n = 0; Clock::now() < stop_sending; ++n) {
        if (current.empty() || n % 4 == 0) {
          const std::string programme = base::StrCat("bk-", t, "-", n);
          const auto request = CharterOf(programme);
          mine.push_back(SendWithRetries(request.metadata().client_request_id(),
                                         eventlog::PartitionFor(programme, kPartitions), give_up_at,
                                         [&](v1::CommandResult& result) {
                                           v1::CharterProgrammeResponse resp;
                                           auto s = stub->CharterProgramme(
                                               CallContext("tok-admin-000").get(), request, &resp);
                                           result = resp.result();
                                           return s;
                                         }));
          if (mine.back().acknowledged) current = programme;
          continue;
        }
        const auto request =
            PersonOf(current, base::StrCat("p", n), v1::PERSON_FUNCTION_BOARD_OBSERVER);
        mine.push_back(SendWithRetries(
            request.metadata().client_request_id(), eventlog::PartitionFor(current, kPartitions),
            give_up_at, [&](v1::CommandResult& result) {
              v1::RegisterPersonResponse resp;
              auto s = stub->RegisterPerson(CallContext("tok-admin-000").get(), request, &resp);
              result = resp.result();
              return s;
            }));
      }
      std::lock_guard<std::mutex> lock(mu);
      programme_sent.insert(programme_sent.end(), mine.begin(), mine.end());
    });
  }
  // Metrics: revenue of sixteen accounts per client, one RecordMetric call each.
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      auto stub = metrics->Stub();
      std::vector<Sent> mine;
      for (int n = 0; Clock::now() < stop_sending; ++n) {
        const std::string account = base::StrCat("a", t, "-", n % 16);
        const auto request = MetricOf(account, 1000 + n);
        const int32_t partition = eventlog::PartitionFor(
            domain::MetricsAggregateId(kMetricsProgramme, account), kPartitions);
        mine.push_back(SendWithRetries(request.metadata().client_request_id(), partition,
                                       give_up_at, [&](v1::CommandResult& result) {
                                         v1::RecordMetricResponse resp;
                                         auto s = stub->RecordMetric(
                                             CallContext("tok-erp-publish").get(), request, &resp);
                                         result = resp.result();
                                         return s;
                                       }));
      }
      std::lock_guard<std::mutex> lock(mu);
      metric_sent.insert(metric_sent.end(), mine.begin(), mine.end());
    });
  }

  std::this_thread::sleep_until(start + milliseconds(run_s * 1000 / 3));
  const auto killed_at = Clock::now();
  const bool killed = Cluster(base::StrCat("kill-node ", kill_node)).has_value();
  for (auto& c : clients) c.join();
  const auto clients_done = Clock::now();
  ASSERT_TRUE(killed) << "cluster.sh kill-node " << kill_node << " failed";

  // Recovered without a restart: the same service objects take a new command of each kind.
  const auto probe_charter = CharterOf("bk-probe");
  const Sent probe_command =
      SendWithRetries(probe_charter.metadata().client_request_id(), 0, Clock::now() + seconds(30),
                      [&](v1::CommandResult& result) {
                        v1::CharterProgrammeResponse resp;
                        auto s = commands->Stub()->CharterProgramme(
                            CallContext("tok-admin-000").get(), probe_charter, &resp);
                        result = resp.result();
                        return s;
                      });
  const auto probe_record = MetricOf("probe", 1);
  const Sent probe_metric =
      SendWithRetries(probe_record.metadata().client_request_id(), 0, Clock::now() + seconds(30),
                      [&](v1::CommandResult& result) {
                        v1::RecordMetricResponse resp;
                        auto s = metrics->Stub()->RecordMetric(CallContext("tok-erp-publish").get(),
                                                               probe_record, &resp);
                        result = resp.result();
                        return s;
                      });
  EXPECT_TRUE(probe_command.acknowledged) << probe_command.last_message;
  EXPECT_TRUE(probe_metric.acknowledged) << probe_metric.last_message;

  // The writers stop before the read models are compared: they write checkpoints when they
  // stop, and both read models must see the same final log.
  commands.reset();
  metrics.reset();

  const LogCount programme_log = CountLog(kafka, programme_topic);
  const LogCount metrics_log = CountLog(kafka, metrics_topic);
  const Tally programme = TallyOf(programme_sent, programme_log);
  const Tally metric = TallyOf(metric_sent, metrics_log);
  const auto programme_stalls = StallsAcross(programme_sent, killed_at, clients_done);
  const auto metric_stalls = StallsAcross(metric_sent, killed_at, clients_done);

  std::cout << std::fixed << std::setprecision(2) << "[broker-kill] node " << kill_node
            << " killed with SIGKILL at " << SecondsBetween(start, killed_at) << " s of " << run_s
            << " s of sending; clients done at " << SecondsBetween(start, clients_done) << " s\n"
            << "[broker-kill] programme commands: " << Figures(programme) << "\n"
            << "[broker-kill] metrics: " << Figures(metric) << "\n"
            << "[broker-kill] log records: programme " << programme_log.records << ", metrics "
            << metrics_log.records << "; unreadable "
            << programme_log.unreadable + metrics_log.unreadable << "; broken chains "
            << programme_log.broken_chains + metrics_log.broken_chains << "\n"
            << "[broker-kill] time to recover (longest wait for an acknowledgement across the "
               "kill, per partition): programme "
            << StallText(programme_stalls) << "; metrics " << StallText(metric_stalls) << "\n"
            << "[broker-kill] after the kill, without a restart: a new command took "
            << probe_command.tries << " attempt(s), a new metric " << probe_metric.tries
            << std::endl;
  // The distinct first failures, with how often each came: what a client saw of the kill.
  for (const auto& [name, sent] :
       {std::pair{"programme", &programme_sent}, std::pair{"metrics", &metric_sent}}) {
    std::map<std::string, int> reasons;
    for (const Sent& s : *sent) {
      if (!s.first_failure.empty()) ++reasons[s.first_failure.substr(0, 200)];
    }
    for (const auto& [reason, n] : reasons) {
      std::cout << "[broker-kill] " << name << " first failure, " << n << "x: " << reason << "\n";
    }
  }
  std::cout << std::flush;

  for (const Tally* t : {&programme, &metric}) {
    EXPECT_GT(t->acknowledged, 0);
    EXPECT_EQ(t->acknowledged_missing, 0) << "an acknowledged command is not in the log";
    EXPECT_EQ(t->acknowledged_duplicated, 0) << "an acknowledged command is in the log twice";
    EXPECT_EQ(t->failed_duplicated, 0) << "an unacknowledged command is in the log twice";
    EXPECT_EQ(t->incomplete_commands, 0) << "half a command is in the log";
    EXPECT_EQ(t->rejected, 0) << "a command was refused for a reason a retry does not change";
  }
  EXPECT_EQ(programme_log.unreadable + metrics_log.unreadable, 0);
  EXPECT_EQ(programme_log.broken_chains + metrics_log.broken_chains, 0);
  // Every partition took acknowledged commands again after the kill, without a restart.
  for (const auto* sent : {&programme_sent, &metric_sent}) {
    std::set<int32_t> after;
    for (const Sent& s : *sent) {
      if (s.acknowledged && s.answered > killed_at) after.insert(s.partition);
    }
    EXPECT_EQ(after.size(), static_cast<std::size_t>(kPartitions));
  }

  const auto compare_start = Clock::now();
  // The live read model against a clean rebuild from offset 0, at the same offsets.
  ASSERT_TRUE(live->WaitCaughtUp(seconds(60)));
  testing::HistoryServer rebuilt(kafka, prefix, dir_ + "/rebuilt");
  ASSERT_TRUE(rebuilt.WaitCaughtUp(seconds(60)));
  Digests live_digests = DigestsOf(*live);
  Digests rebuilt_digests = DigestsOf(rebuilt);
  for (const auto until = Clock::now() + seconds(20);
       !SameOffsets(live_digests, rebuilt_digests) && Clock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(200));
    live_digests = DigestsOf(*live);
    rebuilt_digests = DigestsOf(rebuilt);
  }
  int folded_partitions = 0;
  for (const auto& [partition, at] : live_digests) folded_partitions += at.first > 0 ? 1 : 0;
  std::cout << "[broker-kill] read model: live " << live->folded() << " events folded, rebuilt "
            << rebuilt.folded() << "; fold digests of " << live_digests.size() << " partitions ("
            << folded_partitions << " non-empty) "
            << (live_digests == rebuilt_digests ? "equal" : "DIFFER") << std::endl;
  EXPECT_EQ(live_digests, rebuilt_digests);
  EXPECT_EQ(live->folded(), rebuilt.folded());
  std::cout << std::setprecision(1) << "[broker-kill] phases: services and set-up " << setup_s
            << " s, sending " << SecondsBetween(start, clients_done) << " s, probes and count "
            << SecondsBetween(clients_done, compare_start) << " s, read models "
            << SecondsBetween(compare_start, Clock::now()) << " s" << std::endl;
}

}  // namespace
}  // namespace kam
