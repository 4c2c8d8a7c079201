// What the fuzz targets (tests/fuzz/*_fuzzer.cc) share with their corpus generator
// (make_corpus.cc): a fixed test signing key, a small programme built by its own commands,
// the programme commands by index, and the framing of several records in one input.
//
//   const auto& keyring = kam::fuzz::TestKeyring();        // TestSigner()'s public key
//   kam::domain::ProgrammeState s = kam::fuzz::FixedProgramme().state;
//   kam::fuzz::VisitCommand(i, [&](auto request) { ... });  // i < kam::fuzz::kCommandCount
//   for (std::string_view record : kam::fuzz::Split(input, 8)) { ... }
//
// Everything here is deterministic: the key comes from a constant seed, event ids and times
// are fixed, so the generated corpus is the same on every run. Not thread-safe on first use
// (libFuzzer and the replay runner call targets from one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "eventlog/signing.h"
#include "kam/v1/programme_service.pb.h"

namespace kam::fuzz {

// A property a target checks failed: prints `what` and aborts, which libFuzzer reports as a
// crash (with the input saved) and the replay test as a failure.
[[noreturn]] void Fail(std::string_view what);
#define KAM_FUZZ_CHECK(cond, what)        \
  do {                                    \
    if (!(cond)) ::kam::fuzz::Fail(what); \
  } while (0)

// With KAM_FUZZ_TRACE set in the environment, targets print each decision to stderr (to
// see what a corpus input reaches); Trace is a no-op otherwise.
void Trace(std::string_view what, const absl::Status& outcome);

// A refusal of the domain as a caller meets it: a non-empty message naming its rule or
// field (base::RuleOf / FieldOf), and a code a caller can cause (INVALID_ARGUMENT,
// FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED, NOT_FOUND, OUT_OF_RANGE).
// Fails (above) otherwise; `command` names what was refused.
void CheckRefusal(const absl::Status& s, std::string_view command);

// ---- Signing: a test key, never a real one. ----
const eventlog::Signer& TestSigner();
// Holds TestSigner()'s public key only.
const eventlog::Keyring& TestKeyring();

// ---- Several records in one input, separated by kSeparator. ----
inline constexpr std::string_view kSeparator = "\xFE\xED|KAM|\xFE\xED";
// At most `max` records (the rest of the input is the last one).
std::vector<std::string_view> Split(std::string_view input, std::size_t max);
std::string Join(const std::vector<std::string>& records);

// ---- The fixed programme. ----
inline constexpr char kProgramme[] = "emea-kam";
// When the fuzzed commands are recorded (the writer's clock); the programme was chartered 60
// days before.
absl::Time RecordingTime();

struct Actor {
  std::string principal;
  bool platform_admin = false;
};
// The cast: the platform admin, ana (champion), sam (steering board), kim (key account
// manager), eve (executive, acme's sponsor), olga (operations), bob (board observer), the
// publishers (signed: SignedPublisher(), unsigned "publisher:lms") and a stranger.
const std::vector<Actor>& Actors();
// "publisher:<TestSigner's key id>": a member of the programme as a publisher.
std::string SignedPublisher();
inline constexpr char kUnsignedPublisherName[] = "lms";

struct Programme {
  domain::ProgrammeState state;
  uint64_t version = 0;  // of the last event folded
  // The event id of a logged sponsor visit (for RetractRecord) and of acme's assessment.
  std::string visit_event_id;
  std::string assessment_event_id;
};
// Chartered, with the cast registered, ana champion, criteria v1, accounts acme (admitted,
// sponsor eve, manager kim, commitment c-1 owned by olga, one visit), nordic (assessed), bolt
// (nominated), and kim trained in every skill. Built once.
const Programme& FixedProgramme();

// Folds the decision `events` of `actor` at `now` into `programme` as the writer would
// envelope them (consecutive versions, event ids "e<version>"); returns one undo per event.
std::vector<domain::ProgrammeUndo> Fold(Programme& programme, const domain::Events& events,
                                        const std::string& actor, absl::Time now);

// The metrics of emea-kam:acme: revenue and cost-to-serve in EUR, a retention rate.
const domain::MetricsState& FixedMetrics();

// Handle as the programme writer calls it: the request is decided against `programme` if it
// names that programme, else against an empty state (another aggregate); the business time
// is metadata.occurred_at, checked like the writer does (a malformed or future time is
// refused before the domain sees it).
template <typename Request>
absl::StatusOr<domain::Events> HandleAsWriter(const Programme& programme, const Request& request,
                                              const Actor& actor);

// The metric request as the metrics service decides it: domain::MayRecord against the
// programme, then Decide against `metrics` (or an empty state for another aggregate).
absl::StatusOr<domain::Events> RecordMetricAsService(const Programme& programme,
                                                     const domain::MetricsState& metrics,
                                                     const v1::RecordMetricRequest& request,
                                                     const std::string& actor);

// ---- Every request type of the four services, in a stable order (import fuzz input). ----
std::vector<const google::protobuf::Descriptor*> ServiceRequests();

// ---- The programme commands, by index (the first byte of a domain fuzz input). ----
using ProgrammeCommands = std::tuple<
    v1::CharterProgrammeRequest, v1::ChangeProgrammeParametersRequest, v1::RegisterPersonRequest,
    v1::ChangeMembershipRequest, v1::AppointChampionRequest, v1::StandDownChampionRequest,
    v1::PublishSelectionCriteriaRequest, v1::NominateAccountRequest, v1::AssessAccountRequest,
    v1::AdmitAccountRequest, v1::IncubateAccountRequest, v1::RejectNominationRequest,
    v1::ReviewAccountRequest, v1::RetireAccountRequest, v1::SetAccountObjectivesRequest,
    v1::AssignSponsorRequest, v1::ReleaseSponsorRequest, v1::LogSponsorVisitRequest,
    v1::AssessCompetencyRequest, v1::RecordManagerTrainingRequest, v1::RecordStaffTrainingRequest,
    v1::AssignManagerRequest, v1::ReleaseManagerRequest, v1::AssignTeamMemberRequest,
    v1::ReleaseTeamMemberRequest, v1::MakeCommitmentRequest, v1::FulfilCommitmentRequest,
    v1::BreachCommitmentRequest, v1::ReviewProgrammeRequest, v1::RecordBenchmarkRequest,
    v1::AdoptBestPracticeRequest, v1::RetractRecordRequest,
    v1::RequestQuarantineAcknowledgementRequest, v1::ApproveQuarantineAcknowledgementRequest>;
inline constexpr std::size_t kCommandCount = std::tuple_size_v<ProgrammeCommands>;

namespace internal {
template <typename F, std::size_t... I>
void Visit(std::size_t index, F& f, std::index_sequence<I...>) {
  ((index == I ? (f(std::tuple_element_t<I, ProgrammeCommands>{}), 0) : 0), ...);
}
}  // namespace internal

// Calls f(Request{}) with the request type of command `index` (nothing if out of range).
template <typename F>
void VisitCommand(std::size_t index, F&& f) {
  internal::Visit(index, f, std::make_index_sequence<kCommandCount>{});
}

// ---- Implementation of the templates. ----
namespace internal {
// The writer's checks of metadata.occurred_at: the business time, or a refusal.
absl::StatusOr<absl::Time> BusinessTime(const v1::CommandMetadata& metadata);
}  // namespace internal

template <typename Request>
absl::StatusOr<domain::Events> HandleAsWriter(const Programme& programme, const Request& request,
                                              const Actor& actor) {
  auto now = internal::BusinessTime(request.metadata());
  if (!now.ok()) return now.status();
  static const domain::ProgrammeState kEmpty;
  const domain::ProgrammeState& state =
      request.programme_id() == programme.state.programme_id ? programme.state : kEmpty;
  return domain::Handle(
      state, request,
      domain::CommandContext{
          .actor = actor.principal, .now = *now, .platform_admin = actor.platform_admin});
}

}  // namespace kam::fuzz
