// The single writer of one aggregate type, shared by every command service.
//
//   kam::writer::AggregateWriter<kam::domain::ProgrammeState> writer(
//       log, {.topic = "kam.programme.v1", .aggregate_type = "programme"}, &kam::domain::Evolve);
//   KAM_RETURN_IF_ERROR(writer.Start());     // topic, fencing, rebuild from the log
//   absl::StatusOr<kam::v1::CommandResult> r = writer.Execute(
//       programme_id, request.metadata(), principal,
//       [&](const ProgrammeState& s, absl::Time now) {
//         return kam::domain::Decide(s, request, {principal, now});
//       });
//
// Guarantees: one command at a time (a mutex; the transactional.id fences other
// processes); a retried client_request_id returns the original result and writes
// nothing; an expected_version mismatch is ABORTED naming the current version; a
// command's events are one Kafka transaction; in-memory state changes only after the
// append is acknowledged, and is rebuilt from the log after an append whose outcome is
// unknown. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/programme.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "writer/envelopes.h"
#include "writer/log_session.h"

namespace kam::writer {

inline constexpr std::string_view kHistoryIntactRule = "history.intact";

struct WriterOptions {
  std::string topic;
  std::string aggregate_type;
  int partitions = 3;
};

template <typename State>
class AggregateWriter {
 public:
  using EvolveFn = void (*)(State&, const v1::EventEnvelope&);
  // How far a command's occurred_at may lie ahead of the writer's clock.
  static constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);

  AggregateWriter(LogSession& log, WriterOptions options, EvolveFn evolve)
      : log_(log), options_(std::move(options)), evolve_(evolve) {}

  // Creates the topic if needed, takes over the transactional.id (fencing any zombie and
  // aborting its open transaction) and then rebuilds every aggregate from the log.
  absl::Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    KAM_RETURN_IF_ERROR(eventlog::EnsureTopic(log_.kafka(), options_.topic, options_.partitions));
    KAM_RETURN_IF_ERROR(log_.Connect());
    return ReloadLocked();
  }

  // `decide(state, now)` gets the aggregate's current state and the command's business
  // time (metadata.occurred_at, or the time of recording) and returns its events.
  template <typename DecideFn>
  absl::StatusOr<v1::CommandResult> Execute(const std::string& aggregate_id,
                                            const v1::CommandMetadata& metadata,
                                            const std::string& actor, DecideFn&& decide) {
    KAM_RETURN_IF_ERROR(
        base::ValidateRequestId("metadata.client_request_id", metadata.client_request_id()));
    if (metadata.correlation_id().size() > base::kMaxRequestIdLength) {
      return base::InvalidField(
          "metadata.correlation_id",
          base::StrCat("must be at most ", base::kMaxRequestIdLength, " characters"));
    }
    const absl::Time recorded_at = absl::Now();
    absl::Time occurred_at = recorded_at;
    if (metadata.has_occurred_at()) {
      const auto& ts = metadata.occurred_at();
      if (ts.seconds() < 0 || ts.seconds() > 253402300799 || ts.nanos() < 0 ||
          ts.nanos() > 999999999) {
        return base::InvalidField("metadata.occurred_at", "is not a valid timestamp");
      }
      occurred_at = domain::TimeOf(ts);
      if (occurred_at > recorded_at + kMaxClockSkew) {
        return base::InvalidField("metadata.occurred_at", "is in the future");
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (log_.needs_reload()) KAM_RETURN_IF_ERROR(ReloadLocked());

    static const Aggregate kEmpty{};
    auto it = aggregates_.find(aggregate_id);
    const Aggregate& current = it == aggregates_.end() ? kEmpty : it->second;
    if (!current.chain.broken.empty()) {
      return base::RuleViolated(absl::StatusCode::kFailedPrecondition, kHistoryIntactRule,
                                current.chain.broken);
    }
    if (auto done = current.chain.results.find(metadata.client_request_id());
        done != current.chain.results.end()) {
      v1::CommandResult replay = done->second;
      replay.set_deduplicated(true);
      return replay;
    }
    if (metadata.has_expected_version() && metadata.expected_version() != current.chain.version) {
      return absl::AbortedError(base::StrCat(
          "metadata.expected_version: ", options_.aggregate_type, " '", aggregate_id,
          "' is at version ", current.chain.version, ", not ", metadata.expected_version()));
    }
    absl::StatusOr<domain::Events> events = decide(current.state, occurred_at);
    if (!events.ok()) return events.status();
    CommandInfo info{options_.aggregate_type, aggregate_id, actor, metadata, recorded_at};
    SealedCommand sealed = SealCommand(current.chain, info, *events);
    std::vector<eventlog::Record> records;
    records.reserve(sealed.bytes.size());
    for (std::string& b : sealed.bytes) records.push_back({aggregate_id, std::move(b)});
    auto positions = log_.Append(options_.topic, records);
    if (!positions.ok()) return positions.status();

    Aggregate& target = aggregates_[aggregate_id];
    for (const auto& envelope : sealed.envelopes) evolve_(target.state, envelope);
    return Advance(target.chain, sealed, *positions);
  }

  // A copy of the aggregate's state and its version (0: no events yet).
  std::pair<State, uint64_t> Snapshot(const std::string& aggregate_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = aggregates_.find(aggregate_id);
    if (it == aggregates_.end()) return {State{}, 0};
    return {it->second.state, it->second.chain.version};
  }

 private:
  struct Aggregate {
    State state;
    Chain chain;
  };

  // Rebuilds every aggregate from the log, after (re)connecting so that no earlier
  // transaction of ours is still open.
  absl::Status ReloadLocked() {
    if (log_.needs_reload()) KAM_RETURN_IF_ERROR(log_.Connect());
    std::unordered_map<std::string, Aggregate> fresh;
    auto status =
        eventlog::ReadAll(log_.kafka(), options_.topic, [&](const eventlog::ConsumedRecord& r) {
          Aggregate& a = fresh[r.key];
          v1::LogPosition pos;
          pos.set_topic(r.topic);
          pos.set_partition(r.partition);
          pos.set_offset(r.offset);
          auto opened = eventlog::Open(r.value);
          if (!opened.ok()) {
            if (a.chain.broken.empty()) {
              a.chain.broken =
                  base::StrCat("history of '", r.key, "' has an unreadable record at ", r.topic,
                               "/", r.partition, "@", r.offset, ": ", opened.status().message());
            }
            return absl::OkStatus();
          }
          const v1::EventEnvelope& env = opened->envelope;
          bool hash_ok = opened->hash_ok && env.aggregate_id() == r.key &&
                         env.aggregate_type() == options_.aggregate_type;
          if (Replay(a.chain, env, hash_ok, pos).ok()) evolve_(a.state, env);
          return absl::OkStatus();  // a broken aggregate is refused later, the rest load
        });
    if (!status.ok()) return status;
    aggregates_ = std::move(fresh);
    log_.MarkReloaded();
    return absl::OkStatus();
  }

  LogSession& log_;
  const WriterOptions options_;
  const EvolveFn evolve_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Aggregate> aggregates_;
};

}  // namespace kam::writer
