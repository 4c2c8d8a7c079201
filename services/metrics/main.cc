// kam-metrics-service: the write side for account economics, over gRPC and the inbound topic.
#include <iostream>

#include "base/log.h"
#include "base/strings.h"
#include "server/flags.h"
#include "server/server.h"
#include "services/metrics/inbound_ingester.h"
#include "services/metrics/metrics_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-metrics-service",
                           "account economics from enterprise systems, over gRPC and Kafka");
  flags.Define("listen", "127.0.0.1:50052", "address to serve gRPC on");
  flags.Define("brokers", "127.0.0.1:9092", "Kafka bootstrap servers");
  flags.Define("tokens", "", "bearer tokens file: 'token principal role[,role]' per line");
  flags.Define("topic-prefix", "", "prefix of every topic name (isolates environments)");
  flags.Define("partitions", "3", "partitions of a topic this service creates");
  flags.Define("transactional-id", "kam.metrics-writer",
               "base of the per-partition Kafka transactional ids of this writer");
  flags.Define("owned-partitions", "",
               "comma-separated partitions this instance writes (default all)");
  flags.Define("append-timeout-ms", "10000", "how long a command waits for Kafka");
  flags.Define("inbound", "true", "consume the inbound metrics topic (true/false)");
  flags.Define("snapshot-dir", "", "local directory for aggregate snapshots (empty: none)");
  if (auto s = flags.Parse(argc, argv); !s.ok() || flags.help()) {
    if (!s.ok()) std::cerr << s.message() << "\n";
    std::cerr << flags.Usage();
    return s.ok() ? 0 : 2;
  }
  long partitions = 0;
  long timeout_ms = 0;
  std::vector<int> owned;
  for (auto s : {flags.GetInt("partitions", 1, 1000, partitions),
                 flags.GetInt("append-timeout-ms", 100, 600000, timeout_ms),
                 flags.GetIntList("owned-partitions", 0, 999, owned)}) {
    if (!s.ok()) {
      std::cerr << s.message() << "\n";
      return 2;
    }
  }
  if (flags.Get("inbound") != "true" && flags.Get("inbound") != "false") {
    std::cerr << "--inbound must be true or false\n";
    return 2;
  }
  if (flags.Get("tokens").empty()) {
    std::cerr << "--tokens is required: every command is made by an authenticated principal\n";
    return 2;
  }
  auto auth = kam::server::Authenticator::FromFile(flags.Get("tokens"));
  if (!auth.ok()) {
    std::cerr << auth.status().message() << "\n";
    return 2;
  }
  kam::services::MetricsServiceConfig config;
  config.kafka.brokers = flags.Get("brokers");
  config.topic_prefix = flags.Get("topic-prefix");
  config.partitions = static_cast<int>(partitions);
  config.transactional_id = flags.Get("transactional-id");
  config.owned_partitions.assign(owned.begin(), owned.end());
  config.append_timeout = std::chrono::milliseconds(timeout_ms);
  config.snapshot_dir = flags.Get("snapshot-dir");

  kam::base::Log(kam::base::StrCat("rebuilding account metrics from ", config.kafka.brokers));
  auto service = kam::services::MetricsService::Create(config, **auth);
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
  kam::server::ServerOptions server_options;
  server_options.listen = flags.Get("listen");
  kam::server::GrpcServer server(server_options);
  server.Add(service->get());
  if (auto s = server.Start(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", s.message()));
    return 1;
  }
  kam::base::Log(kam::base::StrCat(
      "serving MetricsCommandService on port ", server.port(), " (topic ", (*service)->topic(),
      ingester ? ", inbound " + ingester->topic() : std::string(), ")"));
  kam::server::WaitForTerminationSignal();
  server.Shutdown();
  if (ingester) ingester->Stop();
  if (auto s = (*service)->SnapshotAll(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("snapshot at shutdown failed: ", s.message()));
  }
  kam::base::Log("stopped");
  return 0;
}
