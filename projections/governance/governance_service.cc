#include "projections/governance/governance_service.h"

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/dates.h"
#include "domain/metrics.h"
#include "domain/steps.h"
#include "personal/seal.h"
#include "projections/governance/as_of.h"
#include "projections/governance/verify.h"
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

void AddFinding(google::protobuf::RepeatedPtrField<v1::Finding>* out, const domain::Flag& f) {
  auto* finding = out->Add();
  finding->set_rule(f.rule);
  finding->set_subject(f.subject);
  finding->set_detail(f.detail);
}

void ToResponse(const domain::MetricsState& m, const domain::Economics& econ,
                v1::GetEconomicsResponse* response) {
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
  for (const auto& f : domain::ComputeMetricFlags(m, econ))
    AddFinding(response->mutable_flags(), f);
}

}  // namespace

GovernanceService::GovernanceService(const HistoryIndex& index,
                                     const readmodel::ProjectionRuntime& runtime,
                                     const readmodel::ProjectionRuntime& metrics_runtime,
                                     const ReadScope& scope, GovernanceCache& cache,
                                     bool withholds_personal_data)
    : index_(index),
      runtime_(runtime),
      metrics_runtime_(metrics_runtime),
      scope_(scope),
      cache_(cache),
      withholds_personal_data_(withholds_personal_data) {}

absl::StatusOr<Reader> GovernanceService::Prepare(grpc::ServerContext* context,
                                                  const v1::Consistency& c) const {
  auto reader = scope_.Authorize(*context, "read governance views");
  if (!reader.ok()) return reader.status();
  KAM_RETURN_IF_ERROR(readmodel::AwaitConsistency(c, {&runtime_, &metrics_runtime_}));
  return reader;
}

absl::Status GovernanceService::PrepareFor(grpc::ServerContext* context, const v1::Consistency& c,
                                           std::string_view field, const std::string& programme_id,
                                           bool* withhold) const {
  // Membership after the wait: a caller who waits for the event that registers them reads.
  auto reader = scope_.Authorize(*context, "read governance views");
  if (!reader.ok()) return reader.status();
  KAM_RETURN_IF_ERROR(base::ValidateId(field, programme_id));
  KAM_RETURN_IF_ERROR(readmodel::AwaitConsistency(c, {&runtime_, &metrics_runtime_}));
  KAM_RETURN_IF_ERROR(scope_.MayRead(*reader, programme_id));
  if (withhold != nullptr) {
    *withhold = withholds_personal_data_ && !scope_.SeesPersonalData(*reader, programme_id);
  }
  return absl::OkStatus();
}

double GovernanceService::DiscountRate(const std::string& programme_id) {
  double d = domain::DefaultParameters().discount_rate();
  (void)cache_.WithProgramme(programme_id, [&](const GovernanceCache::Programme& p) {
    if (p.state.chartered) d = p.state.parameters.discount_rate();
  });
  return d;
}

grpc::Status GovernanceService::ListProgrammes(grpc::ServerContext* context,
                                               const v1::ListProgrammesRequest* request,
                                               v1::ListProgrammesResponse* response) {
  auto status = [&]() -> absl::Status {
    auto reader = Prepare(context, request->consistency());
    if (!reader.ok()) return reader.status();
    response->set_principal(reader->who.name);
    for (const auto& role : reader->who.roles) response->add_roles(role);
    for (const std::string& id : index_.ProgrammeIds()) {
      (void)cache_.WithProgramme(id, [&](const GovernanceCache::Programme& p) {
        if (!p.state.chartered) return;
        if (!reader->reads_everything && !ReadsProgramme(p.state, reader->who.name)) return;
        auto* out = response->add_programmes();
        out->set_programme_id(id);
        out->set_name(p.state.name);
        out->set_admitted_key_accounts(p.state.AdmittedCount());
        out->set_min_key_accounts(p.state.min_key_accounts);
        out->set_max_key_accounts(p.state.max_key_accounts);
      });
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetProgramme(grpc::ServerContext* context,
                                             const v1::GetProgrammeRequest* request,
                                             v1::GetProgrammeResponse* response) {
  bool withhold = false;
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(PrepareFor(context, request->consistency(), "programme_id",
                                   request->programme_id(), &withhold));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    absl::Status found = absl::OkStatus();
    KAM_RETURN_IF_ERROR(
        cache_.WithProgramme(request->programme_id(), [&](const GovernanceCache::Programme& p) {
          const bool now = !request->as_of().has_time();
          if (now) {  // the cached state as it is: no copy, no fold
            if (!p.state.chartered) {
              found = absl::NotFoundError(
                  base::StrCat("programme '", request->programme_id(), "' is not chartered"));
              return;
            }
            *response->mutable_programme() = ToView(p.state, p.events.size(), absl::Now());
            return;
          }
          const AsOfFold fold = p.AsOf(request->as_of(), absl::Now());
          if (!fold.state.chartered) {
            found = absl::NotFoundError(base::StrCat("programme '", request->programme_id(),
                                                     "' was not chartered at that moment"));
            return;
          }
          *response->mutable_programme() = ToView(fold);
        }));
    return found;
  }();
  if (status.ok() && withhold) personal::Withhold(*response);
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetScorecard(grpc::ServerContext* context,
                                             const v1::GetScorecardRequest* request,
                                             v1::GetScorecardResponse* response) {
  bool withhold = false;
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(PrepareFor(context, request->consistency(), "programme_id",
                                   request->programme_id(), &withhold));
    KAM_RETURN_IF_ERROR(CheckAsOf(request->as_of()));
    Verification verification;
    std::vector<domain::Flag> flags;
    std::vector<std::string> active;
    double discount = 0;
    KAM_RETURN_IF_ERROR(
        cache_.WithProgramme(request->programme_id(), [&](const GovernanceCache::Programme& p) {
          verification = p.verification;
          auto compute = [&](const domain::ProgrammeState& s, absl::Time at) {
            flags = domain::ComputeFlags(s, s.Day(at));
            discount = s.parameters.discount_rate();
            for (const auto& [account, a] : s.accounts) {
              if (a.active()) active.push_back(account);
            }
          };
          if (!request->as_of().has_time()) {
            compute(p.state, absl::Now());
          } else {
            const AsOfFold fold = p.AsOf(request->as_of(), absl::Now());
            compute(fold.state, fold.at);
          }
        }));
    // Step 6 from the account metrics.
    for (const std::string& account : active) {
      (void)cache_.WithMetrics(request->programme_id(), account, [&](GovernanceCache::Metrics& m) {
        for (auto& f : domain::ComputeMetricFlags(m.state, m.EconomicsAt(discount))) {
          flags.push_back(std::move(f));
        }
      });
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
        if (f.step == step.number) AddFinding(out->mutable_flags(), f);
      }
      if (!verification.intact && step.number == 7) {
        AddFinding(out->mutable_flags(), BreakFinding(verification, request->programme_id()));
      }
    }
    return absl::OkStatus();
  }();
  if (status.ok() && withhold) personal::Withhold(*response);
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::VerifyHistory(grpc::ServerContext* context,
                                              const v1::VerifyHistoryRequest* request,
                                              v1::VerifyHistoryResponse* response) {
  auto status = [&]() -> absl::Status {
    const bool metrics = request->aggregate_type() == domain::kMetricsAggregateType;
    // The programme the aggregate belongs to: itself, or the part before ':' of
    // "<programme_id>:<account_id>".
    const auto colon = request->aggregate_id().find(':');
    const std::string programme_id = request->aggregate_id().substr(0, colon);
    auto reader = scope_.Authorize(*context, "read governance views");
    if (!reader.ok()) return reader.status();
    if (request->aggregate_type() != domain::kProgrammeAggregateType && !metrics) {
      return base::InvalidField("aggregate_type", "must be \"programme\" or \"account-metrics\"");
    }
    if (metrics && colon == std::string::npos) {
      return base::InvalidField("aggregate_id", "must be <programme_id>:<account_id>");
    }
    KAM_RETURN_IF_ERROR(base::ValidateId("aggregate_id", programme_id));
    if (metrics) {
      KAM_RETURN_IF_ERROR(
          base::ValidateId("aggregate_id", request->aggregate_id().substr(colon + 1)));
    }
    KAM_RETURN_IF_ERROR(
        readmodel::AwaitConsistency(request->consistency(), {&runtime_, &metrics_runtime_}));
    KAM_RETURN_IF_ERROR(scope_.MayRead(*reader, programme_id));
    Verification v;
    if (metrics) {
      auto history = index_.Load(request->aggregate_type(), request->aggregate_id());
      if (history.events.empty() && history.duplicates.empty()) {
        return absl::NotFoundError(base::StrCat(request->aggregate_type(), " '",
                                                request->aggregate_id(), "' has no history"));
      }
      // Acknowledgements are the programme's (a metrics record is acknowledged there too).
      std::set<std::string> acknowledged;
      (void)cache_.WithProgramme(
          request->aggregate_id().substr(0, colon),
          [&](const GovernanceCache::Programme& p) { acknowledged = AcknowledgedPlaces(p.state); });
      v = Verify(history, acknowledged);
    } else {
      KAM_RETURN_IF_ERROR(
          cache_.WithProgramme(request->aggregate_id(),
                               [&](const GovernanceCache::Programme& p) { v = p.verification; }));
    }
    // The newest checkpoint of the aggregate: the log must still reach its version, with
    // the same hash. It is held against the read model once that has folded what the
    // checkpoint covers - or at once if the log now ends before that position (it lost
    // records; offsets never go back).
    if (auto anchor = index_.Anchor(request->aggregate_type(), request->aggregate_id())) {
      const auto& runtime = metrics ? metrics_runtime_ : runtime_;
      const auto folded = runtime.progress().next_offsets;
      const auto at = folded.find(anchor->partition);
      bool applies = at != folded.end() && at->second >= anchor->next_offset;
      if (!applies && at != folded.end()) {
        const auto end = runtime.LogEnd(anchor->partition, std::chrono::seconds(5));
        applies = end && *end < anchor->next_offset && at->second >= *end - 1;
      }
      if (applies) {
        response->set_anchored_version(anchor->version);
        response->set_anchored_at(anchor->taken_at);
        const std::string problem = eventlog::AnchorProblem(
            *anchor, v.tip_version,
            index_.HashAt(request->aggregate_type(), request->aggregate_id(), anchor->version));
        if (!problem.empty() && v.intact) {
          v.intact = false;
          v.first_break = problem;
          v.first_break_version = anchor->version;
        }
      }
    }
    response->set_intact(v.intact);
    response->set_events_checked(v.events_checked);
    response->set_first_break(v.first_break);
    response->set_first_break_version(v.first_break_version);
    if (!v.intact) *response->mutable_first_break_position() = v.first_break_position;
    response->set_tip_version(v.tip_version);
    response->set_tip_hash(absl::BytesToHexString(v.tip_hash));
    for (const QuarantinedRecord& q : v.quarantined) {
      auto* out = response->add_quarantined();
      out->set_record(q.place);
      out->set_problem(q.problem);
      out->set_acknowledged(q.acknowledged);
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetRegister(grpc::ServerContext* context,
                                            const v1::GetRegisterRequest* request,
                                            v1::GetRegisterResponse* response) {
  bool withhold = false;
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(PrepareFor(context, request->consistency(), "programme_id",
                                   request->programme_id(), &withhold));
    return cache_.WithProgramme(request->programme_id(), [&](const GovernanceCache::Programme& p) {
      // Nominations and assessments are remembered per account until a decision cites them;
      // thresholds per criteria version.
      std::map<std::string, v1::AccountNominated> nominations;
      std::map<std::string, v1::AccountAssessed> assessments;
      std::map<uint32_t, double> thresholds;
      // The programme as it stood before each event: who decided, in which role.
      domain::ProgrammeState then;
      struct FoldAfter {
        domain::ProgrammeState& state;
        const v1::EventEnvelope& env;
        ~FoldAfter() { domain::Evolve(state, env); }
      };
      for (const StoredEvent& stored : p.events) {
        const auto& env = stored.envelope;
        const auto& e = env.event();
        const FoldAfter fold_after{then, env};
        v1::RegisterEntry entry;
        // An erased approver's principal reads "erased person #<n>" in the decision and in
        // the state folded so far alike, so the role survives the erasure.
        auto decided_by = [&](const std::string& principal) {
          entry.set_decided_by(principal);
          const auto person = then.PersonByPrincipal(principal);
          if (!person) return;
          entry.set_decided_by_person(*person);
          if (then.champions.contains(*person)) {
            entry.set_decided_by_role("champion");
          } else if (then.people.at(*person).Has(v1::PERSON_FUNCTION_STEERING_BOARD)) {
            entry.set_decided_by_role("steering board");
          } else {
            entry.set_decided_by_role("member");
          }
        };
        auto fill = [&](const std::string& account, const char* decision) {
          entry.set_account_id(account);
          entry.set_decision(decision);
          *entry.mutable_occurred_at() = env.occurred_at();
          const auto& n = nominations[account];
          entry.set_nominated_by(n.nominated_by());
          entry.set_nomination_rationale(n.rationale());
          // The latest assessment, so every decision shows the score it was taken on.
          const auto& a = assessments[account];
          *entry.mutable_scores() = a.scores();
          entry.set_criteria_version(a.criteria_version());
          entry.set_weighted_score(a.weighted_score());
          entry.set_threshold(thresholds[a.criteria_version()]);
        };
        switch (e.kind_case()) {
          case v1::Event::kSelectionCriteriaPublished:
            thresholds[e.selection_criteria_published().criteria_version()] =
                e.selection_criteria_published().threshold();
            continue;
          case v1::Event::kAccountNominated:
            nominations[e.account_nominated().account_id()] = e.account_nominated();
            assessments.erase(e.account_nominated().account_id());  // a fresh nomination
            continue;
          case v1::Event::kAccountAssessed:
            assessments[e.account_assessed().account_id()] = e.account_assessed();
            continue;
          case v1::Event::kAccountAdmitted: {
            const auto& d = e.account_admitted();
            fill(d.account_id(), "admitted");
            decided_by(d.approved_by());
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
            decided_by(d.approved_by());
            entry.set_criteria_version(d.criteria_version());
            entry.set_weighted_score(d.weighted_score());
            entry.set_threshold(thresholds[d.criteria_version()]);
            entry.set_justification(d.rationale());
            break;
          }
          case v1::Event::kNominationRejected: {
            const auto& d = e.nomination_rejected();
            fill(d.account_id(), "rejected");
            decided_by(d.decided_by());
            entry.set_justification(d.reason());
            break;
          }
          case v1::Event::kAccountRetired: {
            const auto& d = e.account_retired();
            fill(d.account_id(), "retired");
            decided_by(d.approved_by());
            entry.set_justification(d.reason());
            entry.set_tenure_days(d.tenure_days());
            entry.set_within_min_tenure(d.within_min_tenure());
            response->set_retirements(response->retirements() + 1);
            if (d.within_min_tenure()) {
              response->set_admit_then_demote(response->admit_then_demote() + 1);
            }
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
    });
  }();
  if (status.ok() && withhold) personal::Withhold(*response);
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetEconomics(grpc::ServerContext* context,
                                             const v1::GetEconomicsRequest* request,
                                             v1::GetEconomicsResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(
        PrepareFor(context, request->consistency(), "programme_id", request->programme_id()));
    KAM_RETURN_IF_ERROR(base::ValidateId("account_id", request->account_id()));
    // The discount rate is the programme's parameter (the default if the programme is
    // unknown here).
    const double d = DiscountRate(request->programme_id());
    return cache_.WithMetrics(
        request->programme_id(), request->account_id(),
        [&](GovernanceCache::Metrics& m) { ToResponse(m.state, m.EconomicsAt(d), response); });
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

grpc::Status GovernanceService::GetPortfolioEconomics(
    grpc::ServerContext* context, const v1::GetPortfolioEconomicsRequest* request,
    v1::GetPortfolioEconomicsResponse* response) {
  auto status = [&]() -> absl::Status {
    KAM_RETURN_IF_ERROR(
        PrepareFor(context, request->consistency(), "programme_id", request->programme_id()));
    std::vector<std::tuple<std::string, std::string, std::string>> accounts;
    double d = 0;
    KAM_RETURN_IF_ERROR(
        cache_.WithProgramme(request->programme_id(), [&](const GovernanceCache::Programme& p) {
          d = p.state.parameters.discount_rate();
          for (const auto& [id, a] : p.state.accounts) {
            accounts.emplace_back(id, a.name, std::string(domain::StageName(a.stage)));
          }
        }));
    for (const auto& [id, name, stage] : accounts) {
      (void)cache_.WithMetrics(request->programme_id(), id, [&](GovernanceCache::Metrics& m) {
        auto* out = response->add_accounts();
        out->set_account_id(id);
        out->set_name(name);
        out->set_stage(stage);
        ToResponse(m.state, m.EconomicsAt(d), out->mutable_economics());
      });
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) response->Clear();
  return server::ToGrpc(status);
}

}  // namespace kam::projections
