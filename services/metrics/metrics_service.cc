#include "services/metrics/metrics_service.h"

#include "base/strings.h"
#include "server/roles.h"
#include "server/status.h"

namespace kam::services {
namespace {

const std::set<std::string> kPublishers = {server::roles::kAdmin, server::roles::kPublisher};

}  // namespace

bool IsRejection(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

MetricsService::MetricsService(const MetricsServiceConfig& config,
                               const server::Authenticator& auth)
    : auth_(auth),
      topic_(eventlog::AggregateTopic(config.topic_prefix, domain::kMetricsAggregateType)),
      writer_(config.kafka,
              writer::WriterOptions{.topic = topic_,
                                    .aggregate_type = std::string(domain::kMetricsAggregateType),
                                    .partitions = config.partitions,
                                    .transactional_id = config.transactional_id,
                                    .owned_partitions = config.owned_partitions,
                                    .append_timeout = config.append_timeout,
                                    .snapshot_dir = config.snapshot_dir,
                                    .snapshot_every_events = config.snapshot_every_events},
              &domain::Evolve,
              writer::SnapshotCodec<domain::MetricsState>{&domain::EncodeSnapshot,
                                                          &domain::DecodeMetricsSnapshot}) {}

absl::StatusOr<std::unique_ptr<MetricsService>> MetricsService::Create(
    const MetricsServiceConfig& config, const server::Authenticator& auth) {
  std::unique_ptr<MetricsService> self(new MetricsService(config, auth));
  auto dlq = eventlog::DeadLetters::Create(
      config.kafka, eventlog::DeadLetterTopic(eventlog::InboundMetricsTopic(config.topic_prefix)));
  if (!dlq.ok()) return dlq.status();
  self->dead_letters_ = std::move(*dlq);
  if (auto s = self->writer_.Start(); !s.ok()) return s;
  return self;
}

absl::StatusOr<v1::CommandResult> MetricsService::Record(const v1::CommandMetadata& metadata,
                                                         const v1::MetricRecorded& metric,
                                                         const std::string& actor) {
  v1::RecordMetricRequest request;
  *request.mutable_metadata() = metadata;
  *request.mutable_metric() = metric;
  return writer_.Execute(
      domain::MetricsAggregateId(metric.programme_id(), metric.account_id()), metadata, actor,
      [&](const domain::MetricsState& state, absl::Time now) {
        return domain::Decide(state, request, domain::CommandContext{actor, now});
      });
}

v1::MetricItemOutcome MetricsService::RecordItem(uint32_t index,
                                                 const v1::CommandMetadata& metadata,
                                                 const v1::MetricRecorded& metric,
                                                 const std::string& actor,
                                                 const std::string& origin) {
  v1::MetricItemOutcome outcome;
  outcome.set_index(index);
  auto result = Record(metadata, metric, actor);
  if (result.ok()) {
    *outcome.mutable_result() = *std::move(result);
    return outcome;
  }
  absl::Status status = result.status();
  if (IsRejection(status)) {
    v1::RecordMetricRequest item;
    *item.mutable_metadata() = metadata;
    *item.mutable_metric() = metric;
    const std::string reason =
        base::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
    if (auto dl = dead_letters_->Send(
            domain::MetricsAggregateId(metric.programme_id(), metric.account_id()),
            item.SerializeAsString(), reason, origin);
        dl.ok()) {
      outcome.set_dead_lettered(true);
    } else {
      status = absl::UnavailableError(base::StrCat(status.message(),
                                                   "; and the dead-letter topic "
                                                   "failed: ",
                                                   dl.message()));
    }
  }
  outcome.set_code(static_cast<int32_t>(status.code()));
  outcome.set_error(std::string(status.message()));
  return outcome;
}

grpc::Status MetricsService::RecordMetric(grpc::ServerContext* context,
                                          const v1::RecordMetricRequest* request,
                                          v1::RecordMetricResponse* response) {
  auto who = auth_.Authorize(*context, kPublishers, "call RecordMetric");
  if (!who.ok()) return server::ToGrpc(who.status());
  auto result = Record(request->metadata(), request->metric(), who->name);
  if (!result.ok()) return server::ToGrpc(result.status());
  *response->mutable_result() = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status MetricsService::RecordMetricBatch(grpc::ServerContext* context,
                                               const v1::RecordMetricBatchRequest* request,
                                               v1::RecordMetricBatchResponse* response) {
  auto who = auth_.Authorize(*context, kPublishers, "call RecordMetricBatch");
  if (!who.ok()) return server::ToGrpc(who.status());
  if (static_cast<std::size_t>(request->items_size()) > kMaxMetricBatch) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        base::StrCat("items: at most ", kMaxMetricBatch, " per batch, got ",
                                     request->items_size(), "; split the batch"));
  }
  for (int i = 0; i < request->items_size(); ++i) {
    const auto& item = request->items(i);
    auto outcome = RecordItem(static_cast<uint32_t>(i), item.metadata(), item.metric(), who->name,
                              base::StrCat("grpc RecordMetricBatch item ", i, " by ", who->name));
    if (outcome.code() == 0) {
      response->set_recorded(response->recorded() + 1);
    } else {
      response->set_rejected(response->rejected() + 1);
    }
    *response->add_outcomes() = std::move(outcome);
  }
  return grpc::Status::OK;
}

grpc::Status MetricsService::StreamMetrics(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamMetricsResponse, v1::StreamMetricsRequest>* stream) {
  auto who = auth_.Authorize(*context, kPublishers, "call StreamMetrics");
  if (!who.ok()) return server::ToGrpc(who.status());
  v1::StreamMetricsRequest request;
  uint32_t index = 0;
  while (stream->Read(&request)) {
    v1::StreamMetricsResponse response;
    *response.mutable_outcome() =
        RecordItem(index, request.metadata(), request.metric(), who->name,
                   base::StrCat("grpc StreamMetrics item ", index, " by ", who->name));
    if (!stream->Write(response)) break;  // the client went away
    ++index;
  }
  return grpc::Status::OK;
}

}  // namespace kam::services
