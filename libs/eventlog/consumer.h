// Reading the log with isolation.level=read_committed: records of aborted or still
// open transactions are never returned.
//
//   auto c = kam::eventlog::Consumer::Create(kafka);
//   KAM_RETURN_IF_ERROR((*c)->Assign(topic, partitions, start_offsets));
//   absl::StatusOr<std::vector<ConsumedRecord>> batch = (*c)->Poll(500, 100ms);
//
// The consumer never commits offsets to Kafka: its owner stores them (a projection
// in the same RocksDB WriteBatch as its read model). Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"

namespace RdKafka {
class KafkaConsumer;
class ConsumerGroupMetadata;
}  // namespace RdKafka

namespace kam::eventlog {

struct ConsumedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const KafkaOptions& options);
  // A consumer whose offsets are committed to Kafka under `group_id` (for ingestion, where
  // the offsets are not stored beside a read model). Partitions are still assigned by hand.
  static absl::StatusOr<std::unique_ptr<Consumer>> CreateInGroup(const KafkaOptions& options,
                                                                 const std::string& group_id);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Reads partitions 0..partitions-1 of `topic`, each from start[p] (the next offset to
  // read) or from the beginning if absent.
  absl::Status Assign(const std::string& topic, int partitions,
                      const std::map<int32_t, int64_t>& start);
  // Reads exactly the partitions that are keys of `start`, each from its offset
  // (RdKafka::Topic::OFFSET_BEGINNING = -2 for the beginning).
  absl::Status AssignExactly(const std::string& topic, const std::map<int32_t, int64_t>& start);

  // Reads `partitions` from the group's committed offsets (the beginning if none).
  absl::Status AssignCommitted(const std::string& topic, const std::vector<int32_t>& partitions);

  // Commits the next offsets to read, synchronously. UNAVAILABLE if Kafka refuses.
  absl::Status Commit(const std::string& topic, const std::map<int32_t, int64_t>& next);

  // Up to `max` records, waiting at most `timeout` for the first one. Records of a
  // partition come in offset order. UNAVAILABLE on a consumer error.
  absl::StatusOr<std::vector<ConsumedRecord>> Poll(std::size_t max,
                                                   std::chrono::milliseconds timeout);

  // The end offset of each assigned partition as last reported by the brokers (no request
  // is made); absent until a fetch has answered. For read_committed this is the last stable
  // offset: past the marker of the last committed transaction, so a reader that has
  // everything can be one or more offsets short of it (reached_end() tells).
  std::map<int32_t, int64_t> EndOffsets(const std::string& topic) const;
  // The same, asked of the brokers now (one request per partition, `timeout` in all);
  // partitions that do not answer in time are absent.
  std::map<int32_t, int64_t> QueryEndOffsets(const std::string& topic,
                                             std::chrono::milliseconds timeout) const;

  // Partitions read to the end of the committed log, with no record returned since.
  const std::set<int32_t>& reached_end() const { return reached_end_; }

 private:
  friend struct ConsumerAccess;
  Consumer() = default;
  static absl::StatusOr<std::unique_ptr<Consumer>> Make(const KafkaOptions& options,
                                                        const std::string& group_id);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::set<int32_t> reached_end_;
  std::set<int32_t> assigned_;
};

// What the transactional producer needs of a consumer (internal to libs/eventlog).
struct ConsumerAccess {
  // The consumer's group metadata, owned by the caller.
  static RdKafka::ConsumerGroupMetadata* GroupMetadata(const Consumer& consumer);
};

// Reads every committed record of `topic` from the beginning to the end of the log as
// it stands when the call starts, calling `each` in per-partition order. Stops at the
// first error `each` returns. UNAVAILABLE if the end is not reached within `timeout`.
absl::Status ReadAll(const KafkaOptions& options, const std::string& topic,
                     const std::function<absl::Status(const ConsumedRecord&)>& each,
                     std::chrono::milliseconds timeout = std::chrono::seconds(600));

// The same for some partitions only, each from its start offset (absent: the beginning).
absl::Status ReadPartitions(const KafkaOptions& options, const std::string& topic,
                            const std::map<int32_t, int64_t>& start,
                            const std::function<absl::Status(const ConsumedRecord&)>& each,
                            std::chrono::milliseconds timeout = std::chrono::seconds(600));

// The committed record at `offset` of `partition`. NOT_FOUND if there is none there (the
// log ends before it, or the offset holds a transaction marker or an aborted record);
// UNAVAILABLE if Kafka does not answer within `timeout`.
absl::StatusOr<ConsumedRecord> ReadRecord(const KafkaOptions& options, const std::string& topic,
                                          int32_t partition, int64_t offset,
                                          std::chrono::milliseconds timeout);

}  // namespace kam::eventlog
