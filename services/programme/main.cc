// kam-programme-service: the write side for programmes and their portfolios.
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/signing.h"
#include "server/process.h"
#include "server/writer_config.h"
#include "services/programme/inbound.h"
#include "services/programme/programme_service.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::Flags flags("kam-programme-service",
                           "gRPC commands on KAM programmes and their portfolios");
  kam::server::DefineCommonFlags(flags, "127.0.0.1:50051", "127.0.0.1:9464");
  constexpr char kTransactionalId[] = "kam.programme-writer";
  kam::server::DefineWriterFlags(flags, kTransactionalId);
  kam::server::DefineInboundFlags(flags, "trainings, people, visits and commitments topics");
  auto common = kam::server::ParseCommonFlags(flags, argc, argv);
  if (!common.ok()) return kam::server::ExitCode(common.status());
  auto writer = kam::server::ParseWriterFlags(flags, kTransactionalId);
  if (!writer.ok()) return kam::server::ExitCode(writer.status());
  auto inbound = kam::server::ParseInboundFlags(flags);
  if (!inbound.ok()) return kam::server::ExitCode(inbound.status());
  kam::services::ProgrammeServiceConfig config;
  if (auto s = kam::server::ConfigureWriter(config, *common, *writer); !s.ok()) {
    return kam::server::ExitCode(s);
  }

  kam::base::Log(kam::base::StrCat("rebuilding programmes from ", config.kafka.brokers));
  auto service = kam::services::ProgrammeService::Create(config, *common->auth);
  if (!service.ok()) {
    kam::base::Log(kam::base::StrCat("cannot start: ", service.status().ToString()));
    return 1;
  }
  std::unique_ptr<kam::services::ProgrammeIngesters> ingesters;
  if (inbound->enabled) {
    ingesters = std::make_unique<kam::services::ProgrammeIngesters>(
        config.kafka, **service,
        kam::services::ProgrammeIngesterOptions{.topic_prefix = config.topic_prefix,
                                                .publishers = inbound->publishers});
    if (auto s = ingesters->Start(); !s.ok()) {
      kam::base::Log(kam::base::StrCat("cannot start the inbound ingesters: ", s.ToString()));
      return 1;
    }
  }
  return kam::server::Serve(
      common->server, {service->get()},
      kam::base::StrCat("serving ProgrammeCommandService (topic ", (*service)->topic(),
                        ingesters ? ", 4 inbound topics" : "", ")"),
      [&] {
        if (ingesters) ingesters->Stop();
      });
}
