// The programme command service: gRPC handlers that authenticate, authorise by role, call
// the pure domain through the programme aggregate's single writer, and map the outcome.
//
//   auto svc = kam::services::ProgrammeService::Create(config, auth);   // rebuilds from the log
//   server.Add(svc->get());
//
// Which roles may call which RPC is kProgrammeCommands below; the domain then checks the
// rules (e.g. that an approver is the champion or a steering-board member).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "domain/programme.h"
#include "eventlog/kafka.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "personal/seal.h"
#include "server/auth.h"
#include "writer/aggregate_writer.h"

namespace kam::services {

// Every RPC of ProgrammeCommandService with the token roles allowed to call it (a coarse
// gate: membership in the programme decides the rest, see domain::Admissible).
#define KAM_PROGRAMME_COMMANDS(X)                 \
  X(CharterProgramme, kAdminOnly)                 \
  X(ChangeProgrammeParameters, kApprovers)        \
  X(RegisterPerson, kRegistrars)                  \
  X(ChangeMembership, kApprovers)                 \
  X(ErasePersonalData, kApprovers)                \
  X(AppointChampion, kApprovers)                  \
  X(StandDownChampion, kApprovers)                \
  X(PublishSelectionCriteria, kApprovers)         \
  X(NominateAccount, kNominators)                 \
  X(AssessAccount, kAccountTeam)                  \
  X(AdmitAccount, kApprovers)                     \
  X(IncubateAccount, kApprovers)                  \
  X(RejectNomination, kApprovers)                 \
  X(ReviewAccount, kNominators)                   \
  X(RetireAccount, kApprovers)                    \
  X(SetAccountObjectives, kAccountTeam)           \
  X(AssignSponsor, kGovernance)                   \
  X(ReleaseSponsor, kGovernance)                  \
  X(LogSponsorVisit, kVisitRecorders)             \
  X(AssessCompetency, kGovernance)                \
  X(RecordManagerTraining, kTrainingRecorders)    \
  X(RecordStaffTraining, kTrainingRecorders)      \
  X(AssignManager, kGovernance)                   \
  X(ReleaseManager, kGovernance)                  \
  X(AssignTeamMember, kAccountTeam)               \
  X(ReleaseTeamMember, kAccountTeam)              \
  X(MakeCommitment, kAccountTeam)                 \
  X(FulfilCommitment, kOutcomeRecorders)          \
  X(BreachCommitment, kOutcomeRecorders)          \
  X(ReviewProgramme, kGovernance)                 \
  X(RecordBenchmark, kGovernance)                 \
  X(AdoptBestPractice, kGovernance)               \
  X(RetractRecord, kGovernance)                   \
  X(RequestQuarantineAcknowledgement, kAdminOnly) \
  X(ApproveQuarantineAcknowledgement, kApprovers)

struct ProgrammeServiceConfig {
  eventlog::KafkaOptions kafka;
  std::string topic_prefix;
  int partitions = 3;
  // Base of the per-partition transactional ids; an instance claiming a partition fences
  // any other instance that held it.
  std::string transactional_id = "kam.programme-writer";
  // The partitions of the programme topic this instance owns; empty: all.
  std::vector<int32_t> owned_partitions;
  // With a value: the partitions are shared among the live instances through this Kafka
  // consumer group instead (owned_partitions must be empty; eventlog/ownership.h).
  std::optional<eventlog::OwnershipOptions> writer_group;
  std::chrono::milliseconds append_timeout{10000};
  writer::GroupOptions group;
  // Event signatures (writer::WriterOptions): the signing key and the keyring.
  std::shared_ptr<const eventlog::Signer> signer;
  std::shared_ptr<const eventlog::Keyring> keyring;
  // Between the writer's signed checkpoints of its chain tips (0: only at shutdown).
  std::chrono::milliseconds checkpoint_interval{60000};
  // Where the persons' data keys live (personal/keys.h): every personal field is sealed
  // with one. Null: personal data is written as it comes (a warning says so at start).
  std::shared_ptr<personal::KeyStore> keys;
};

class ProgrammeService final : public v1::ProgrammeCommandService::Service {
 public:
  // Takes over the writer's transactional.id and rebuilds the aggregates from the log.
  static absl::StatusOr<std::unique_ptr<ProgrammeService>> Create(
      const ProgrammeServiceConfig& config, const server::Authenticator& auth);

#define KAM_DECLARE_RPC(Name, Roles)                                                \
  grpc::Status Name(grpc::ServerContext* context, const v1::Name##Request* request, \
                    v1::Name##Response* response) override;
  KAM_PROGRAMME_COMMANDS(KAM_DECLARE_RPC)
#undef KAM_DECLARE_RPC

  const std::string& topic() const { return topic_; }
  const writer::AggregateWriter<domain::ProgrammeState>& writer() const { return writer_; }
  writer::AggregateWriter<domain::ProgrammeState>& writer() { return writer_; }

 private:
  ProgrammeService(const ProgrammeServiceConfig& config, const server::Authenticator& auth);

  // What a command needs checked outside the programme's state before it is decided (most
  // need nothing): a quarantine acknowledgement reads the record it names from the log.
  template <typename Request>
  absl::Status CheckOutsideState(const Request&) const {
    return absl::OkStatus();
  }
  absl::Status CheckOutsideState(const v1::RequestQuarantineAcknowledgementRequest& r) const;

  // Authenticates, authorises (one of `roles`) and executes `request` on its programme.
  template <typename Request>
  grpc::Status Run(grpc::ServerContext* context, const std::set<std::string>& roles,
                   const char* what, const Request& request, v1::CommandResult* out);

  // After a command's events were committed: an erasure destroys the person's key.
  template <typename Request>
  void AfterCommit(const Request&, const domain::Events&) {}
  void AfterCommit(const v1::ErasePersonalDataRequest&, const domain::Events& events);

  const server::Authenticator& auth_;
  std::shared_ptr<personal::KeyStore> keys_;
  std::string topic_;
  std::string metrics_topic_;
  eventlog::KafkaOptions kafka_;
  std::shared_ptr<const eventlog::Keyring> keyring_;
  writer::AggregateWriter<domain::ProgrammeState> writer_;
};

}  // namespace kam::services
