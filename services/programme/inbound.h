// The programme service's inbound topics (proto/kam/v1/inbound.proto, docs/topics.md):
// trainings from an LMS, people from HR, sponsor visits from a calendar or CRM, commitment
// outcomes from operations. Each topic is read by a writer::InboundIngester (exactly once,
// dead letters with their reason) in the consumer group "kam.programme-ingester".
//
//   kam::services::ProgrammeIngesters in(kafka, service, {.topic_prefix = ""});
//   KAM_RETURN_IF_ERROR(in.Start());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/programme/programme_service.h"
#include "writer/inbound_ingester.h"

namespace kam::services {

struct ProgrammeIngesterOptions {
  std::string topic_prefix;
  std::string group_id = "kam.programme-ingester";
  std::size_t max_batch = 500;
  std::chrono::milliseconds retry_backoff{500};
};

class ProgrammeIngesters {
 public:
  using Ingester = writer::InboundIngester<domain::ProgrammeState>;
  ProgrammeIngesters(eventlog::KafkaOptions kafka, ProgrammeService& service,
                     ProgrammeIngesterOptions options);

  // Creates the topics (inbound and dead-letter) if needed and starts every ingester.
  absl::Status Start();
  void Stop();
  // Summed over the topics.
  Ingester::Stats stats() const;
  std::vector<std::string> topics() const;

 private:
  std::vector<std::unique_ptr<Ingester>> ingesters_;
};

}  // namespace kam::services
