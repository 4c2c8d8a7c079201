// What a writer needs of the log, behind interfaces: the Kafka implementation
// (kafka_event_log.h) for the services, an in-memory one (tests/support/memory_event_log.h)
// for unit tests of the writer's logic without a broker.
//
//   std::unique_ptr<kam::writer::EventLog> log = kam::writer::KafkaEventLog(kafka, timeout);
//   auto p = log->OpenPartition(topic, 0, "kam.programme-writer.p0");
//   KAM_RETURN_IF_ERROR(p->Connect());                 // fences any earlier holder
//   kam::writer::AppendOutcome out = p->Append(records, nullptr);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "kam/v1/envelope.pb.h"

namespace kam::writer {

struct AppendOutcome {
  // OK: committed. Otherwise nothing is committed, unless outcome_unknown: then the
  // transaction may or may not have committed, and the caller must read the log to know.
  absl::Status status;
  bool outcome_unknown = false;
  // On success, one position per record appended, in order.
  std::vector<v1::LogPosition> positions;
};

// One partition a writer owns: its transactional appends and its committed records.
// Not thread-safe: the partition's writer serialises calls.
class PartitionLog {
 public:
  virtual ~PartitionLog() = default;
  // Takes over the partition's transactional identity, fencing any earlier holder and
  // aborting its open transaction. UNAVAILABLE if the log does not answer; after fenced()
  // turned true it never succeeds again (that would fence the new owner back).
  virtual absl::Status Connect() = 0;
  // Appends `records` in one transaction: records without a topic of their own go to this
  // partition; with `offsets`, the consumer's offsets are committed in the same one.
  virtual AppendOutcome Append(std::span<const eventlog::Record> records,
                               const eventlog::TransactionOffsets* offsets) = 0;
  // Calls `each` for every committed record of the partition from offset `from` up to the
  // end of the log as it stands when the call starts.
  virtual absl::Status Read(int64_t from,
                            const std::function<void(const eventlog::ConsumedRecord&)>& each) = 0;
  // True once another instance has taken the partition over.
  virtual bool fenced() const = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Creates `topic` (infinite retention) if it does not exist.
  virtual absl::Status EnsureTopic(const std::string& topic, int partitions) = 0;
  virtual absl::StatusOr<int> PartitionCount(const std::string& topic) = 0;
  virtual std::unique_ptr<PartitionLog> OpenPartition(const std::string& topic, int32_t partition,
                                                      const std::string& transactional_id) = 0;
};

}  // namespace kam::writer
