// The inbound metrics topic: enterprise systems produce kam.v1.InboundMetric records to
// "<prefix>kam.inbound.metrics.v1" (key "<programme_id>:<account_id>"); each becomes a
// MetricRecorded event, or goes to the dead-letter topic with the reason. Exactly once, by
// writer::InboundIngester (libs/writer/inbound_ingester.h) with the consumer group
// "kam.metrics-ingester".
//
// Publishers: with `publishers` (the keyring of --inbound-keyring) a record is decided only
// if a key of that keyring signed it (eventlog/inbound_signature), as "publisher:<key id>";
// an unsigned record, one signed by another key, one whose signature does not verify and
// one whose publisher field names another publisher are dead-lettered with that reason.
// Without it (development) the publisher is the record's own field, unauthenticated;
// Start() says so in the log.
//
//   kam::services::InboundIngester ingester(kafka, service, {.topic_prefix = ""});
//   KAM_RETURN_IF_ERROR(ingester.Start());
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "eventlog/signing.h"
#include "services/metrics/metrics_service.h"
#include "writer/inbound_ingester.h"

namespace kam::services {

struct IngesterOptions {
  std::string topic_prefix;
  std::string group_id = "kam.metrics-ingester";
  std::size_t max_batch = 1000;  // records per poll (and so per transaction and partition)
  std::chrono::milliseconds retry_backoff{500};
  // The publishers' public keys; null: publishers are unauthenticated (development).
  std::shared_ptr<const eventlog::Keyring> publishers;
};

class InboundIngester {
 public:
  using Stats = writer::InboundIngester<domain::MetricsState>::Stats;
  InboundIngester(eventlog::KafkaOptions kafka, MetricsService& service, IngesterOptions options);

  // Creates the inbound topic (as many partitions as the metrics topic) and starts reading.
  absl::Status Start();
  void Stop() { ingester_.Stop(); }
  Stats stats() const { return ingester_.stats(); }
  const std::string& topic() const { return ingester_.topic(); }

 private:
  // The writer's command for one inbound record.
  writer::Command<domain::MetricsState> CommandFor(const eventlog::ConsumedRecord& record) const;

  MetricsService& service_;
  std::shared_ptr<const eventlog::Keyring> publishers_;
  writer::InboundIngester<domain::MetricsState> ingester_;
};

}  // namespace kam::services
