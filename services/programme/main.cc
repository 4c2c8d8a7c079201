// kam-programme-service: the write side for programmes and their portfolios.
#include <iostream>

#include "base/log.h"
#include "base/strings.h"
#include "server/flags.h"
#include "server/server.h"
#include "services/programme/programme_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-programme-service",
                           "gRPC commands on KAM programmes and their portfolios");
  flags.Define("listen", "127.0.0.1:50051", "address to serve gRPC on");
  flags.Define("brokers", "127.0.0.1:9092", "Kafka bootstrap servers");
  flags.Define("tokens", "", "bearer tokens file: 'token principal role[,role]' per line");
  flags.Define("topic-prefix", "", "prefix of every topic name (isolates environments)");
  flags.Define("partitions", "3", "partitions of a topic this service creates");
  flags.Define("transactional-id", "kam.programme-writer",
               "Kafka transactional.id of this writer; a second instance with it fences this one");
  flags.Define("append-timeout-ms", "10000", "how long a command waits for Kafka");
  flags.Define("owned-partitions", "",
               "comma-separated partitions of the programme topic this instance writes "
               "(default: all); another instance claiming one fences this one for it");
  if (auto s = flags.Parse(argc, argv); !s.ok() || flags.help()) {
    if (!s.ok()) std::cerr << s.message() << "\n";
    std::cerr << flags.Usage();
    return s.ok() ? 0 : 2;
  }
  long partitions = 0;
  long timeout_ms = 0;
  for (auto s : {flags.GetInt("partitions", 1, 1000, partitions),
                 flags.GetInt("append-timeout-ms", 100, 600000, timeout_ms)}) {
    if (!s.ok()) {
      std::cerr << s.message() << "\n";
      return 2;
    }
  }
  std::vector<int> owned;
  if (auto s = flags.GetIntList("owned-partitions", 0, 999, owned); !s.ok()) {
    std::cerr << s.message() << "\n";
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
  kam::services::ProgrammeServiceConfig config;
  config.kafka.brokers = flags.Get("brokers");
  config.topic_prefix = flags.Get("topic-prefix");
  config.partitions = static_cast<int>(partitions);
  config.transactional_id = flags.Get("transactional-id");
  config.append_timeout = std::chrono::milliseconds(timeout_ms);
  config.owned_partitions.assign(owned.begin(), owned.end());

  kam::base::Log(kam::base::StrCat("rebuilding programmes from ", config.kafka.brokers));
  auto service = kam::services::ProgrammeService::Create(config, **auth);
  if (!service.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", service.status().ToString()));
    return 1;
  }
  kam::server::ServerOptions server_options;
  server_options.listen = flags.Get("listen");
  kam::server::GrpcServer server(server_options);
  server.Add(service->get());
  if (auto s = server.Start(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", s.message()));
    return 1;
  }
  kam::base::Log(kam::base::StrCat("serving ProgrammeCommandService on port ", server.port(),
                                   " (topic ", (*service)->topic(), ")"));
  kam::server::WaitForTerminationSignal();
  server.Shutdown();  // in-flight commands finish; each has committed or aborted its transaction
  kam::base::Log("stopped");
  return 0;
}
