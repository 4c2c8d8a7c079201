// The writer's pure command pipeline for one partition: the aggregates as of an offset,
// and a group of commands decided in order against their evolving state - checks,
// deduplication, expected versions, decide, seal - reversible until the group's
// transaction commits. No threads and no I/O: tests drive it with plain values.
//
//   kam::writer::Partition<State> part;                  // aggregates of one partition
//   part.Replay(record, options);                        // rebuilding from the log
//   kam::writer::Group<State> group(part, options, clock.Now());
//   group.Add(std::move(command));                       // decided now, on top of earlier ones
//   ... append group.records() in one transaction ...
//   std::vector<Outcome> done = group.Commit(positions); // or group.Abort(status)
//
// A command's outcome is final only after Commit or Abort: a rejection decided on top of
// an uncommitted command is withdrawn with it. Abort restores every touched aggregate
// exactly (a copy of its state, or the undo of each applied event), so the partition is
// again as of its last committed offset. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/programme.h"
#include "domain/rules.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "writer/envelopes.h"

namespace kam::writer {

// A command for one aggregate, with the domain's decision as a function of its state.
template <typename State>
struct Command {
  std::string aggregate_id;
  v1::CommandMetadata metadata;
  std::string actor;  // the authenticated principal
  // The aggregate's current state and the command's business time -> its events.
  std::function<absl::StatusOr<domain::Events>(const State&, absl::Time)> decide;
  // Optional: a record for the dead-letter topic when the rules reject the command,
  // appended in the same transaction as the rest of the group.
  std::function<std::optional<eventlog::Record>(const absl::Status&)> dead_letter;
  // Optional: RequestFingerprint of the request. A retry (same client_request_id) whose
  // fingerprint differs from the original's is refused instead of answered with its result.
  std::string fingerprint;
};

struct Outcome {
  absl::StatusOr<v1::CommandResult> result = absl::UnknownError("not decided");
  bool dead_lettered = false;
};

// How an aggregate type evolves, and (optionally) how it evolves so that the event can be
// taken back (domain::EvolveUndoable): without that, a group copies an aggregate's state
// before changing it, which costs as much as the state is large.
template <typename State>
struct PipelineOptions {
  using Undo = std::function<void(State&)>;
  std::string topic;
  std::string aggregate_type;
  void (*evolve)(State&, const v1::EventEnvelope&) = nullptr;
  Undo (*evolve_undoable)(State&, const v1::EventEnvelope&) = nullptr;
  // How far a command's occurred_at may lie ahead of the writer's clock.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // Signs every event written (null: unsigned). Owned by the service.
  const eventlog::Signer* signer = nullptr;
  // With a keyring, replay accepts only events signed by one of its keys (null: the hash
  // alone is checked). Owned by the service.
  const eventlog::Keyring* keyring = nullptr;
  // How long results are remembered for retries (DedupWindow).
  DedupWindow dedup;
  // Personal data (personal/seal.h), both null without. `seal` seals the personal fields
  // of an envelope about to be written, given its aggregate's state before the command;
  // `reveal` opens them in an envelope read back from the log before it is folded.
  std::function<absl::Status(const State&, v1::EventEnvelope&)> seal;
  std::function<void(v1::EventEnvelope&)> reveal;
};

// Whether a failed command was refused for what it is (a field, a rule, a version) rather
// than failing for a transient reason (and so is to be retried).
inline bool IsRejection(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

// The aggregates of one partition as of `next_offset`.
template <typename State>
struct Partition {
  struct Aggregate {
    State state;
    Chain chain;
    uint64_t checkpointed = 0;  // the version the writer's last checkpoint stated
  };
  std::unordered_map<std::string, Aggregate> aggregates;
  int64_t next_offset = 0;  // after the last record loaded or appended

  // Folds one committed record into the aggregates (rebuilding from the log). A record that
  // is not an authentic event of the aggregate its key names - it does not decode, its hash
  // or signature fails, or it declares another aggregate - is quarantined: kept out of the
  // state, counted and reported, and the aggregate stays usable (the read model does the
  // same). An authentic record that does not continue the chain marks the aggregate broken.
  void Replay(const eventlog::ConsumedRecord& r, const PipelineOptions<State>& options) {
    next_offset = r.offset + 1;
    v1::LogPosition pos;
    pos.set_topic(r.topic);
    pos.set_partition(r.partition);
    pos.set_offset(r.offset);
    auto opened = eventlog::Open(r.value, options.keyring);
    const std::string problem =
        eventlog::AuthenticityProblem(opened, r.key, options.aggregate_type);
    if (!problem.empty()) {
      quarantined.push_back(base::StrCat(r.topic, "/", r.partition, "@", r.offset, ": ", problem));
      return;
    }
    Aggregate& a = aggregates[r.key];
    v1::EventEnvelope& env = opened->envelope;
    if (writer::Replay(a.chain, env, true, pos, options.dedup).ok()) {
      if (options.reveal) options.reveal(env);
      options.evolve(a.state, env);
    }
  }

  // Records replay kept out, each with its position and reason.
  std::vector<std::string> quarantined;
};

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

template <typename State>
class Group {
 public:
  // `recorded_at`: the system time stamped on every event of the group.
  Group(Partition<State>& partition, const PipelineOptions<State>& options, absl::Time recorded_at)
      : part_(partition), options_(options), recorded_at_(recorded_at) {}
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Decides `command` against its aggregate's state including the commands added before.
  void Add(Command<State> command) {
    Entry entry;
    entry.command = std::move(command);
    Decide(entry);
    entries_.push_back(std::move(entry));
  }

  // What the group's transaction appends: the events of the accepted commands (to the
  // partition) and dead letters (to their own topic), in command order.
  const std::vector<eventlog::Record>& records() const { return records_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return entries_.size(); }

  // The transaction committed: `positions` are those of records(), in order.
  std::vector<Outcome> Commit(const std::vector<v1::LogPosition>& positions) {
    std::vector<Outcome> out(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = entries_[i];
      out[i].dead_lettered = e.dead_letter_record >= 0;
      if (e.same_as >= 0) continue;  // filled below, from the first of its request id
      if (e.replayed) {
        out[i].result = *e.replayed;
        continue;
      }
      if (!e.status.ok()) {
        out[i].result = e.status;
        continue;
      }
      v1::CommandResult result;
      result.set_aggregate_id(e.command.aggregate_id);
      result.set_aggregate_version(e.version_after);
      result.set_dry_run(e.dry_run);
      for (const auto& id : e.event_ids) result.add_event_ids(id);
      if (e.last_record >= 0 && static_cast<std::size_t>(e.last_record) < positions.size()) {
        *result.mutable_position() = positions[static_cast<std::size_t>(e.last_record)];
      }
      if (!e.event_ids.empty()) {
        part_.aggregates[e.command.aggregate_id].chain.Remember(
            e.command.metadata.client_request_id(), result, e.command.fingerprint, recorded_at_,
            options_.dedup);
      }
      out[i].result = std::move(result);
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].same_as < 0) continue;
      out[i].result = out[static_cast<std::size_t>(entries_[i].same_as)].result;
      if (out[i].result.ok()) out[i].result->set_deduplicated(true);
    }
    for (std::size_t i = 0; i < records_.size() && i < positions.size(); ++i) {
      if (records_[i].topic.empty()) part_.next_offset = positions[i].offset() + 1;
    }
    touched_.clear();
    touched_index_.clear();
    return out;
  }

  // The transaction did not commit (or its outcome is unknown): every touched aggregate is
  // restored, every command that depended on the group is answered with `why`.
  std::vector<Outcome> Abort(const absl::Status& why) {
    for (auto it = touched_.rbegin(); it != touched_.rend(); ++it) Restore(*it);
    touched_.clear();
    touched_index_.clear();
    std::vector<Outcome> out(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      // What did not depend on this transaction stands (a malformed command, a retry of a
      // committed one, a rejection on an aggregate the group had not changed); everything
      // else waited on it.
      const Entry& e = entries_[i];
      if (e.replayed) {
        out[i].result = *e.replayed;
      } else if (e.independent && !e.status.ok()) {
        out[i].result = e.status;
      } else {
        out[i].result = why;
      }
    }
    return out;
  }

 private:
  struct Entry {
    Command<State> command;
    absl::Status status;  // the rejection, if any
    // Its outcome does not depend on the group's earlier commands committing.
    bool independent = false;
    int same_as = -1;  // a retry (same request id) of an earlier entry of the group
    std::optional<v1::CommandResult> replayed;  // a retry of a committed command
    std::vector<std::string> event_ids;
    uint64_t version_after = 0;
    int last_record = -1;  // index into records_ of its last event
    int dead_letter_record = -1;
    bool dry_run = false;  // decided only (metadata.dry_run): nothing sealed or evolved
  };
  // What an aggregate was before the group touched it.
  struct Saved {
    std::string aggregate_id;
    bool existed = false;
    uint64_t version = 0;
    std::string last_hash;
    std::optional<State> state;                               // without evolve_undoable
    std::vector<typename PipelineOptions<State>::Undo> undo;  // with it, oldest first
  };

  // Decides `e`; a rejected command that carries a dead letter (an inbound record) writes it
  // in the group's transaction, whichever check refused it, so nothing inbound is dropped.
  void Decide(Entry& e) {
    DecideOnly(e);
    const auto& cmd = e.command;
    if (e.status.ok() || !cmd.dead_letter || !IsRejection(e.status) || cmd.metadata.dry_run()) {
      return;
    }
    if (auto record = cmd.dead_letter(e.status)) {
      e.independent = false;  // its dead letter rides on the transaction
      e.dead_letter_record = static_cast<int>(records_.size());
      bytes_ += record->value.size() + record->key.size();
      records_.push_back(*std::move(record));
    }
  }

  // Two fingerprints of one request id name the same command, or one of them is unknown
  // (a command written before fingerprints, or a caller that gives none).
  static bool SameCommand(const std::string& a, const std::string& b) {
    return a.empty() || b.empty() || a == b;
  }

  absl::Status ReusedRequestId(const Command<State>& cmd, uint64_t version) const {
    return absl::AlreadyExistsError(base::StrCat(
        "metadata.client_request_id: '", cmd.metadata.client_request_id(),
        "' was already used for a different command, or by another caller, on ",
        options_.aggregate_type, " '", cmd.aggregate_id, "'",
        version > 0 ? base::StrCat(" (it wrote version ", version, ")") : std::string(),
        "; a retry repeats the command exactly as the same caller, a new command needs a new "
        "request id"));
  }

  void DecideOnly(Entry& e) {
    const auto& cmd = e.command;
    const auto& meta = cmd.metadata;
    auto stateless = [&](absl::Status s) {
      e.status = std::move(s);
      e.independent = true;
    };
    if (auto s = base::ValidateRequestId("metadata.client_request_id", meta.client_request_id());
        !s.ok()) {
      return stateless(s);
    }
    if (meta.correlation_id().size() > base::kMaxRequestIdLength) {
      return stateless(base::InvalidField(
          "metadata.correlation_id",
          base::StrCat("must be at most ", base::kMaxRequestIdLength, " characters")));
    }
    absl::Time occurred_at = recorded_at_;
    if (meta.has_occurred_at()) {
      const auto& ts = meta.occurred_at();
      if (ts.seconds() < 0 || ts.seconds() > 253402300799 || ts.nanos() < 0 ||
          ts.nanos() > 999999999) {
        return stateless(base::InvalidField("metadata.occurred_at", "is not a valid timestamp"));
      }
      occurred_at = domain::TimeOf(ts);
      if (occurred_at > recorded_at_ + options_.max_clock_skew) {
        return stateless(base::InvalidField("metadata.occurred_at", "is in the future"));
      }
    }
    static const typename Partition<State>::Aggregate kEmpty{};
    auto it = part_.aggregates.find(cmd.aggregate_id);
    const auto& current = it == part_.aggregates.end() ? kEmpty : it->second;
    e.independent = !touched_index_.contains(cmd.aggregate_id);
    if (!current.chain.broken.empty()) {
      e.status = base::RuleViolated(absl::StatusCode::kFailedPrecondition,
                                    domain::rules::kHistoryIntact, current.chain.broken);
      return;
    }
    // A retry: of a committed command, replayed now; of one earlier in this group, answered
    // with its result once the group commits.
    if (auto done = current.chain.results.find(meta.client_request_id());
        done != current.chain.results.end()) {
      auto original = current.chain.fingerprints.find(meta.client_request_id());
      if (original != current.chain.fingerprints.end() &&
          !SameCommand(cmd.fingerprint, original->second)) {
        e.status = ReusedRequestId(cmd, done->second.aggregate_version());
        return;
      }
      e.replayed = done->second;
      e.replayed->set_deduplicated(true);
      return;
    }
    if (auto pending = pending_.find({cmd.aggregate_id, meta.client_request_id()});
        pending != pending_.end()) {
      if (!SameCommand(cmd.fingerprint,
                       entries_[static_cast<std::size_t>(pending->second)].command.fingerprint)) {
        e.status = ReusedRequestId(cmd, 0);
        return;
      }
      e.same_as = pending->second;
      return;
    }
    if (meta.has_expected_version() && meta.expected_version() != current.chain.version) {
      e.status = absl::AbortedError(base::StrCat(
          "metadata.expected_version: ", options_.aggregate_type, " '", cmd.aggregate_id,
          "' is at version ", current.chain.version, ", not ", meta.expected_version()));
      return;
    }
    absl::StatusOr<domain::Events> events = cmd.decide(current.state, occurred_at);
    if (!events.ok()) {
      e.status = events.status();
      return;
    }
    e.version_after = current.chain.version;
    if (meta.dry_run()) {
      // Decided, not written: the answer says where the aggregate would be.
      e.dry_run = true;
      e.version_after += events->size();
      return;
    }
    if (events->empty()) return;  // nothing to record: the aggregate stays as it is

    CommandInfo info{options_.aggregate_type, cmd.aggregate_id, cmd.actor, meta, recorded_at_,
                     cmd.fingerprint};
    SealFn seal;
    if (options_.seal) {
      seal = [this, &current](v1::EventEnvelope& env) { return options_.seal(current.state, env); };
    }
    auto sealed_or = SealCommand(current.chain, info, *events, options_.signer, seal);
    if (!sealed_or.ok()) {
      e.status = sealed_or.status();
      return;
    }
    SealedCommand& sealed = *sealed_or;
    e.independent = false;
    auto [target, saved] = Touch(cmd.aggregate_id);
    for (std::size_t i = 0; i < sealed.envelopes.size(); ++i) {
      const v1::EventEnvelope& env = sealed.envelopes[i];
      if (options_.evolve_undoable != nullptr) {
        saved.undo.push_back(options_.evolve_undoable(target.state, env));
      } else {
        options_.evolve(target.state, env);
      }
      e.event_ids.push_back(env.event_id());
      bytes_ += sealed.bytes[i].size() + cmd.aggregate_id.size();
      records_.push_back(eventlog::Record{cmd.aggregate_id, std::move(sealed.bytes[i])});
    }
    // The tip moves now, so the next command of the group continues the chain; the
    // remembered results move only at Commit.
    target.chain.version = sealed.envelopes.back().aggregate_version();
    target.chain.last_hash = sealed.envelopes.back().hash();
    e.version_after = target.chain.version;
    e.last_record = static_cast<int>(records_.size()) - 1;
    pending_[{cmd.aggregate_id, meta.client_request_id()}] = static_cast<int>(entries_.size());
  }

  // The aggregate, and what it was before this group first touched it.
  std::pair<typename Partition<State>::Aggregate&, Saved&> Touch(const std::string& id) {
    auto [index, first] = touched_index_.try_emplace(id, touched_.size());
    if (first) {
      Saved saved;
      saved.aggregate_id = id;
      auto it = part_.aggregates.find(id);
      saved.existed = it != part_.aggregates.end();
      if (saved.existed) {
        saved.version = it->second.chain.version;
        saved.last_hash = it->second.chain.last_hash;
        if (options_.evolve_undoable == nullptr) saved.state = it->second.state;
      }
      touched_.push_back(std::move(saved));
    }
    return {part_.aggregates[id], touched_[index->second]};
  }

  void Restore(const Saved& saved) {
    if (!saved.existed) {
      part_.aggregates.erase(saved.aggregate_id);
      return;
    }
    auto& a = part_.aggregates[saved.aggregate_id];
    a.chain.version = saved.version;
    a.chain.last_hash = saved.last_hash;
    if (saved.state) {
      a.state = *saved.state;
    } else {
      for (auto undo = saved.undo.rbegin(); undo != saved.undo.rend(); ++undo) (*undo)(a.state);
    }
  }

  Partition<State>& part_;
  const PipelineOptions<State>& options_;
  const absl::Time recorded_at_;
  std::vector<Entry> entries_;
  std::vector<eventlog::Record> records_;
  std::size_t bytes_ = 0;
  std::vector<Saved> touched_;
  absl::flat_hash_map<std::string, std::size_t> touched_index_;            // aggregate -> touched_
  absl::flat_hash_map<std::pair<std::string, std::string>, int> pending_;  // (aggregate, request)
};

}  // namespace kam::writer
