// Which live instance of a writer owns which partition, decided by a Kafka consumer group,
// so that partitions move to the survivors when an instance dies, without a human.
//
//   auto owners = kam::eventlog::GroupOwnership::Join(kafka,
//       {.group_id = "kam.programme-writer.owners", .topic = "kam.programme.v1",
//        .endpoint = "10.0.0.7:50051"},
//       {.acquire = [&](int32_t p) { return writer.Acquire(p); },
//        .release = [&](int32_t p) { writer.Release(p); }});
//   KAM_RETURN_IF_ERROR(owners.status());
//   (*owners)->OwnerOf(2);   // "10.0.0.8:50051": the instance that owns partition 2 now
//
// Every instance of a command service joins one consumer group subscribed to its
// aggregate topic, with the cooperative-sticky assignor: the group's assignment IS the
// ownership. The member never reads a record (each partition is paused as it is assigned);
// it only takes part in the group's protocol:
// - a partition assigned to this member is acquired (`acquire`: the writer opens the
//   partition's transactional id, which fences any earlier holder and aborts its open
//   transaction, then replays the partition) before the member polls again; the partitions
//   of one assignment are acquired in parallel;
// - a partition revoked (another instance joined) or lost (this member's session expired)
//   is released (`release`: the writer stops taking commands for it, finishes its
//   transaction in flight and answers the rest "not owned");
// - an instance that dies stops heartbeating; after `session_timeout` the coordinator
//   gives its partitions to the others. transactional.id fencing keeps a single writer
//   even if the dead one was only slow: its next commit is refused.
// A partition whose acquisition fails (the cluster is unreachable) is tried again every
// `retry_interval` while it stays assigned; so is an owned one, whose `acquire` takes it
// back if its writer was fenced meanwhile (by a zombie, or by a late InitProducerId of this
// instance after a network cut: the group, not the last InitProducerId, decides).
//
// The member's client.id is its endpoint, so that OwnerOf() can name the owner of a
// partition from the group's description (cached for a second). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/kafka.h"

namespace RdKafka {
class KafkaConsumer;
}  // namespace RdKafka

namespace kam::eventlog {

struct OwnershipOptions {
  std::string group_id;  // one group per writer (shared by its instances)
  std::string topic;     // the partitions to divide: the writer's aggregate topic
  std::string endpoint;  // where clients reach this instance (host:port), named as owner
  // How long the coordinator waits for a silent member before moving its partitions (the
  // broker's group.min.session.timeout.ms, 6 s by default, is the floor).
  std::chrono::milliseconds session_timeout{6000};
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds retry_interval{1000};
  // How long Join() waits for the group's first assignment to this member.
  std::chrono::milliseconds join_timeout{30000};
};

struct OwnershipCallbacks {
  // Called when `partition` is assigned to this instance (for the partitions of one
  // assignment at once, on threads of their own); not OK: called again after
  // retry_interval while the partition stays assigned.
  std::function<absl::Status(int32_t partition)> acquire;
  // Called on the member's thread when an acquired partition is revoked or lost.
  std::function<void(int32_t partition)> release;
};

class GroupOwnership {
 public:
  // Joins the group and waits (up to join_timeout) for its first assignment to this member
  // and that assignment's acquisitions. UNAVAILABLE if the group does not answer in time;
  // INVALID_ARGUMENT naming the option that is missing.
  static absl::StatusOr<std::unique_ptr<GroupOwnership>> Join(const KafkaOptions& kafka,
                                                              OwnershipOptions options,
                                                              OwnershipCallbacks callbacks);
  ~GroupOwnership();  // Leave()
  GroupOwnership(const GroupOwnership&) = delete;
  GroupOwnership& operator=(const GroupOwnership&) = delete;

  // Releases every partition and leaves the group, so that the others take them over at
  // once (not after the session timeout). Idempotent.
  void Leave();

  // The partitions assigned to this member and acquired.
  std::vector<int32_t> owned() const;
  // The endpoint of the member that owns `partition` by the group's current assignment;
  // nullopt if no member owns it or the group cannot be described within `timeout`.
  std::optional<std::string> OwnerOf(int32_t partition,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(2));
  const OwnershipOptions& options() const { return options_; }

 private:
  class Rebalancer;
  GroupOwnership(OwnershipOptions options, OwnershipCallbacks callbacks);
  void Run();
  void OnAssign(const std::vector<int32_t>& partitions);
  void OnRevoke(const std::vector<int32_t>& partitions);
  void RetryPending();
  void RecheckOwned();

  const OwnershipOptions options_;
  const OwnershipCallbacks callbacks_;
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;  // guards everything below
  std::set<int32_t> owned_;
  std::set<int32_t> pending_;  // assigned, acquisition failed: retried
  bool assigned_once_ = false;
  std::chrono::steady_clock::time_point described_at_;
  std::map<int32_t, std::string> owners_;  // from the last description
  std::mutex describe_mu_;                 // one description at a time
};

// The owners of `topic`'s partitions by the current assignment of the writer group
// `group_id`: partition -> the owning member's endpoint (its client.id). Partitions no
// member holds are absent. UNAVAILABLE if the group cannot be described within `timeout`.
absl::StatusOr<std::map<int32_t, std::string>> DescribeOwners(
    const KafkaOptions& kafka, const std::string& group_id, const std::string& topic,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace kam::eventlog
