// The single writer of one aggregate type, shared by every command service.
//
//   kam::writer::AggregateWriter<kam::domain::ProgrammeState> writer(
//       kam::writer::KafkaEventLog(kafka, timeout),
//       {.topic = "kam.programme.v1", .aggregate_type = "programme",
//        .transactional_id = "kam.programme-writer", .owned_partitions = {0, 1}},
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
// or fenced away, is UNAVAILABLE with the reason "partition_not_owned" and, when known,
// the owner's endpoint (base::OwnerOf; ErrorDetail.owner over gRPC).
//
// Which partitions: a static list (options.owned_partitions, default all), or, after
// JoinGroup(), the assignment of a Kafka consumer group shared by every live instance of
// the writer (eventlog/ownership.h): partitions are acquired (fence, replay, start) and
// released (finish the transaction in flight, answer the queue "not owned") as instances
// come and go.
//
// Group commit: each owned partition has a writer thread (partition_writer.h). Commands
// for one partition that arrive while its transaction is in flight are decided in order
// against the evolving state and appended together in the next transaction; each is
// answered after that commit with its own result and position, or UNAVAILABLE if the
// transaction failed (then nothing of the group is visible, and a retry with the same
// request id executes once).
//
// Checkpoints (optional, with options.checkpoint_topic): each owned partition periodically
// and at Stop() appends a signed checkpoint of its chain tips (partition_writer.h).
//
// Snapshots (optional, with a SnapshotCodec and options.snapshot_dir): every
// snapshot_every_events appended events, and on SnapshotAll(), a partition's aggregates
// are written to "<snapshot_dir>/<topic>.p<N>.snapshot". Start() then replays only the log
// after the snapshot; one that does not decode or continue the log is discarded.
//
// Guarantees: a retried client_request_id returns the original result and writes nothing;
// an expected_version mismatch is ABORTED naming the current version; a command's events
// are one Kafka transaction; in-memory state changes only after the append is
// acknowledged, and after an append whose outcome is unknown the partition reads the log
// from its last known offset. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/strings.h"
#include "eventlog/kafka.h"
#include "eventlog/ownership.h"
#include "eventlog/signing.h"
#include "writer/clock.h"
#include "writer/event_log.h"
#include "writer/partition_writer.h"
#include "writer/pipeline.h"
#include "writer/snapshots.h"

namespace kam::writer {

struct WriterOptions {
  std::string topic;
  std::string aggregate_type;
  int partitions = 3;  // when the topic must be created
  // Base of the per-partition transactional ids.
  std::string transactional_id;
  // The partitions this instance owns; empty: all of them (unless owned_by_group).
  std::vector<int32_t> owned_partitions;
  // Start() owns no partition: they come from JoinGroup()'s assignment (or Acquire()).
  bool owned_by_group = false;
  // Where snapshots live; empty: no snapshots.
  std::string snapshot_dir;
  uint64_t snapshot_every_events = 100000;
  GroupOptions group;
  // Signs every event (null: unsigned); with a keyring, replay quarantines any record not
  // signed by one of its keys. A keyring needs a signer whose key it holds.
  std::shared_ptr<const eventlog::Signer> signer;
  std::shared_ptr<const eventlog::Keyring> keyring;
  // Where each owned partition's signed checkpoints of its chain tips go (created with one
  // partition if missing; empty: none), and how often (0: only when the writer stops).
  std::string checkpoint_topic;
  std::chrono::milliseconds checkpoint_interval{60000};
  // How long results are remembered for retries with their request id.
  DedupWindow dedup;
};

template <typename State>
class AggregateWriter {
 public:
  using EvolveFn = void (*)(State&, const v1::EventEnvelope&);
  using UndoableFn = std::function<void(State&)> (*)(State&, const v1::EventEnvelope&);
  using Decision = std::function<absl::StatusOr<domain::Events>(const State&, absl::Time)>;

  // `undoable` (optional) evolves so that the event can be taken back again; without it, a
  // group copies an aggregate's state before changing it (fine for small states only).
  AggregateWriter(std::unique_ptr<EventLog> log, WriterOptions options, EvolveFn evolve,
                  SnapshotCodec<State> codec = {}, UndoableFn undoable = nullptr,
                  const Clock& clock = SystemClock())
      : log_(std::move(log)), options_(std::move(options)), clock_(clock) {
    pipeline_.topic = options_.topic;
    pipeline_.aggregate_type = options_.aggregate_type;
    pipeline_.evolve = evolve;
    pipeline_.evolve_undoable = undoable;
    pipeline_.signer = options_.signer.get();
    pipeline_.keyring = options_.keyring.get();
    pipeline_.dedup = options_.dedup;
    // Which partitions this instance owns now, for the operator: 1 per owned partition.
    owned_gauge_ = base::Metrics().GaugeCallback(
        "kam_writer_owned_partition",
        "1 for each partition of its topic this writer instance owns now (writer groups move "
        "them between instances)",
        {"aggregate_type", "topic", "partition"}, [this](base::GaugeSamples& out) {
          for (int32_t p : owned_partitions()) {
            out.push_back({{options_.aggregate_type, options_.topic, std::to_string(p)}, 1});
          }
        });
    if (codec.encode != nullptr && codec.decode != nullptr && !options_.snapshot_dir.empty()) {
      snapshots_ = std::make_unique<SnapshotStore<State>>(
          SnapshotOptions{options_.snapshot_dir, options_.topic, options_.aggregate_type,
                          options_.snapshot_every_events, options_.dedup},
          codec);
    }
  }
  // Seals the personal fields of every event written and opens them in every event
  // replayed (PipelineOptions::seal and reveal). Call before Start().
  void UsePersonalData(std::function<absl::Status(const State&, v1::EventEnvelope&)> seal,
                       std::function<void(v1::EventEnvelope&)> reveal) {
    pipeline_.seal = std::move(seal);
    pipeline_.reveal = std::move(reveal);
  }

  ~AggregateWriter() { Stop(); }
  AggregateWriter(const AggregateWriter&) = delete;
  AggregateWriter& operator=(const AggregateWriter&) = delete;

  // Creates the topic if needed, takes over the owned partitions' transactional ids
  // (fencing any zombie and aborting its open transactions), rebuilds every aggregate of
  // those partitions from the log, and starts their writer threads. With owned_by_group it
  // owns nothing yet: JoinGroup() next.
  absl::Status Start() {
    if (options_.keyring != nullptr &&
        (options_.signer == nullptr || !options_.keyring->Has(options_.signer->key_id()))) {
      return absl::FailedPreconditionError(
          base::StrCat("the keyring does not hold this writer's signing key",
                       options_.signer ? base::StrCat(" (", options_.signer->key_id(), ")") : "",
                       ": its own events would not verify; add its public key to the keyring "
                       "(openssl pkey -in KEY.pem -pubout >> KEYRING.pem)"));
    }
    if (options_.owned_by_group && !options_.owned_partitions.empty()) {
      return base::InvalidField("owned_partitions",
                                "a writer whose partitions are assigned by its group owns no "
                                "static list; give one or the other");
    }
    KAM_RETURN_IF_ERROR(log_->EnsureTopic(options_.topic, options_.partitions));
    if (!options_.checkpoint_topic.empty()) {
      KAM_RETURN_IF_ERROR(log_->EnsureTopic(options_.checkpoint_topic, 1));
    }
    auto count = log_->PartitionCount(options_.topic);
    if (!count.ok()) return count.status();
    partition_count_ = *count;
    if (options_.owned_by_group) return absl::OkStatus();
    std::vector<int32_t> owned = options_.owned_partitions;
    if (owned.empty()) {
      for (int32_t p = 0; p < partition_count_; ++p) owned.push_back(p);
    }
    std::map<int32_t, std::shared_ptr<PartitionWriter<State>>> parts;
    for (int32_t p : owned) {
      if (p < 0 || p >= partition_count_) {
        return base::InvalidField(
            "owned_partitions", base::StrCat("partition ", p, " does not exist in ", options_.topic,
                                             " (", partition_count_, " partitions)"));
      }
      parts.emplace(p, MakePartition(p));
    }
    for (auto& [p, part] : parts) KAM_RETURN_IF_ERROR(part->Load());
    for (auto& [p, part] : parts) part->Start();
    std::unique_lock<std::shared_mutex> lock(parts_mu_);
    partitions_ = std::move(parts);
    ++ownership_epoch_;
    return absl::OkStatus();
  }

  // Joins the Kafka consumer group `options.group_id` of every live instance of this writer
  // (after Start(), with owned_by_group): the group's assignment decides which partitions
  // this instance owns from then on (eventlog/ownership.h). Returns after the first
  // assignment has been taken over. `options.topic` is the writer's.
  absl::Status JoinGroup(const eventlog::KafkaOptions& kafka, eventlog::OwnershipOptions options) {
    if (!options_.owned_by_group) {
      return absl::FailedPreconditionError(
          "JoinGroup: the writer owns a static list of partitions (owned_by_group is false)");
    }
    options.topic = options_.topic;
    auto group =
        eventlog::GroupOwnership::Join(kafka, std::move(options),
                                       {.acquire = [this](int32_t p) { return Acquire(p); },
                                        .release = [this](int32_t p) { Release(p); }});
    if (!group.ok()) return group.status();
    std::unique_lock<std::shared_mutex> lock(parts_mu_);
    group_ = std::move(*group);
    return absl::OkStatus();
  }

  // Takes partition `partition` over: fences its earlier holder, rebuilds its aggregates
  // and starts its writer. OK if it is owned already (and not fenced away meanwhile).
  absl::Status Acquire(int32_t partition) {
    if (partition < 0 || partition >= partition_count_) {
      return base::InvalidField("partition", base::StrCat("partition ", partition,
                                                          " does not exist in ", options_.topic));
    }
    if (auto held = Part(partition)) {
      if (!held->fenced()) return absl::OkStatus();
      // Its transactional id was taken while this instance owns the partition: by an
      // instance that lost it (a zombie), or by a late InitProducerId of this one after a
      // network cut. The owner takes it back.
      base::Log(base::LogLevel::kWarning,
                base::StrCat("the writer of ", options_.topic, "/", partition,
                             " was fenced while this instance owns it: taking it back"),
                {{"topic", options_.topic}, {"partition", partition}});
      Release(partition);
    }
    auto part = MakePartition(partition);
    const auto started = std::chrono::steady_clock::now();
    KAM_RETURN_IF_ERROR(part->Load());
    part->Start();
    base::Log(base::LogLevel::kInfo,
              base::StrCat(options_.aggregate_type, " writer took ", options_.topic, "/", partition,
                           " over: ", part->load_stats().records_replayed, " records replayed in ",
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count(),
                           " ms"),
              {{"topic", options_.topic}, {"partition", partition}});
    std::unique_lock<std::shared_mutex> lock(parts_mu_);
    partitions_.emplace(partition, std::move(part));
    ++ownership_epoch_;
    return absl::OkStatus();
  }

  // Gives partition `partition` up: its transaction in flight finishes, what is queued is
  // answered "not owned" (the client retries at the new owner with the same request id),
  // and the latest checkpoint and snapshot are written. A no-op if it is not owned.
  void Release(int32_t partition) {
    std::shared_ptr<PartitionWriter<State>> part;
    {
      std::unique_lock<std::shared_mutex> lock(parts_mu_);
      auto it = partitions_.find(partition);
      if (it == partitions_.end()) return;
      part = std::move(it->second);
      partitions_.erase(it);
      ++ownership_epoch_;
    }
    part->Stop(base::WithReason(
        absl::UnavailableError(base::StrCat("partition ", partition, " of ", options_.topic,
                                            " moved to another instance; send the command "
                                            "there with the same request id")),
        base::kReasonRebalancing));
    if (auto s = part->WriteSnapshot(); !s.ok()) {
      base::Log(base::LogLevel::kWarning,
                base::StrCat("snapshot of ", options_.topic, "/", partition,
                             " at release failed: ", s.message()));
    }
  }

  // Leaves the group (if any), then stops the writer threads (queued commands are answered
  // UNAVAILABLE). Idempotent.
  void Stop() {
    std::shared_ptr<eventlog::GroupOwnership> group;
    {
      std::unique_lock<std::shared_mutex> lock(parts_mu_);
      group = std::move(group_);
    }
    if (group) group->Leave();  // releases every partition it assigned
    for (auto& part : Parts()) part->Stop();
  }

  // Writes a snapshot of every owned partition (e.g. at shutdown). A no-op without
  // snapshots configured.
  absl::Status SnapshotAll() {
    for (auto& part : Parts()) KAM_RETURN_IF_ERROR(part->WriteSnapshot());
    return absl::OkStatus();
  }

  // Appends a checkpoint of every owned partition that moved since its last one.
  absl::Status CheckpointAll() {
    for (auto& part : Parts()) KAM_RETURN_IF_ERROR(part->WriteCheckpoint());
    return absl::OkStatus();
  }

  // The records the owned partitions' replay kept out as not authentic events
  // ("<topic>/<partition>@<offset>: <problem>"), as the read model's verification lists them.
  std::vector<std::string> quarantined() const {
    std::vector<std::string> out;
    for (const auto& part : Parts()) {
      for (const std::string& q :
           part->Read([](const Partition<State>& s) { return s.quarantined; })) {
        out.push_back(q);
      }
    }
    return out;
  }

  using LoadStats = typename PartitionWriter<State>::LoadStats;
  std::map<int32_t, LoadStats> load_stats() const {
    std::map<int32_t, LoadStats> out;
    for (const auto& part : Parts()) out[part->partition()] = part->load_stats();
    return out;
  }

  // `decide(state, now)` gets the aggregate's current state and the command's business
  // time (metadata.occurred_at, or the time of recording) and returns its events.
  // `fingerprint` (optional): RequestFingerprint of the request, so that a reused request id
  // with another command is refused.
  absl::StatusOr<v1::CommandResult> Execute(const std::string& aggregate_id,
                                            const v1::CommandMetadata& metadata,
                                            const std::string& actor, Decision decide,
                                            std::string fingerprint = {}) {
    return Submit(Command<State>{
                      aggregate_id, metadata, actor, std::move(decide), {}, std::move(fingerprint)})
        .get()
        .result;
  }

  // Queues a command on its partition's writer; the future is ready after its group's
  // transaction. UNAVAILABLE (reason partition_not_owned) for a partition not owned here.
  std::future<Outcome> Submit(Command<State> command) {
    auto part = Part(PartitionOf(command.aggregate_id));
    if (part == nullptr) return Ready(NotOwned(command.aggregate_id));
    return part->Submit(std::move(command));
  }

  // Every command at once, each on its partition (they may share transactions with other
  // callers' commands); the outcomes in order.
  std::vector<Outcome> ExecuteAll(std::vector<Command<State>> commands) {
    std::vector<std::future<Outcome>> futures;
    futures.reserve(commands.size());
    for (auto& c : commands) futures.push_back(Submit(std::move(c)));
    std::vector<Outcome> out;
    out.reserve(futures.size());
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  // The commands of one partition as one transaction of their own, committing `offsets`
  // (may be absent) in it: for consumers that must not lose or repeat an input record.
  // The future is ready after the transaction.
  std::future<std::vector<Outcome>> SubmitTransaction(
      int32_t partition, std::vector<Command<State>> commands,
      std::optional<eventlog::TransactionOffsets> offsets) {
    auto part = Part(partition);
    if (part == nullptr) {
      std::vector<Outcome> out(commands.size());
      const absl::Status why = NotOwnedPartition(partition);
      for (auto& o : out) o.result = why;
      std::promise<std::vector<Outcome>> ready;
      ready.set_value(std::move(out));
      return ready.get_future();
    }
    return part->SubmitTransaction(std::move(commands), std::move(offsets));
  }

  // A copy of the aggregate's state and its version (0: no events yet, or not owned here).
  std::pair<State, uint64_t> Snapshot(const std::string& aggregate_id) const {
    auto part = Part(PartitionOf(aggregate_id));
    if (part == nullptr) return {State{}, 0};
    return part->Read([&](const Partition<State>& p) -> std::pair<State, uint64_t> {
      auto it = p.aggregates.find(aggregate_id);
      if (it == p.aggregates.end()) return {State{}, 0};
      return {it->second.state, it->second.chain.version};
    });
  }

  int32_t PartitionOf(std::string_view aggregate_id) const {
    return eventlog::PartitionFor(aggregate_id, partition_count_);
  }
  int partition_count() const { return partition_count_; }
  std::vector<int32_t> owned_partitions() const {
    std::shared_lock<std::shared_mutex> lock(parts_mu_);
    std::vector<int32_t> out;
    for (const auto& [p, part] : partitions_) out.push_back(p);
    return out;
  }
  // Changes whenever a partition is acquired or released (for consumers that follow the
  // owned partitions, such as the inbound ingesters).
  uint64_t ownership_epoch() const { return ownership_epoch_.load(); }
  const std::string& topic() const { return options_.topic; }

  // Groups and commands processed, over all owned partitions.
  typename PartitionWriter<State>::Counters counters() const {
    typename PartitionWriter<State>::Counters total;
    for (const auto& part : Parts()) {
      auto c = part->counters();
      total.groups += c.groups;
      total.commands += c.commands;
      total.aborted_groups += c.aborted_groups;
      total.checkpoints += c.checkpoints;
    }
    return total;
  }

 private:
  static std::future<Outcome> Ready(absl::Status status) {
    std::promise<Outcome> p;
    Outcome o;
    o.result = std::move(status);
    p.set_value(std::move(o));
    return p.get_future();
  }

  std::shared_ptr<PartitionWriter<State>> MakePartition(int32_t p) {
    const std::string transactional_id = base::StrCat(options_.transactional_id, ".p", p);
    return std::make_shared<PartitionWriter<State>>(
        p, log_->OpenPartition(options_.topic, p, transactional_id), pipeline_, options_.group,
        clock_, snapshots_.get(),
        CheckpointOptions{options_.checkpoint_topic, options_.checkpoint_interval,
                          transactional_id});
  }

  std::shared_ptr<PartitionWriter<State>> Part(int32_t partition) const {
    std::shared_lock<std::shared_mutex> lock(parts_mu_);
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<PartitionWriter<State>>> Parts() const {
    std::shared_lock<std::shared_mutex> lock(parts_mu_);
    std::vector<std::shared_ptr<PartitionWriter<State>>> out;
    for (const auto& [p, part] : partitions_) out.push_back(part);
    return out;
  }

  // Names the owner when the group knows it.
  absl::Status WithOwnerOf(absl::Status status, int32_t partition) const {
    std::shared_ptr<eventlog::GroupOwnership> group;
    {
      std::shared_lock<std::shared_mutex> lock(parts_mu_);
      group = group_;
    }
    status = base::WithReason(std::move(status), base::kReasonNotOwner);
    if (group == nullptr) return status;
    std::optional<std::string> owner = group->OwnerOf(partition);
    if (!owner || *owner == group->options().endpoint) {
      return base::WithReason(absl::UnavailableError(base::StrCat(
                                  status.message(),
                                  "; no instance owns it at this moment (the writers are "
                                  "rebalancing): retry shortly with the same request id")),
                              base::kReasonRebalancing);
    }
    absl::Status named = base::WithReason(
        absl::UnavailableError(base::StrCat(status.message(), "; its owner is ", *owner,
                                            ": send the command there with the same request id")),
        base::kReasonNotOwner);
    return base::WithOwner(std::move(named), *owner);
  }

  absl::Status NotOwned(const std::string& aggregate_id) const {
    const int32_t p = PartitionOf(aggregate_id);
    return WithOwnerOf(absl::UnavailableError(base::StrCat(
                           options_.aggregate_type, " '", aggregate_id, "' lives in partition ", p,
                           " of ", options_.topic, ", which this instance does not own")),
                       p);
  }

  absl::Status NotOwnedPartition(int32_t partition) const {
    return WithOwnerOf(
        absl::UnavailableError(base::StrCat("partition ", partition, " of ", options_.topic,
                                            " is not owned by this instance")),
        partition);
  }

  std::unique_ptr<EventLog> log_;
  const WriterOptions options_;
  const Clock& clock_;
  PipelineOptions<State> pipeline_;
  std::unique_ptr<SnapshotStore<State>> snapshots_;
  int partition_count_ = 0;
  mutable std::shared_mutex parts_mu_;  // guards partitions_ and group_
  std::map<int32_t, std::shared_ptr<PartitionWriter<State>>> partitions_;
  std::shared_ptr<eventlog::GroupOwnership> group_;
  std::atomic<uint64_t> ownership_epoch_{0};
  base::CallbackRegistration owned_gauge_;  // last: unregistered before the rest goes
};

}  // namespace kam::writer
