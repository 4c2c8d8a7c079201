#include "services/metrics/inbound_ingester.h"

#include "base/errors.h"
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/inbound_signature.h"

namespace kam::services {

InboundIngester::InboundIngester(eventlog::KafkaOptions kafka, MetricsService& service,
                                 IngesterOptions options)
    : service_(service),
      publishers_(std::move(options.publishers)),
      ingester_(std::move(kafka), service.writer(),
                {.topic = eventlog::InboundMetricsTopic(options.topic_prefix),
                 .group_id = options.group_id,
                 .max_batch = options.max_batch,
                 .retry_backoff = options.retry_backoff},
                [this](const eventlog::ConsumedRecord& r) { return CommandFor(r); }) {}

absl::Status InboundIngester::Start() {
  if (publishers_ == nullptr) {
    base::Log(base::LogLevel::kWarning,
              base::StrCat("inbound publishers are UNAUTHENTICATED (no --inbound-keyring): ",
                           ingester_.topic(),
                           " acts as whatever publisher a record's field names; development only"));
  }
  return ingester_.Start();
}

writer::Command<domain::MetricsState> InboundIngester::CommandFor(
    const eventlog::ConsumedRecord& r) const {
  using State = domain::MetricsState;
  // With a keyring, only a record a publisher signed for this topic is read at all.
  std::optional<std::string> signed_by;
  if (publishers_ != nullptr) {
    auto by = eventlog::VerifyInbound(*publishers_, "metrics", r);
    if (!by.ok()) return writer::Refused<State>(r, by.status());
    signed_by = *std::move(by);
  }
  v1::InboundMetric inbound;
  if (!inbound.ParseFromString(r.value)) {
    return writer::Refused<State>(
        r, base::InvalidField("value", "is not a serialised kam.v1.InboundMetric"));
  }
  if (!inbound.has_metric())
    return writer::Refused<State>(r, base::InvalidField("metric", "is required"));
  auto publisher = eventlog::InboundPublisher(signed_by, inbound.publisher());
  if (!publisher.ok()) return writer::Refused<State>(r, publisher.status());
  const auto& m = inbound.metric();
  const std::string aggregate = domain::MetricsAggregateId(m.programme_id(), m.account_id());
  if (r.key != aggregate) {
    return writer::Refused<State>(
        r, base::InvalidField(
               "key", base::StrCat("'", r.key.substr(0, 80),
                                   "' must be the metric's aggregate id '", aggregate, "'")));
  }
  v1::CommandMetadata metadata;
  metadata.set_client_request_id(inbound.client_request_id().empty()
                                     ? base::StrCat(m.source_system(), "/", m.source_record_id())
                                     : inbound.client_request_id());
  const std::string actor = base::StrCat("publisher:", *publisher);
  service_.AwaitMembership(m, actor);
  return writer::DeadLettering(service_.ItemCommand(metadata, m, actor, ""), r);
}

}  // namespace kam::services
