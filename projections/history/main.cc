// kam-history-projection: folds the programme topic into RocksDB and serves history.
#include <atomic>
#include <filesystem>
#include <thread>

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
  flags.Define("rebuild", "false",
               "true: delete the read model and rebuild it from offset zero (progress is logged)");
  flags.Define("exit-when-caught-up", "false",
               "true: fold until the read model has reached the end of the log, then exit");
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
  for (const char* name : {"rebuild", "exit-when-caught-up"}) {
    if (flags.Get(name) != "true" && flags.Get(name) != "false") {
      return kam::server::ExitCode(
          absl::InvalidArgumentError(kam::base::StrCat("--", name, " must be true or false")));
    }
  }
  if (flags.Get("rebuild") == "true") {
    std::error_code ec;
    std::filesystem::remove_all(flags.Get("data-dir"), ec);
    if (ec) {
      kam::base::Log(
          kam::base::StrCat("cannot delete ", flags.Get("data-dir"), ": ", ec.message()));
      return 1;
    }
    kam::base::Log(kam::base::StrCat("rebuilding ", flags.Get("data-dir"), " from offset zero"));
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
  // The same store also folds the account metrics (economics), by a runtime of its own.
  const std::string metrics_topic =
      kam::eventlog::AggregateTopic(common->topic_prefix, "account-metrics");
  kam::readmodel::RuntimeOptions metrics_options;
  metrics_options.topic = metrics_topic;
  kam::readmodel::ProjectionRuntime metrics_runtime(kafka, **store, fold, metrics_options);
  for (auto* r : {&runtime, &metrics_runtime}) {
    if (auto s = r->Start(); !s.ok()) {
      kam::base::Log(kam::base::StrCat("cannot start: ", s.ToString()));
      return 1;
    }
  }
  // Logs progress every two seconds until the read model reaches the end of the log (a
  // rebuild, or a catch-up after downtime). Returns false if the projection failed.
  std::atomic<bool> stopping{false};
  auto report = [&runtime, &metrics_runtime, &stopping] {
    const auto started = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    // Each wait blocks up to two seconds: the loop never spins, whichever topic lags.
    while (!stopping && !(runtime.WaitCaughtUp(std::chrono::seconds(2)).ok() &&
                          metrics_runtime.WaitCaughtUp(std::chrono::seconds(2)).ok())) {
      auto p = runtime.progress();
      const auto m = metrics_runtime.progress();
      if (p.error.ok()) p.error = m.error;
      p.records_applied += m.records_applied;
      p.lag += m.lag;
      if (!p.error.ok()) {
        kam::base::Log(kam::base::StrCat("projection stopped: ", p.error.message()));
        return false;
      }
      kam::base::Log(kam::base::StrCat(
          "catching up: ", p.records_applied, " records applied (",
          static_cast<int64_t>(static_cast<double>(p.records_applied) / seconds()), "/s), lag ",
          p.lag));
    }
    kam::base::Log(kam::base::StrCat(
        "caught up: ",
        runtime.progress().records_applied + metrics_runtime.progress().records_applied,
        " records applied in ", seconds(), " s"));
    return true;
  };
  if (flags.Get("exit-when-caught-up") == "true") {
    const bool ok = report();
    runtime.Stop();
    metrics_runtime.Stop();
    return ok ? 0 : 1;
  }
  std::thread reporter([&] { report(); });
  kam::projections::HistoryService service(**store, runtime, *common->auth, topic);
  kam::projections::GovernanceService governance(**store, runtime, *common->auth, topic,
                                                 &metrics_runtime, metrics_topic);
  return kam::server::Serve(
      common->server, {&service, &governance},
      kam::base::StrCat("serving HistoryQueryService and GovernanceQueryService from ", topic,
                        " into ", flags.Get("data-dir")),
      [&] {
        stopping = true;
        reporter.join();
        runtime.Stop();
        metrics_runtime.Stop();
      });
}
