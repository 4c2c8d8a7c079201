// Writes the fuzz targets' seed corpus: a few valid inputs per target, in each target's
// input format (see the comment at the top of each *_fuzzer.cc), deterministic so that a
// regenerated corpus is byte for byte the committed one.
//
//   build/bin/fuzz_make_corpus tests/fuzz/corpus     # then commit what changed
//
// Writes <dir>/<target>/<name> for the targets envelope, domain, inbound and import.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "eventlog/checkpoints.h"
#include "eventlog/codec.h"
#include "eventlog/inbound_signature.h"
#include "fuzz/fixture.h"
#include "google/protobuf/text_format.h"
#include "kam/v1/history_service.pb.h"
#include "kam/v1/inbound.pb.h"
#include "kam/v1/metrics_service.pb.h"

namespace kam::fuzz {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Message;

fs::path out_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = out_dir / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

template <typename M>
M FromText(const std::string& text) {
  M m;
  if (!google::protobuf::TextFormat::ParseFromString(text, &m)) {
    Fail(base::StrCat("corpus: ", M::descriptor()->name(), " does not parse: ", text));
  }
  return m;
}

// ---- envelope ----

std::vector<v1::EventEnvelope> ProgrammeEnvelopes() {
  const char* events[] = {
      R"(programme_chartered { programme_id: "emea-kam" name: "EMEA key accounts"
         rationale: "Grow profitable strategic customers" min_key_accounts: 5
         max_key_accounts: 25 })",
      R"(person_registered { programme_id: "emea-kam" person_id: "kim" name: "Kim Park"
         principal: "kim@supplier.example" functions: PERSON_FUNCTION_KEY_ACCOUNT_MANAGER })",
      R"(account_nominated { programme_id: "emea-kam" account_id: "acme"
         account_name: "ACME Industries" rationale: "Top-5 by contribution"
         nominated_by: "kim@supplier.example" nominated_by_person: "kim" })",
  };
  std::vector<v1::EventEnvelope> out;
  for (int i = 0; i < 3; ++i) {
    v1::EventEnvelope env;
    env.set_event_id(base::StrCat("00000000-0000-4000-8000-00000000000", i + 1));
    env.set_aggregate_type("programme");
    env.set_aggregate_id("emea-kam");
    env.set_aggregate_version(static_cast<uint64_t>(i + 1));
    env.mutable_occurred_at()->set_seconds(1767571200 + i * 3600);
    env.mutable_recorded_at()->set_seconds(1767571200 + i * 3600);
    env.set_actor(i == 2 ? "kim@supplier.example" : "admin@supplier.example");
    env.set_client_request_id(base::StrCat("seed-", i + 1));
    env.set_correlation_id(base::StrCat("seed-", i + 1));
    env.set_schema_version(1);
    env.set_command_event_count(1);
    *env.mutable_event() = FromText<v1::Event>(events[i]);
    out.push_back(std::move(env));
  }
  return out;
}

std::vector<std::string> Sealed(std::vector<v1::EventEnvelope> envs, bool sign) {
  std::vector<std::string> out;
  std::string previous;
  for (auto& env : envs) {
    env.set_previous_hash(previous);
    out.push_back(eventlog::Seal(env, sign ? &TestSigner() : nullptr));
    previous = env.hash();
  }
  return out;
}

void EnvelopeCorpus() {
  const std::string events(1, '\0');
  const auto signed_chain = Sealed(ProgrammeEnvelopes(), true);
  Write("envelope", "chain-signed", events + Join(signed_chain));
  Write("envelope", "chain-unsigned", events + Join(Sealed(ProgrammeEnvelopes(), false)));
  Write("envelope", "one-signed", events + signed_chain[0]);
  auto forged = signed_chain;
  forged[1][forged[1].size() / 2] ^= 0x20;
  Write("envelope", "chain-forged", events + Join(forged));
  Write("envelope", "chain-gap", events + Join({signed_chain[0], signed_chain[2]}));
  std::vector<std::string> raw;
  for (const auto& env : ProgrammeEnvelopes()) raw.push_back(env.SerializeAsString());
  Write("envelope", "reseal-as-chain", std::string(1, 2 | 8) + Join(raw));
  Write("envelope", "reseal-unsigned", std::string(1, 2 | 4) + Join(raw));

  const auto checkpoint = FromText<v1::Checkpoint>(R"(topic: "kam.programme.v1" partition: 0
      next_offset: 42 taken_at { seconds: 1767571200 } writer: "kam-programme-service-0"
      complete: true aggregates: 3)");
  std::vector<v1::AggregateTip> tips;
  for (const char* id : {"emea-kam", "apac-kam", "amer-kam"}) {
    v1::AggregateTip tip;
    tip.set_aggregate_type("programme");
    tip.set_aggregate_id(id);
    tip.set_version(3);
    tip.set_hash(eventlog::Sha256(id));
    tips.push_back(tip);
  }
  const std::string checkpoints(1, 1);
  Write("envelope", "checkpoint-signed",
        checkpoints + Join(eventlog::SealCheckpoint(checkpoint, tips, &TestSigner(), 2)));
  Write("envelope", "checkpoint-unsigned",
        checkpoints + Join(eventlog::SealCheckpoint(checkpoint, tips, nullptr)));
  v1::Checkpoint with_tips = checkpoint;
  for (const auto& t : tips) *with_tips.add_tips() = t;
  Write("envelope", "checkpoint-reseal", std::string(1, 1 | 2) + with_tips.SerializeAsString());
  eventlog::Anchors anchors;
  anchors.Add(with_tips, "kam.checkpoints.v1/0@7");
  Write("envelope", "anchor",
        checkpoints + eventlog::EncodeAnchor(*anchors.Find("programme", "emea-kam")));
}

// ---- domain ----

std::size_t CommandIndex(const google::protobuf::Descriptor* d) {
  std::size_t found = kCommandCount;
  for (std::size_t i = 0; i < kCommandCount; ++i) {
    VisitCommand(i, [&](auto request) {
      if (request.GetDescriptor() == d) found = i;
    });
  }
  if (found == kCommandCount) Fail(base::StrCat("corpus: not a command: ", d->full_name()));
  return found;
}

std::size_t ActorIndex(const std::string& principal) {
  for (std::size_t i = 0; i < Actors().size(); ++i) {
    if (Actors()[i].principal == principal) return i;
  }
  Fail(base::StrCat("corpus: no actor ", principal));
}

// One frame: the command by its request type, the actor, the request (text format, in
// programme emea-kam).
template <typename Request>
std::string Frame(const std::string& actor, const std::string& text) {
  Request r = FromText<Request>(text);
  r.set_programme_id(kProgramme);
  r.mutable_metadata()->set_client_request_id("seed");
  std::string out;
  out.push_back(static_cast<char>(CommandIndex(Request::descriptor())));
  out.push_back(static_cast<char>(ActorIndex(actor)));
  return out + r.SerializeAsString();
}

std::string MetricFrame(const std::string& actor, const std::string& metric) {
  v1::RecordMetricRequest r;
  r.mutable_metadata()->set_client_request_id("seed");
  *r.mutable_metric() = FromText<v1::MetricRecorded>(metric);
  std::string out;
  out.push_back(static_cast<char>(kCommandCount));
  out.push_back(static_cast<char>(ActorIndex(actor)));
  return out + r.SerializeAsString();
}

void DomainCorpus() {
  using namespace v1;  // NOLINT: many request types
  const std::string admin = "admin@supplier.example", ana = "ana@supplier.example",
                    sam = "sam@supplier.example", kim = "kim@supplier.example",
                    eve = "eve@supplier.example", olga = "olga@supplier.example";
  const std::string visit = FixedProgramme().visit_event_id;
  const std::string assessment = FixedProgramme().assessment_event_id;
  auto one = [](const std::string& name, const std::string& frame) {
    Write("domain", name, frame);
  };
  one("charter-other", [&] {
    std::string f = Frame<CharterProgrammeRequest>(
        admin, "name: 'APAC key accounts' rationale: 'Growth' time_zone: 'Asia/Singapore'");
    CharterProgrammeRequest r;
    r.ParseFromString(f.substr(2));
    r.set_programme_id("apac-kam");  // another programme: decided on an empty state
    return f.substr(0, 2) + r.SerializeAsString();
  }());
  one("change-parameters",
      Frame<ChangeProgrammeParametersRequest>(
          ana,
          "min_key_accounts: 3 max_key_accounts: 12 rationale: 'Smaller portfolio' "
          "parameters { max_accounts_per_sponsor: 3 sponsor_visit_cadence_days: 90 "
          "review_cadence_days: 180 discount_rate: 0.08 required_skills: SKILL_FINANCE }"));
  one("register-person",
      Frame<RegisterPersonRequest>(ana,
                                   "person_id: 'sid' name: 'Sid Sales' principal: "
                                   "'sid@supplier.example' functions: PERSON_FUNCTION_SALES"));
  one("change-membership", Frame<ChangeMembershipRequest>(
                               ana,
                               "person_id: 'olga' functions: PERSON_FUNCTION_OPERATIONS functions: "
                               "PERSON_FUNCTION_SUPPLY_CHAIN reason: 'Took over supply chain'"));
  one("appoint-champion",
      Frame<AppointChampionRequest>(ana, "person_id: 'sam' rationale: 'Second champion'"));
  one("stand-down-champion",
      Frame<StandDownChampionRequest>(ana, "person_id: 'ana' reason: 'Rotation'"));
  one("publish-criteria",
      Frame<PublishSelectionCriteriaRequest>(
          ana,
          "criteria { criterion_id: 'profit' name: 'Profit' weight_percent: 100 "
          "scale_min: 0 scale_max: 10 } threshold: 50 rationale: 'Profit only'"));
  one("nominate", Frame<NominateAccountRequest>(
                      kim, "account_id: 'globex' account_name: 'Globex, Inc.' rationale: 'Fit'"));
  one("assess", Frame<AssessAccountRequest>(
                    kim,
                    "account_id: 'bolt' criteria_version: 1 scores { criterion_id: 'profit' "
                    "score: 2 } scores { criterion_id: 'fit' score: 3 } notes: 'Thin'"));
  one("assess-correction",
      Frame<AssessAccountRequest>(
          kim, base::StrCat("account_id: 'acme' criteria_version: 1 scores { criterion_id: "
                            "'profit' score: 4 } scores { criterion_id: 'fit' score: 4 } "
                            "corrects_event_id: '",
                            assessment, "'")));
  one("admit", Frame<AdmitAccountRequest>(ana, "account_id: 'nordic'"));
  one("admit-four-eyes", Frame<AdmitAccountRequest>(kim, "account_id: 'nordic'"));
  one("incubate", Frame<IncubateAccountRequest>(
                      ana, "account_id: 'nordic' review_by: '2026-09-30' rationale: 'Prove it'"));
  one("reject", Frame<RejectNominationRequest>(sam, "account_id: 'bolt' reason: 'Low margin'"));
  one("review-account",
      Frame<ReviewAccountRequest>(ana,
                                  "account_id: 'acme' outcome: REVIEW_OUTCOME_RETAIN "
                                  "metrics_considered: METRIC_KIND_REVENUE notes: 'On track'"));
  one("retire", Frame<RetireAccountRequest>(ana, "account_id: 'acme' reason: 'Margin collapsed'"));
  one("objectives",
      Frame<SetAccountObjectivesRequest>(kim,
                                         "account_id: 'acme' objectives: 'Grow share of wallet' "
                                         "measured_by: METRIC_KIND_GROSS_MARGIN"));
  one("assign-sponsor",
      Join({Frame<ReleaseSponsorRequest>(ana, "account_id: 'acme' reason: 'Moved on'"),
            Frame<AssignSponsorRequest>(ana, "account_id: 'acme' person_id: 'sam'")}));
  one("release-sponsor",
      Frame<ReleaseSponsorRequest>(ana, "account_id: 'acme' reason: 'Moved on'"));
  one("log-visit", Frame<LogSponsorVisitRequest>(
                       eve, "account_id: 'acme' visit_date: '2026-02-20' notes: 'Plant tour'"));
  one("assess-competency",
      Frame<AssessCompetencyRequest>(
          ana, "person_id: 'kim' skill: SKILL_PLANNING competent: true notes: 'Solid plan'"));
  one("manager-training", Frame<RecordManagerTrainingRequest>(
                              ana,
                              "person_id: 'kim' skill: SKILL_FINANCE course: 'Finance 2' "
                              "completed_on: '2026-02-10'"));
  one("staff-training",
      Frame<RecordStaffTrainingRequest>(
          ana, "person_id: 'olga' course: 'KAM for operations' completed_on: '2026-02-11'"));
  one("assign-manager",
      Join({Frame<ReleaseManagerRequest>(ana, "account_id: 'acme' reason: 'Reorganisation'"),
            Frame<AssignManagerRequest>(ana,
                                        "account_id: 'acme' person_id: 'kim' training_plan { "
                                        "skill: SKILL_INFLUENCE due_by: '2026-06-30' }")}));
  one("release-manager",
      Frame<ReleaseManagerRequest>(ana, "account_id: 'acme' reason: 'Reorganisation'"));
  one("assign-team", Frame<AssignTeamMemberRequest>(ana, "account_id: 'acme' person_id: 'olga'"));
  one("release-team",
      Join({Frame<AssignTeamMemberRequest>(ana, "account_id: 'acme' person_id: 'olga'"),
            Frame<ReleaseTeamMemberRequest>(ana, "account_id: 'acme' person_id: 'olga'")}));
  one("make-commitment",
      Frame<MakeCommitmentRequest>(
          ana,
          "account_id: 'acme' commitment_id: 'c-2' description: 'Joint forecast' "
          "owner_person_id: 'olga' due_by: '2026-05-31'"));
  one("fulfil-commitment",
      Frame<FulfilCommitmentRequest>(olga, "commitment_id: 'c-1' evidence: 'Slot in place'"));
  one("breach-commitment",
      Frame<BreachCommitmentRequest>(ana, "commitment_id: 'c-1' reason: 'Capacity'"));
  one("review-programme",
      Frame<ReviewProgrammeRequest>(ana, "summary: 'Year one' findings: 'Too few visits'"));
  one("benchmark", Frame<RecordBenchmarkRequest>(
                       ana, "benchmark_id: 'b-1' compared_with: 'Peer group' findings: 'Behind'"));
  one("best-practice",
      Join({Frame<RecordBenchmarkRequest>(
                ana, "benchmark_id: 'b-1' compared_with: 'Peer group' findings: 'Behind'"),
            Frame<AdoptBestPracticeRequest>(
                ana, "practice_id: 'p-1' description: 'Quarterly QBRs' benchmark_id: 'b-1'")}));
  one("retract-visit", Frame<RetractRecordRequest>(
                           ana, base::StrCat("event_id: '", visit, "' reason: 'Logged twice'")));
  one("quarantine-request", Frame<RequestQuarantineAcknowledgementRequest>(
                                admin,
                                "record { topic: 'kam.programme.v1' partition: 0 offset: 12 } "
                                "reason: 'Forged record, investigated'"));
  one("quarantine-approve",
      Join({Frame<RequestQuarantineAcknowledgementRequest>(
                admin,
                "record { topic: 'kam.programme.v1' partition: 0 offset: 12 } "
                "reason: 'Forged record, investigated'"),
            Frame<ApproveQuarantineAcknowledgementRequest>(
                ana, "record { topic: 'kam.programme.v1' partition: 0 offset: 12 }")}));
  // The business time moves to the recording time first; then a visit arrives late.
  one("late-entry",
      Join({Frame<LogSponsorVisitRequest>(
                eve, "account_id: 'acme' visit_date: '2026-03-01' notes: 'Plant tour'"),
            Frame<LogSponsorVisitRequest>(
                eve,
                "account_id: 'acme' visit_date: '2026-01-20' metadata { late_reason: "
                "'Paper form' occurred_at { seconds: 1768900000 } }")}));
  // Sequences: a command changes the state the next one is decided on.
  Write("domain", "sequence-admission",
        Join({Frame<NominateAccountRequest>(
                  kim, "account_id: 'globex' account_name: 'Globex' rationale: 'Fit'"),
              Frame<AssessAccountRequest>(
                  kim,
                  "account_id: 'globex' criteria_version: 1 scores { criterion_id: "
                  "'profit' score: 5 } scores { criterion_id: 'fit' score: 5 }"),
              Frame<AdmitAccountRequest>(ana, "account_id: 'globex'"),
              Frame<AssignSponsorRequest>(ana, "account_id: 'globex' person_id: 'eve'"),
              Frame<RetireAccountRequest>(ana, "account_id: 'globex' reason: 'Exited'")}));
  Write("domain", "sequence-membership",
        Join({Frame<RegisterPersonRequest>(
                  ana,
                  "person_id: 'zed' name: 'Zed' principal: 'zed@supplier.example' "
                  "functions: PERSON_FUNCTION_EXECUTIVE senior: true "
                  "reports_to_top_management: true"),
              Frame<AppointChampionRequest>(ana, "person_id: 'zed' rationale: 'Second'"),
              Frame<StandDownChampionRequest>(ana, "person_id: 'zed' reason: 'Back'"),
              Frame<ChangeMembershipRequest>(ana, "person_id: 'zed' end: true reason: 'Left'")}));
  const char* revenue =
      R"(programme_id: "emea-kam" account_id: "acme" kind: METRIC_KIND_REVENUE
         period_start: "2026-01-01" period_end: "2026-01-31"
         amount { currency: "EUR" minor_units: 150000 } source_system: "erp"
         source_record_id: "r-9")";
  one("metric-revenue", MetricFrame(SignedPublisher(), revenue));
  one("metric-retention", MetricFrame(kim, R"(programme_id: "emea-kam" account_id: "acme"
                          kind: METRIC_KIND_RETENTION_RATE ratio: 0.85
                          period_start: "2026-01-01" period_end: "2026-01-31"
                          source_system: "crm" source_record_id: "ret-2")"));
  Write("domain", "sequence-metrics",
        Join({MetricFrame(SignedPublisher(), revenue),
              MetricFrame(SignedPublisher(),
                          R"(programme_id: "emea-kam" account_id: "acme"
                             kind: METRIC_KIND_COST_TO_SERVE activity: "logistics"
                             period_start: "2026-01-01" period_end: "2026-01-31"
                             amount { currency: "EUR" minor_units: 9000 } source_system: "erp"
                             source_record_id: "c-9")")}));
}

// ---- inbound ----

// [kind][flags][key SEP value]
std::string InboundInput(int kind, int flags, const std::string& key, const Message& value) {
  std::string out;
  out.push_back(static_cast<char>(kind));
  out.push_back(static_cast<char>(flags));
  return out + Join({key, value.SerializeAsString()});
}

void InboundCorpus() {
  constexpr int kSign = 1, kMoved = 2, kDevelopment = 4;
  const auto metric = FromText<v1::InboundMetric>(R"(metric {
      programme_id: "emea-kam" account_id: "acme" kind: METRIC_KIND_GROSS_MARGIN
      period_start: "2026-01-01" period_end: "2026-01-31"
      amount { currency: "EUR" minor_units: 42000 } source_system: "erp"
      source_record_id: "gm-1" })");
  Write("inbound", "metric-signed", InboundInput(0, kSign, "emea-kam:acme", metric));
  auto dev_metric = metric;
  dev_metric.set_publisher(kUnsignedPublisherName);
  Write("inbound", "metric-development",
        InboundInput(0, kDevelopment, "emea-kam:acme", dev_metric));
  Write("inbound", "metric-unsigned", InboundInput(0, 0, "emea-kam:acme", metric));
  const auto manager = FromText<v1::InboundTraining>(R"(manager {
      programme_id: "emea-kam" person_id: "kim" skill: SKILL_CONSULTING
      course: "Consulting 101" completed_on: "2026-02-15" })");
  Write("inbound", "training-manager-signed", InboundInput(1, kSign, kProgramme, manager));
  Write("inbound", "training-moved-signature",
        InboundInput(1, kSign | kMoved, kProgramme, manager));
  auto staff = FromText<v1::InboundTraining>(R"(publisher: "lms" staff {
      programme_id: "emea-kam" person_id: "olga" course: "KAM awareness"
      completed_on: "2026-02-16" })");
  Write("inbound", "training-staff-development", InboundInput(1, kDevelopment, kProgramme, staff));
  const auto person = FromText<v1::InboundPerson>(R"(person {
      programme_id: "emea-kam" person_id: "hr-7" name: "Hana Ruiz"
      functions: PERSON_FUNCTION_OPERATIONS })");
  Write("inbound", "person-signed", InboundInput(2, kSign, kProgramme, person));
  const auto visit = FromText<v1::InboundSponsorVisit>(R"(visit {
      programme_id: "emea-kam" account_id: "acme" visit_date: "2026-02-20"
      notes: "From the CRM" })");
  Write("inbound", "visit-signed", InboundInput(3, kSign, kProgramme, visit));
  const auto fulfilled = FromText<v1::InboundCommitmentOutcome>(R"(fulfilled {
      programme_id: "emea-kam" commitment_id: "c-1" evidence: "Delivered" })");
  Write("inbound", "commitment-signed", InboundInput(4, kSign, kProgramme, fulfilled));
  // A record carrying its own (wrong) headers, as a forger would send it.
  std::string forged = InboundInput(4, 0, kProgramme, fulfilled);
  forged += base::StrCat(kSeparator, eventlog::kPublisherHeader, "=", TestSigner().key_id(),
                         kSeparator, eventlog::kSignatureHeader, "=AAAA");
  Write("inbound", "commitment-forged-headers", forged);
}

// ---- import ----

std::size_t RequestIndex(const google::protobuf::Descriptor* d) {
  const auto all = ServiceRequests();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i] == d) return i;
  }
  Fail(base::StrCat("corpus: no method takes ", d->full_name()));
}

void ImportCorpus() {
  auto file = [](int kind, int selector, const std::string& text) {
    return std::string(1, static_cast<char>(kind)) + static_cast<char>(selector) + text;
  };
  Write("import", "people.csv",
        file(0, 0,
             "person_id,name,principal,functions,senior,reports_to_top_management\n"
             "ana,Ana Ruiz,ana@supplier.example,executive;steering-board,yes,yes\n"
             "kim,\"Park, Kim\",kim@supplier.example,key-account-manager,no,no\r\n"
             "olga,Olga Berg,olga@supplier.example,operations,,\n"));
  Write("import", "accounts.csv",
        file(1, 0,
             "\xEF\xBB\xBF"
             "account_id,account_name,rationale\n"
             "acme,ACME Industries,Top-5\n"
             "globex,\"Globex, Inc.\",\"Multi-site, \"\"strategic\"\"\"\n"
             "Bad Id,Bad,Why\n"));
  Write("import", "metrics.csv",
        file(2, 0,
             "account_id,kind,period_start,period_end,amount,ratio,activity,source_system,"
             "source_record_id\n"
             "acme,revenue,2026-01-01,2026-01-31,\"1,500.00 EUR\",,,erp,r1\n"
             "acme,cost-to-serve,2026-01-01,2026-01-31,EUR 90.5,,logistics,erp,c1\n"
             "acme,retention-rate,2026-01-01,2026-01-31,,85%,,crm,ret1\n"
             "acme,revnue,2026-01-01,2026-01-31,5.00 EUR,,,erp,bad-kind\n"));
  Write("import", "metrics.jsonl",
        file(2, 1,
             R"({"account_id":"acme","kind":"gross-margin","period_start":"2026-02-01",)"
             R"("period_end":"2026-02-28","amount":"-1,250.00 EUR","source_system":"erp",)"
             R"("source_record_id":"gm2"})"
             "\n"
             R"({"account":"acme","kind":"revenue","amount":{"currency":"EUR","minorUnits":"5"}})"
             "\nnot json\n"));
  Write("import", "trainings.jsonl",
        file(3, 1,
             R"({"type":"manager","person_id":"kim","skill":"finance","course":"KAM finance",)"
             R"("completed_on":"2026-10-01"})"
             "\n"
             R"({"person_id":"kim","skill":"planning","course":"KAM planning"})"
             "\n\n"
             R"({"type":"staff","person_id":"olga","course":"KAM for operations"})"
             "\n"));
  Write("import", "trainings.csv",
        file(3, 0,
             "type,person,skill,course,completed-on\nmanager,kim,influence,Influence,"
             "2026-03-01\nstaff,olga,,Awareness,2026-03-02\nboth,x,,y,z\n"));
  // kamctl import people --programme emea-kam --dry-run (selector bits 1 and 2): the lines
  // without a programme get it, one names another; a blank line, and a line with a field
  // too many.
  Write("import", "people-programme-dry-run.csv",
        file(0, 2 | 4,
             "person_id,programme,name,principal,functions\n"
             "sam,,Sam Lee,sam@supplier.example,steering-board\n"
             "eve,apac-kam,Eve Tan,eve@supplier.example,executive\n"
             "\n"
             "bob,,Bob,bob@supplier.example,board-observer,extra\n"));
  Write(
      "import", "criteria-flags.csv",
      file(4, 2 * static_cast<int>(RequestIndex(v1::PublishSelectionCriteriaRequest::descriptor())),
           "programme,criteria,threshold,rationale\n"
           "emea-kam,criterion_id=profit,name=Profit,weight_percent=60,scale_min=1,"
           "scale_max=5;criterion_id=fit,name=Fit,weight_percent=40,scale_min=1,scale_max=5,"
           "60,Profit-based\n"));
  Write("import", "quarantine-flags.csv",
        file(4,
             2 * static_cast<int>(
                     RequestIndex(v1::RequestQuarantineAcknowledgementRequest::descriptor())),
             "programme,record,reason\nemea-kam,kam.programme.v1/0@12,Forged\n"));
  // A query with times: the Timestamp columns (RFC 3339, a date, or now).
  Write("import", "history-times.csv",
        file(4, 2 * static_cast<int>(RequestIndex(v1::GetHistoryRequest::descriptor())),
             "programme,recorded_from,recorded_to\n"
             "emea-kam,2026-01-01T09:00:00Z,2026-02-01\n"));
}

}  // namespace
}  // namespace kam::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR   (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  kam::fuzz::out_dir = argv[1];
  kam::fuzz::EnvelopeCorpus();
  kam::fuzz::DomainCorpus();
  kam::fuzz::InboundCorpus();
  kam::fuzz::ImportCorpus();
  std::printf("corpus written to %s\n", argv[1]);
  return 0;
}
