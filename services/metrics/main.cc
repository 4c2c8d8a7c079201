// kam-metrics-service: the write side for account economics, over gRPC and the inbound topic.
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/signing.h"
#include "server/process.h"
#include "server/stream_deadlines.h"
#include "server/writer_config.h"
#include "services/metrics/inbound_ingester.h"
#include "services/metrics/metrics_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-metrics-service",
                           "account economics from enterprise systems, over gRPC and Kafka");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50052", "127.0.0.1:9465");
  constexpr char kTransactionalId[] = "kam.metrics-writer";
  kam::server::DefineWriterFlags(flags, kTransactionalId);
  kam::server::DefineInboundFlags(flags, "metrics topic");
  flags.Define("snapshot-dir", "", "local directory for aggregate snapshots (empty: none)");
  kam::server::DefineStreamLimitFlags(flags);
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  auto stream_limits = kam::server::StreamLimitsFromFlags(flags);
  if (!stream_limits.ok()) return kam::server::ExitCode(stream_limits.status());
  auto writer = kam::server::ParseWriterFlags(flags, kTransactionalId);
  if (!writer.ok()) return kam::server::ExitCode(writer.status());
  auto inbound = kam::server::ParseInboundFlags(flags);
  if (!inbound.ok()) return kam::server::ExitCode(inbound.status());
  kam::services::MetricsServiceConfig config;
  if (auto s = kam::server::ConfigureWriter(config, *common, *writer); !s.ok()) {
    return kam::server::ExitCode(s);
  }
  config.snapshot_dir = flags.Get("snapshot-dir");
  config.stream_limits = *stream_limits;

  kam::base::Log(kam::base::StrCat("rebuilding account metrics from ", config.kafka.brokers));
  auto service = kam::services::MetricsService::Create(config, *common->auth);
  if (!service.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", service.status().ToString()));
    return 1;
  }
  std::unique_ptr<kam::services::InboundIngester> ingester;
  if (inbound->enabled) {
    ingester = std::make_unique<kam::services::InboundIngester>(
        config.kafka, **service,
        kam::services::IngesterOptions{.topic_prefix = config.topic_prefix,
                                       .publishers = inbound->publishers});
    if (auto s = ingester->Start(); !s.ok()) {
      kam::base::Log(kam::base::StrCat("cannot start the ingester: ", s.ToString()));
      return 1;
    }
  }
  return kam::server::Serve(
      common->server, {service->get()},
      kam::base::StrCat("serving MetricsCommandService (topic ", (*service)->topic(),
                        ingester ? ", inbound " + ingester->topic() : std::string(), ")"),
      [&] {
        if (ingester) ingester->Stop();
        if (auto s = (*service)->SnapshotAll(); !s.ok()) {
          kam::base::Log(kam::base::StrCat("snapshot at shutdown failed: ", s.message()));
        }
      });
}
