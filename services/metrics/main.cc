// kam-metrics-service: the write side for account economics, over gRPC and the inbound topic.
#include "base/log.h"
#include "base/strings.h"
#include "server/process.h"
#include "services/metrics/inbound_ingester.h"
#include "services/metrics/metrics_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-metrics-service",
                           "account economics from enterprise systems, over gRPC and Kafka");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50052");
  flags.Define("partitions", "3", "partitions of a topic this service creates");
  flags.Define("transactional-id", "kam.metrics-writer",
               "base of the per-partition Kafka transactional ids of this writer");
  flags.Define("owned-partitions", "",
               "comma-separated partitions this instance writes (default all)");
  flags.Define("append-timeout-ms", "10000", "how long a command waits for Kafka");
  flags.Define("inbound", "true", "consume the inbound metrics topic (true/false)");
  flags.Define("snapshot-dir", "", "local directory for aggregate snapshots (empty: none)");
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  long partitions = 0;
  long timeout_ms = 0;
  std::vector<int> owned;
  for (auto s : {flags.GetInt("partitions", 1, 1000, partitions),
                 flags.GetInt("append-timeout-ms", 100, 600000, timeout_ms),
                 flags.GetIntList("owned-partitions", 0, 999, owned)}) {
    if (!s.ok()) return kam::server::ExitCode(s);
  }
  if (flags.Get("inbound") != "true" && flags.Get("inbound") != "false") {
    return kam::server::ExitCode(absl::InvalidArgumentError("--inbound must be true or false"));
  }
  kam::services::MetricsServiceConfig config;
  config.kafka.brokers = common->brokers;
  config.topic_prefix = common->topic_prefix;
  config.partitions = static_cast<int>(partitions);
  config.transactional_id = flags.Get("transactional-id");
  config.owned_partitions.assign(owned.begin(), owned.end());
  config.append_timeout = std::chrono::milliseconds(timeout_ms);
  config.snapshot_dir = flags.Get("snapshot-dir");

  kam::base::Log(kam::base::StrCat("rebuilding account metrics from ", config.kafka.brokers));
  auto service = kam::services::MetricsService::Create(config, *common->auth);
  if (!service.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", service.status().ToString()));
    return 1;
  }
  std::unique_ptr<kam::services::InboundIngester> ingester;
  if (flags.Get("inbound") == "true") {
    ingester = std::make_unique<kam::services::InboundIngester>(
        config.kafka, **service,
        kam::services::IngesterOptions{.topic_prefix = config.topic_prefix});
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
