// kam-history-projection: folds the programme topic into RocksDB and serves history.
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/kafka.h"
#include "projections/governance/governance_service.h"
#include "projections/history/history_fold.h"
#include "projections/history/history_service.h"
#include "server/process.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-history-projection",
                           "the history read model (RocksDB) and its gRPC queries");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50061");
  flags.Define("data-dir", "", "RocksDB directory of the read model (required)");
  flags.Define("block-cache-mb", "64", "RocksDB block cache");
  flags.Define("write-buffer-mb", "32", "RocksDB write buffer");
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  long cache_mb = 0;
  long buffer_mb = 0;
  for (auto s : {flags.GetInt("block-cache-mb", 1, 65536, cache_mb),
                 flags.GetInt("write-buffer-mb", 1, 4096, buffer_mb)}) {
    if (!s.ok()) return kam::server::ExitCode(s);
  }
  if (flags.Get("data-dir").empty()) {
    return kam::server::ExitCode(absl::InvalidArgumentError("--data-dir is required"));
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
  kafka.brokers = common->brokers;
  const std::string topic = kam::eventlog::AggregateTopic(common->topic_prefix, "programme");
  kam::projections::HistoryFold fold;
  kam::readmodel::RuntimeOptions runtime_options;
  runtime_options.topic = topic;
  kam::readmodel::ProjectionRuntime runtime(kafka, **store, fold, runtime_options);
  if (auto s = runtime.Start(); !s.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", s.ToString()));
    return 1;
  }
  kam::projections::HistoryService service(**store, runtime, *common->auth, topic);
  kam::projections::GovernanceService governance(**store, runtime, *common->auth, topic);
  return kam::server::Serve(
      common->server, {&service, &governance},
      kam::base::StrCat("serving HistoryQueryService and GovernanceQueryService from ", topic,
                        " into ", flags.Get("data-dir")),
      [&] { runtime.Stop(); });
}
