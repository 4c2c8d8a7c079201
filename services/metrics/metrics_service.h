// The metrics command service: enterprise systems record account economics one at a
// time, in batches or as a stream; invalid records of the bulk paths also go to the
// dead-letter topic with their reason, in the same transaction as the batch's accepted
// records (nothing is dropped, nothing is written twice).
//
//   auto svc = kam::services::MetricsService::Create(config, auth);
//   server.Add(svc->get());
//   absl::StatusOr<kam::v1::CommandResult> r = (*svc)->Record(metadata, metric, "publisher:erp");
//
// Throughput comes from the writer's group commit: a batch or a stream is decided item by
// item but appended in as few transactions as its partitions need.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/metrics.h"
#include "eventlog/kafka.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "personal/seal.h"
#include "server/auth.h"
#include "server/stream_deadlines.h"
#include "server/stream_slots.h"
#include "writer/aggregate_writer.h"
#include "writer/follower.h"

namespace kam::services {

inline constexpr std::size_t kMaxMetricBatch = 1000;
// A stream keeps at most this many items in flight before it stops reading.
inline constexpr std::size_t kMaxStreamInFlight = 2000;

struct MetricsServiceConfig {
  eventlog::KafkaOptions kafka;
  std::string topic_prefix;
  int partitions = 3;
  std::string transactional_id = "kam.metrics-writer";
  std::vector<int32_t> owned_partitions;  // empty: all
  // With a value: the partitions are shared among the live instances through this Kafka
  // consumer group instead (owned_partitions must be empty; eventlog/ownership.h).
  std::optional<eventlog::OwnershipOptions> writer_group;
  std::chrono::milliseconds append_timeout{10000};
  writer::GroupOptions group;
  // Local snapshots of the account-metrics aggregates; empty: none (full replay on start).
  std::string snapshot_dir;
  uint64_t snapshot_every_events = 100000;
  // Event signatures (writer::WriterOptions): the signing key and the keyring.
  std::shared_ptr<const eventlog::Signer> signer;
  std::shared_ptr<const eventlog::Keyring> keyring;
  // The persons' data keys (personal/keys.h): the programmes followed for membership are
  // read with their personal fields opened, and the actor of a metric recorded by a person
  // is sealed with theirs. Null: neither.
  std::shared_ptr<personal::KeyStore> keys;
  // Between the writer's signed checkpoints of its chain tips (0: only at shutdown).
  std::chrono::milliseconds checkpoint_interval{60000};
  // StreamMetrics streams open at once (each holds a server thread); more are refused.
  int max_streams = 16;
  // A stream idle this long (nothing sent, nothing read, no outcome owed) is closed; one open
  // this long ends after answering what it read (server::StreamDeadlines).
  server::StreamLimits stream_limits;
  // How long an item refused for want of membership waits for the programme topic's
  // follower before the refusal stands (a grant committed just before the metric).
  std::chrono::milliseconds membership_wait{1000};
};

using MetricsWriter = writer::AggregateWriter<domain::MetricsState>;

class MetricsService final : public v1::MetricsCommandService::Service {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsService>> Create(const MetricsServiceConfig& config,
                                                                const server::Authenticator& auth);

  grpc::Status RecordMetric(grpc::ServerContext* context, const v1::RecordMetricRequest* request,
                            v1::RecordMetricResponse* response) override;
  grpc::Status RecordMetricBatch(grpc::ServerContext* context,
                                 const v1::RecordMetricBatchRequest* request,
                                 v1::RecordMetricBatchResponse* response) override;
  // StreamMetrics reads raw bodies (the constructor installs this handler in place of the
  // generated one): a body that does not parse ends the stream INVALID_ARGUMENT naming why,
  // after the items before it are answered, where the generated reader would end it as if
  // the client had half-closed (server::ParseBody).
  grpc::Status StreamMetricsRaw(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream);

  // Records one metric as `actor`.
  absl::StatusOr<v1::CommandResult> Record(const v1::CommandMetadata& metadata,
                                           const v1::MetricRecorded& metric,
                                           const std::string& actor);

  // The writer's command for one metric as `actor`, who must be a commanding member or a
  // publisher of the metric's programme (domain::MayRecord, from the programme topic).
  // With an `origin` (a bulk call), a
  // rejected item goes to the inbound topic's dead-letter topic as the InboundMetric it
  // would have been (so `kamctl dlq redrive` can send it back after a fix), with the rest
  // of its transaction.
  writer::Command<domain::MetricsState> ItemCommand(const v1::CommandMetadata& metadata,
                                                    const v1::MetricRecorded& metric,
                                                    const std::string& actor,
                                                    const std::string& origin) const;

  // Waits (at most MetricsServiceConfig::membership_wait) until the programme topic shows
  // `actor` may record `metric`, or the wait is over; the item's decision then checks it.
  void AwaitMembership(const v1::MetricRecorded& metric, const std::string& actor);

  // Snapshots every owned partition (at shutdown); a no-op without a snapshot directory.
  absl::Status SnapshotAll() { return writer_.SnapshotAll(); }

  const std::string& topic() const { return topic_; }
  const std::string& inbound_topic() const { return inbound_topic_; }
  std::string dead_letter_topic() const { return eventlog::DeadLetterTopic(inbound_topic_); }
  // StreamMetrics streams open now (each holds a slot of `max_streams`).
  int open_streams() const { return streams_.open(); }
  MetricsWriter& writer() { return writer_; }
  const MetricsWriter& writer() const { return writer_; }

 private:
  MetricsService(const MetricsServiceConfig& config, const server::Authenticator& auth);
  // Whether `actor` may record `metric` by the programme state `programme` (null: none).
  static absl::Status MayRecord(const domain::ProgrammeState* programme,
                                const v1::MetricRecorded& metric, const std::string& actor,
                                absl::Time now);

  const server::Authenticator& auth_;
  server::StreamSlots streams_;
  server::StreamDeadlines stream_deadlines_;
  std::string topic_;
  std::string inbound_topic_;
  std::chrono::milliseconds membership_wait_;
  // Principals whose wait ended refused, and when (AwaitMembership).
  std::mutex awaited_mu_;
  std::map<std::string, absl::Time> awaited_;
  // Who is a member of which programme, from the programme topic.
  std::unique_ptr<writer::Follower<domain::ProgrammeState>> programmes_;
  MetricsWriter writer_;
};

// The outcome of a bulk item as the API reports it.
v1::MetricItemOutcome ToItemOutcome(uint32_t index, const writer::Outcome& outcome);

}  // namespace kam::services
