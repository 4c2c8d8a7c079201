// The inbound topic: enterprise systems produce kam.v1.InboundMetric records to
// "<prefix>kam.inbound.metrics.v1" (key "<programme_id>:<account_id>"); the ingester turns
// each into a MetricRecorded event, or writes it to the dead-letter topic with the reason.
//
//   kam::services::InboundIngester ingester(kafka, service, {.topic_prefix = ""});
//   KAM_RETURN_IF_ERROR(ingester.Start());
//   ...
//   ingester.Stop();
//
// Exactly once: the ingester reads the inbound partitions matching the metrics partitions
// its service owns (read_committed), and each polled batch of a partition becomes ONE
// transaction of that partition's writer holding the batch's events, its dead letters and
// the consumer group's offsets ("kam.metrics-ingester"): a crash at any point neither loses
// nor repeats an inbound record. A transient failure (Kafka unavailable) rewinds the
// partition to its committed offset and retries after a back-off.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "eventlog/consumer.h"
#include "services/metrics/metrics_service.h"

namespace kam::services {

struct IngesterOptions {
  std::string topic_prefix;
  std::string group_id = "kam.metrics-ingester";
  std::size_t max_batch = 1000;  // records per poll (and so per transaction and partition)
  std::chrono::milliseconds retry_backoff{500};
};

class InboundIngester {
 public:
  InboundIngester(eventlog::KafkaOptions kafka, MetricsService& service, IngesterOptions options);
  ~InboundIngester();
  InboundIngester(const InboundIngester&) = delete;
  InboundIngester& operator=(const InboundIngester&) = delete;

  // Creates the inbound topic (as many partitions as the metrics topic) and starts reading.
  absl::Status Start();
  void Stop();

  struct Stats {
    uint64_t recorded = 0;       // new events, or replays of already recorded records
    uint64_t dead_lettered = 0;  // rejected, with the reason, to the dead-letter topic
    uint64_t retries = 0;        // transient failures retried from the committed offset
  };
  Stats stats() const;
  const std::string& topic() const { return topic_; }

 private:
  void Run();
  // The writer's command for one inbound record (a rejection is dead-lettered).
  writer::Command<domain::MetricsState> CommandFor(const eventlog::ConsumedRecord& record) const;

  eventlog::KafkaOptions kafka_;
  MetricsService& service_;
  IngesterOptions options_;
  std::string topic_;
  std::vector<int32_t> partitions_;
  std::unique_ptr<eventlog::Consumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> retries_{0};
};

}  // namespace kam::services
