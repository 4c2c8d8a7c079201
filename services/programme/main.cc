// kam-programme-service: the write side for programmes and their portfolios.
#include "base/log.h"
#include "base/strings.h"
#include "server/process.h"
#include "services/programme/programme_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-programme-service",
                           "gRPC commands on KAM programmes and their portfolios");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50051");
  flags.Define("partitions", "3", "partitions of a topic this service creates");
  flags.Define("transactional-id", "kam.programme-writer",
               "base of the per-partition Kafka transactional ids of this writer");
  flags.Define("owned-partitions", "",
               "comma-separated partitions of the programme topic this instance writes "
               "(default: all); another instance claiming one fences this one for it");
  flags.Define("append-timeout-ms", "10000", "how long a command waits for Kafka");
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
  kam::services::ProgrammeServiceConfig config;
  config.kafka.brokers = common->brokers;
  config.topic_prefix = common->topic_prefix;
  config.partitions = static_cast<int>(partitions);
  config.transactional_id = flags.Get("transactional-id");
  config.append_timeout = std::chrono::milliseconds(timeout_ms);
  config.owned_partitions.assign(owned.begin(), owned.end());

  kam::base::Log(kam::base::StrCat("rebuilding programmes from ", config.kafka.brokers));
  auto service = kam::services::ProgrammeService::Create(config, *common->auth);
  if (!service.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", service.status().ToString()));
    return 1;
  }
  return kam::server::Serve(
      common->server, {service->get()},
      kam::base::StrCat("serving ProgrammeCommandService (topic ", (*service)->topic(), ")"));
}
