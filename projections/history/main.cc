// kam-history-projection: folds the programme topic into RocksDB and serves history.
#include <iostream>

#include "base/log.h"
#include "base/strings.h"
#include "eventlog/kafka.h"
#include "projections/history/history_fold.h"
#include "projections/history/history_service.h"
#include "server/flags.h"
#include "server/server.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-history-projection",
                           "the history read model (RocksDB) and its gRPC queries");
  flags.Define("listen", "127.0.0.1:50061", "address to serve gRPC on");
  flags.Define("brokers", "127.0.0.1:9092", "Kafka bootstrap servers");
  flags.Define("tokens", "", "bearer tokens file: 'token principal role[,role]' per line");
  flags.Define("topic-prefix", "", "prefix of every topic name (isolates environments)");
  flags.Define("data-dir", "", "RocksDB directory of the read model");
  flags.Define("block-cache-mb", "64", "RocksDB block cache");
  flags.Define("write-buffer-mb", "32", "RocksDB write buffer");
  if (auto s = flags.Parse(argc, argv); !s.ok() || flags.help()) {
    if (!s.ok()) std::cerr << s.message() << "\n";
    std::cerr << flags.Usage();
    return s.ok() ? 0 : 2;
  }
  long cache_mb = 0;
  long buffer_mb = 0;
  for (auto s : {flags.GetInt("block-cache-mb", 1, 65536, cache_mb),
                 flags.GetInt("write-buffer-mb", 1, 4096, buffer_mb)}) {
    if (!s.ok()) {
      std::cerr << s.message() << "\n";
      return 2;
    }
  }
  if (flags.Get("tokens").empty() || flags.Get("data-dir").empty()) {
    std::cerr << "--tokens and --data-dir are required\n";
    return 2;
  }
  auto auth = kam::server::Authenticator::FromFile(flags.Get("tokens"));
  if (!auth.ok()) {
    std::cerr << auth.status().message() << "\n";
    return 2;
  }
  kam::readmodel::StoreOptions store_options;
  store_options.block_cache_bytes = static_cast<std::size_t>(cache_mb) << 20;
  store_options.write_buffer_bytes = static_cast<std::size_t>(buffer_mb) << 20;
  auto store = kam::readmodel::Store::Open(flags.Get("data-dir"), store_options);
  if (!store.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", store.status().message()));
    return 1;
  }
  kam::eventlog::KafkaOptions kafka;
  kafka.brokers = flags.Get("brokers");
  const std::string topic = kam::eventlog::AggregateTopic(flags.Get("topic-prefix"), "programme");
  kam::projections::HistoryFold fold;
  kam::readmodel::RuntimeOptions runtime_options;
  runtime_options.topic = topic;
  kam::readmodel::ProjectionRuntime runtime(kafka, **store, fold, runtime_options);
  if (auto s = runtime.Start(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", s.ToString()));
    return 1;
  }
  kam::projections::HistoryService service(**store, runtime, **auth, topic);
  kam::server::ServerOptions server_options;
  server_options.listen = flags.Get("listen");
  kam::server::GrpcServer server(server_options);
  server.Add(&service);
  if (auto s = server.Start(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", s.message()));
    return 1;
  }
  kam::base::Log(kam::base::StrCat("serving HistoryQueryService on port ", server.port(), " from ",
                                   topic, " into ", flags.Get("data-dir")));
  kam::server::WaitForTerminationSignal();
  server.Shutdown();
  runtime.Stop();
  kam::base::Log("stopped");
  return 0;
}
