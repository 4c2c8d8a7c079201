// The single writer of one aggregate type, shared by every command service.
//
//   kam::writer::AggregateWriter<kam::domain::ProgrammeState> writer(kafka, {
//       .topic = "kam.programme.v1", .aggregate_type = "programme",
//       .transactional_id = "kam.programme-writer", .owned_partitions = {0, 1}},
//       &kam::domain::Evolve);
//   KAM_RETURN_IF_ERROR(writer.Start());     // topic, fencing, rebuild from the log
//   absl::StatusOr<kam::v1::CommandResult> r = writer.Execute(
//       programme_id, request.metadata(), principal,
//       [&](const ProgrammeState& s, absl::Time now) {
//         return kam::domain::Decide(s, request, {principal, now});
//       });
//
// Ownership: an aggregate lives in the partition PartitionFor(id) of its topic. The writer
// owns some partitions and, per owned partition, a transactional producer with the id
// "<transactional_id>.p<partition>": another instance claiming that partition fences this
// one (Kafka aborts our open transaction and refuses our commits), so two writers never
// interleave on an aggregate. A command for an aggregate in a partition not owned here,
// or fenced away, is UNAVAILABLE.
//
// Snapshots (optional, with a SnapshotCodec and options.snapshot_dir): every
// snapshot_every_events appended events, and on SnapshotAll(), a partition's aggregates
// are written to "<snapshot_dir>/<topic>.p<N>.snapshot" (atomically: temp file + rename).
// Start() then replays only the log after the snapshot; a snapshot that does not decode
// or does not continue the log is discarded and the partition is rebuilt from offset 0.
//
// Guarantees: one command at a time per partition; a retried client_request_id returns
// the original result and writes nothing; an expected_version mismatch is ABORTED naming
// the current version; a command's events are one Kafka transaction; in-memory state
// changes only after the append is acknowledged, and is rebuilt from the log after an
// append whose outcome is unknown. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/programme.h"
#include "domain/rules.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "kam/v1/snapshot.pb.h"
#include "writer/envelopes.h"
#include "writer/files.h"
#include "writer/log_session.h"

namespace kam::writer {

struct WriterOptions {
  std::string topic;
  std::string aggregate_type;
  int partitions = 3;  // when the topic must be created
  // Base of the per-partition transactional ids.
  std::string transactional_id;
  // The partitions this instance owns; empty: all of them.
  std::vector<int32_t> owned_partitions;
  std::chrono::milliseconds append_timeout{10000};
  // Where snapshots live; empty: no snapshots.
  std::string snapshot_dir;
  uint64_t snapshot_every_events = 100000;
};

// How an aggregate type's state becomes snapshot bytes and back (both pure).
template <typename State>
struct SnapshotCodec {
  std::string (*encode)(const State&) = nullptr;
  absl::StatusOr<State> (*decode)(std::string_view) = nullptr;
};

template <typename State>
class AggregateWriter {
 public:
  using EvolveFn = void (*)(State&, const v1::EventEnvelope&);
  // How far a command's occurred_at may lie ahead of the writer's clock.
  static constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);

  AggregateWriter(eventlog::KafkaOptions kafka, WriterOptions options, EvolveFn evolve,
                  SnapshotCodec<State> codec = {})
      : kafka_(std::move(kafka)), options_(std::move(options)), evolve_(evolve), codec_(codec) {}

  // Creates the topic if needed, takes over the owned partitions' transactional ids
  // (fencing any zombie and aborting its open transactions) and then rebuilds every
  // aggregate of those partitions from the log.
  absl::Status Start() {
    KAM_RETURN_IF_ERROR(eventlog::EnsureTopic(kafka_, options_.topic, options_.partitions));
    auto count = eventlog::PartitionCount(kafka_, options_.topic);
    if (!count.ok()) return count.status();
    partition_count_ = *count;
    std::vector<int32_t> owned = options_.owned_partitions;
    if (owned.empty()) {
      for (int32_t p = 0; p < partition_count_; ++p) owned.push_back(p);
    }
    for (int32_t p : owned) {
      if (p < 0 || p >= partition_count_) {
        return base::InvalidField(
            "owned_partitions", base::StrCat("partition ", p, " does not exist in ", options_.topic,
                                             " (", partition_count_, " partitions)"));
      }
      partitions_.emplace(p, std::make_unique<Partition>(LogSession(
                                 kafka_, base::StrCat(options_.transactional_id, ".p", p),
                                 options_.append_timeout)));
    }
    for (auto& [p, part] : partitions_) {
      std::lock_guard<std::mutex> lock(part->mu);
      KAM_RETURN_IF_ERROR(part->log.Connect());
    }
    for (auto& [p, part] : partitions_) {
      std::lock_guard<std::mutex> lock(part->mu);
      KAM_RETURN_IF_ERROR(ReloadLocked(p, *part, /*use_snapshot=*/true));
    }
    return absl::OkStatus();
  }

  // Writes a snapshot of every owned partition (e.g. at shutdown). A no-op without
  // snapshots configured.
  absl::Status SnapshotAll() {
    for (auto& [p, part] : partitions_) {
      std::lock_guard<std::mutex> lock(part->mu);
      KAM_RETURN_IF_ERROR(WriteSnapshotLocked(p, *part));
    }
    return absl::OkStatus();
  }

  // What the last Start() or reload did, per partition: for logs and benchmarks.
  struct LoadStats {
    bool from_snapshot = false;
    int64_t snapshot_offset = 0;
    uint64_t records_replayed = 0;
  };
  std::map<int32_t, LoadStats> load_stats() const {
    std::map<int32_t, LoadStats> out;
    for (const auto& [p, part] : partitions_) {
      std::lock_guard<std::mutex> lock(part->mu);
      out[p] = part->load;
    }
    return out;
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
    const int32_t p = eventlog::PartitionFor(aggregate_id, partition_count_);
    auto owned = partitions_.find(p);
    if (owned == partitions_.end()) {
      return absl::UnavailableError(base::StrCat(options_.aggregate_type, " '", aggregate_id,
                                                 "' lives in partition ", p, " of ", options_.topic,
                                                 ", which this instance does not own"));
    }
    Partition& part = *owned->second;
    std::lock_guard<std::mutex> lock(part.mu);
    KAM_RETURN_IF_ERROR(part.log.CheckNotFenced());
    if (part.log.needs_reload()) KAM_RETURN_IF_ERROR(ReloadLocked(p, part, /*use_snapshot=*/false));

    static const Aggregate kEmpty{};
    auto it = part.aggregates.find(aggregate_id);
    const Aggregate& current = it == part.aggregates.end() ? kEmpty : it->second;
    if (!current.chain.broken.empty()) {
      return base::RuleViolated(absl::StatusCode::kFailedPrecondition,
                                domain::rules::kHistoryIntact, current.chain.broken);
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
    if (events->empty()) {  // nothing to record: the aggregate stays as it is
      v1::CommandResult unchanged;
      unchanged.set_aggregate_id(aggregate_id);
      unchanged.set_aggregate_version(current.chain.version);
      return unchanged;
    }
    CommandInfo info{options_.aggregate_type, aggregate_id, actor, metadata, recorded_at};
    SealedCommand sealed = SealCommand(current.chain, info, *events);
    std::vector<eventlog::Record> records;
    records.reserve(sealed.bytes.size());
    for (std::string& b : sealed.bytes) records.push_back({aggregate_id, std::move(b)});
    auto positions = part.log.Append(options_.topic, p, records);
    if (!positions.ok()) return positions.status();

    Aggregate& target = part.aggregates[aggregate_id];
    for (const auto& envelope : sealed.envelopes) evolve_(target.state, envelope);
    v1::CommandResult result = Advance(target.chain, sealed, *positions);
    part.next_offset = positions->back().offset() + 1;
    part.since_snapshot += positions->size();
    if (part.since_snapshot >= options_.snapshot_every_events) {
      if (auto s = WriteSnapshotLocked(p, part); !s.ok()) {
        base::Log(base::StrCat("snapshot of ", options_.topic, "/", p, " failed: ", s.message()));
      }
    }
    return result;
  }

  // A copy of the aggregate's state and its version (0: no events yet, or not owned here).
  std::pair<State, uint64_t> Snapshot(const std::string& aggregate_id) const {
    auto owned = partitions_.find(eventlog::PartitionFor(aggregate_id, partition_count_));
    if (owned == partitions_.end()) return {State{}, 0};
    std::lock_guard<std::mutex> lock(owned->second->mu);
    auto it = owned->second->aggregates.find(aggregate_id);
    if (it == owned->second->aggregates.end()) return {State{}, 0};
    return {it->second.state, it->second.chain.version};
  }

  int partition_count() const { return partition_count_; }
  std::vector<int32_t> owned_partitions() const {
    std::vector<int32_t> out;
    for (const auto& [p, part] : partitions_) out.push_back(p);
    return out;
  }

 private:
  struct Aggregate {
    State state;
    Chain chain;
  };
  struct Partition {
    explicit Partition(LogSession session) : log(std::move(session)) {}
    std::mutex mu;
    LogSession log;
    std::unordered_map<std::string, Aggregate> aggregates;
    int64_t next_offset = 0;      // after the last record loaded or appended
    uint64_t since_snapshot = 0;  // events appended since the last snapshot
    LoadStats load;
  };

  bool snapshots_enabled() const {
    return codec_.encode != nullptr && codec_.decode != nullptr && !options_.snapshot_dir.empty();
  }
  std::string SnapshotPath(int32_t p) const {
    return base::StrCat(options_.snapshot_dir, "/", options_.topic, ".p", p, ".snapshot");
  }

  absl::Status WriteSnapshotLocked(int32_t p, Partition& part) {
    if (!snapshots_enabled()) return absl::OkStatus();
    v1::WriterSnapshot snap;
    snap.set_topic(options_.topic);
    snap.set_partition(p);
    snap.set_next_offset(part.next_offset);
    snap.set_aggregate_type(options_.aggregate_type);
    for (const auto& [id, a] : part.aggregates) {
      auto* out = snap.add_aggregates();
      out->set_aggregate_id(id);
      out->set_version(a.chain.version);
      out->set_last_hash(a.chain.last_hash);
      out->set_broken(a.chain.broken);
      out->set_state(codec_.encode(a.state));
      for (const auto& [request_id, result] : a.chain.results) {
        auto* r = out->add_results();
        r->set_client_request_id(request_id);
        *r->mutable_result() = result;
      }
    }
    KAM_RETURN_IF_ERROR(WriteFileAtomically(SnapshotPath(p), snap.SerializeAsString()));
    part.since_snapshot = 0;
    return absl::OkStatus();
  }

  // Loads the partition's snapshot into `into`; returns the offset to replay from, or
  // nullopt (logged) when there is no usable snapshot.
  std::optional<int64_t> LoadSnapshot(int32_t p, std::unordered_map<std::string, Aggregate>& into) {
    auto bytes = ReadFile(SnapshotPath(p));
    if (!bytes.ok()) return std::nullopt;  // none yet
    v1::WriterSnapshot snap;
    if (!snap.ParseFromString(*bytes) || snap.topic() != options_.topic || snap.partition() != p ||
        snap.aggregate_type() != options_.aggregate_type) {
      base::Log(base::StrCat("snapshot ", SnapshotPath(p), " is unusable; replaying the log"));
      return std::nullopt;
    }
    for (auto& in : *snap.mutable_aggregates()) {
      auto state = codec_.decode(in.state());
      if (!state.ok()) {
        base::Log(base::StrCat("snapshot ", SnapshotPath(p), ": ", state.status().message(),
                               "; replaying the log"));
        into.clear();
        return std::nullopt;
      }
      Aggregate& a = into[in.aggregate_id()];
      a.state = *std::move(state);
      a.chain.version = in.version();
      a.chain.last_hash = in.last_hash();
      a.chain.broken = in.broken();
      for (auto& r : *in.mutable_results()) a.chain.results[r.client_request_id()] = r.result();
    }
    return snap.next_offset();
  }

  // Rebuilds every aggregate of partition `p` from its snapshot (if wanted and usable)
  // and the log after it, after (re)connecting if the last append left its outcome
  // unknown, so that no earlier transaction is still open.
  absl::Status ReloadLocked(int32_t p, Partition& part, bool use_snapshot) {
    if (part.log.needs_reload()) KAM_RETURN_IF_ERROR(part.log.Connect());
    std::unordered_map<std::string, Aggregate> fresh;
    std::optional<int64_t> from;
    if (use_snapshot && snapshots_enabled()) from = LoadSnapshot(p, fresh);
    LoadStats load{from.has_value(), from.value_or(0), 0};
    int64_t next = from.value_or(0);
    auto status = eventlog::ReadPartitions(
        kafka_, options_.topic, {{p, from.value_or(-2 /* beginning */)}},
        [&](const eventlog::ConsumedRecord& r) {
          ++load.records_replayed;
          next = r.offset + 1;
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
          const bool hash_ok = opened->hash_ok && env.aggregate_id() == r.key &&
                               env.aggregate_type() == options_.aggregate_type;
          if (Replay(a.chain, env, hash_ok, pos).ok()) evolve_(a.state, env);
          return absl::OkStatus();  // a broken aggregate is refused later, the rest load
        });
    if (!status.ok()) return status;
    if (from) {
      for (const auto& [id, a] : fresh) {
        if (!a.chain.broken.empty() || (next < *from)) {
          // The snapshot does not continue this log (or the log was tampered with): the
          // log is the truth, so rebuild from its beginning.
          base::Log(base::StrCat("snapshot of ", options_.topic, "/", p,
                                 " does not continue the log; replaying it from the start"));
          return ReloadLocked(p, part, /*use_snapshot=*/false);
        }
      }
    }
    part.aggregates = std::move(fresh);
    part.next_offset = next;
    part.since_snapshot = 0;
    part.load = load;
    part.log.MarkReloaded();
    return absl::OkStatus();
  }

  const eventlog::KafkaOptions kafka_;
  const WriterOptions options_;
  const EvolveFn evolve_;
  const SnapshotCodec<State> codec_;
  int partition_count_ = 0;
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;  // fixed after Start()
};

}  // namespace kam::writer
