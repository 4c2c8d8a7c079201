// The metrics command service: enterprise systems record account economics one at a
// time, in batches or as a stream; invalid records of the bulk paths also go to the
// dead-letter topic with their reason.
//
//   auto svc = kam::services::MetricsService::Create(config, auth);
//   server.Add(svc->get());
//   absl::StatusOr<kam::v1::CommandResult> r = (*svc)->Record(metadata, metric, "publisher:erp");
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/metrics.h"
#include "eventlog/dead_letters.h"
#include "eventlog/kafka.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "server/auth.h"
#include "writer/aggregate_writer.h"

namespace kam::services {

inline constexpr std::size_t kMaxMetricBatch = 1000;

struct MetricsServiceConfig {
  eventlog::KafkaOptions kafka;
  std::string topic_prefix;
  int partitions = 3;
  std::string transactional_id = "kam.metrics-writer";
  std::vector<int32_t> owned_partitions;  // empty: all
  std::chrono::milliseconds append_timeout{10000};
  // Local snapshots of the account-metrics aggregates; empty: none (full replay on start).
  std::string snapshot_dir;
  uint64_t snapshot_every_events = 100000;
};

// Whether a failed record was rejected for what it is (and so belongs in the dead-letter
// topic) rather than failing for a transient reason (and so is to be retried).
bool IsRejection(const absl::Status& status);

class MetricsService final : public v1::MetricsCommandService::Service {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsService>> Create(const MetricsServiceConfig& config,
                                                                const server::Authenticator& auth);

  grpc::Status RecordMetric(grpc::ServerContext* context, const v1::RecordMetricRequest* request,
                            v1::RecordMetricResponse* response) override;
  grpc::Status RecordMetricBatch(grpc::ServerContext* context,
                                 const v1::RecordMetricBatchRequest* request,
                                 v1::RecordMetricBatchResponse* response) override;
  grpc::Status StreamMetrics(grpc::ServerContext* context,
                             grpc::ServerReaderWriter<v1::StreamMetricsResponse,
                                                      v1::StreamMetricsRequest>* stream) override;

  // Records one metric as `actor` (the ingester's entry point too).
  absl::StatusOr<v1::CommandResult> Record(const v1::CommandMetadata& metadata,
                                           const v1::MetricRecorded& metric,
                                           const std::string& actor);

  // Snapshots every owned partition (at shutdown); a no-op without a snapshot directory.
  absl::Status SnapshotAll() { return writer_.SnapshotAll(); }

  eventlog::DeadLetters& dead_letters() { return *dead_letters_; }
  const std::string& topic() const { return topic_; }
  const writer::AggregateWriter<domain::MetricsState>& writer() const { return writer_; }

 private:
  MetricsService(const MetricsServiceConfig& config, const server::Authenticator& auth);

  // Records one bulk item; a rejection also goes to the dead-letter topic.
  v1::MetricItemOutcome RecordItem(uint32_t index, const v1::CommandMetadata& metadata,
                                   const v1::MetricRecorded& metric, const std::string& actor,
                                   const std::string& origin);

  const server::Authenticator& auth_;
  std::string topic_;
  writer::AggregateWriter<domain::MetricsState> writer_;
  std::unique_ptr<eventlog::DeadLetters> dead_letters_;
};

}  // namespace kam::services
