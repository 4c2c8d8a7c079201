// Every rule of the programme by name. A rejection's message starts with "rule <name>:"
// and a flag carries its rule name, so a name seen in an error, a log or the scorecard is
// one search away from the code that checks it (grep the constant's name or the string).
//
// "Must" rules (rejected by Decide) and "flag" rules (raised by ComputeFlags) follow the
// seven steps of ../shared/KAM-DOMAIN.md.
#pragma once

#include <string_view>

namespace kam::domain::rules {

// --- The programme itself -----------------------------------------------------------
// A command on a programme needs the programme to be chartered first.
inline constexpr std::string_view kProgrammeMustExist = "programme.must_exist";
// A programme id is chartered once.
inline constexpr std::string_view kProgrammeUnique = "programme.unique";
// Bounds on admitted key accounts: 1 <= min <= max <= 100 (default 5..25).
inline constexpr std::string_view kPortfolioBounds = "portfolio.bounds";
// Parameters are in range (cadences 1..3650 days, 0 <= discount rate < 1, ...).
inline constexpr std::string_view kParametersValid = "parameters.valid";
// A new maximum may not be below the number of admitted key accounts.
inline constexpr std::string_view kParametersMaxBelowActive = "parameters.max_below_admitted";
// A new per-sponsor maximum may not be below a sponsor's current load.
inline constexpr std::string_view kParametersSponsorLoad = "parameters.sponsor_load";
// Admissions, incubations, rejections, retirements, criteria and parameter changes are
// approved by the active champion or a steering-board member (step 3).
inline constexpr std::string_view kApprovalChampionOrBoard = "approval.champion_or_board";

// --- Who acts, and when (issue 12) ---------------------------------------------------------
// Chartering a programme and requesting a quarantine acknowledgement are the platform admin's.
inline constexpr std::string_view kPlatformAdminOnly = "platform.admin_only";
// A principal acts in a programme only through a registered person of that programme (its
// principal or one of its other principals): a role elsewhere gives nothing here.
inline constexpr std::string_view kMembershipRequired = "membership.required";
// Registering a person (granting a membership) and appointing or standing down a champion
// are approved by an active champion or a steering-board member of the programme; a platform
// admin registers people and appoints the first champion only while the programme has none.
inline constexpr std::string_view kMembershipGrantedByApprover = "membership.granted_by_approver";
// A membership changes by someone else's approval, never the person's own; it ends only
// after the person holds no champion, sponsor or manager role; an ended membership is
// not changed again.
inline constexpr std::string_view kMembershipChange = "membership.change";
// A person's personal data is erased (ErasePersonalData, issue 14) only after their
// membership ended, so an erased person never acts or reads again, and only once.
inline constexpr std::string_view kErasureMembershipActive = "erasure.membership_active";
inline constexpr std::string_view kErasureAlreadyErased = "erasure.already_erased";
// A board observer reads and never commands; a publisher (an enterprise system: an LMS, a
// CRM, ERP, HR) only records facts of its systems: trainings, sponsor visits, commitment
// outcomes and account metrics, and registers people (below).
inline constexpr std::string_view kMembershipObserversReadOnly = "membership.observers_read_only";
// A publisher (an HR feed) registers people only without a principal or other principals:
// it says who people are; an active champion or steering-board member gives a person a
// principal (ChangeMembership principal), which is what lets them sign in.
inline constexpr std::string_view kMembershipPublisherGivesNoPrincipal =
    "membership.publisher_gives_no_principal";
// A command's business time (metadata.occurred_at) is not before the programme's charter...
inline constexpr std::string_view kTimeNotBeforeCharter = "time.not_before_charter";
// ...nor before the programme's business time, unless metadata.late_reason makes it an
// explicit late entry, which takes effect at the programme's business time.
inline constexpr std::string_view kTimeInOrder = "time.in_order";

// The stored history of an aggregate continues its hash chain without gaps: the writer
// refuses to extend a broken history, and the scorecard vouches for nothing over one.
inline constexpr std::string_view kHistoryIntact = "history.intact";

// --- People (steps 2, 3 and 5) ---------------------------------------------------------
inline constexpr std::string_view kPersonUnique = "person.unique";
inline constexpr std::string_view kPersonMustExist = "person.must_exist";
// A programme may have several active champions (Tetra Pak runs with two); a person is
// appointed once while active.
inline constexpr std::string_view kChampionAlreadyActive = "champion.already_active";
// The champion is senior, with a reporting line to top management.
inline constexpr std::string_view kChampionSenior = "champion.senior_with_top_line";
inline constexpr std::string_view kChampionMustBeActive = "champion.must_be_active";

// --- Selection criteria (step 4) ---------------------------------------------------------
inline constexpr std::string_view kCriteriaValid = "criteria.valid";
// Weights are whole percentages adding up to 100.
inline constexpr std::string_view kCriteriaWeights = "criteria.weights_sum_100";
// Tenure or a personal relationship is not a criterion.
inline constexpr std::string_view kCriteriaNoTenure = "criteria.no_tenure_or_relationship";

// --- The account lifecycle (steps 4 and 7) -----------------------------------------------
// An account is nominated at most once while its nomination or membership is open.
inline constexpr std::string_view kNominationUnique = "nomination.unique";
inline constexpr std::string_view kAccountMustExist = "account.must_exist";
// The command fits the account's stage (e.g. only a nominated account is assessed).
inline constexpr std::string_view kAccountStage = "account.stage";
// An assessment is against the current criteria version.
inline constexpr std::string_view kAssessmentCurrentCriteria = "assessment.current_criteria";
// An assessment scores every criterion once, within its scale, and nothing else.
inline constexpr std::string_view kAssessmentComplete = "assessment.complete";
// No admission (or incubation) without a complete assessment against the current version.
inline constexpr std::string_view kAdmissionRequiresAssessment = "admission.requires_assessment";
// The nominator cannot approve their own nomination.
inline constexpr std::string_view kAdmissionFourEyes = "admission.four_eyes";
// An admission below threshold is an exception with a written justification.
inline constexpr std::string_view kAdmissionException = "admission.exception_justified";
// The number of admitted key accounts stays at most the programme's maximum.
inline constexpr std::string_view kPortfolioMax = "portfolio.max_key_accounts";
// An incubation names a review date after today.
inline constexpr std::string_view kIncubationReviewDate = "incubation.review_date";

// --- Sponsorship (step 2) ----------------------------------------------------------------
// A sponsor is a registered executive of the supplier.
inline constexpr std::string_view kSponsorExecutive = "sponsor.registered_executive";
// A sponsor holds at most the programme's maximum number of accounts.
inline constexpr std::string_view kSponsorMaxAccounts = "sponsor.max_accounts";
// One sponsor per account at a time; a release or visit needs one assigned.
inline constexpr std::string_view kSponsorOnePerAccount = "sponsor.one_per_account";
inline constexpr std::string_view kSponsorMustBeAssigned = "sponsor.must_be_assigned";
// Dates of logged facts are not in the future.
inline constexpr std::string_view kDateNotFuture = "date.not_in_future";

// --- Managers, staff and training (steps 1 and 5) ----------------------------------------
// A key account manager is registered with the key-account-manager function.
inline constexpr std::string_view kManagerRegistered = "manager.registered_kam";
// Trained or assessed competent in every required skill, or a dated plan for each gap.
inline constexpr std::string_view kManagerTrainedOrPlanned = "manager.trained_or_planned";
inline constexpr std::string_view kManagerOnePerAccount = "manager.one_per_account";
inline constexpr std::string_view kManagerMustBeAssigned = "manager.must_be_assigned";
inline constexpr std::string_view kSkillRequired = "skill.specified";
inline constexpr std::string_view kTeamMembership = "team.membership";

// --- Commitments (step 1) ----------------------------------------------------------------
// Commitments are owned by operations or supply chain, not sales.
inline constexpr std::string_view kCommitmentOwner = "commitment.owned_by_operations";
inline constexpr std::string_view kCommitmentUnique = "commitment.unique";
inline constexpr std::string_view kCommitmentMustExist = "commitment.must_exist";
inline constexpr std::string_view kCommitmentOpen = "commitment.open";

// --- Review and best practice (step 7) ---------------------------------------------------
inline constexpr std::string_view kBenchmarkUnique = "benchmark.unique";
inline constexpr std::string_view kBenchmarkMustExist = "benchmark.must_exist";
inline constexpr std::string_view kPracticeUnique = "practice.unique";
// Only logged records (visits, trainings, competency assessments, benchmarks) are
// retracted, each once.
inline constexpr std::string_view kRetractionTarget = "retraction.target";

// --- The record itself (issue 11) ---------------------------------------------------------
// Only a record of the programme's partition that is quarantined (not an authentic event:
// a forgery, a record under the wrong key, bytes that do not decode) is acknowledged.
inline constexpr std::string_view kQuarantineMustBeQuarantined = "quarantine.must_be_quarantined";
// A quarantined record is acknowledged once: one request, one approval.
inline constexpr std::string_view kQuarantineOnce = "quarantine.acknowledged_once";
// An approval answers a pending request.
inline constexpr std::string_view kQuarantineMustBeRequested = "quarantine.must_be_requested";
// The approver (champion or steering board) is not the admin who requested it.
inline constexpr std::string_view kQuarantineFourEyes = "quarantine.four_eyes";

// --- Metrics (step 6) ----------------------------------------------------------------------
// A metric carries the fields its kind needs (amount, ratio, activity, name).
inline constexpr std::string_view kMetricShape = "metric.shape";
// Contribution and lifetime value are computed, never recorded.
inline constexpr std::string_view kMetricDerived = "metric.derived_not_recordable";
// All money of one account is in one currency.
inline constexpr std::string_view kMetricSingleCurrency = "metric.single_currency";
// A source system's record id is recorded once (idempotent ingestion).
inline constexpr std::string_view kMetricUniqueSource = "metric.unique_source_record";
// A correction names an earlier, not yet corrected metric of the same kind.
inline constexpr std::string_view kMetricCorrection = "metric.correction_target";
// A metric's period ends on or after it starts, lasts at most a year, and has ended (its end
// is not after the programme's day of the metric's business time).
inline constexpr std::string_view kMetricPeriod = "metric.period";

// --- Flags (ComputeFlags; reported, never blocking) --------------------------------------
inline constexpr std::string_view kFlagUntrainedStaff = "flag.step1.untrained_operations_staff";
inline constexpr std::string_view kFlagCommitmentOverdue = "flag.step1.commitment_overdue";
inline constexpr std::string_view kFlagCommitmentBreached = "flag.step1.commitment_breached";
inline constexpr std::string_view kFlagSponsorVisitOverdue = "flag.step2.sponsor_visit_overdue";
inline constexpr std::string_view kFlagNoSponsor = "flag.step2.no_sponsor_after_grace";
inline constexpr std::string_view kFlagNoChampion = "flag.step3.no_active_champion";
inline constexpr std::string_view kFlagNoCriteria = "flag.step4.no_selection_criteria";
inline constexpr std::string_view kFlagBelowMinimum = "flag.step4.portfolio_below_minimum";
inline constexpr std::string_view kFlagAdmitThenDemote = "flag.step4.admit_then_demote";
inline constexpr std::string_view kFlagIncubationOverdue = "flag.step4.incubation_overdue";
inline constexpr std::string_view kFlagTrainingPlanOpen = "flag.step5.training_plan_open";
inline constexpr std::string_view kFlagTrainingOverdue = "flag.step5.training_plan_overdue";
inline constexpr std::string_view kFlagRevenueOnly = "flag.step6.revenue_only";
inline constexpr std::string_view kFlagNegativeContribution = "flag.step6.negative_contribution";
inline constexpr std::string_view kFlagAccountReviewOverdue = "flag.step7.account_review_overdue";
inline constexpr std::string_view kFlagProgrammeReviewOverdue =
    "flag.step7.programme_review_overdue";
inline constexpr std::string_view kFlagBenchmarkOverdue = "flag.step7.benchmark_overdue";

}  // namespace kam::domain::rules
