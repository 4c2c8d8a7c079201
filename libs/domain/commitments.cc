// Step 1 (commitments owned by operations and supply chain) and step 7 (programme review,
// benchmarks, best practice), and retractions of logged records.
#include "domain/checks.h"

namespace kam::domain {
namespace {

using internal::FailedRule;
using internal::One;

absl::StatusOr<const Commitment*> OpenCommitment(const ProgrammeState& state,
                                                 std::string_view commitment_id) {
  KAM_RETURN_IF_ERROR(base::ValidateId("commitment_id", commitment_id));
  auto it = state.commitments.find(std::string(commitment_id));
  if (it == state.commitments.end()) {
    return FailedRule(rules::kCommitmentMustExist,
                      base::StrCat("commitment '", commitment_id, "' was never made"));
  }
  if (it->second.status != Commitment::Status::kOpen) {
    return FailedRule(
        rules::kCommitmentOpen,
        base::StrCat(
            "commitment '", commitment_id, "' is already ",
            it->second.status == Commitment::Status::kFulfilled ? "fulfilled" : "breached"));
  }
  return &it->second;
}

}  // namespace

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::MakeCommitmentRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto account = internal::FindAccount(state, cmd.account_id());
  if (!account.ok()) return account.status();
  KAM_RETURN_IF_ERROR(base::ValidateId("commitment_id", cmd.commitment_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("description", cmd.description(), base::kMaxTextLength));
  auto due = ParseDate("due_by", cmd.due_by());
  if (!due.ok()) return due.status();
  auto owner = internal::FindPerson(state, "owner_person_id", cmd.owner_person_id());
  if (!owner.ok()) return owner.status();
  KAM_RETURN_IF_ERROR(internal::RequireStage(**account, cmd.account_id(),
                                             {AccountStage::kAdmitted, AccountStage::kIncubating},
                                             "make a commitment to"));
  if (state.commitments.contains(cmd.commitment_id())) {
    return base::RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kCommitmentUnique,
        base::StrCat("commitment '", cmd.commitment_id(), "' already exists"));
  }
  v1::PersonFunction function = v1::PERSON_FUNCTION_UNSPECIFIED;
  if ((*owner)->Has(v1::PERSON_FUNCTION_OPERATIONS)) {
    function = v1::PERSON_FUNCTION_OPERATIONS;
  } else if ((*owner)->Has(v1::PERSON_FUNCTION_SUPPLY_CHAIN)) {
    function = v1::PERSON_FUNCTION_SUPPLY_CHAIN;
  } else {
    return FailedRule(rules::kCommitmentOwner,
                      base::StrCat("'", cmd.owner_person_id(),
                                   "' is not in operations or supply chain: commitments to a key "
                                   "account are owned and delivered by them, not by sales"));
  }
  v1::Event event;
  auto* e = event.mutable_commitment_made();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_commitment_id(cmd.commitment_id());
  e->set_description(cmd.description());
  e->set_owner_person_id(cmd.owner_person_id());
  e->set_owning_function(function);
  e->set_due_by(cmd.due_by());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::FulfilCommitmentRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("evidence", cmd.evidence(), base::kMaxTextLength));
  auto c = OpenCommitment(state, cmd.commitment_id());
  if (!c.ok()) return c.status();
  v1::Event event;
  auto* e = event.mutable_commitment_fulfilled();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id((*c)->account_id);
  e->set_commitment_id(cmd.commitment_id());
  e->set_evidence(cmd.evidence());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::BreachCommitmentRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  auto c = OpenCommitment(state, cmd.commitment_id());
  if (!c.ok()) return c.status();
  v1::Event event;
  auto* e = event.mutable_commitment_breached();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id((*c)->account_id);
  e->set_commitment_id(cmd.commitment_id());
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ReviewProgrammeRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("summary", cmd.summary(), base::kMaxTextLength));
  for (int i = 0; i < cmd.findings_size(); ++i) {
    KAM_RETURN_IF_ERROR(base::ValidateText(base::StrCat("findings[", i, "]"), cmd.findings(i),
                                           base::kMaxTextLength));
  }
  KAM_RETURN_IF_ERROR(internal::RequireApprover(state, ctx.actor, "review the programme"));
  v1::Event event;
  auto* e = event.mutable_programme_reviewed();
  e->set_programme_id(cmd.programme_id());
  e->set_summary(cmd.summary());
  *e->mutable_findings() = cmd.findings();
  e->set_reviewed_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::RecordBenchmarkRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("benchmark_id", cmd.benchmark_id()));
  KAM_RETURN_IF_ERROR(
      base::ValidateText("compared_with", cmd.compared_with(), base::kMaxNameLength));
  KAM_RETURN_IF_ERROR(base::ValidateText("findings", cmd.findings(), base::kMaxTextLength));
  if (state.benchmarks.contains(cmd.benchmark_id())) {
    return base::RuleViolated(absl::StatusCode::kAlreadyExists, rules::kBenchmarkUnique,
                              base::StrCat("benchmark '", cmd.benchmark_id(), "' already exists"));
  }
  v1::Event event;
  auto* e = event.mutable_benchmark_recorded();
  e->set_programme_id(cmd.programme_id());
  e->set_benchmark_id(cmd.benchmark_id());
  e->set_compared_with(cmd.compared_with());
  e->set_findings(cmd.findings());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AdoptBestPracticeRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("practice_id", cmd.practice_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("description", cmd.description(), base::kMaxTextLength));
  if (!cmd.benchmark_id().empty()) {
    KAM_RETURN_IF_ERROR(base::ValidateId("benchmark_id", cmd.benchmark_id()));
    if (!state.benchmarks.contains(cmd.benchmark_id())) {
      return FailedRule(rules::kBenchmarkMustExist,
                        base::StrCat("benchmark '", cmd.benchmark_id(), "' was never recorded"));
    }
  }
  if (state.practices.contains(cmd.practice_id())) {
    return base::RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kPracticeUnique,
        base::StrCat("practice '", cmd.practice_id(), "' is already adopted"));
  }
  v1::Event event;
  auto* e = event.mutable_best_practice_adopted();
  e->set_programme_id(cmd.programme_id());
  e->set_practice_id(cmd.practice_id());
  e->set_description(cmd.description());
  e->set_benchmark_id(cmd.benchmark_id());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::RetractRecordRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  if (cmd.event_id().empty()) return base::InvalidField("event_id", "is required");
  KAM_RETURN_IF_ERROR(base::ValidateRequestId("event_id", cmd.event_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  auto it = state.records.find(cmd.event_id());
  if (it == state.records.end()) {
    return FailedRule(rules::kRetractionTarget,
                      base::StrCat("event '", cmd.event_id(),
                                   "' is not a sponsor visit, training, competency assessment or "
                                   "benchmark of this programme"));
  }
  if (it->second.retracted) {
    return FailedRule(rules::kRetractionTarget,
                      base::StrCat("event '", cmd.event_id(), "' is already retracted"));
  }
  v1::Event event;
  auto* e = event.mutable_record_retracted();
  e->set_programme_id(cmd.programme_id());
  e->set_retracted_event_id(cmd.event_id());
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

}  // namespace kam::domain
