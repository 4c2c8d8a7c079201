#include "tools/kamctl/catalogue.h"

#include "kam/v1/governance_service.pb.h"
#include "kam/v1/history_service.pb.h"
#include "kam/v1/metrics_service.pb.h"
#include "kam/v1/programme_service.pb.h"

namespace kam::kamctl {
namespace {

constexpr char kP[] = "kam.v1.ProgrammeCommandService.";
constexpr char kM[] = "kam.v1.MetricsCommandService.";
constexpr char kG[] = "kam.v1.GovernanceQueryService.";
constexpr char kH[] = "kam.v1.HistoryQueryService.";

constexpr char kSetUp[] = "Step 1-2: charter and govern a programme";
constexpr char kSelect[] = "Step 3-4: select, admit and review key accounts";
constexpr char kSponsor[] = "Step 5: sponsors, managers and teams";
constexpr char kPeople[] = "Step 5: skills and trainings";
constexpr char kDeliver[] = "Step 7: commitments, reviews and benchmarks";
constexpr char kMetrics[] = "Step 6: account metrics";
constexpr char kIntegrity[] = "The record's integrity";
constexpr char kQueries[] = "Governance queries";
constexpr char kHistory[] = "History and change stream";

std::vector<RpcCommand> Build() {
  const std::string p = kP;
  const std::string m = kM;
  const std::string g = kG;
  const std::string h = kH;
  return {
      // --- Programme set-up --------------------------------------------------------------
      {p + "CharterProgramme",
       "charter-programme",
       {"charter"},
       kSetUp,
       "Charter a programme: its name, rationale and the bounds on key accounts (default 5-25).",
       "kamctl charter emea-kam 'EMEA key accounts' 'Grow profitable strategic customers' "
       "--min-key-accounts 5 --max-key-accounts 25",
       {"programme_id", "name", "rationale"}},
      {p + "ChangeProgrammeParameters",
       "change-parameters",
       {},
       kSetUp,
       "Change the programme's bounds or parameters (cadences, tenure, discount rate); needs "
       "the champion or a steering-board member.",
       "kamctl change-parameters emea-kam --sponsor-visit-cadence-days 60 --rationale "
       "'Quarterly is too slow'",
       {"programme_id"}},
      {p + "RegisterPerson",
       "register-person",
       {"person"},
       kSetUp,
       "Register a person of the programme with their functions and seniority.",
       "kamctl register-person emea-kam ana 'Ana Ruiz' --principal ana --functions "
       "executive,steering-board --senior --board-level",
       {"programme_id", "person_id", "name"}},
      {p + "ChangeMembership",
       "change-membership",
       {"membership"},
       kSetUp,
       "Change a person's functions, principal (a sign-in for someone HR registered) or other "
       "principals, or end their membership; needs a champion or a steering-board member who "
       "is not that person.",
       "kamctl change-membership emea-kam kim --functions key-account-manager,sales --reason "
       "'Took over the sales role too'",
       {"programme_id", "person_id"}},
      {p + "ErasePersonalData",
       "erase-personal-data",
       {"erase"},
       kSetUp,
       "Erase a person's personal data (GDPR art. 17): their data key is destroyed, so their "
       "name, principals and texts read \"erased person #<n>\" everywhere, while the history "
       "still verifies. Their membership must have ended; needs a champion or a steering-board "
       "member who is not that person.",
       "kamctl erase-personal-data emea-kam kim --reason 'DSR-2026-114'",
       {"programme_id", "person_id"}},
      {p + "AppointChampion",
       "appoint-champion",
       {},
       kSetUp,
       "Appoint a senior person who reports to top management as the programme's champion.",
       "kamctl appoint-champion emea-kam ana --rationale 'Board sponsor of the programme'",
       {"programme_id", "person_id"}},
      {p + "StandDownChampion",
       "stand-down-champion",
       {},
       kSetUp,
       "Stand the champion down (the programme then has none until another is appointed).",
       "kamctl stand-down-champion emea-kam ana --reason 'Moved to APAC'",
       {"programme_id", "person_id"}},
      {p + "PublishSelectionCriteria",
       "publish-criteria",
       {},
       kSetUp,
       "Publish a version of the selection criteria: weights summing to 100 and a threshold.",
       "kamctl publish-criteria emea-kam --criteria "
       "'criterion_id=volume,name=Volume,weight_percent=60,scale_min=1,scale_max=5' "
       "--criteria 'criterion_id=fit,name=Strategic fit,weight_percent=40,scale_min=1,"
       "scale_max=5' --threshold 3.5 --rationale 'Profit before volume'",
       {"programme_id"}},
      // --- Selection ---------------------------------------------------------------------
      {p + "NominateAccount",
       "nominate-account",
       {"nominate"},
       kSelect,
       "Nominate an account for the programme, with the reason it should be a key account.",
       "kamctl nominate emea-kam acme 'ACME Industries' 'Top-5 by contribution'",
       {"programme_id", "account_id", "account_name", "rationale"}},
      {p + "AssessAccount",
       "assess-account",
       {"assess"},
       kSelect,
       "Score a nominated account against every criterion of the current criteria version.",
       "kamctl assess emea-kam acme --criteria-version 1 --scores volume=4 --scores fit=5",
       {"programme_id", "account_id"}},
      {p + "AdmitAccount",
       "admit-account",
       {"admit"},
       kSelect,
       "Admit an assessed account (four eyes: not by its nominator; below the threshold only "
       "with a justification).",
       "kamctl admit emea-kam acme",
       {"programme_id", "account_id"}},
      {p + "IncubateAccount",
       "incubate-account",
       {"incubate"},
       kSelect,
       "Keep a nominated account in incubation until a review date.",
       "kamctl incubate emea-kam acme --review-by 2027-03-31 --rationale 'Not yet profitable'",
       {"programme_id", "account_id"}},
      {p + "RejectNomination",
       "reject-nomination",
       {"reject"},
       kSelect,
       "Reject a nomination, with the reason.",
       "kamctl reject emea-kam acme --reason 'Below threshold and no strategic case'",
       {"programme_id", "account_id"}},
      {p + "ReviewAccount",
       "review-account",
       {"review"},
       kSelect,
       "Record a periodic review of a key account: retain, watch or retire.",
       "kamctl review emea-kam acme --outcome retain --metrics-considered "
       "gross-margin,cost-to-serve --notes 'On plan'",
       {"programme_id", "account_id"}},
      {p + "RetireAccount",
       "retire-account",
       {"retire"},
       kSelect,
       "Retire a key account from the programme.",
       "kamctl retire emea-kam acme --reason 'Acquired by a competitor'",
       {"programme_id", "account_id"}},
      {p + "SetAccountObjectives",
       "set-objectives",
       {},
       kSelect,
       "Set a key account's objectives and the metrics that measure them.",
       "kamctl set-objectives emea-kam acme --objectives 'Raise margin to 30%' --measured-by "
       "gross-margin",
       {"programme_id", "account_id"}},
      // --- Sponsors, managers, teams -----------------------------------------------------
      {p + "AssignSponsor",
       "assign-sponsor",
       {},
       kSponsor,
       "Assign an executive sponsor to a key account (at most the programme's limit each).",
       "kamctl assign-sponsor emea-kam acme sven",
       {"programme_id", "account_id", "person_id"}},
      {p + "ReleaseSponsor",
       "release-sponsor",
       {},
       kSponsor,
       "Release an account's executive sponsor.",
       "kamctl release-sponsor emea-kam acme --reason 'Sven retires'",
       {"programme_id", "account_id"}},
      {p + "LogSponsorVisit",
       "log-visit",
       {"visit"},
       kSponsor,
       "Log the sponsor's visit to the account on a date.",
       "kamctl log-visit emea-kam acme --visit-date 2026-11-20 --notes 'QBR with the CFO'",
       {"programme_id", "account_id"}},
      {p + "AssignManager",
       "assign-manager",
       {},
       kSponsor,
       "Assign a trained key account manager (or one with a training plan) to an account.",
       "kamctl assign-manager emea-kam acme kim --training-plan skill=finance,due_by=2027-03-31",
       {"programme_id", "account_id", "person_id"}},
      {p + "ReleaseManager",
       "release-manager",
       {},
       kSponsor,
       "Release an account's key account manager.",
       "kamctl release-manager emea-kam acme --reason 'Rotation'",
       {"programme_id", "account_id"}},
      {p + "AssignTeamMember",
       "assign-team-member",
       {},
       kSponsor,
       "Add a person (operations, supply chain, finance...) to an account's team.",
       "kamctl assign-team-member emea-kam acme olga",
       {"programme_id", "account_id", "person_id"}},
      {p + "ReleaseTeamMember",
       "release-team-member",
       {},
       kSponsor,
       "Remove a person from an account's team.",
       "kamctl release-team-member emea-kam acme olga",
       {"programme_id", "account_id", "person_id"}},
      // --- Skills ------------------------------------------------------------------------
      {p + "AssessCompetency",
       "assess-competency",
       {},
       kPeople,
       "Record whether a person is competent in one of the five KAM skills.",
       "kamctl assess-competency emea-kam kim --skill finance --competent --notes 'Case study'",
       {"programme_id", "person_id"}},
      {p + "RecordManagerTraining",
       "record-manager-training",
       {"train-manager"},
       kPeople,
       "Record a key account manager's completed training in a skill.",
       "kamctl train-manager emea-kam kim --skill finance --course 'KAM Finance' --completed-on "
       "2026-10-01",
       {"programme_id", "person_id"}},
      {p + "RecordStaffTraining",
       "record-staff-training",
       {"train-staff"},
       kPeople,
       "Record a staff member's completed KAM awareness training.",
       "kamctl train-staff emea-kam olga --course 'KAM for operations' --completed-on 2026-10-02",
       {"programme_id", "person_id"}},
      // --- Metrics -----------------------------------------------------------------------
      {m + "RecordMetric",
       "record-metric",
       {"metric"},
       kMetrics,
       "Record one metric of an account (revenue, gross margin, cost-to-serve, retention).",
       "kamctl record-metric emea-kam acme --kind revenue --period-start 2026-01-01 "
       "--period-end 2026-03-31 --amount '1,250,000.00 EUR' --source-system erp "
       "--source-record-id inv-2026-q1",
       {"metric.programme_id", "metric.account_id"}},
      {m + "RecordMetricBatch",
       "record-metric-batch",
       {},
       kMetrics,
       "Record up to 1,000 metrics in one call, each with its own outcome (see also: import).",
       "kamctl record-metric-batch --from-json batch.json",
       {}},
      {m + "StreamMetrics",
       "stream-metrics",
       {},
       kMetrics,
       "Stream metrics from a JSON Lines file (one RecordMetricRequest per line), printing "
       "each outcome.",
       "kamctl stream-metrics metrics.jsonl",
       {}},
      // --- Delivery ----------------------------------------------------------------------
      {p + "MakeCommitment",
       "make-commitment",
       {"commit"},
       kDeliver,
       "Record a commitment made to a key account, its owner and due date.",
       "kamctl make-commitment emea-kam acme c-42 --description 'Dedicated planner' "
       "--owner-person-id olga --due-by 2027-01-31",
       {"programme_id", "account_id", "commitment_id"}},
      {p + "FulfilCommitment",
       "fulfil-commitment",
       {"fulfil"},
       kDeliver,
       "Record that a commitment was fulfilled, with evidence.",
       "kamctl fulfil emea-kam c-42 --evidence 'Planner started 2026-12-01'",
       {"programme_id", "commitment_id"}},
      {p + "BreachCommitment",
       "breach-commitment",
       {"breach"},
       kDeliver,
       "Record that a commitment was breached, with the reason.",
       "kamctl breach emea-kam c-42 --reason 'No planner available'",
       {"programme_id", "commitment_id"}},
      {p + "ReviewProgramme",
       "review-programme",
       {},
       kDeliver,
       "Record the periodic review of the whole programme.",
       "kamctl review-programme emea-kam --summary 'Year one' --findings 'Two accounts below "
       "target'",
       {"programme_id"}},
      {p + "RecordBenchmark",
       "record-benchmark",
       {"benchmark"},
       kDeliver,
       "Record a benchmark of the programme against another company's practice.",
       "kamctl benchmark emea-kam b-2026 --compared-with 'Industry survey' --findings 'Fewer "
       "accounts, deeper teams'",
       {"programme_id", "benchmark_id"}},
      {p + "AdoptBestPractice",
       "adopt-best-practice",
       {},
       kDeliver,
       "Adopt a best practice found in a benchmark.",
       "kamctl adopt-best-practice emea-kam joint-planning --description 'Joint annual plans' "
       "--benchmark-id b-2026",
       {"programme_id", "practice_id"}},
      {p + "RetractRecord",
       "retract-record",
       {"retract"},
       kDeliver,
       "Retract a logged record (a visit, competency, training or benchmark) recorded in error.",
       "kamctl retract emea-kam 7f7c...-event-id --reason 'Logged for the wrong account'",
       {"programme_id", "event_id"}},
      {p + "RequestQuarantineAcknowledgement",
       "request-quarantine-acknowledgement",
       {"acknowledge-quarantine"},
       kIntegrity,
       "Ask (as platform admin) to acknowledge a quarantined record, after looking into it.",
       "kamctl acknowledge-quarantine emea-kam --record.topic kam.programme.v1 "
       "--record.partition 1 --record.offset 42 --reason 'Test write by the migration job; its "
       "access is revoked'",
       {"programme_id"}},
      {p + "ApproveQuarantineAcknowledgement",
       "approve-quarantine-acknowledgement",
       {"approve-quarantine"},
       kIntegrity,
       "Approve (champion or steering board, not the requester) acknowledging a quarantined "
       "record.",
       "kamctl approve-quarantine emea-kam --record.topic kam.programme.v1 --record.partition 1 "
       "--record.offset 42",
       {"programme_id"}},
      // --- Governance queries ------------------------------------------------------------
      {g + "ListProgrammes",
       "programmes",
       {"list-programmes"},
       kQueries,
       "The programmes you can see, and who you are.",
       "kamctl programmes",
       {}},
      {g + "GetProgramme",
       "programme",
       {"get-programme"},
       kQueries,
       "A programme and its portfolio now, or as of a moment on either time axis.",
       "kamctl programme emea-kam --as-of.time 2026-06-30 --as-of.axis effective",
       {"programme_id"}},
      {g + "GetScorecard",
       "scorecard",
       {"get-scorecard"},
       kQueries,
       "The seven-step governance scorecard with every flag and its reason.",
       "kamctl scorecard emea-kam",
       {"programme_id"}},
      {g + "GetRegister",
       "register",
       {"get-register"},
       kQueries,
       "Every admission and retirement decision, with override and admit-then-demote rates.",
       "kamctl register emea-kam",
       {"programme_id"}},
      {g + "GetEconomics",
       "economics",
       {"get-economics"},
       kQueries,
       "An account's economics by year: contribution after cost-to-serve and lifetime value.",
       "kamctl economics emea-kam acme",
       {"programme_id", "account_id"}},
      {g + "GetPortfolioEconomics",
       "portfolio",
       {"portfolio-economics"},
       kQueries,
       "Every account's latest contribution and lifetime value.",
       "kamctl portfolio emea-kam",
       {"programme_id"}},
      {g + "VerifyHistory",
       "verify",
       {"verify-history"},
       kQueries,
       "Re-check an aggregate's hash chain over the stored events.",
       "kamctl verify emea-kam   (or: kamctl verify --aggregate-type account-metrics "
       "emea-kam:acme)",
       {"aggregate_id"}},
      // --- History -----------------------------------------------------------------------
      {h + "GetAccountHistory",
       "history",
       {"account-history"},
       kHistory,
       "An account's events in the programme, oldest first.",
       "kamctl history emea-kam acme --page-size 50",
       {"programme_id", "account_id"}},
      {h + "GetHistory",
       "events",
       {"get-history"},
       kHistory,
       "A programme's, an account's or a person's events, filtered by time and type.",
       "kamctl events emea-kam --person-id kim --recorded-from 2026-01-01 --event-types "
       "ManagerTrained",
       {"programme_id"}},
      {h + "GetProjectionStatus",
       "status",
       {"projection-status"},
       kHistory,
       "The read model's progress per partition: applied, end of log, lag.",
       "kamctl status",
       {}},
      {h + "LookupPersonalDataKeys",
       "personal-data-keys",
       {"lookup-keys"},
       kHistory,
       "The data keys that open a programme's sealed personal fields, for a consumer of the "
       "topics outside the platform (docs/topics.md, \"Personal data\"); an erased person has "
       "none. Needs a token with the personal-data role; every lookup is logged.",
       "kamctl personal-data-keys emea-kam --person-ids kim --person-ids ana --json",
       {"programme_id"}},
      {h + "Subscribe",
       "tail",
       {"subscribe"},
       kHistory,
       "Follow the change stream live (Ctrl-C to stop); --after resumes after positions.",
       "kamctl tail --aggregate-id emea-kam --event-types AccountAdmitted",
       {}},
  };
}

}  // namespace

const std::vector<RpcCommand>& Catalogue() {
  static const std::vector<RpcCommand> commands = Build();
  return commands;
}

const google::protobuf::MethodDescriptor* MethodOf(const RpcCommand& command) {
  // Referencing the generated descriptors makes sure their files are in the pool.
  (void)v1::CharterProgrammeRequest::descriptor();
  (void)v1::RecordMetricRequest::descriptor();
  (void)v1::GetProgrammeRequest::descriptor();
  (void)v1::GetHistoryRequest::descriptor();
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(command.method);
}

Endpoint EndpointOf(const google::protobuf::MethodDescriptor* method) {
  const std::string& service = method->service()->full_name();
  if (service == "kam.v1.ProgrammeCommandService") return Endpoint::kCommands;
  if (service == "kam.v1.MetricsCommandService") return Endpoint::kMetrics;
  return Endpoint::kQueries;
}

}  // namespace kam::kamctl
