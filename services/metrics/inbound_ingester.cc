#include "services/metrics/inbound_ingester.h"

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"

namespace kam::services {

InboundIngester::InboundIngester(eventlog::KafkaOptions kafka, MetricsService& service,
                                 IngesterOptions options)
    : service_(service),
      ingester_(std::move(kafka), service.writer(),
                {.topic = eventlog::InboundMetricsTopic(options.topic_prefix),
                 .group_id = options.group_id,
                 .max_batch = options.max_batch,
                 .retry_backoff = options.retry_backoff},
                [this](const eventlog::ConsumedRecord& r) { return CommandFor(r); }) {}

writer::Command<domain::MetricsState> InboundIngester::CommandFor(
    const eventlog::ConsumedRecord& r) const {
  using State = domain::MetricsState;
  v1::InboundMetric inbound;
  if (!inbound.ParseFromString(r.value)) {
    return writer::Refused<State>(
        r, base::InvalidField("value", "is not a serialised kam.v1.InboundMetric"));
  }
  if (!inbound.has_metric())
    return writer::Refused<State>(r, base::InvalidField("metric", "is required"));
  if (auto s = base::ValidateId("publisher", inbound.publisher()); !s.ok()) {
    return writer::Refused<State>(r, s);
  }
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
  return writer::DeadLettering(
      service_.ItemCommand(metadata, m, base::StrCat("publisher:", inbound.publisher()), ""), r);
}

}  // namespace kam::services
