#include "projections/governance/governance_service.h"

#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/metrics.h"
#include "domain/steps.h"
#include "projections/governance/as_of.h"
#include "projections/governance/verify.h"
#include "server/roles.h"
#include "server/status.h"

namespace kam::projections {
namespace {

absl::Status CheckAsOf(const v1::AsOf& as_of) {
  if (as_of.has_time() && as_of.axis() == v1::TIME_AXIS_UNSPECIFIED) {
    return base::InvalidField("as_of.axis", "must be RECORDED or EFFECTIVE when as_of.time is set");
  }
  if (!v1::TimeAxis_IsValid(as_of.axis())) return base::InvalidField("as_of.axis", "is unknown");
  return absl::OkStatus();
}

}  // namespace

GovernanceService::GovernanceService(const HistoryIndex& index,
                                     const readmodel::ProjectionRuntime& runtime,
                                     const readmodel::ProjectionRuntime& metrics_runtime,
                                     const server::Authenticator& auth)
    : index_(index), runtime_(runtime), metrics_runtime_(metrics_runtime), auth_(auth) {}

absl::StatusOr<server::Principal> GovernanceService::Prepare(grpc::ServerContext* context,
                                                             const v1::Consistency& c) const {
  auto who = auth_.Authorize(*context, server::roles::Readers(), "read governance views");
  if (!who.ok()) return who.status();
  KAM_RETURN_IF_ERROR(readmodel::AwaitConsistency(c, {&runtime_, &metrics_runtime_}));
  return who;
}

grpc::Status GovernanceService::ListProgrammes(grpc::ServerContext* context,
                                               const v1::ListProgrammesRequest* request,
                                               v1::ListProgrammesResponse* response) {
  auto status = [&]() -> absl::Status {
    auto who = Prepare(context, request->consistency());
    if (!who.ok()) return who.status();
    response->set_principal(who->name);
    for (const auto& role : who->roles) response->add_roles(role);
    for (const std::string& id : index_.ProgrammeIds()) {
      const auto fold = FoldProgramme(index_.Programme(id), v1::AsOf{}, absl::Now());
      if (!fold.state.chartered) continue;
      auto* out = response->add_programmes();
      out->set_programme_id(id);
      out->set_name(fold.state.name);
      out->set_admitted_key_accounts(fold.state.AdmittedCount());
      out->set_min_key_accounts(fold.state.min_key_accounts);
      out->set_max_key_accounts(fold.state.max_key_accounts);
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetProgramme(grpc::ServerContext* context,
                                             const v1::GetProgrammeRequest* request,
                                             v1::GetProgrammeResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()).status());
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    auto history = index_.Programme(request->programme_id());
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
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()).status());
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    auto history = index_.Programme(request->programme_id());
    if (history.events.empty()) {
      return absl::NotFoundError(
          base::StrCat("programme '", request->programme_id(), "' has no history"));
    }
    const Verification verification = Verify(history);
    auto fold = FoldProgramme(history, request->as_of(), absl::Now());
    auto flags = domain::ComputeFlags(fold.state, domain::DayOf(fold.at));
    // Step 6 from the account metrics.
    for (const auto& [account, a] : fold.state.accounts) {
      if (!a.active()) continue;
      auto metrics = index_.Metrics(request->programme_id(), account);
      if (metrics.events.empty()) continue;
      domain::MetricsState m;
      for (const StoredEvent& e : metrics.events) domain::Evolve(m, e.envelope);
      for (auto& f : domain::ComputeMetricFlags(
               m, domain::ComputeEconomics(m, fold.state.parameters.discount_rate()))) {
        flags.push_back(std::move(f));
      }
    }
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
        const domain::Flag broken = BreakFinding(verification, request->programme_id());
        auto* finding = out->add_flags();
        finding->set_rule(broken.rule);
        finding->set_subject(broken.subject);
        finding->set_detail(broken.detail);
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
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()).status());
    const bool metrics = request->aggregate_type() == domain::kMetricsAggregateType;
    if (request->aggregate_type() != domain::kProgrammeAggregateType && !metrics) {
      return base::InvalidField("aggregate_type", "must be \"programme\" or \"account-metrics\"");
    }
    if (metrics) {
      // "<programme_id>:<account_id>"
      const auto colon = request->aggregate_id().find(':');
      if (colon == std::string::npos) {
        return base::InvalidField("aggregate_id", "must be <programme_id>:<account_id>");
      }
      KAM_RETURN_IF_ERROR(
          base::ValidateId("aggregate_id", request->aggregate_id().substr(0, colon)));
      KAM_RETURN_IF_ERROR(
          base::ValidateId("aggregate_id", request->aggregate_id().substr(colon + 1)));
    } else {
      KAM_RETURN_IF_ERROR(base::ValidateId("aggregate_id", request->aggregate_id()));
    }
    auto history = index_.Load(request->aggregate_type(), request->aggregate_id());
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

grpc::Status GovernanceService::GetRegister(grpc::ServerContext* context,
                                            const v1::GetRegisterRequest* request,
                                            v1::GetRegisterResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()).status());
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    auto history = index_.Programme(request->programme_id());
    if (history.events.empty()) {
      return absl::NotFoundError(
          base::StrCat("programme '", request->programme_id(), "' has no history"));
    }
    // Nominations and assessments are remembered per account until a decision cites them.
    std::map<std::string, v1::AccountNominated> nominations;
    std::map<std::string, v1::AccountAssessed> assessments;
    for (const StoredEvent& stored : history.events) {
      const auto& env = stored.envelope;
      const auto& e = env.event();
      v1::RegisterEntry entry;
      auto fill = [&](const std::string& account, const char* decision) {
        entry.set_account_id(account);
        entry.set_decision(decision);
        *entry.mutable_occurred_at() = env.occurred_at();
        const auto& n = nominations[account];
        entry.set_nominated_by(n.nominated_by());
        entry.set_nomination_rationale(n.rationale());
        const auto& a = assessments[account];
        *entry.mutable_scores() = a.scores();
      };
      switch (e.kind_case()) {
        case v1::Event::kAccountNominated:
          nominations[e.account_nominated().account_id()] = e.account_nominated();
          continue;
        case v1::Event::kAccountAssessed:
          assessments[e.account_assessed().account_id()] = e.account_assessed();
          continue;
        case v1::Event::kAccountAdmitted: {
          const auto& d = e.account_admitted();
          fill(d.account_id(), "admitted");
          entry.set_decided_by(d.approved_by());
          entry.set_criteria_version(d.criteria_version());
          entry.set_weighted_score(d.weighted_score());
          entry.set_threshold(d.threshold());
          entry.set_exception(d.exception());
          entry.set_justification(d.exception_justification());
          response->set_admissions(response->admissions() + 1);
          if (d.exception()) response->set_exceptions(response->exceptions() + 1);
          break;
        }
        case v1::Event::kAccountIncubated: {
          const auto& d = e.account_incubated();
          fill(d.account_id(), "incubated");
          entry.set_decided_by(d.approved_by());
          entry.set_criteria_version(d.criteria_version());
          entry.set_weighted_score(d.weighted_score());
          entry.set_justification(d.rationale());
          break;
        }
        case v1::Event::kNominationRejected: {
          const auto& d = e.nomination_rejected();
          fill(d.account_id(), "rejected");
          entry.set_decided_by(d.decided_by());
          entry.set_justification(d.reason());
          break;
        }
        case v1::Event::kAccountRetired: {
          const auto& d = e.account_retired();
          fill(d.account_id(), "retired");
          entry.set_decided_by(d.approved_by());
          entry.set_justification(d.reason());
          entry.set_tenure_days(d.tenure_days());
          entry.set_within_min_tenure(d.within_min_tenure());
          response->set_retirements(response->retirements() + 1);
          if (d.within_min_tenure())
            response->set_admit_then_demote(response->admit_then_demote() + 1);
          break;
        }
        default:
          continue;
      }
      *response->add_entries() = std::move(entry);
    }
    if (response->admissions() > 0) {
      response->set_override_rate(static_cast<double>(response->exceptions()) /
                                  response->admissions());
      response->set_admit_then_demote_rate(static_cast<double>(response->admit_then_demote()) /
                                           response->admissions());
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetEconomics(grpc::ServerContext* context,
                                             const v1::GetEconomicsRequest* request,
                                             v1::GetEconomicsResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(Prepare(context, request->consistency()).status());
    KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(base::ValidateId("account_id", request->account_id()));
    // The discount rate is the programme's parameter (the default if the programme is unknown
    // here).
    auto programme = index_.Programme(request->programme_id());
    const auto state = FoldProgramme(programme, v1::AsOf{}, absl::Now()).state;
    const double d = state.chartered ? state.parameters.discount_rate()
                                     : domain::DefaultParameters().discount_rate();
    auto metrics = index_.Metrics(request->programme_id(), request->account_id());
    if (metrics.events.empty()) {
      return absl::NotFoundError(base::StrCat("account '", request->account_id(),
                                              "' has no metrics in programme '",
                                              request->programme_id(), "'"));
    }
    domain::MetricsState m;
    for (const StoredEvent& e : metrics.events) domain::Evolve(m, e.envelope);
    const domain::Economics econ = domain::ComputeEconomics(m, d);
    response->set_currency(econ.currency);
    for (const auto& y : econ.years) {
      auto* out = response->add_years();
      out->set_year(y.year);
      out->set_revenue(y.revenue);
      out->set_gross_margin(y.gross_margin);
      out->set_cost_to_serve(y.cost_to_serve);
      for (const auto& [activity, v] : y.cost_to_serve_by_activity) {
        (*out->mutable_cost_to_serve_by_activity())[activity] = v;
      }
      out->set_contribution(y.contribution);
      out->set_has_retention_rate(y.retention_rate.has_value());
      out->set_retention_rate(y.retention_rate.value_or(0));
    }
    response->set_formula(std::string(domain::Economics::kFormula));
    response->set_has_clv(econ.clv.has_value());
    response->set_clv(econ.clv.value_or(0));
    response->set_margin_m(econ.margin_m);
    response->set_retention_r(econ.retention_r);
    response->set_discount_d(econ.discount_d);
    for (double v : econ.projection) response->add_projection(v);
    for (const auto& f : domain::ComputeMetricFlags(m, econ)) {
      auto* finding = response->add_flags();
      finding->set_rule(f.rule);
      finding->set_subject(f.subject);
      finding->set_detail(f.detail);
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

}  // namespace kam::projections
