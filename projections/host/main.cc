// kam-history-projection: the read side - folds the programme and account-metrics topics
// into RocksDB and serves HistoryQueryService and GovernanceQueryService. With
// --store-checkpoint-dir it copies its live store there on SIGUSR1 (and every
// --store-checkpoint-every-s): a new replica starts with --data-dir on such a copy.
#include <atomic>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "eventlog/signing.h"
#include "projections/host/read_side.h"
#include "projections/host/store_checkpoints.h"
#include "server/process.h"
#include "server/writer_config.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::projections::BlockCheckpointSignal();
  kam::server::Flags flags("kam-history-projection",
                           "the history read model (RocksDB) and its gRPC queries");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50061", "127.0.0.1:9466");
  flags.Define("data-dir", "", "RocksDB directory of the read model (required)");
  flags.Define("block-cache-mb", "64", "RocksDB block cache");
  flags.Define("write-buffer-mb", "32", "RocksDB write buffer");
  flags.Define("rebuild", "false",
               "true: delete the read model and rebuild it from offset zero (progress is logged)");
  flags.Define("exit-when-caught-up", "false",
               "true: fold until the read model has reached the end of the log, then exit");
  flags.Define("store-checkpoint-dir", "",
               "where SIGUSR1 makes a consistent copy of the live store, DIR/<UTC time> with "
               "DIR/latest pointing at the newest, to start a replica from (--data-dir) or back "
               "up; best on the --data-dir filesystem (hard links, not copies)");
  flags.Define("store-checkpoint-every-s", "0",
               "with --store-checkpoint-dir: also make one this often (0: on SIGUSR1 only)");
  flags.Define("store-checkpoint-keep", "2",
               "with --store-checkpoint-dir: the newest checkpoints kept, older ones deleted");
  kam::server::DefineStreamLimitFlags(flags);
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  auto stream_limits = kam::server::StreamLimitsFromFlags(flags);
  if (!stream_limits.ok()) return kam::server::ExitCode(stream_limits.status());
  long cache_mb = 0;
  long buffer_mb = 0;
  long checkpoint_every_s = 0;
  long checkpoint_keep = 0;
  for (auto s : {flags.GetInt("block-cache-mb", 1, 65536, cache_mb),
                 flags.GetInt("write-buffer-mb", 1, 4096, buffer_mb),
                 flags.GetInt("store-checkpoint-every-s", 0, 365L * 24 * 3600, checkpoint_every_s),
                 flags.GetInt("store-checkpoint-keep", 1, 1000, checkpoint_keep)}) {
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
  kam::projections::ReadSideConfig config;
  config.kafka = kam::server::KafkaOptionsOf(*common);
  auto integrity = kam::eventlog::LoadIntegrity("", common->keyring_file);
  if (!integrity.ok()) {
    return kam::server::ExitCode(absl::InvalidArgumentError(integrity.status().message()));
  }
  config.keyring = integrity->keyring;
  if (!common->key_dir.empty()) {
    auto keys = kam::personal::OpenFileKeyStore(common->key_dir);
    if (!keys.ok()) {
      return kam::server::ExitCode(
          absl::InvalidArgumentError(kam::base::StrCat("--key-dir: ", keys.status().message())));
    }
    config.keys = std::shared_ptr<kam::personal::KeyStore>(*std::move(keys));
  } else {
    kam::base::Log(
        "no key store (--key-dir): sealed personal fields are shown as the log holds "
        "them");
  }
  config.topic_prefix = common->topic_prefix;
  config.data_dir = flags.Get("data-dir");
  config.store.block_cache_bytes = static_cast<std::size_t>(cache_mb) << 20;
  config.store.write_buffer_bytes = static_cast<std::size_t>(buffer_mb) << 20;
  config.rebuild = flags.Get("rebuild") == "true";
  config.stream_limits = *stream_limits;
  if (config.rebuild) {
    kam::base::Log(kam::base::StrCat("rebuilding ", config.data_dir, " from offset zero"));
  }
  auto read = kam::projections::ReadSide::Create(config, *common->auth);
  if (!read.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", read.status().ToString()));
    return 1;
  }
  std::atomic<bool> stopping{false};
  if (flags.Get("exit-when-caught-up") == "true") {
    const bool ok = (*read)->LogProgressUntilCaughtUp(stopping);
    (*read)->Stop();
    return ok ? 0 : 1;
  }
  std::thread reporter([&] { (*read)->LogProgressUntilCaughtUp(stopping); });
  kam::projections::StoreCheckpoints checkpoints(
      **read, {.dir = flags.Get("store-checkpoint-dir"),
               .keep = static_cast<int>(checkpoint_keep),
               .every = std::chrono::seconds(checkpoint_every_s)});
  std::thread checkpointer([&] { checkpoints.Run(stopping); });
  const int rc = kam::server::Serve(
      common->server, (*read)->services(),
      kam::base::StrCat("serving HistoryQueryService and GovernanceQueryService from ",
                        (*read)->index().programme_topic(), " and ",
                        (*read)->index().metrics_topic(), " into ", config.data_dir),
      [&] {
        stopping = true;
        reporter.join();
        checkpointer.join();
        (*read)->Stop();
      });
  // Serve returns without on_stop when it cannot start: the threads still end first.
  stopping = true;
  for (std::thread* t : {&reporter, &checkpointer}) {
    if (t->joinable()) t->join();
  }
  return rc;
}
