#include "writer/kafka_event_log.h"

#include "base/errors.h"
#include "writer/log_session.h"

namespace kam::writer {
namespace {

class KafkaPartitionLog final : public PartitionLog {
 public:
  KafkaPartitionLog(eventlog::KafkaOptions kafka, std::string topic, int32_t partition,
                    std::string transactional_id, std::chrono::milliseconds timeout)
      : kafka_(kafka),
        topic_(std::move(topic)),
        partition_(partition),
        session_(std::move(kafka), std::move(transactional_id), timeout) {}

  absl::Status Connect() override {
    KAM_RETURN_IF_ERROR(session_.Connect());
    session_.MarkReloaded();
    return absl::OkStatus();
  }

  AppendOutcome Append(std::span<const eventlog::Record> records,
                       const eventlog::TransactionOffsets* offsets) override {
    AppendOutcome out;
    auto positions = session_.Append(topic_, partition_, records, offsets);
    if (positions.ok()) {
      out.positions = *std::move(positions);
    } else {
      out.status = positions.status();
      out.outcome_unknown = session_.needs_reload();
    }
    return out;
  }

  absl::Status Read(int64_t from,
                    const std::function<void(const eventlog::ConsumedRecord&)>& each) override {
    return eventlog::ReadPartitions(kafka_, topic_, {{partition_, from == 0 ? -2 : from}},
                                    [&](const eventlog::ConsumedRecord& r) {
                                      each(r);
                                      return absl::OkStatus();
                                    });
  }

  bool fenced() const override { return session_.fenced(); }

 private:
  eventlog::KafkaOptions kafka_;
  std::string topic_;
  int32_t partition_;
  LogSession session_;
};

class Kafka final : public EventLog {
 public:
  Kafka(eventlog::KafkaOptions kafka, std::chrono::milliseconds timeout)
      : kafka_(std::move(kafka)), timeout_(timeout) {}
  absl::Status EnsureTopic(const std::string& topic, int partitions) override {
    return eventlog::EnsureTopic(kafka_, topic, partitions);
  }
  absl::StatusOr<int> PartitionCount(const std::string& topic) override {
    return eventlog::PartitionCount(kafka_, topic);
  }
  std::unique_ptr<PartitionLog> OpenPartition(const std::string& topic, int32_t partition,
                                              const std::string& transactional_id) override {
    return std::make_unique<KafkaPartitionLog>(kafka_, topic, partition, transactional_id,
                                               timeout_);
  }

 private:
  eventlog::KafkaOptions kafka_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<EventLog> KafkaEventLog(eventlog::KafkaOptions kafka,
                                        std::chrono::milliseconds append_timeout) {
  return std::make_unique<Kafka>(std::move(kafka), append_timeout);
}

}  // namespace kam::writer
