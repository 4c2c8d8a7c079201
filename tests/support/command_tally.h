// What a client saw of the commands it sent through a fault, and what an independent
// read_committed reader finds of them in the log afterwards: the bookkeeping the fault tests
// share (tests/e2e/broker_kill_test.cc, writer_failover_test.cc).
//
//   Sent s = SendWithRetries(request_id, partition, give_up_at, [&](v1::CommandResult& r) {
//     return stub->CharterProgramme(CallContext(token).get(), request, &response); });
//   Tally t = TallyOf(all_sent, CountLog(kafka, topic));
//   EXPECT_EQ(t.acknowledged_missing, 0) << Figures(t);
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "gtest/gtest.h"
#include "kam/v1/programme_service.pb.h"
#include "support/servers.h"

namespace kam::testing {

using FaultClock = std::chrono::steady_clock;

// An integer from the environment (a fault test's duration, a port), or `fallback`.
inline int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

inline double SecondsBetween(FaultClock::time_point from, FaultClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Polls `done` every 50 ms until it is true (true) or `timeout` passes (false).
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = FaultClock::now() + timeout;
  while (!done()) {
    if (FaultClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// One command as a client saw it: every retry carries the same request id, as kamctl's do,
// so a retry of a command whose first attempt was written is answered, not written again.
struct Sent {
  std::string request_id;
  int32_t partition = 0;
  FaultClock::time_point answered;
  bool acknowledged = false;
  bool deduplicated = false;  // acknowledged as the replay of an earlier attempt
  int tries = 0;
  grpc::StatusCode last_code = grpc::StatusCode::OK;
  std::string last_message;
  std::string first_failure;  // code and message of the first attempt that failed, if any
  std::vector<std::string> event_ids;
};

inline bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED;
}

// Calls `call(context)` until it succeeds, fails for a reason a retry does not change,
// `give_up_at` passes or `max_tries` were made (250 ms apart). `call` returns the status and
// fills the result on success.
template <typename Call>
Sent SendWithRetries(const std::string& request_id, int32_t partition,
                     FaultClock::time_point give_up_at, Call call, int max_tries = 8) {
  Sent sent{.request_id = request_id, .partition = partition};
  for (;;) {
    ++sent.tries;
    v1::CommandResult result;
    const grpc::Status s = call(result);
    sent.answered = FaultClock::now();
    sent.last_code = s.error_code();
    sent.last_message = s.error_message();
    if (!s.ok() && sent.first_failure.empty()) {
      sent.first_failure = base::StrCat(static_cast<int>(s.error_code()), " ", s.error_message());
    }
    if (s.ok()) {
      sent.acknowledged = true;
      sent.deduplicated = result.deduplicated();
      sent.event_ids.assign(result.event_ids().begin(), result.event_ids().end());
      return sent;
    }
    if (!Retryable(s.error_code()) || FaultClock::now() >= give_up_at || sent.tries >= max_tries)
      return sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

inline std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token) {
  auto ctx = Context(token);
  // Past the writer's 10 s append timeout, so that the service answers first.
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  return ctx;
}

inline v1::CharterProgrammeRequest CharterOf(const std::string& programme) {
  v1::CharterProgrammeRequest r;
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  r.set_programme_id(programme);
  r.set_name("Fault test " + programme);
  r.set_rationale("Commands through a fault");
  return r;
}

inline v1::RegisterPersonRequest PersonOf(const std::string& programme, const std::string& person,
                                          v1::PersonFunction function) {
  v1::RegisterPersonRequest r;
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  r.set_programme_id(programme);
  r.set_person_id(person);
  r.set_name("Person " + person);
  r.set_principal(person + "@supplier.example");
  r.add_functions(function);
  return r;
}

// What an independent read_committed reader finds in a topic.
struct LogCount {
  // One readable event: where it is and what it says.
  struct Event {
    int32_t partition = 0;
    int64_t offset = 0;
    std::string event_id;
    uint64_t version = 0;  // of its aggregate
  };
  std::map<std::string, int> by_event_id;
  // Per request id, its events in log order (per partition).
  std::map<std::string, std::vector<Event>> events_of_request;
  // Per request id: the commands (a command's first event) and the events carrying it.
  std::map<std::string, int> commands_by_request;
  std::map<std::string, int> events_by_request;
  std::map<std::string, int> expected_events_by_request;  // command_event_count per command
  int records = 0;
  int unreadable = 0;
  int broken_chains = 0;  // aggregates whose versions skip or whose hashes do not chain
};

inline LogCount CountLog(const eventlog::KafkaOptions& kafka, const std::string& topic) {
  LogCount count;
  std::map<std::string, std::pair<uint64_t, std::string>> tips;  // aggregate: version, hash
  std::set<std::string> broken;
  const absl::Status s = eventlog::ReadAll(
      kafka, topic,
      [&](const eventlog::ConsumedRecord& r) {
        ++count.records;
        auto opened = eventlog::Open(r.value);
        if (!opened.ok() || !opened->hash_ok) {
          ++count.unreadable;
          return absl::OkStatus();
        }
        const v1::EventEnvelope& e = opened->envelope;
        ++count.by_event_id[e.event_id()];
        ++count.events_by_request[e.client_request_id()];
        count.events_of_request[e.client_request_id()].push_back(
            {.partition = r.partition,
             .offset = r.offset,
             .event_id = e.event_id(),
             .version = e.aggregate_version()});
        if (e.command_event_index() == 0) {
          ++count.commands_by_request[e.client_request_id()];
          count.expected_events_by_request[e.client_request_id()] += e.command_event_count();
        }
        auto& [version, hash] = tips[e.aggregate_id()];
        if (e.aggregate_version() != version + 1 || e.previous_hash() != hash) {
          broken.insert(e.aggregate_id());
        }
        version = e.aggregate_version();
        hash = e.hash();
        return absl::OkStatus();
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(s.ok()) << topic << ": " << s;
  count.broken_chains = static_cast<int>(broken.size());
  return count;
}

// What the log says about the commands one kind of client sent.
struct Tally {
  int sent = 0;
  int acknowledged = 0;
  int deduplicated = 0;
  int failed = 0;
  int rejected = 0;  // failed for a reason a retry cannot change: a test or service bug
  int retried = 0;
  int acknowledged_found_once = 0;
  int acknowledged_missing = 0;
  int acknowledged_duplicated = 0;
  int failed_found_once = 0;
  int failed_duplicated = 0;
  int incomplete_commands = 0;
};

inline Tally TallyOf(const std::vector<Sent>& sent, const LogCount& log) {
  Tally t;
  t.sent = static_cast<int>(sent.size());
  for (const Sent& s : sent) {
    if (s.tries > 1) ++t.retried;
    const auto commands = log.commands_by_request.find(s.request_id);
    const int in_log = commands == log.commands_by_request.end() ? 0 : commands->second;
    if (in_log > 0 &&
        log.events_by_request.at(s.request_id) != log.expected_events_by_request.at(s.request_id)) {
      ++t.incomplete_commands;
    }
    if (s.acknowledged) {
      ++t.acknowledged;
      if (s.deduplicated) ++t.deduplicated;
      bool once = in_log == 1 && !s.event_ids.empty();
      bool missing = in_log == 0 || s.event_ids.empty();
      for (const std::string& id : s.event_ids) {
        const auto it = log.by_event_id.find(id);
        const int n = it == log.by_event_id.end() ? 0 : it->second;
        once = once && n == 1;
        missing = missing || n == 0;
      }
      if (once) {
        ++t.acknowledged_found_once;
      } else if (missing) {
        ++t.acknowledged_missing;
      } else {
        ++t.acknowledged_duplicated;
      }
    } else {
      ++t.failed;
      if (!Retryable(s.last_code)) ++t.rejected;
      if (in_log == 1) ++t.failed_found_once;
      if (in_log > 1) ++t.failed_duplicated;
    }
  }
  return t;
}

inline std::string Figures(const Tally& t) {
  return base::StrCat("sent ", t.sent, ", acknowledged ", t.acknowledged, " (", t.deduplicated,
                      " as the replay of an earlier attempt), failed ", t.failed, " (", t.rejected,
                      " rejected), retried ", t.retried, "; in the log: acknowledged found once ",
                      t.acknowledged_found_once, ", missing ", t.acknowledged_missing,
                      ", duplicated ", t.acknowledged_duplicated, "; failed but written once ",
                      t.failed_found_once, ", more than once ", t.failed_duplicated,
                      "; incomplete commands ", t.incomplete_commands);
}

}  // namespace kam::testing
