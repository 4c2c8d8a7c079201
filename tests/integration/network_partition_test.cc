// Issue 13's network partition: a TCP proxy on loopback (support/tcp_proxy.h) stands between
// an in-process programme command service and a private broker, and the test cuts it while
// transactions are in flight, three times: both ways for 3 s (about the writer's append
// timeout), both ways for 10.5 s (well past it, and past the ~9 s the writer's ClusterWatch
// takes to call three unanswered metadata requests an outage), and the replies only for 4 s,
// from the moment a transaction's commit (EndTxn) has gone through: the broker commits, the
// writer never hears so. The broker advertises the proxy to clients that come through it
// (broker.sh --advertise-port), so the service cannot go around the partition after metadata;
// the broker's own traffic and the test's independent reader (broker.brokers()) bypass it.
//
// Client threads send commands continuously, each with a fresh client_request_id, and retry
// every non-final failure (UNAVAILABLE, DEADLINE_EXCEEDED) with the same request id until it
// succeeds. Afterwards a read_committed reader connected straight to the broker checks, for
// the programme topic:
//   - every command sent was acknowledged in the end (the retries are bounded in time);
//   - every acknowledged command's event is in the log exactly once, at the position and
//     version its acknowledgement named, with the event ids it named;
//   - every command in the log is one the clients had acknowledged: nothing unacknowledged,
//     nothing twice, nothing foreign. With the point above, the commands in the log and the
//     acknowledged ones are the same set, one to one;
//   - no half of a command: each command's events are all there (command_event_count), and
//     every aggregate's chain runs 1, 2, 3... with each previous_hash the hash before it, so
//     no transaction is missing under a later one;
//   - a command that failed while its commit went through unanswered was acknowledged on a
//     retry as the replay of the original (deduplicated), and every acknowledged command sent
//     again after the run gets its original result: same event ids, version and position;
//   - no new command was acknowledged while the proxy held the partition (it is real);
//   - the service took new commands on every partition after the last resume, without a
//     restart.
// Why it holds: a command's events are written in one Kafka transaction, and the writer
// answers only after the commit. A transaction whose acknowledgements or commit did not come
// back in time has an unknown outcome: the writer answers UNAVAILABLE, makes a new producer
// whose InitProducerId completes what the coordinator holds of the old transaction (aborts it
// if it is open, finishes a commit it received) and fences the old producer, and reads the log
// before its next command; the client's retry then finds the command there and gets its
// original result, or writes it, once. Requests the old producer left in the network reach
// the broker either before that InitProducerId (and belong to the transaction it completes) or
// after it (and are refused for their fenced epoch).
//
// Knobs: KAM_TEST_PARTITION_SHORT_MS (3000), KAM_TEST_PARTITION_LONG_MS (10500),
// KAM_TEST_PARTITION_REPLIES_MS (4000) and the writer's KAM_TEST_APPEND_TIMEOUT_MS (3000).
// The figures go to stdout ("[partition] ..."); the cluster watch's refusals are counted and
// printed, not asserted.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/strings.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "support/command_tally.h"
#include "support/kafka_broker.h"
#include "support/servers.h"
#include "support/tcp_proxy.h"

namespace kam {
namespace {

using Clock = testing::FaultClock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EnvInt;
using testing::SecondsBetween;

// One private broker for the suite, whose proxied listener advertises `proxy`.
class NetworkPartition : public ::testing::Test {
 protected:
  void LateInitProducerId(bool group);
  static void SetUpTestSuite() {
    const auto starting = Clock::now();
    broker_ = new testing::PrivateBroker({.proxied = true});
    proxy_ = new testing::TcpProxy(broker_->proxied_listener());
    broker_->AdvertiseProxiedAs(proxy_->port());
    broker_->Start();
    std::printf("[partition] broker %s behind proxy %s started in %.1f s\n",
                broker_->brokers().c_str(), proxy_->address().c_str(),
                SecondsBetween(starting, Clock::now()));
  }
  static void TearDownTestSuite() {
    delete broker_;  // stopped, and its data removed
    delete proxy_;
    broker_ = nullptr;
    proxy_ = nullptr;
  }
  void TearDown() override { proxy_->Resume(); }

  // Clients through the proxy, and straight to the broker.
  static eventlog::KafkaOptions Proxied() { return {.brokers = proxy_->address()}; }
  static eventlog::KafkaOptions Direct() { return {.brokers = broker_->brokers()}; }

  static testing::PrivateBroker* broker_;
  static testing::TcpProxy* proxy_;
};

testing::PrivateBroker* NetworkPartition::broker_ = nullptr;
testing::TcpProxy* NetworkPartition::proxy_ = nullptr;

int CountRecords(const eventlog::KafkaOptions& kafka, const std::string& topic) {
  int n = 0;
  const absl::Status s = eventlog::ReadAll(
      kafka, topic,
      [&](const eventlog::ConsumedRecord&) {
        ++n;
        return absl::OkStatus();
      },
      seconds(30));
  EXPECT_TRUE(s.ok()) << s;
  return n;
}

// After metadata a client of the proxied listener still talks through the proxy, so pausing
// it stalls a producer that was fully connected before; a proxy in front of the plain
// listener, which advertises itself, is left behind after metadata and pauses nothing.
TEST_F(NetworkPartition, AClientBootstrappedThroughTheProxyStaysBehindIt) {
  const std::string topic = testing::UniqueTopicPrefix() + "probe";
  ASSERT_TRUE(eventlog::EnsureTopic(Direct(), topic, 1).ok());
  const eventlog::Record record{.key = "k", .value = "v"};
  const uint64_t accepted_before = proxy_->stats().accepted;

  auto producer = eventlog::TransactionalProducer::Create(Proxied(), topic + "-via-proxy");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE((*producer)->Append(topic, 0, {&record, 1}).ok());
  EXPECT_GT(proxy_->stats().accepted, accepted_before);

  proxy_->Pause();
  const auto paused = Clock::now();
  const auto stalled = (*producer)->Append(topic, 0, {&record, 1}, milliseconds(2000));
  const double stalled_s = SecondsBetween(paused, Clock::now());
  EXPECT_FALSE(stalled.ok()) << "a producer behind a paused proxy appended";
  EXPECT_EQ(stalled.status().code(), absl::StatusCode::kUnavailable) << stalled.status();
  EXPECT_GE(stalled_s, 1.9);
  proxy_->Resume();
  std::printf("[partition] through the proxy: paused, an append gave up after %.2f s: %s\n",
              stalled_s, std::string(stalled.status().message()).c_str());

  // The stalled transaction is aborted by the next producer with the id: nothing of it shows.
  producer = eventlog::TransactionalProducer::Create(Proxied(), topic + "-via-proxy");
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE((*producer)->Append(topic, 0, {&record, 1}).ok());
  EXPECT_EQ(CountRecords(Direct(), topic), 2);

  // The same through a proxy of the plain listener: after metadata the producer goes around.
  testing::TcpProxy bypassed(broker_->brokers());
  auto around =
      eventlog::TransactionalProducer::Create({.brokers = bypassed.address()}, topic + "-around");
  ASSERT_TRUE(around.ok()) << around.status();
  ASSERT_TRUE((*around)->Append(topic, 0, {&record, 1}).ok());  // the topic's metadata, too
  bypassed.Pause();
  const auto appended = (*around)->Append(topic, 0, {&record, 1}, milliseconds(5000));
  EXPECT_TRUE(appended.ok()) << "expected the plain listener's clients to bypass the proxy: "
                             << appended.status();
  std::printf("[partition] a proxy of the plain listener, paused: the append %s\n",
              appended.ok() ? "went around it" : "stalled");
}

// ---- Commands through the partition.

constexpr int kPartitions = 3;  // the service's default
constexpr int kClients = 6;     // two per programme, one programme per partition

struct Attempt {
  Clock::time_point sent;
  Clock::time_point answered;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
};

// One command as its client saw it: the request, which every attempt sends unchanged (its
// request id included), and each attempt.
struct Traced {
  std::variant<v1::CharterProgrammeRequest, v1::RegisterPersonRequest> request;
  std::vector<Attempt> attempts;
  bool acknowledged = false;
  v1::CommandResult result;  // of the acknowledged attempt

  const std::string& request_id() const {
    return std::visit(
        [](const auto& r) -> const std::string& { return r.metadata().client_request_id(); },
        request);
  }
  int32_t partition() const {
    return std::visit(
        [](const auto& r) { return eventlog::PartitionFor(r.programme_id(), kPartitions); },
        request);
  }
  // Acknowledged as a command new to the log, not as the replay of an earlier attempt.
  bool wrote() const { return acknowledged && !result.deduplicated(); }
};

grpc::Status Call(v1::ProgrammeCommandService::Stub& stub, const Traced& sent,
                  v1::CommandResult& result) {
  if (const auto* charter = std::get_if<v1::CharterProgrammeRequest>(&sent.request)) {
    v1::CharterProgrammeResponse resp;
    const grpc::Status s =
        stub.CharterProgramme(testing::CallContext("tok-admin-000").get(), *charter, &resp);
    result = resp.result();
    return s;
  }
  v1::RegisterPersonResponse resp;
  const grpc::Status s =
      stub.RegisterPerson(testing::CallContext("tok-admin-000").get(),
                          std::get<v1::RegisterPersonRequest>(sent.request), &resp);
  result = resp.result();
  return s;
}

// Sends until the command succeeds, fails for a final reason, or `give_up_at` passes.
void SendUntilDone(v1::ProgrammeCommandService::Stub& stub, Traced& sent,
                   Clock::time_point give_up_at) {
  while (true) {
    Attempt& a = sent.attempts.emplace_back();
    a.sent = Clock::now();
    v1::CommandResult result;
    const grpc::Status s = Call(stub, sent, result);
    a.answered = Clock::now();
    a.code = s.error_code();
    a.message = s.error_message();
    if (s.ok()) {
      sent.acknowledged = true;
      sent.result = std::move(result);
      return;
    }
    if (!testing::Retryable(s.error_code()) || Clock::now() >= give_up_at) return;
    std::this_thread::sleep_for(milliseconds(200));
  }
}

// How often the log holds a command with `request_id`, and whether each is whole (all its
// command_event_count events are there).
int CommandsOf(const testing::LogCount& log, const std::string& request_id) {
  const auto it = log.commands_by_request.find(request_id);
  return it == log.commands_by_request.end() ? 0 : it->second;
}

bool Whole(const testing::LogCount& log, const std::string& request_id) {
  const auto events = log.events_by_request.find(request_id);
  const auto expected = log.expected_events_by_request.find(request_id);
  const int want = expected == log.expected_events_by_request.end() ? 0 : expected->second;
  return (events == log.events_by_request.end() ? 0 : events->second) == want;
}

// An acknowledged result against its command's events in the log: empty if it names exactly
// them (event ids), the last one's version and its position.
std::string Mismatch(const v1::CommandResult& result,
                     const std::vector<testing::LogCount::Event>& events) {
  if (events.empty()) return "not in the log";
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.event_id);
  if (ids != std::vector<std::string>(result.event_ids().begin(), result.event_ids().end())) {
    return "other event ids";
  }
  const auto& last = events.back();
  if (result.aggregate_version() != last.version) {
    return base::StrCat("version ", result.aggregate_version(), " acknowledged, ", last.version,
                        " in the log");
  }
  if (result.position().partition() != last.partition ||
      result.position().offset() != last.offset) {
    return base::StrCat("position ", result.position().partition(), "@", result.position().offset(),
                        " acknowledged, ", last.partition, "@", last.offset, " in the log");
  }
  return "";
}

bool SameResult(const v1::CommandResult& a, const v1::CommandResult& b) {
  return a.aggregate_id() == b.aggregate_id() && a.aggregate_version() == b.aggregate_version() &&
         std::equal(a.event_ids().begin(), a.event_ids().end(), b.event_ids().begin(),
                    b.event_ids().end()) &&
         a.position().topic() == b.position().topic() &&
         a.position().partition() == b.position().partition() &&
         a.position().offset() == b.position().offset();
}

// A message with its numbers as '#' and cut short: failures counted by kind.
std::string Shape(const std::string& message) {
  std::string out;
  for (char c : message) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      out.push_back(c);
    } else if (out.empty() || out.back() != '#') {
      out.push_back('#');
    }
  }
  return out.substr(0, 100);
}

// One pause of the proxy, and what the clients saw of it.
struct Window {
  const char* name = "";
  bool happened = false;
  Clock::time_point paused;
  Clock::time_point resumed;
  int in_flight = 0;             // attempts sent before the pause and answered after it began
  int failed_unavailable = 0;    // attempts answered UNAVAILABLE from the pause to the recovery
  int refused_by_watch = 0;      // of them: by the cluster watch ("all brokers are down")
  double first_refusal_s = -1;   // by the watch, from the pause
  int written_while_paused = 0;  // new commands acknowledged while the proxy held the partition
  int committed_unanswered = 0;  // commands failed in it that had committed: their retry replayed
  double recovered_s = -1;       // from the resume to the first new command acknowledged
};

TEST_F(NetworkPartition, NoDuplicateAndNoLossWhenTheNetworkToTheBrokerIsCutMidTransaction) {
  const auto test_began = Clock::now();
  const milliseconds append_timeout(EnvInt("KAM_TEST_APPEND_TIMEOUT_MS", 3000));
  const milliseconds short_pause(EnvInt("KAM_TEST_PARTITION_SHORT_MS", 3000));
  const milliseconds long_pause(EnvInt("KAM_TEST_PARTITION_LONG_MS", 10500));
  const milliseconds replies_pause(EnvInt("KAM_TEST_PARTITION_REPLIES_MS", 4000));
  ASSERT_GT(long_pause, append_timeout) << "the long pause must outlast the append timeout";
  ASSERT_GT(replies_pause, append_timeout) << "so must the replies' pause";
  const milliseconds before_first(1500), between(2000), after_last(2500);
  const uint64_t accepted_before = proxy_->stats().accepted;
  auto commands = std::make_unique<testing::CommandServer>(Proxied(), testing::UniqueTopicPrefix(),
                                                           append_timeout);
  const std::string topic = commands->service().topic();
  auto stub = commands->Stub();

  // One programme per partition, chartered before the load.
  std::vector<std::string> programmes;
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (int i = 0;; ++i) {
      if (eventlog::PartitionFor(base::StrCat("np-", i), kPartitions) == p) {
        programmes.push_back(base::StrCat("np-", i));
        break;
      }
    }
  }
  std::vector<Traced> sent;
  for (const std::string& programme : programmes) {
    Traced& charter = sent.emplace_back(Traced{.request = testing::CharterOf(programme)});
    SendUntilDone(*stub, charter, Clock::now() + seconds(30));
    ASSERT_TRUE(charter.acknowledged) << charter.attempts.back().message;
  }
  EXPECT_GT(proxy_->stats().accepted, accepted_before) << "the service did not use the proxy";
  std::printf("[partition] service up and programmes chartered in %.1f s; append timeout %lld ms\n",
              SecondsBetween(test_began, Clock::now()),
              static_cast<long long>(append_timeout.count()));

  // The clients: each registers people in its programme, one command after another, until
  // told to stop; a command under way then still retries until `give_up_at`.
  const auto start = Clock::now();
  const auto give_up_at = start + before_first + short_pause + long_pause + replies_pause +
                          2 * between + after_last + seconds(35);
  std::atomic<bool> sending{true};
  std::mutex mu;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto own = commands->Stub();
      const std::string& programme = programmes[static_cast<std::size_t>(t % kPartitions)];
      std::vector<Traced> mine;
      for (int n = 0; sending; ++n) {
        Traced& s = mine.emplace_back(
            Traced{.request = testing::PersonOf(programme, base::StrCat("c", t, "-", n),
                                                v1::PERSON_FUNCTION_BOARD_OBSERVER)});
        SendUntilDone(*own, s, give_up_at);
      }
      std::lock_guard<std::mutex> lock(mu);
      sent.insert(sent.end(), std::make_move_iterator(mine.begin()),
                  std::make_move_iterator(mine.end()));
    });
  }
  std::vector<Window> windows;
  // `pause` cuts the network (and returns when it did), for `length`.
  const auto partition_for = [&](const char* name, milliseconds length,
                                 const std::function<bool()>& pause) {
    Window& w = windows.emplace_back(Window{.name = name});
    w.happened = pause();
    w.paused = Clock::now();
    std::this_thread::sleep_for(length);
    proxy_->Resume();
    w.resumed = Clock::now();
  };
  const auto both_ways = [] {
    proxy_->Pause();
    return true;
  };
  std::this_thread::sleep_for(before_first);
  partition_for("short", short_pause, both_ways);
  std::this_thread::sleep_for(between);
  partition_for("long", long_pause, both_ways);
  std::this_thread::sleep_for(between);
  // The replies only, from the next transaction's commit on: the broker commits it, and the
  // writer never hears so (Kafka's EndTxn is API key 26).
  partition_for("commit-replies", replies_pause, [] {
    proxy_->HoldRepliesAfterRequest(26);
    return proxy_->WaitHeld(seconds(5));
  });
  std::this_thread::sleep_for(after_last);
  sending = false;
  for (auto& c : clients) c.join();
  const auto clients_done = Clock::now();

  // Every acknowledged command sent again with its request id: the original result.
  std::atomic<std::size_t> next{0};
  std::atomic<int> replayed{0}, replay_differs{0};
  std::vector<std::thread> replayers;
  for (int t = 0; t < 4; ++t) {
    replayers.emplace_back([&] {
      auto own = commands->Stub();
      for (std::size_t i = next++; i < sent.size(); i = next++) {
        if (!sent[i].acknowledged) continue;
        v1::CommandResult again;
        const grpc::Status s = Call(*own, sent[i], again);
        ++replayed;
        if (!s.ok() || !again.deduplicated() || !SameResult(again, sent[i].result)) {
          if (replay_differs++ < 5) {
            ADD_FAILURE() << sent[i].request_id() << ": a retry got " << s.error_message() << " "
                          << again.ShortDebugString() << ", first "
                          << sent[i].result.ShortDebugString();
          }
        }
      }
    });
  }
  for (auto& r : replayers) r.join();
  const auto replays_done = Clock::now();
  stub.reset();
  commands.reset();  // through the resumed proxy

  // The log, read straight from the broker.
  const testing::LogCount log = testing::CountLog(Direct(), topic);
  std::set<std::string> request_ids;
  int acknowledged = 0, failed = 0, retried = 0, acknowledged_as_replay = 0, attempts = 0;
  int found_once = 0, missing = 0, duplicated = 0, half = 0, mismatched = 0;
  int unacknowledged_in_log = 0;
  double longest_command_s = 0;
  std::map<grpc::StatusCode, int> failures;
  std::map<std::string, int> reasons;
  for (const Traced& s : sent) {
    request_ids.insert(s.request_id());
    attempts += static_cast<int>(s.attempts.size());
    if (s.attempts.size() > 1) ++retried;
    for (const Attempt& a : s.attempts) {
      if (a.code == grpc::StatusCode::OK) continue;
      ++failures[a.code];
      ++reasons[base::StrCat(static_cast<int>(a.code), " ", Shape(a.message))];
    }
    const int in_log = CommandsOf(log, s.request_id());
    if (!Whole(log, s.request_id())) ++half;
    if (!s.acknowledged) {
      ++failed;
      if (in_log > 0) ++unacknowledged_in_log;
      if (in_log > 1) ++duplicated;
      continue;
    }
    ++acknowledged;
    if (s.result.deduplicated()) ++acknowledged_as_replay;
    longest_command_s = std::max(
        longest_command_s, SecondsBetween(s.attempts.front().sent, s.attempts.back().answered));
    if (in_log == 0) {
      ++missing;
    } else if (in_log > 1) {
      ++duplicated;
    } else {
      ++found_once;
      const std::string why = Mismatch(s.result, log.events_of_request.at(s.request_id()));
      if (!why.empty() && mismatched++ < 5) ADD_FAILURE() << s.request_id() << ": " << why;
    }
  }
  int foreign = 0, commands_in_log = 0;
  for (const auto& [id, events] : log.events_by_request) {
    commands_in_log += CommandsOf(log, id);
    if (!request_ids.contains(id)) ++foreign;
  }

  // What each pause did to the clients.
  for (Window& w : windows) {
    std::optional<Clock::time_point> first_new;
    for (const Traced& s : sent) {
      bool failed_in_window = false;
      for (const Attempt& a : s.attempts) {
        if (a.sent < w.paused && a.answered > w.paused) ++w.in_flight;
        if (a.code != grpc::StatusCode::OK && a.answered > w.paused &&
            a.answered < w.resumed + seconds(2)) {
          failed_in_window = true;
        }
        if (a.code == grpc::StatusCode::UNAVAILABLE && a.answered > w.paused &&
            a.answered < w.resumed + seconds(2)) {
          ++w.failed_unavailable;
          if (a.message.find("all brokers are down since") != std::string::npos) {
            ++w.refused_by_watch;
            const double at = SecondsBetween(w.paused, a.answered);
            if (w.first_refusal_s < 0 || at < w.first_refusal_s) w.first_refusal_s = at;
          }
        }
      }
      if (failed_in_window && s.acknowledged && s.result.deduplicated()) ++w.committed_unanswered;
      if (!s.wrote()) continue;
      const auto answered = s.attempts.back().answered;
      // A commit that went through just before the pause may be answered just after it.
      if (answered > w.paused + milliseconds(500) && answered < w.resumed) {
        ++w.written_while_paused;
      }
      if (answered >= w.resumed && (!first_new || answered < *first_new)) first_new = answered;
    }
    if (first_new) w.recovered_s = SecondsBetween(w.resumed, *first_new);
  }
  // The longest time no new command was acknowledged, and the partitions that took new
  // commands after the last resume.
  std::vector<Clock::time_point> acks{start};
  std::set<int32_t> after_last_resume;
  for (const Traced& s : sent) {
    if (!s.wrote()) continue;
    acks.push_back(s.attempts.back().answered);
    if (s.attempts.back().answered > windows.back().resumed) {
      after_last_resume.insert(s.partition());
    }
  }
  std::sort(acks.begin(), acks.end());
  double longest_stall_s = 0;
  for (std::size_t i = 1; i < acks.size(); ++i) {
    longest_stall_s = std::max(longest_stall_s, SecondsBetween(acks[i - 1], acks[i]));
  }

  const testing::TcpProxy::Stats stats = proxy_->stats();
  std::printf(
      "[partition] commands: sent %zu, acknowledged %d (%d as the replay of an earlier attempt "
      "that had committed), not acknowledged %d, retried %d; %d attempts\n",
      sent.size(), acknowledged, acknowledged_as_replay, failed, retried, attempts);
  std::printf(
      "[partition] in the log (read straight from the broker): %d records, %d commands; "
      "acknowledged found once %d, missing %d, duplicated %d; not acknowledged but written %d; "
      "foreign %d; half commands %d; broken chains %d; unreadable %d\n",
      log.records, commands_in_log, found_once, missing, duplicated, unacknowledged_in_log, foreign,
      half, log.broken_chains, log.unreadable);
  std::printf("[partition] retries of every acknowledged command after the run: %d, %d differ\n",
              replayed.load(), replay_differs.load());
  for (const Window& w : windows) {
    std::printf(
        "[partition] %s pause %.2f s: %d attempts in flight at the pause; %d answered "
        "UNAVAILABLE until 2 s after the resume (%d by the cluster watch%s); %d failed commands "
        "had committed (their retry got the original result); new commands acknowledged while "
        "paused %d; first new command %.2f s after the resume\n",
        w.name, SecondsBetween(w.paused, w.resumed), w.in_flight, w.failed_unavailable,
        w.refused_by_watch,
        w.first_refusal_s < 0
            ? ""
            : base::StrCat(", the first ", std::lround(w.first_refusal_s * 100) / 100.0,
                           " s into the pause")
                  .c_str(),
        w.committed_unanswered, w.written_while_paused, w.recovered_s);
  }
  std::printf(
      "[partition] longest stall (no new command acknowledged): %.2f s; longest command (first "
      "attempt to acknowledgement): %.2f s; partitions writing after the last resume: %zu of %d\n",
      longest_stall_s, longest_command_s, after_last_resume.size(), kPartitions);
  for (const auto& [code, n] : failures) {
    std::printf("[partition] failed attempts with code %d: %d\n", static_cast<int>(code), n);
  }
  for (const auto& [reason, n] : reasons) {
    std::printf("[partition]   %dx %s\n", n, reason.c_str());
  }
  std::printf(
      "[partition] proxy: %llu connections accepted, %llu bytes up, %llu down; phases: sending "
      "%.1f s, replays %.1f s, the whole test %.1f s\n",
      static_cast<unsigned long long>(stats.accepted),
      static_cast<unsigned long long>(stats.bytes_up),
      static_cast<unsigned long long>(stats.bytes_down), SecondsBetween(start, clients_done),
      SecondsBetween(clients_done, replays_done), SecondsBetween(test_began, Clock::now()));

  EXPECT_EQ(failed, 0) << "a command was not acknowledged within its bounded retries";
  EXPECT_EQ(missing, 0) << "an acknowledged command is not in the log";
  EXPECT_EQ(duplicated, 0) << "a command is in the log twice";
  EXPECT_EQ(mismatched, 0) << "an acknowledgement names another event, version or position";
  EXPECT_EQ(unacknowledged_in_log, 0) << "a command never acknowledged is in the log";
  EXPECT_EQ(foreign, 0) << "the log holds a command no client sent";
  EXPECT_EQ(commands_in_log, acknowledged);
  EXPECT_EQ(half, 0) << "half a command is in the log";
  EXPECT_EQ(log.broken_chains, 0) << "an aggregate's versions or hashes do not chain";
  EXPECT_EQ(log.unreadable, 0);
  EXPECT_EQ(replay_differs.load(), 0) << "a retry did not get the original result";
  EXPECT_EQ(replayed.load(), acknowledged);
  for (const Window& w : windows) {
    EXPECT_TRUE(w.happened) << w.name << ": the partition did not begin";
    EXPECT_GT(w.in_flight, 0) << w.name << ": no command was in flight at the pause";
    EXPECT_EQ(w.written_while_paused, 0) << w.name << ": a command went around the partition";
    EXPECT_GE(w.recovered_s, 0) << w.name << ": no new command after the resume";
  }
  EXPECT_GT(windows[1].failed_unavailable, 0)
      << "the long pause timed out no command: it must outlast the append timeout";
  EXPECT_GT(windows[2].committed_unanswered, 0)
      << "no commit went through unanswered while the replies were held";
  EXPECT_EQ(after_last_resume.size(), static_cast<std::size_t>(kPartitions))
      << "a partition took no new command after the last resume, without a restart";
}

// A producer's InitProducerId that the network delivers late - after the writer gave that
// producer up (its init timed out), made another and wrote with it - bumps the transactional
// id's epoch and so fences the live producer. The writer is alone on its partition: it must
// take commands again by itself, and nothing may be written twice or lost.
//
// With a writer group (--ownership group) it does: the group still assigns the partition to
// this instance, so GroupOwnership takes its fenced writer back within a second
// (AggregateWriter::Acquire). With static ownership it does not, hence that case is
// disabled (run it with --gtest_also_run_disabled_tests): the live producer's next
// transaction ends in PRODUCER_FENCED, young, which eventlog::FencedByAnotherProducer takes
// for another instance's takeover; the LogSession retires for good and every command of the
// partition is refused "the writer of <topic>/<p> was fenced" until a restart. Without a
// group nothing tells this fencing from a takeover. Nothing is written twice or lost.
void NetworkPartition::LateInitProducerId(bool group) {
  const milliseconds append_timeout(1500);
  std::optional<eventlog::OwnershipOptions> owners;
  const std::string prefix = testing::UniqueTopicPrefix();
  if (group) {
    owners = eventlog::OwnershipOptions{.group_id = prefix + "programme-writer.owners",
                                        .endpoint = "127.0.0.1:1"};
  }
  auto commands = std::make_unique<testing::CommandServer>(
      Proxied(), prefix, append_timeout, std::vector<int32_t>{}, eventlog::Integrity{}, owners);
  const std::string topic = commands->service().topic();
  auto stub = commands->Stub();
  constexpr char kProgramme[] = "stale-init";
  std::vector<Traced> sent;
  const auto once = [&](const std::string& person) {
    Traced& s = sent.emplace_back(Traced{
        .request = testing::PersonOf(kProgramme, person, v1::PERSON_FUNCTION_BOARD_OBSERVER)});
    SendUntilDone(*stub, s, Clock::now());  // one attempt
    return s.acknowledged;
  };
  Traced& charter = sent.emplace_back(Traced{.request = testing::CharterOf(kProgramme)});
  SendUntilDone(*stub, charter, Clock::now() + seconds(30));
  ASSERT_TRUE(charter.acknowledged) << charter.attempts.back().message;
  ASSERT_TRUE(once("before"));

  // The partition's producer times out in a partition, so the writer gives it up.
  proxy_->Pause();
  EXPECT_FALSE(once("cut"));
  proxy_->Resume();
  // Its next producer's InitProducerId stays in the network, and that producer is given up too.
  proxy_->HoldConnectionFromRequest(22);
  EXPECT_FALSE(once("init-held"));
  ASSERT_TRUE(proxy_->WaitHeld(milliseconds(0))) << "no InitProducerId was held";
  // The one after it is registered, and writes.
  Traced& live = sent.emplace_back(
      Traced{.request = testing::PersonOf(kProgramme, "live", v1::PERSON_FUNCTION_BOARD_OBSERVER)});
  SendUntilDone(*stub, live, Clock::now() + seconds(15));
  ASSERT_TRUE(live.acknowledged) << live.attempts.back().message;
  // The network heals once the live producer's transaction is complete (a coordinator still
  // writing its markers would answer the late request CONCURRENT_TRANSACTIONS and keep the
  // epoch): the held InitProducerId reaches it now, and bumps the epoch.
  std::this_thread::sleep_for(milliseconds(1000));
  proxy_->Resume();
  std::this_thread::sleep_for(milliseconds(1000));

  Traced& after = sent.emplace_back(Traced{
      .request = testing::PersonOf(kProgramme, "after", v1::PERSON_FUNCTION_BOARD_OBSERVER)});
  SendUntilDone(*stub, after, Clock::now() + seconds(10));
  std::printf("[partition] late InitProducerId: the next command took %d attempt(s): %s\n",
              static_cast<int>(after.attempts.size()),
              after.acknowledged ? "acknowledged" : after.attempts.back().message.c_str());
  EXPECT_TRUE(after.acknowledged)
      << "the writer did not recover from a late InitProducerId of its own: "
      << after.attempts.back().message;

  // Whatever was acknowledged is in the log once; a command that failed is retried (by a
  // writer that took commands again).
  for (Traced& s : sent) {
    if (!s.acknowledged && after.acknowledged) SendUntilDone(*stub, s, Clock::now() + seconds(15));
  }
  stub.reset();
  commands.reset();
  const testing::LogCount log = testing::CountLog(Direct(), topic);
  for (const Traced& s : sent) {
    EXPECT_LE(CommandsOf(log, s.request_id()), 1) << s.request_id();
    if (s.acknowledged) {
      EXPECT_EQ(CommandsOf(log, s.request_id()), 1) << s.request_id();
    }
  }
}

TEST_F(NetworkPartition, AnInitProducerIdDeliveredLateDoesNotRetireAWriterOfAGroup) {
  LateInitProducerId(/*group=*/true);
}

TEST_F(NetworkPartition, DISABLED_AnInitProducerIdDeliveredLateDoesNotRetireAStaticWriter) {
  LateInitProducerId(/*group=*/false);
}

}  // namespace
}  // namespace kam
