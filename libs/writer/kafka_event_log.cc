#include "writer/kafka_event_log.h"

#include <mutex>

#include "base/errors.h"
#include "base/log.h"
#include "base/strings.h"
#include "writer/log_session.h"

namespace kam::writer {
namespace {

class KafkaPartitionLog final : public PartitionLog {
 public:
  KafkaPartitionLog(eventlog::KafkaOptions kafka, std::string topic, int32_t partition,
                    std::string transactional_id, std::chrono::milliseconds timeout,
                    std::shared_ptr<const eventlog::ClusterWatch> watch)
      : kafka_(kafka),
        topic_(std::move(topic)),
        partition_(partition),
        session_(std::move(kafka), std::move(transactional_id), timeout, std::move(watch)) {}

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
    return std::make_unique<KafkaPartitionLog>(kafka_, topic, partition, transactional_id, timeout_,
                                               Watch(topic));
  }

 private:
  eventlog::KafkaOptions kafka_;
  std::chrono::milliseconds timeout_;

  // One watch for every partition (they share the cluster), started with the first: its
  // heartbeat asks about that topic, which exists by then. Without one (a client librdkafka
  // refuses to make) the writer still works and sees an outage only by timeouts.
  std::shared_ptr<const eventlog::ClusterWatch> Watch(const std::string& topic) {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_ != nullptr || watch_failed_) return watch_;
    auto watch = eventlog::ClusterWatch::Start(kafka_, {.topic = topic});
    if (watch.ok()) {
      watch_ = *std::move(watch);
    } else {
      watch_failed_ = true;
      base::Log(base::LogLevel::kWarning,
                base::StrCat("kafka: no cluster watch, an outage is seen only by timeouts: ",
                             watch.status().message()));
    }
    return watch_;
  }

  std::mutex mu_;
  std::shared_ptr<const eventlog::ClusterWatch> watch_;  // guarded by mu_
  bool watch_failed_ = false;                            // guarded by mu_
};

}  // namespace

std::unique_ptr<EventLog> KafkaEventLog(eventlog::KafkaOptions kafka,
                                        std::chrono::milliseconds append_timeout) {
  return std::make_unique<Kafka>(std::move(kafka), append_timeout);
}

}  // namespace kam::writer
