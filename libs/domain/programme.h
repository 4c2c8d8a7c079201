// The programme aggregate: one KAM programme, its people, its selection criteria and its
// portfolio of accounts - everything whose rules must hold together, so that one writer
// checks them atomically.
//
//   kam::domain::ProgrammeState state;
//   for (const auto& envelope : history) kam::domain::Evolve(state, envelope);
//   kam::domain::CommandContext ctx{.actor = "ana@supplier.example", .now = absl::Now()};
//   absl::StatusOr<kam::domain::Events> out = kam::domain::Decide(state, request, ctx);
//   std::vector<kam::domain::Flag> flags = kam::domain::ComputeFlags(state, today);
//
// Decide and Evolve are pure: no I/O, no clock (the caller passes the time), no
// randomness. Decide validates the request's fields (INVALID_ARGUMENT naming the field)
// and the rules (FAILED_PRECONDITION / ALREADY_EXISTS naming the rule, see rules.h).
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "kam/v1/envelope.pb.h"
#include "kam/v1/events.pb.h"
#include "kam/v1/programme_service.pb.h"

namespace kam::domain {

inline constexpr std::string_view kProgrammeAggregateType = "programme";
inline constexpr uint32_t kDefaultMinKeyAccounts = 5;
inline constexpr uint32_t kDefaultMaxKeyAccounts = 25;
inline constexpr uint32_t kKeyAccountCeiling = 100;

using Events = std::vector<v1::Event>;

// The parameters a charter gets when it leaves them zero.
v1::ProgrammeParameters DefaultParameters();

enum class AccountStage { kNominated, kIncubating, kAdmitted, kRejected, kRetired };
std::string_view StageName(AccountStage stage);

struct Assessment {
  std::string event_id;
  uint32_t criteria_version = 0;
  double weighted_score = 0;
};

struct AccountState {
  std::string name;
  std::string nominated_by;         // principal
  std::string nominated_by_person;  // person id (empty for nominations before membership)
  AccountStage stage = AccountStage::kNominated;
  std::optional<Assessment> assessment;  // the latest
  std::optional<absl::CivilDay> admitted_on;
  std::optional<absl::CivilDay> incubated_on;
  std::optional<absl::CivilDay> incubation_review_by;
  std::optional<absl::CivilDay> retired_on;
  bool admitted_as_exception = false;
  bool retired_within_min_tenure = false;
  std::string sponsor;  // person id; empty: none
  absl::CivilDay sponsor_since;
  std::string manager;  // person id; empty: none
  std::vector<v1::TrainingPlanItem> training_plan;
  std::set<std::string> team;  // person ids
  std::optional<absl::CivilDay> last_review;
  std::vector<v1::MetricKind> last_review_metrics;
  std::vector<v1::MetricKind> objective_metrics;

  bool active() const {
    return stage == AccountStage::kAdmitted || stage == AccountStage::kIncubating;
  }
};

struct Person {
  std::string name;
  std::string principal;
  std::vector<std::string> other_principals;
  std::set<v1::PersonFunction> functions;
  bool senior = false;
  bool reports_to_top_management = false;
  bool board_level = false;
  bool ended = false;  // the membership ended: the person no longer acts or reads
  // The person's number in the programme (1 for the first registered): an erased person
  // is shown as ErasedPersonName(number).
  uint32_t number = 0;
  // Their personal data was erased (PersonalDataErased): name and principals are gone.
  bool erased = false;
  bool Has(v1::PersonFunction f) const { return functions.contains(f); }
  bool Authenticates(std::string_view p) const;  // principal or one of other_principals
  // Whether the membership allows commands: a function other than board observer or
  // publisher.
  bool Commands() const;
};

// What every reader shows where an erased person's personal data was: "erased person #7".
std::string ErasedPersonName(uint32_t number);

// A logged fact that can be retracted: a sponsor visit, a competency assessment, a
// manager or staff training, or a benchmark. Keyed by the event id that logged it.
struct LoggedRecord {
  v1::Event::KindCase kind = v1::Event::KIND_NOT_SET;
  std::string person_id;
  std::string account_id;
  v1::Skill skill = v1::SKILL_UNSPECIFIED;
  bool competent = false;
  absl::CivilDay date;
  std::string benchmark_id;
  uint64_t version = 0;  // the aggregate version that logged it: orders the records
  bool retracted = false;
};

// The acknowledgement of a quarantined record (rules quarantine.*): requested by a platform
// admin, then approved by a second person.
struct QuarantineAck {
  std::string reason;
  std::string requested_by;  // principal
  std::string approved_by;   // principal; empty while pending
};

// The key of a record's place in the log: "<topic>/<partition>@<offset>", as VerifyHistory,
// the writer's log and kamctl audit name quarantined records.
std::string RecordPlace(std::string_view topic, int64_t partition, int64_t offset);

struct Commitment {
  std::string account_id;
  std::string owner_person_id;
  absl::CivilDay due_by;
  enum class Status { kOpen, kFulfilled, kBreached } status = Status::kOpen;
};

struct Criteria {
  uint32_t version = 0;
  std::vector<v1::SelectionCriterion> criteria;
  double threshold = 0;
};

struct ProgrammeState {
  bool chartered = false;
  std::string programme_id;
  std::string name;
  absl::CivilDay chartered_on;
  absl::Time chartered_at = absl::InfinitePast();  // business time of the charter
  std::string time_zone_name = "UTC";              // the programme's days are days of this zone
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // The programme's business time: the latest business time of its events so far. A late
  // entry (occurred_at before it, see CommandMetadata.late_reason) takes effect at this
  // time; every rule clock reads it.
  absl::Time business_time = absl::InfinitePast();
  uint32_t min_key_accounts = 0;
  uint32_t max_key_accounts = 0;
  v1::ProgrammeParameters parameters;
  std::set<std::string> champions;  // active champions' person ids
  // A champion was ever appointed: from then on only the programme's own approvers grant
  // memberships, never the platform admin (even if every champion has stood down).
  bool had_champion = false;
  std::optional<Criteria> criteria;
  std::map<std::string, AccountState> accounts;  // by account id
  std::map<std::string, Person> people;          // by person id
  std::map<std::string, LoggedRecord> records;   // by event id
  // The logged records by what they are about (RecordIndexKey), so the derived views below
  // read only the records of one person, skill or account: derived from `records`, kept
  // by Evolve and its undo.
  std::map<std::string, std::set<std::string>> record_index;
  std::map<std::string, Commitment> commitments;  // by commitment id
  std::set<std::string> benchmarks;               // benchmark ids ever recorded
  std::set<std::string> practices;                // adopted best-practice ids
  std::optional<absl::CivilDay> last_programme_review;
  std::map<std::string, QuarantineAck> quarantine_acks;  // by RecordPlace

  // Derived views.
  // The programme's calendar day at `t` (in its time zone).
  absl::CivilDay Day(absl::Time t) const { return absl::ToCivilDay(t, time_zone); }
  uint32_t AdmittedCount() const;
  uint32_t SponsorLoad(const std::string& person_id) const;  // active accounts sponsored
  // The person who authenticates as `principal` (by their principal or another of theirs).
  std::optional<std::string> PersonByPrincipal(const std::string& principal) const;
  // Whether `principal` may read the programme: a registered person of it, of any function.
  bool IsMember(const std::string& principal) const {
    return PersonByPrincipal(principal).has_value();
  }
  // Whether `person_id` has a non-retracted training or a latest competent assessment in `skill`.
  bool HasSkill(const std::string& person_id, v1::Skill skill) const;
  bool StaffTrained(const std::string& person_id) const;
  std::optional<absl::CivilDay> LastVisit(const std::string& account_id,
                                          const std::string& person_id) const;
  std::optional<absl::CivilDay> LastBenchmark() const;

  // The key under which `record` is indexed ("visit", "skill", "staff" or "benchmark" and
  // what it is about).
  static std::string RecordIndexKey(const LoggedRecord& record);
};

// Who asks and when. `actor` is the authenticated principal, never a field the caller
// fills in; `now` is the command's business time (its occurred_at).
struct CommandContext {
  std::string actor;
  absl::Time now;
  // The actor holds the platform's admin role (operates the platform; member of no
  // programme): it charters programmes, registers the members and the first champion of a
  // programme until that champion is appointed, and requests quarantine acknowledgements.
  bool platform_admin = false;
  // The programme's calendar day at `now` (Handle fills it in from the programme's time
  // zone); when unset, the UTC day.
  std::optional<absl::CivilDay> today;
  absl::CivilDay Today() const {
    return today ? *today : absl::ToCivilDay(now, absl::UTCTimeZone());
  }
};

// What must hold before a command is decided, whatever the command (rules membership.* and
// time.*): the actor acts in the programme through a registered person whose functions
// allow `command` (the request message's name, e.g. "NominateAccountRequest"), and the
// business time `ctx.now` is not before the charter nor, unless `metadata.late_reason`
// explains it, before the programme's business time. `gives_principal`: the command gives
// someone a principal (a RegisterPerson with principals), which a publisher may not.
absl::Status Admissible(const ProgrammeState& state, std::string_view command,
                        const v1::CommandMetadata& metadata, const CommandContext& ctx,
                        bool gives_principal = false);

// Whether the actor may record facts of its systems in the programme - account metrics
// (`command`, the request message's name, names it in the refusal): a commanding member or a
// publisher of the chartered programme (rules membership.*). INVALID_ARGUMENT naming `field` when
// `programme_id` is not chartered (`state` is then empty).
absl::Status MayRecord(const ProgrammeState& state, std::string_view field,
                       std::string_view programme_id, std::string_view command,
                       const CommandContext& ctx);

absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::CharterProgrammeRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ChangeProgrammeParametersRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RegisterPersonRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ChangeMembershipRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ErasePersonalDataRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AppointChampionRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::StandDownChampionRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::PublishSelectionCriteriaRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::NominateAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AssessAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AdmitAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::IncubateAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RejectNominationRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ReviewAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RetireAccountRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::SetAccountObjectivesRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AssignSponsorRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ReleaseSponsorRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::LogSponsorVisitRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AssessCompetencyRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RecordManagerTrainingRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RecordStaffTrainingRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AssignManagerRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ReleaseManagerRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AssignTeamMemberRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ReleaseTeamMemberRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::MakeCommitmentRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::FulfilCommitmentRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::BreachCommitmentRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::ReviewProgrammeRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RecordBenchmarkRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::AdoptBestPracticeRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&, const v1::RetractRecordRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&,
                              const v1::RequestQuarantineAcknowledgementRequest&,
                              const CommandContext&);
absl::StatusOr<Events> Decide(const ProgrammeState&,
                              const v1::ApproveQuarantineAcknowledgementRequest&,
                              const CommandContext&);

// Whether the record found at a requested place may be acknowledged in `programme_id`: it is
// kept under `key` (the programme id, or "<programme_id>:<account>" on the metrics topic)
// and is not an authentic event (`problem`, eventlog::AuthenticityProblem, is not empty).
// The service reads the record; the rule is here. FAILED_PRECONDITION rule
// quarantine.must_be_quarantined otherwise.
absl::Status CheckQuarantined(std::string_view programme_id, std::string_view place,
                              std::string_view key, std::string_view problem);

// Admissible, then Decide: the whole write-side decision of one programme command.
inline bool GivesPrincipal(const v1::RegisterPersonRequest& r) {
  return !r.principal().empty() || !r.other_principals().empty();
}
template <typename Request>
bool GivesPrincipal(const Request& /*request*/) {
  return false;
}

template <typename Request>
absl::StatusOr<Events> Handle(const ProgrammeState& state, const Request& request,
                              const CommandContext& ctx) {
  if (auto s = Admissible(state, Request::descriptor()->name(), request.metadata(), ctx,
                          GivesPrincipal(request));
      !s.ok())
    return s;
  // A late entry is decided, like it takes effect, at the programme's business time.
  CommandContext at = ctx;
  if (state.business_time > at.now) at.now = state.business_time;
  at.today = state.Day(at.now);
  return Decide(state, request, at);
}

// Folds one event of this programme into the state. The envelope supplies the event id
// (for retractions) and the business day (occurred_at).
void Evolve(ProgrammeState& state, const v1::EventEnvelope& envelope);

// Evolve, and the way back: the returned function restores exactly what the event changed
// (the parts of the state it can touch are saved first, so the cost does not grow with the
// programme). The writer takes back the events of a group whose transaction failed with
// it, newest first.
using ProgrammeUndo = std::function<void(ProgrammeState&)>;
ProgrammeUndo EvolveUndoable(ProgrammeState& state, const v1::EventEnvelope& envelope);

// A finding the read side reports without blocking (the "flag" rules of KAM-DOMAIN.md).
struct Flag {
  std::string rule;     // a rules::kFlag... name
  int step = 0;         // 1..7
  std::string subject;  // "account acme", "person p-1", "programme"
  std::string detail;
};

// A skill as a person reads it: "finance", "interpersonal skills".
std::string SkillName(v1::Skill skill);

// Every flag raised by the programme's state on `today`, in a stable order. Details name
// people by name and skills in words, as a board member reads them.
std::vector<Flag> ComputeFlags(const ProgrammeState& state, absl::CivilDay today);

}  // namespace kam::domain
