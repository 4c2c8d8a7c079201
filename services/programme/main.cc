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
  kam::server::DefineWriterFlags(flags, "kam.programme-writer");
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  auto writer = kam::server::ParseWriterFlags(flags);
  if (!writer.ok()) return kam::server::ExitCode(writer.status());
  kam::services::ProgrammeServiceConfig config;
  config.kafka.brokers = common->brokers;
  config.topic_prefix = common->topic_prefix;
  config.partitions = writer->partitions;
  config.transactional_id = writer->transactional_id;
  config.append_timeout = writer->append_timeout;
  config.group = {writer->group_max_commands, writer->group_max_bytes, writer->group_linger,
                  writer->transaction_gap};
  config.owned_partitions = writer->owned_partitions;

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
