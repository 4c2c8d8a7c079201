#include "projections/governance/governance_service.h"

#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/steps.h"
#include "projections/governance/as_of.h"
#include "projections/governance/verify.h"
#include "projections/history/history_fold.h"
#include "server/status.h"

namespace kam::projections {
namespace {

const std::set<std::string> kReadRoles = {"admin", "board",     "champion",
                                          "kam",   "publisher", "sponsor"};

absl::Status CheckAsOf(const v1::AsOf& as_of) {
  if (as_of.has_time() && as_of.axis() == v1::TIME_AXIS_UNSPECIFIED) {
    return base::InvalidField("as_of.axis", "must be RECORDED or EFFECTIVE when as_of.time is set");
  }
  if (!v1::TimeAxis_IsValid(as_of.axis())) return base::InvalidField("as_of.axis", "is unknown");
  return absl::OkStatus();
}

}  // namespace

GovernanceService::GovernanceService(const readmodel::Store& store,
                                     const readmodel::ProjectionRuntime& runtime,
                                     const server::Authenticator& auth, std::string topic)
    : store_(store), runtime_(runtime), auth_(auth), topic_(std::move(topic)) {}

absl::Status GovernanceService::Prepare(grpc::ServerContext* context,
                                        const v1::Consistency& c) const {
  auto who = auth_.Authenticate(*context);
  if (!who.ok()) return who.status();
  KAM_RETURN_IF_ERROR(server::Authenticator::Require(*who, kReadRoles, "read governance views"));
  if (c.at_least().empty()) return absl::OkStatus();
  if (c.wait_timeout_ms() > 30000) {
    return base::InvalidField("consistency.wait_timeout_ms", "must be at most 30000");
  }
  const std::vector<v1::LogPosition> positions(c.at_least().begin(), c.at_least().end());
  return runtime_.WaitFor(
      positions, std::chrono::milliseconds(c.wait_timeout_ms() == 0 ? 5000 : c.wait_timeout_ms()));
}

grpc::Status GovernanceService::GetProgramme(grpc::ServerContext* context,
                                             const v1::GetProgrammeRequest* request,
                                             v1::GetProgrammeResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()));
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    auto history = LoadAggregate(store_, topic_, "programme", request->programme_id());
    if (history.events.empty()) {
      return absl::NotFoundError(
          base::StrCat("programme '", request->programme_id(), "' has no history"));
    }
    auto fold = FoldProgramme(history, request->as_of(), absl::Now());
    if (!fold.state.chartered) {
      return absl::NotFoundError(base::StrCat("programme '", request->programme_id(),
                                              "' was not chartered at that moment"));
    }
    *response->mutable_programme() = ToView(fold);
    return absl::OkStatus();
  }();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetScorecard(grpc::ServerContext* context,
                                             const v1::GetScorecardRequest* request,
                                             v1::GetScorecardResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()));
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    auto history = LoadAggregate(store_, topic_, "programme", request->programme_id());
    if (history.events.empty()) {
      return absl::NotFoundError(
          base::StrCat("programme '", request->programme_id(), "' has no history"));
    }
    const Verification verification = Verify(history);
    auto fold = FoldProgramme(history, request->as_of(), absl::Now());
    const auto flags = domain::ComputeFlags(fold.state, domain::DayOf(fold.at));
    response->set_history_intact(verification.intact);
    for (const domain::Step& step : domain::SevenSteps()) {
      auto* out = response->add_steps();
      out->set_step(step.number);
      out->set_title(std::string(step.title));
      if (verification.intact) {
        for (auto rule : step.musts) out->add_rules_held(std::string(rule));
      }
      for (const auto& f : flags) {
        if (f.step != step.number) continue;
        auto* finding = out->add_flags();
        finding->set_rule(f.rule);
        finding->set_subject(f.subject);
        finding->set_detail(f.detail);
      }
      if (!verification.intact && step.number == 7) {
        auto* finding = out->add_flags();
        finding->set_rule("history.intact");
        finding->set_subject("programme " + request->programme_id());
        finding->set_detail(verification.first_break);
      }
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::VerifyHistory(grpc::ServerContext* context,
                                              const v1::VerifyHistoryRequest* request,
                                              v1::VerifyHistoryResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()));
    if (request->aggregate_type() != "programme") {
      return base::InvalidField("aggregate_type", "must be \"programme\" (the topic served here)");
    }
    KAM_RETURN_IF_ERROR(base::ValidateId("aggregate_id", request->aggregate_id()));
    auto history =
        LoadAggregate(store_, topic_, request->aggregate_type(), request->aggregate_id());
    if (history.events.empty() && history.duplicates.empty()) {
      return absl::NotFoundError(base::StrCat(request->aggregate_type(), " '",
                                              request->aggregate_id(), "' has no history"));
    }
    const Verification v = Verify(history);
    response->set_intact(v.intact);
    response->set_events_checked(v.events_checked);
    response->set_first_break(v.first_break);
    response->set_first_break_version(v.first_break_version);
    if (!v.intact) *response->mutable_first_break_position() = v.first_break_position;
    return absl::OkStatus();
  }();
  return server::ToGrpc(status);
}

}  // namespace kam::projections
