// Fuzz target: the domain's command validation (libs/domain), as the writers call it.
//
// Input: up to 8 frames separated by fixture.h's kSeparator, each
//   [command byte][actor byte][serialised request]
// where the command byte picks one of the programme commands (fixture.h ProgrammeCommands)
// or, for the value kCommandCount, a RecordMetricRequest; the actor byte picks one of
// Actors(). Frames run in order against one copy of the fixed programme (and metrics of
// emea-kam:acme), so an accepted command changes what the next one sees.
//
// Checks, besides no crash and no sanitizer report:
//   - a refusal has a non-empty message naming its rule or field, and a code a caller can
//     cause (INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED,
//     NOT_FOUND, OUT_OF_RANGE);
//   - an accepted command's events fold (EvolveUndoable), the flags compute on the new
//     state, and undoing the fold restores the state exactly (as the writer does when a
//     transaction fails);
//   - for metrics: Evolve then Revert restores the state, and the snapshot round-trips.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/errors.h"
#include "base/strings.h"
#include "fuzz/fixture.h"
#include "kam/v1/metrics_service.pb.h"
#include "unit/state_render.h"

namespace kam::fuzz {
namespace {

template <typename Request>
void RunCommand(Programme& programme, const Request& request, const Actor& actor) {
  const std::string_view name = Request::descriptor()->name();
  absl::StatusOr<domain::Events> decided = HandleAsWriter(programme, request, actor);
  Trace(base::StrCat(name, " by ", actor.principal), decided.status());
  if (!decided.ok()) {
    CheckRefusal(decided.status(), name);
    return;
  }
  for (const v1::Event& e : *decided) {
    KAM_FUZZ_CHECK(e.kind_case() != v1::Event::KIND_NOT_SET,
                   base::StrCat(name, " decided an event without a kind"));
  }
  // Only the programme the fixture holds is folded; a charter of another one is decided
  // against an empty state and then dropped.
  if (request.programme_id() != programme.state.programme_id) return;
  const std::string before = testing::RenderState(programme.state);
  // The envelopes carry the claimed business time, as the writer's do (a late entry's is
  // before the programme's business time; Evolve keeps the later one).
  std::vector<domain::ProgrammeUndo> undo =
      Fold(programme, *decided, actor.principal, *internal::BusinessTime(request.metadata()));
  (void)domain::ComputeFlags(programme.state, programme.state.Day(RecordingTime()));
  domain::ProgrammeState taken_back = programme.state;
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)(taken_back);
  KAM_FUZZ_CHECK(testing::RenderState(taken_back) == before,
                 base::StrCat(name, ": undoing its events does not restore the state"));
}

std::string Summary(const domain::MetricsState& m) {
  return base::StrCat(m.programme_id, "|", m.account_id, "|", m.currency, "|", m.currency_set_by,
                      "|", m.entries.size(), "|", m.sources.size());
}

void RunMetric(const Programme& programme, domain::MetricsState& metrics, uint64_t& version,
               const v1::RecordMetricRequest& request, const Actor& actor) {
  auto decided = RecordMetricAsService(programme, metrics, request, actor.principal);
  Trace(base::StrCat("RecordMetricRequest by ", actor.principal), decided.status());
  if (!decided.ok()) {
    CheckRefusal(decided.status(), "RecordMetricRequest");
    return;
  }
  const v1::MetricRecorded& m = request.metric();
  if (domain::MetricsAggregateId(m.programme_id(), m.account_id()) !=
      domain::MetricsAggregateId(metrics.programme_id, metrics.account_id)) {
    return;  // another account's stream: decided against an empty state, not folded
  }
  for (const v1::Event& e : *decided) {
    const std::string before = Summary(metrics);
    v1::EventEnvelope env;
    env.set_event_id(base::StrCat("fm", ++version));
    env.set_aggregate_type(std::string(domain::kMetricsAggregateType));
    env.set_aggregate_id(domain::MetricsAggregateId(m.programme_id(), m.account_id()));
    env.set_aggregate_version(version);
    env.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(RecordingTime()));
    *env.mutable_event() = e;
    domain::Evolve(metrics, env);
    domain::MetricsState reverted = metrics;
    domain::Revert(reverted, env);
    KAM_FUZZ_CHECK(Summary(reverted) == before, "RecordMetricRequest: Revert does not restore");
  }
  const auto economics =
      domain::ComputeEconomics(metrics, programme.state.parameters.discount_rate());
  (void)domain::ComputeMetricFlags(metrics, economics);
  auto decoded = domain::DecodeMetricsSnapshot(domain::EncodeSnapshot(metrics));
  KAM_FUZZ_CHECK(decoded.ok() && Summary(*decoded) == Summary(metrics),
                 "a metrics snapshot does not round-trip");
}

}  // namespace
}  // namespace kam::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kam::fuzz;  // NOLINT
  Programme programme = FixedProgramme();
  kam::domain::MetricsState metrics = FixedMetrics();
  uint64_t metric_version = metrics.entries.size();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view frame : Split(input, 8)) {
    if (frame.size() < 2) continue;
    const std::size_t command = static_cast<uint8_t>(frame[0]) % (kCommandCount + 1);
    const Actor& actor = Actors()[static_cast<uint8_t>(frame[1]) % Actors().size()];
    frame.remove_prefix(2);
    if (command == kCommandCount) {
      kam::v1::RecordMetricRequest request;
      if (request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
        RunMetric(programme, metrics, metric_version, request, actor);
      }
      continue;
    }
    VisitCommand(command, [&](auto request) {
      if (request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
        RunCommand(programme, request, actor);
      }
    });
  }
  return 0;
}
