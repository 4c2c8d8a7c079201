// Metrics for tests: a revenue metric as a publisher sends it, and sealed MetricRecorded
// envelopes for tests and benchmarks that fill a metrics topic directly (many events,
// quickly), continuing each account's hash chain.
#pragma once

#include <map>
#include <string>

#include "domain/metrics.h"
#include "writer/envelopes.h"

namespace kam::testing {

// A revenue of account acme in programme emea-kam for 2025, source record `record`.
inline v1::MetricRecorded Revenue(const std::string& record, int64_t cents = 1000) {
  v1::MetricRecorded m;
  m.set_programme_id("emea-kam");
  m.set_account_id("acme");
  m.set_kind(v1::METRIC_KIND_REVENUE);
  m.set_period_start("2025-01-01");
  m.set_period_end("2025-12-31");
  m.mutable_amount()->set_currency("EUR");
  m.mutable_amount()->set_minor_units(cents);
  m.set_source_system("erp");
  m.set_source_record_id(record);
  return m;
}

class MetricEventFactory {
 public:
  // The aggregate id and sealed bytes of the next revenue record of `account`.
  std::pair<std::string, std::string> Next(const std::string& programme,
                                           const std::string& account) {
    const std::string id = domain::MetricsAggregateId(programme, account);
    const uint64_t n = ++count_;
    domain::Events events(1);
    auto* m = events[0].mutable_metric_recorded();
    m->set_programme_id(programme);
    m->set_account_id(account);
    m->set_kind(v1::METRIC_KIND_REVENUE);
    m->set_period_start("2025-01-01");
    m->set_period_end("2025-01-31");
    m->mutable_amount()->set_currency("EUR");
    m->mutable_amount()->set_minor_units(static_cast<int64_t>(1000 + n % 997));
    m->set_source_system("erp");
    m->set_source_record_id("rec-" + std::to_string(n));
    writer::CommandInfo info;
    info.aggregate_type = std::string(domain::kMetricsAggregateType);
    info.aggregate_id = id;
    info.actor = "publisher:erp";
    info.metadata.set_client_request_id("erp/rec-" + std::to_string(n));
    info.recorded_at = absl::FromUnixSeconds(1767225600);
    info.fingerprint = "fp-rec-" + std::to_string(n);  // as a service sets it
    writer::Chain& chain = chains_[id];
    writer::SealedCommand sealed = writer::SealCommand(chain, info, events);
    writer::Advance(chain, sealed, {});
    return {id, std::move(sealed.bytes[0])};
  }

 private:
  std::map<std::string, writer::Chain> chains_;
  uint64_t count_ = 0;
};

}  // namespace kam::testing
