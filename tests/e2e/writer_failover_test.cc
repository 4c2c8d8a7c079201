// Issue 13's writer failover: three kam-programme-service processes share the programme
// topic's partitions through their writer group (--ownership group); clients send commands
// to any of them and follow the owner an instance names; one instance is killed with SIGKILL
// under load. Its partitions must move to the survivors without a human, every acknowledged
// command must be in the log exactly once (counted by an independent read_committed
// reader), no half of a command may be visible, and a retry of any acknowledged command with
// its request id, at any survivor, must get the original result.
//
// Figures go to stdout ("[failover] ..."): commands sent, acknowledged and found; the time
// from the kill until the group gave the dead instance's partitions to the survivors, and
// until each of them acknowledged a command again. KAM_TEST_FAILOVER_SECONDS (default 16)
// is how long the clients send; the kill comes at a third of it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/programme.h"
#include "eventlog/kafka.h"
#include "eventlog/ownership.h"
#include "eventlog/topics.h"
#include "kam/v1/errors.pb.h"
#include "server/status.h"
#include "support/command_tally.h"
#include "support/kafka_broker.h"
#include "support/run_binary.h"
#include "support/servers.h"

namespace kam {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::CallContext;
using testing::EnvInt;
using testing::Eventually;
using testing::SecondsBetween;
using testing::Sent;

constexpr int kPartitions = 6;
constexpr int kInstances = 3;
constexpr char kAdmin[] = "tok-admin-000";

// One kam-programme-service process of the writer group.
class Instance {
 public:
  Instance(const std::string& dir, const std::string& prefix, int port, int index)
      : endpoint_(base::StrCat("127.0.0.1:", port)),
        log_(base::StrCat(dir, "/instance", index, ".log")) {
    pid_ = testing::SpawnBinary({std::string(KAM_BINARY_DIR) + "/kam-programme-service",
                                 "--listen",
                                 endpoint_,
                                 "--brokers",
                                 testing::SharedBroker(),
                                 "--kafka-replication-factor",
                                 "1",
                                 "--topic-prefix",
                                 prefix,
                                 "--tokens",
                                 dir + "/tokens",
                                 "--ownership",
                                 "group",
                                 "--partitions",
                                 std::to_string(kPartitions),
                                 "--append-timeout-ms",
                                 "3000",
                                 "--inbound",
                                 "false",
                                 "--metrics-listen",
                                 ""},
                                log_, /*append=*/false);
  }
  ~Instance() { Stop(SIGTERM); }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  bool AwaitServing(milliseconds timeout) const {
    return Eventually(
               [&] {
                 std::ifstream in(log_);
                 for (std::string line; std::getline(in, line);) {
                   auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
                   if (!j.is_discarded() && j.value("msg", "").starts_with("serving")) return true;
                 }
                 return !Alive();
               },
               timeout) &&
           Alive();
  }
  bool Alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  void Stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    if (!Eventually([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, seconds(20))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& log() const { return log_; }

 private:
  std::string endpoint_;
  std::string log_;
  pid_t pid_ = -1;
};

// A client of several instances, as kamctl is one: a command goes to the instance last seen
// owning its partition; "not owned here" with an owner named sends it there at once; an
// instance that does not answer is skipped for the next one.
class Router {
 public:
  explicit Router(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {
    for (const auto& e : endpoints_) {
      stubs_[e] = v1::ProgrammeCommandService::NewStub(
          grpc::CreateChannel(e, grpc::InsecureChannelCredentials()));
    }
  }

  // One try of `rpc` for a command on `partition` (up to three hops to named owners).
  template <typename Rpc>
  grpc::Status Call(int32_t partition, Rpc rpc) {
    std::string target = Guess(partition);
    grpc::Status s;
    for (int hop = 0; hop < 4; ++hop) {
      s = rpc(*stubs_.at(target));
      if (s.ok()) {
        Remember(partition, target);
        return s;
      }
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) return s;
      const v1::ErrorDetail detail = server::DetailOf(s);
      if (detail.reason() == base::kReasonNotOwner) {
        ++not_owner_answers_;
        if (!detail.owner().empty() && stubs_.count(detail.owner()) && detail.owner() != target) {
          ++owner_hops_;
          target = detail.owner();
          Remember(partition, target);
          continue;
        }
        return s;  // nobody owns it this moment: the caller retries shortly
      }
      // Not answered at all (the instance is gone): the next one from now on.
      Forget(partition, target);
      return s;
    }
    return s;
  }

  int owner_hops() const { return owner_hops_.load(); }
  int not_owner_answers() const { return not_owner_answers_.load(); }

 private:
  std::string Guess(int32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = owner_.find(partition);
    if (it != owner_.end()) return it->second;
    return endpoints_[static_cast<std::size_t>(next_++) % endpoints_.size()];
  }
  void Remember(int32_t partition, const std::string& target) {
    std::lock_guard<std::mutex> lock(mu_);
    owner_[partition] = target;
  }
  void Forget(int32_t partition, const std::string& target) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      if (endpoints_[i] == target) {
        owner_[partition] = endpoints_[(i + 1) % endpoints_.size()];
        return;
      }
    }
  }

  std::vector<std::string> endpoints_;
  std::map<std::string, std::unique_ptr<v1::ProgrammeCommandService::Stub>> stubs_;
  std::mutex mu_;
  std::map<int32_t, std::string> owner_;
  int next_ = 0;
  std::atomic<int> owner_hops_{0};
  std::atomic<int> not_owner_answers_{0};
};

// A command a client sent, kept so that it can be sent again with its request id.
struct Kept {
  std::optional<v1::CharterProgrammeRequest> charter;
  std::optional<v1::RegisterPersonRequest> person;
  int32_t partition = 0;
};

grpc::Status Send(v1::ProgrammeCommandService::Stub& stub, const Kept& k,
                  v1::CommandResult& result) {
  if (k.charter) {
    v1::CharterProgrammeResponse r;
    auto s = stub.CharterProgramme(CallContext(kAdmin).get(), *k.charter, &r);
    result = r.result();
    return s;
  }
  v1::RegisterPersonResponse r;
  auto s = stub.RegisterPerson(CallContext(kAdmin).get(), *k.person, &r);
  result = r.result();
  return s;
}

std::string OwnersText(const std::map<int32_t, std::string>& owners) {
  std::string out;
  for (const auto& [p, e] : owners) base::StrAppend(&out, out.empty() ? "" : ", ", p, "->", e);
  return out.empty() ? "none" : out;
}

TEST(WriterFailover, ADeadInstancesPartitionsMoveToTheSurvivorsAndNoAcknowledgedCommandIsLost) {
  namespace fs = std::filesystem;
  const std::string dir =
      (fs::temp_directory_path() / base::StrCat("kam-failover-", getpid())).string();
  fs::create_directories(dir);
  {
    std::ofstream(dir + "/tokens") << testing::kTestTokens;
    chmod((dir + "/tokens").c_str(), 0600);
  }
  const std::string prefix = testing::UniqueTopicPrefix();
  const eventlog::KafkaOptions kafka = testing::SharedKafka();
  const std::string topic = eventlog::AggregateTopic(prefix, domain::kProgrammeAggregateType);
  const std::string group = base::StrCat(prefix, "kam.programme-writer.owners");

  std::vector<int> ports;
  for (int port = 40000; port < 40100 && ports.size() < kInstances; ++port) {
    if (testing::Bindable(port)) ports.push_back(port);
  }
  ASSERT_EQ(ports.size(), static_cast<std::size_t>(kInstances)) << "no free ports in 40000-40099";

  // The instances start one after another: each join moves partitions to the newcomer.
  const auto starting = Clock::now();
  std::vector<std::unique_ptr<Instance>> instances;
  std::vector<std::string> endpoints;
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(std::make_unique<Instance>(dir, prefix, ports[i], i));
    ASSERT_TRUE(instances.back()->AwaitServing(seconds(60)))
        << "instance " << i << " did not serve; see " << instances.back()->log();
    endpoints.push_back(instances.back()->endpoint());
  }
  // Every partition owned, by every instance.
  std::map<int32_t, std::string> owners;
  ASSERT_TRUE(Eventually(
      [&] {
        auto o = eventlog::DescribeOwners(kafka, group, topic);
        if (!o.ok()) return false;
        owners = *o;
        std::set<std::string> holders;
        for (const auto& [p, e] : owners) holders.insert(e);
        return owners.size() == kPartitions && holders.size() == kInstances;
      },
      seconds(30)))
      << "owners: " << OwnersText(owners);
  std::cout << "[failover] " << kInstances << " instances serving and sharing " << kPartitions
            << " partitions in " << std::fixed << std::setprecision(1)
            << SecondsBetween(starting, Clock::now()) << " s: " << OwnersText(owners) << std::endl;

  Router router(endpoints);
  const int run_s = EnvInt("KAM_TEST_FAILOVER_SECONDS", 16);
  const auto start = Clock::now();
  const auto stop_sending = start + seconds(run_s);
  const auto give_up_at = stop_sending + seconds(30);
  std::mutex mu;
  std::vector<Sent> sent;
  std::vector<Kept> kept;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      std::string programme;
      for (int n = 0; Clock::now() < stop_sending; ++n) {
        Kept k;
        if (n % 4 == 0) {
          programme = base::StrCat("fo-", t, "-", n);
          k.charter = testing::CharterOf(programme);
        } else {
          k.person = testing::PersonOf(programme, base::StrCat("p", n),
                                       v1::PERSON_FUNCTION_BOARD_OBSERVER);
        }
        k.partition = eventlog::PartitionFor(programme, kPartitions);
        const std::string request_id = k.charter ? k.charter->metadata().client_request_id()
                                                 : k.person->metadata().client_request_id();
        Sent s = testing::SendWithRetries(
            request_id, k.partition, give_up_at,
            [&](v1::CommandResult& result) {
              return router.Call(k.partition, [&](v1::ProgrammeCommandService::Stub& stub) {
                return Send(stub, k, result);
              });
            },
            /*max_tries=*/200);
        std::lock_guard<std::mutex> lock(mu);
        sent.push_back(s);
        kept.push_back(std::move(k));
        if (!s.acknowledged && n % 4 == 0) {
          // Its people would be refused (no such programme): charter a new one next.
          n += 3;
        }
      }
    });
  }

  // The kill, a third of the way in, of the instance that owns partition 0.
  std::this_thread::sleep_for(seconds(run_s) / 3);
  auto before = eventlog::DescribeOwners(kafka, group, topic);
  std::size_t victim = 0;
  while (before.ok() && before->count(0) && victim < instances.size() &&
         instances[victim]->endpoint() != before->at(0)) {
    ++victim;
  }
  if (!before.ok() || !before->count(0) || victim == instances.size()) {
    for (auto& c : clients) c.join();
    FAIL() << "cannot tell the owner of partition 0 before the kill: "
           << (before.ok() ? OwnersText(*before) : before.status().ToString());
  }
  const std::string victim_endpoint = before->at(0);
  std::set<int32_t> moved;
  for (const auto& [p, e] : *before) {
    if (e == victim_endpoint) moved.insert(p);
  }
  const auto killed = Clock::now();
  instances[victim]->Stop(SIGKILL);
  std::optional<Clock::time_point> reassigned;
  std::map<int32_t, std::string> after;
  const bool moved_in_time = Eventually(
      [&] {
        auto o = eventlog::DescribeOwners(kafka, group, topic, seconds(2));
        if (!o.ok()) return false;
        after = *o;
        for (int32_t p : moved) {
          if (!after.count(p) || after.at(p) == victim_endpoint) return false;
        }
        reassigned = Clock::now();
        return true;
      },
      seconds(60));
  for (auto& c : clients) c.join();
  const auto end = Clock::now();
  ASSERT_TRUE(moved_in_time) << "the dead instance's partitions did not move: "
                             << OwnersText(after);

  // Per moved partition: from the kill to its first acknowledgement after it.
  std::map<int32_t, double> served_after;
  for (int32_t p : moved) {
    std::optional<Clock::time_point> first;
    for (const Sent& s : sent) {
      if (s.acknowledged && s.partition == p && s.answered > killed &&
          (!first || s.answered < *first)) {
        first = s.answered;
      }
    }
    served_after[p] = SecondsBetween(killed, first.value_or(end));
    EXPECT_TRUE(first.has_value()) << "partition " << p << " never served after the kill";
  }

  // The independent reader.
  const testing::LogCount log = testing::CountLog(kafka, topic);
  const testing::Tally tally = testing::TallyOf(sent, log);

  // Every acknowledged command again, with its request id, at a survivor: the original result.
  int replayed = 0, replayed_same = 0;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (!sent[i].acknowledged) continue;
    ++replayed;
    v1::CommandResult again;
    const grpc::Status s = router.Call(
        kept[i].partition,
        [&](v1::ProgrammeCommandService::Stub& st) { return Send(st, kept[i], again); });
    const std::vector<std::string> ids(again.event_ids().begin(), again.event_ids().end());
    if (s.ok() && again.deduplicated() && ids == sent[i].event_ids) {
      ++replayed_same;
    } else if (replayed - replayed_same <= 3) {
      ADD_FAILURE() << "a retry of " << sent[i].request_id << " got " << s.error_message()
                    << (again.deduplicated() ? " (deduplicated)" : " (written again?)");
    }
  }

  std::cout << std::fixed << std::setprecision(2);
  std::cout << "[failover] killed " << victim_endpoint << " (SIGKILL) at "
            << SecondsBetween(start, killed) << " s; it owned partitions";
  for (int32_t p : moved) std::cout << " " << p;
  std::cout << "\n[failover] the group gave them to the survivors "
            << SecondsBetween(killed, reassigned.value_or(end))
            << " s after the kill: " << OwnersText(after) << "\n[failover] first acknowledgement"
            << " after the kill:";
  for (const auto& [p, s] : served_after) std::cout << " p" << p << " " << s << " s";
  std::cout << "\n[failover] commands: " << testing::Figures(tally)
            << "\n[failover] log: " << log.records << " records, " << log.unreadable
            << " unreadable, " << log.broken_chains
            << " broken chains\n[failover] retries of every acknowledged"
            << " command at a survivor: " << replayed_same << " of " << replayed
            << " answered with the original result\n[failover] client hops to a named owner: "
            << router.owner_hops() << "; not-owner answers: " << router.not_owner_answers()
            << std::endl;

  // kamctl, as a person runs it, with every instance listed (the dead one first): each
  // command reaches its partition's owner. Over plaintext it never follows an owner it
  // was not given.
  std::vector<std::string> survivors;
  for (const auto& e : endpoints) {
    if (e != victim_endpoint) survivors.push_back(e);
  }
  const std::map<std::string, std::string> env = {
      {"HOME", dir}, {"KAM_TOKEN", kAdmin}, {"KAM_QUERIES", ""}};
  std::set<int32_t> reached;
  for (int n = 0; reached.size() < kPartitions && n < 200; ++n) {
    const std::string programme = base::StrCat("fo-kamctl-", n);
    const int32_t p = eventlog::PartitionFor(programme, kPartitions);
    if (reached.count(p)) continue;
    const auto r = testing::RunBinary(
        std::string(KAM_BINARY_DIR) + "/kamctl",
        {"--commands", base::StrCat(victim_endpoint, ",", survivors[0], ",", survivors[1]),
         "charter-programme", programme, "Via kamctl", "Every partition through any instance"},
        env);
    EXPECT_EQ(r.exit_code, 0) << "partition " << p << ": " << r.out << r.err;
    reached.insert(p);
  }
  std::optional<int32_t> elsewhere;  // a partition the first survivor does not own
  for (const auto& [p, e] : after) {
    if (e != survivors[0]) elsewhere = p;
  }
  ASSERT_TRUE(elsewhere.has_value()) << OwnersText(after);
  for (int n = 0; n < 200; ++n) {
    const std::string programme = base::StrCat("fo-unlisted-", n);
    if (eventlog::PartitionFor(programme, kPartitions) != *elsewhere) continue;
    const auto r = testing::RunBinary(
        std::string(KAM_BINARY_DIR) + "/kamctl",
        {"--commands", survivors[0], "charter-programme", programme, "Unlisted", "Refused"}, env);
    EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
    EXPECT_NE(r.err.find("sends the token only to the listed instances"), std::string::npos)
        << r.err;
    break;
  }

  EXPECT_GT(tally.acknowledged, 0);
  EXPECT_EQ(tally.acknowledged_missing, 0);
  EXPECT_EQ(tally.acknowledged_duplicated, 0);
  EXPECT_EQ(tally.failed_duplicated, 0);
  EXPECT_EQ(tally.incomplete_commands, 0);
  EXPECT_EQ(tally.rejected, 0) << "a command failed for a reason a retry does not change";
  EXPECT_EQ(tally.failed, 0) << "a command never went through within its retries";
  EXPECT_EQ(log.unreadable, 0);
  EXPECT_EQ(log.broken_chains, 0);
  EXPECT_EQ(replayed_same, replayed);
  EXPECT_GT(router.owner_hops(), 0) << "the instances never named an owner";

  instances.clear();
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace kam
