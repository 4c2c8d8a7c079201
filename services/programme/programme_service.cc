#include "services/programme/programme_service.h"

#include "domain/metrics.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/topics.h"
#include "server/roles.h"
#include "server/status.h"
#include "writer/kafka_event_log.h"

namespace kam::services {
namespace {

// The role sets of KAM_PROGRAMME_COMMANDS: a first, coarse gate on the token's platform
// roles. Roles: admin, champion, sponsor, kam (key account manager), publisher (enterprise
// system), board (read only: no command). What a principal may do in a programme is decided
// by its membership there (domain::Admissible: rules membership.*), not by these.
using namespace server::roles;  // NOLINT: the role names below read as the table they are
const std::set<std::string> kAdminOnly = {kAdmin};
const std::set<std::string> kGovernance = {kAdmin, kChampion};
// Approvals also reach sponsors: steering-board members are usually executives; the
// domain admits only the active champion or a registered steering-board member.
const std::set<std::string> kApprovers = {kAdmin, kChampion, kSponsor};
const std::set<std::string> kAccountTeam = {kAdmin, kChampion, kKam};
const std::set<std::string> kNominators = {kAdmin, kChampion, kKam, kSponsor};
// Publishers (an LMS, a CRM, ERP, HR) record the facts of their systems, and register
// people who cannot sign in (rule membership.publisher_gives_no_principal).
const std::set<std::string> kTrainingRecorders = {kAdmin, kChampion, kPublisher};
const std::set<std::string> kRegistrars = {kAdmin, kChampion, kSponsor, kPublisher};
const std::set<std::string> kVisitRecorders = {kAdmin, kChampion, kKam, kSponsor, kPublisher};
const std::set<std::string> kOutcomeRecorders = {kAdmin, kChampion, kKam, kPublisher};

}  // namespace

ProgrammeService::ProgrammeService(const ProgrammeServiceConfig& config,
                                   const server::Authenticator& auth)
    : auth_(auth),
      keys_(config.keys),
      topic_(eventlog::AggregateTopic(config.topic_prefix, domain::kProgrammeAggregateType)),
      metrics_topic_(eventlog::AggregateTopic(config.topic_prefix, domain::kMetricsAggregateType)),
      kafka_(config.kafka),
      keyring_(config.keyring),
      writer_(
          writer::KafkaEventLog(config.kafka, config.append_timeout),
          writer::WriterOptions{.topic = topic_,
                                .aggregate_type = std::string(domain::kProgrammeAggregateType),
                                .partitions = config.partitions,
                                .transactional_id = config.transactional_id,
                                .owned_partitions = config.owned_partitions,
                                .owned_by_group = config.writer_group.has_value(),
                                .group = config.group,
                                .signer = config.signer,
                                .keyring = config.keyring,
                                .checkpoint_topic = eventlog::CheckpointTopic(config.topic_prefix),
                                .checkpoint_interval = config.checkpoint_interval},
          &domain::Evolve, {}, &domain::EvolveUndoable) {
  if (keys_ == nullptr) {
    base::Log(
        "WARNING: no key store (--key-dir): personal data is written to the log as it "
        "comes and cannot be erased");
    return;
  }
  auto sealer = std::make_shared<personal::Sealer>(*keys_);
  auto revealer = std::make_shared<personal::Revealer>(*keys_);
  writer_.UsePersonalData(
      [sealer](const domain::ProgrammeState& state, v1::EventEnvelope& env) {
        personal::Whose whose;
        whose.person_of = [&state](std::string_view principal) {
          return state.PersonByPrincipal(std::string(principal)).value_or(std::string());
        };
        whose.author = whose.person_of(env.actor());
        return sealer->Seal(env, env.aggregate_id(), whose);
      },
      [revealer](v1::EventEnvelope& env) { revealer->Reveal(env); });
}

void ProgrammeService::AfterCommit(const v1::ErasePersonalDataRequest&,
                                   const domain::Events& events) {
  if (keys_ == nullptr) return;
  personal::Revealer revealer(*keys_);
  for (const v1::Event& event : events) {
    if (!event.has_personal_data_erased()) continue;
    const auto& e = event.personal_data_erased();
    if (auto s = revealer.Erase(e.programme_id(), e.person_id(), e.person_number()); !s.ok()) {
      // Recorded, not yet shredded: every reader of the event destroys the key (Reveal).
      base::Log(base::StrCat("ERROR: erasure of ", e.programme_id(), "/", e.person_id(),
                             " is recorded but its key is not destroyed yet: ", s.message()));
      continue;
    }
    base::Log(base::StrCat("personal data of ", e.programme_id(), "/", e.person_id(),
                           " erased: its key is destroyed (shown as ",
                           domain::ErasedPersonName(e.person_number()), "), approved by person '",
                           e.approved_by_person(), "'"));
  }
}

absl::StatusOr<std::unique_ptr<ProgrammeService>> ProgrammeService::Create(
    const ProgrammeServiceConfig& config, const server::Authenticator& auth) {
  std::unique_ptr<ProgrammeService> self(new ProgrammeService(config, auth));
  if (auto s = self->writer_.Start(); !s.ok()) return s;
  if (config.writer_group)
    KAM_RETURN_IF_ERROR(self->writer_.JoinGroup(config.kafka, *config.writer_group));
  return self;
}

template <typename Request>
grpc::Status ProgrammeService::Run(grpc::ServerContext* context, const std::set<std::string>& roles,
                                   const char* what, const Request& request,
                                   v1::CommandResult* out) {
  auto who = auth_.Authorize(*context, roles, what);
  if (!who.ok()) return server::ToGrpc(who.status());
  if (auto s = CheckOutsideState(request); !s.ok()) return server::ToGrpc(s);
  domain::Events decided;
  auto result = writer_.Execute(
      request.programme_id(), request.metadata(), who->name,
      [&](const domain::ProgrammeState& state, absl::Time now) {
        auto events =
            domain::Handle(state, request,
                           domain::CommandContext{
                               .actor = who->name, .now = now, .platform_admin = who->Has(kAdmin)});
        if (events.ok()) decided = *events;
        return events;
      },
      writer::RequestFingerprint(request, who->name));
  if (!result.ok()) return server::ToGrpc(result.status());
  if (!request.metadata().dry_run()) AfterCommit(request, decided);
  *out = *std::move(result);
  return grpc::Status::OK;
}

absl::Status ProgrammeService::CheckOutsideState(
    const v1::RequestQuarantineAcknowledgementRequest& r) const {
  const v1::LogPosition& at = r.record();
  const bool metrics = at.topic() == metrics_topic_;
  if (at.topic() != topic_ && !metrics) {
    return base::InvalidField("record.topic",
                              base::StrCat("must be ", topic_, " or ", metrics_topic_));
  }
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", r.programme_id()));
  if (at.partition() < 0 || at.offset() < 0) {
    return base::InvalidField("record", "partition and offset must be >= 0");
  }
  auto record = eventlog::ReadRecord(kafka_, at.topic(), at.partition(), at.offset(),
                                     std::chrono::seconds(10));
  if (absl::IsNotFound(record.status())) {
    return base::InvalidField("record", std::string(record.status().message()));
  }
  if (!record.ok()) return record.status();
  const std::string problem = eventlog::AuthenticityProblem(
      eventlog::Open(record->value, keyring_.get()), record->key,
      metrics ? domain::kMetricsAggregateType : domain::kProgrammeAggregateType);
  return domain::CheckQuarantined(r.programme_id(),
                                  domain::RecordPlace(at.topic(), at.partition(), at.offset()),
                                  record->key, problem);
}

#define KAM_DEFINE_RPC(Name, Roles)                                                  \
  grpc::Status ProgrammeService::Name(grpc::ServerContext* context,                  \
                                      const v1::Name##Request* request,              \
                                      v1::Name##Response* response) {                \
    return Run(context, Roles, "call " #Name, *request, response->mutable_result()); \
  }
KAM_PROGRAMME_COMMANDS(KAM_DEFINE_RPC)
#undef KAM_DEFINE_RPC

}  // namespace kam::services
