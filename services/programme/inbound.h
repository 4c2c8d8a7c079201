// The programme service's inbound topics (proto/kam/v1/inbound.proto, docs/topics.md):
// trainings from an LMS, people from HR, sponsor visits from a calendar or CRM, commitment
// outcomes from operations. Each topic is read by a writer::InboundIngester (exactly once,
// dead letters with their reason) in the consumer group "kam.programme-ingester".
//
// Publishers: with `publishers` (the keyring of --inbound-keyring) a record is decided
// only if a key of that keyring signed it (eventlog/inbound_signature), as
// "publisher:<key id>"; an unsigned record, one signed by another key, one whose signature
// does not verify and one whose publisher field names another publisher are dead-lettered
// with that reason. Without it (development) the publisher is the record's own field,
// unauthenticated; Start() says so in the log.
//
//   kam::services::ProgrammeIngesters in(kafka, service, {.topic_prefix = ""});
//   KAM_RETURN_IF_ERROR(in.Start());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "eventlog/signing.h"
#include "services/programme/programme_service.h"
#include "writer/inbound_ingester.h"

namespace kam::services {

struct ProgrammeIngesterOptions {
  std::string topic_prefix;
  std::string group_id = "kam.programme-ingester";
  std::size_t max_batch = 500;
  std::chrono::milliseconds retry_backoff{500};
  // The publishers' public keys; null: publishers are unauthenticated (development).
  std::shared_ptr<const eventlog::Keyring> publishers;
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
  bool authenticated_ = false;
};

}  // namespace kam::services
