#include "tools/demo/demo.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "base/errors.h"
#include "base/strings.h"
#include "google/protobuf/util/time_util.h"
#include "kam/v1/governance_service.grpc.pb.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "server/status.h"

namespace kam::demo {
namespace {

using v1::ProgrammeCommandService;

constexpr int kStoryDays = 730;  // two years of business time, ending today

std::string Date(absl::CivilDay d) { return absl::FormatCivilTime(d); }

// The accounts of the story and their economics (euros per month).
struct AccountPlan {
  std::string id;
  std::string name;
  std::string rationale;
  std::vector<int> scores;                      // per criterion of v1 (1..5)
  double revenue = 0;                           // monthly, EUR
  double margin_rate = 0;                       // gross margin / revenue
  std::map<std::string, double> cost_to_serve;  // monthly, EUR, by activity
  double retention = 0.9;
};

const std::vector<AccountPlan>& Accounts() {
  static const auto* plans = new std::vector<AccountPlan>{
      {"nordic-foods",
       "Nordic Foods AB",
       "Largest dairy-ingredients buyer in the Nordics; joint product development under way",
       {5, 5, 4, 5},
       1200000,
       0.31,
       {{"order-handling", 18000},
        {"logistics", 42000},
        {"technical-support", 25000},
        {"key-account-team", 30000}},
       0.95},
      {"alpine-dairy",
       "Alpine Dairy GmbH",
       "Fast-growing premium dairy producer; wants supply security for alpine milk proteins",
       {4, 4, 5, 4},
       800000,
       0.29,
       {{"order-handling", 12000},
        {"logistics", 30000},
        {"technical-support", 15000},
        {"key-account-team", 22000}},
       0.92},
      {"iberia-beverages",
       "Iberia Beverages SA",
       "Our largest account by revenue in Southern Europe",
       {4, 3, 4, 4},
       1500000,
       0.18,
       {{"order-handling", 40000},
        {"logistics", 150000},
        {"technical-support", 90000},
        {"key-account-team", 30000}},
       0.88},
      {"baltic-packaging",
       "Baltic Packaging UAB",
       "Strategic entry into sustainable packaging; scores low today, strategic option value",
       {3, 2, 3, 3},
       300000,
       0.26,
       {{"order-handling", 6000},
        {"logistics", 14000},
        {"technical-support", 9000},
        {"key-account-team", 12000}},
       0.85},
      {"rhine-chemicals",
       "Rhine Chemicals AG",
       "Large volumes in industrial enzymes",
       {4, 4, 3, 3},
       600000,
       0.22,
       {{"order-handling", 10000},
        {"logistics", 26000},
        {"technical-support", 22000},
        {"key-account-team", 18000}},
       0.7},
      {"celtic-pharma",
       "Celtic Pharma Ltd",
       "Regulated pharma excipients; high margin, demanding quality audits",
       {4, 5, 4, 4},
       650000,
       0.38,
       {{"order-handling", 9000},
        {"logistics", 16000},
        {"technical-support", 28000},
        {"key-account-team", 20000}},
       0.93},
      {"danube-logistics",
       "Danube Logistics Kft",
       "Could become the hub for Central Europe; start small and watch",
       {3, 4, 4, 3},
       250000,
       0.24,
       {{"order-handling", 5000},
        {"logistics", 9000},
        {"technical-support", 4000},
        {"key-account-team", 8000}},
       0.8},
      {"vistula-steel",
       "Vistula Steel SA",
       "Anchor customer for our industrial line in Poland",
       {4, 4, 4, 3},
       700000,
       0.27,
       {{"order-handling", 11000},
        {"logistics", 24000},
        {"technical-support", 12000},
        {"key-account-team", 15000}},
       0.9},
      {"aegean-shipping",
       "Aegean Shipping SA",
       "Marine coatings programme; strong partnership signals",
       {4, 4, 4, 5},
       450000,
       0.3,
       {{"order-handling", 7000},
        {"logistics", 15000},
        {"technical-support", 10000},
        {"key-account-team", 14000}},
       0.9},
      {"atlas-retail",
       "Atlas Retail Group",
       "Big name in retail; price-driven buyer",
       {2, 2, 3, 2},
       0,
       0,
       {},
       0},
      {"po-valley-agri",
       "Po Valley Agri Coop",
       "Cooperative of 300 farms; nominated by sales",
       {},
       0,
       0,
       {},
       0},
      {"thames-hospitals",
       "Thames Hospitals NHS Trust",
       "Public tender framework; long contract horizon",
       {3, 3, 3, 4},
       0,
       0,
       {},
       0},
  };
  return *plans;
}

class Loader {
 public:
  Loader(const Channels& ch, const Tokens& tokens, absl::Time today)
      : programmes_(ProgrammeCommandService::NewStub(ch.commands)),
        metrics_(v1::MetricsCommandService::NewStub(ch.metrics)),
        queries_(v1::GovernanceQueryService::NewStub(ch.queries)),
        tokens_(tokens),
        today_(absl::ToCivilDay(today, absl::UTCTimeZone())) {}

  absl::StatusOr<Summary> Run();

 private:
  // Day n of the story (0 = charter, kStoryDays = today).
  absl::CivilDay Day(int n) const { return today_ - (kStoryDays - n); }
  static absl::Time Morning(absl::CivilDay day) {
    return absl::FromCivil(absl::CivilHour(day) + 9, absl::UTCTimeZone());
  }
  const std::string& Principal(const std::string& role) const { return tokens_.at(role).principal; }

  // The story's business time for the next command, on day `day`: the programme's business
  // time only moves forward (rule time.in_order), so the first command of a day happens at
  // 09:00 and each further one a few minutes after the one before. A step dated before the
  // clock is a mistake in the story, reported before anything is sent.
  absl::StatusOr<absl::Time> Advance(int day) {
    const absl::CivilDay civil = Day(day);
    if (clock_ != absl::InfinitePast() && civil < absl::ToCivilDay(clock_, absl::UTCTimeZone())) {
      return absl::InternalError(
          base::StrCat("demo step ", step_ + 1, " is dated day ", day, " (", Date(civil),
                       "), before the story's business time ",
                       absl::FormatTime("%Y-%m-%d %H:%M UTC", clock_, absl::UTCTimeZone())));
    }
    clock_ = std::max(Morning(civil), clock_ + absl::Minutes(7));
    return clock_;
  }

  // Sends one programme command as `role` on day `day` of the story. With `late_reason`, a
  // fact of day `day` that reaches the platform late: it keeps its own business time, which
  // lies before the story's clock, and takes effect at the clock (an explicit late entry).
  template <typename Req, typename Resp>
  absl::StatusOr<v1::CommandResult> Send(
      grpc::Status (ProgrammeCommandService::Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
      const std::string& role, int day, Req req, const std::string& late_reason = "") {
    absl::Time at = Morning(Day(day));
    if (late_reason.empty()) {
      auto advanced = Advance(day);
      if (!advanced.ok()) return advanced.status();
      at = *advanced;
    } else if (at >= clock_) {
      return absl::InternalError(base::StrCat("demo step ", step_ + 1, " is a late entry of day ",
                                              day, ", which is not before the story's clock"));
    }
    req.set_programme_id(kProgrammeId);
    auto* m = req.mutable_metadata();
    m->set_client_request_id(base::StrCat("demo/", kProgrammeId, "/", ++step_));
    *m->mutable_occurred_at() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(at));
    m->set_late_reason(late_reason);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_.at(role).token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    Resp resp;
    const grpc::Status status = (programmes_.get()->*rpc)(&ctx, req, &resp);
    if (!status.ok()) {
      return absl::Status(server::FromGrpc(status).code(),
                          base::StrCat("demo step ", step_, " (", Req::descriptor()->name(),
                                       "): ", status.error_message()));
    }
    ++summary_.commands;
    return resp.result();
  }

  absl::Status People();
  absl::Status Criteria();
  absl::Status Portfolio();
  absl::Status Economics();
  absl::Status Metrics(const std::vector<v1::RecordMetricRequest>& items);

  std::unique_ptr<ProgrammeCommandService::Stub> programmes_;
  std::unique_ptr<v1::MetricsCommandService::Stub> metrics_;
  std::unique_ptr<v1::GovernanceQueryService::Stub> queries_;
  const Tokens& tokens_;
  const absl::CivilDay today_;
  int step_ = 0;
  absl::Time clock_ = absl::InfinitePast();  // the story's business time so far
  Summary summary_;
  std::map<std::string, std::string> assessment_events_;  // account -> latest assessment
  std::map<std::string, std::string> metric_events_;      // client request id -> event id
};

#define DEMO_SEND(rpc, role, day, req)                                           \
  do {                                                                           \
    auto demo_sent_ = Send(&ProgrammeCommandService::Stub::rpc, role, day, req); \
    if (!demo_sent_.ok()) return demo_sent_.status();                            \
  } while (false)

v1::RegisterPersonRequest Person(const std::string& id, const std::string& name,
                                 const std::string& principal,
                                 std::initializer_list<v1::PersonFunction> functions,
                                 bool senior = false, bool board = false) {
  v1::RegisterPersonRequest r;
  r.set_person_id(id);
  r.set_name(name);
  r.set_principal(principal);
  for (auto f : functions) r.add_functions(f);
  r.set_senior(senior);
  r.set_reports_to_top_management(senior);
  r.set_board_level(board);
  return r;
}

absl::Status Loader::People() {
  using F = v1::PersonFunction;
  const F exec = v1::PERSON_FUNCTION_EXECUTIVE;
  const F steering = v1::PERSON_FUNCTION_STEERING_BOARD;
  const F kam = v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER;
  const std::vector<v1::RegisterPersonRequest> people = {
      Person("ana-lindqvist", "Ana Lindqvist", Principal("champion"), {exec, steering}, true, true),
      Person("sven-berg", "Sven Berg", Principal("sponsor"), {exec, steering}, true, true),
      Person("maria-rossi", "Maria Rossi", "maria.rossi@supplier.example", {exec}, true, true),
      Person("jonas-weber", "Jonas Weber", "jonas.weber@supplier.example", {exec}, true),
      Person("claire-dubois", "Claire Dubois", "", {exec}, true),
      Person("kim-tanaka", "Kim Tanaka", Principal("kam"), {kam}),
      Person("lars-nilsson", "Lars Nilsson", "lars.nilsson@supplier.example", {kam}),
      Person("priya-shah", "Priya Shah", "priya.shah@supplier.example", {kam}),
      Person("tom-becker", "Tom Becker", "", {kam, v1::PERSON_FUNCTION_SALES}),
      Person("eva-holm", "Eva Holm", "", {v1::PERSON_FUNCTION_OPERATIONS}),
      Person("raj-patel", "Raj Patel", "", {v1::PERSON_FUNCTION_SUPPLY_CHAIN}),
      Person("nina-kowalski", "Nina Kowalski", "", {v1::PERSON_FUNCTION_OPERATIONS}),
      Person("oscar-lund", "Oscar Lund", "", {v1::PERSON_FUNCTION_FINANCE}),
      // Members without a business role: the governance board reads the dashboard, the
      // enterprise system records trainings (neither commands anything else).
      Person("governance-board", "Governance board", Principal("board"),
             {v1::PERSON_FUNCTION_BOARD_OBSERVER}),
      Person("erp", "ERP and learning systems", Principal("publisher"),
             {v1::PERSON_FUNCTION_PUBLISHER}),
  };
  for (const auto& p : people) DEMO_SEND(RegisterPerson, "admin", 1, p);
  v1::AppointChampionRequest champion;
  champion.set_person_id("ana-lindqvist");
  champion.set_rationale(
      "Board member for commercial excellence with a direct line to the CEO; led the pilot");
  DEMO_SEND(AppointChampion, "admin", 2, champion);

  // Managers' competencies (an LMS records the trainings).
  const std::vector<v1::Skill> all = {v1::SKILL_FINANCE, v1::SKILL_CONSULTING, v1::SKILL_PLANNING,
                                      v1::SKILL_INTERPERSONAL, v1::SKILL_INFLUENCE};
  int day = 5;
  for (const std::string person : {"kim-tanaka", "lars-nilsson"}) {
    for (v1::Skill s : all) {
      v1::RecordManagerTrainingRequest t;
      t.set_person_id(person);
      t.set_skill(s);
      t.set_course(base::StrCat("KAM Academy: ", v1::Skill_Name(s).substr(6)));
      t.set_completed_on(Date(Day(day)));
      DEMO_SEND(RecordManagerTraining, "publisher", day, t);
      ++day;
    }
  }
  for (v1::Skill s : {v1::SKILL_FINANCE, v1::SKILL_INTERPERSONAL, v1::SKILL_PLANNING}) {
    v1::RecordManagerTrainingRequest t;
    t.set_person_id("priya-shah");
    t.set_skill(s);
    t.set_course(base::StrCat("KAM Academy: ", v1::Skill_Name(s).substr(6)));
    t.set_completed_on(Date(Day(day)));
    DEMO_SEND(RecordManagerTraining, "publisher", day, t);
  }
  v1::AssessCompetencyRequest assessed;
  assessed.set_person_id("priya-shah");
  assessed.set_skill(v1::SKILL_CONSULTING);
  assessed.set_competent(true);
  assessed.set_notes("Ran two value-workshops with customers before joining");
  DEMO_SEND(AssessCompetency, "champion", day, assessed);
  for (const std::string person : {"eva-holm", "raj-patel"}) {
    v1::RecordStaffTrainingRequest t;
    t.set_person_id(person);
    t.set_course("KAM for operations and supply chain");
    t.set_completed_on(Date(Day(day)));
    DEMO_SEND(RecordStaffTraining, "publisher", day, t);
  }
  return absl::OkStatus();
}

v1::PublishSelectionCriteriaRequest CriteriaV(int version) {
  v1::PublishSelectionCriteriaRequest c;
  auto add = [&](const char* id, const char* name, uint32_t weight) {
    auto* x = c.add_criteria();
    x->set_criterion_id(id);
    x->set_name(name);
    x->set_weight_percent(weight);
    x->set_scale_min(1);
    x->set_scale_max(5);
  };
  if (version == 1) {
    add("strategic-fit", "Strategic fit with our portfolio", 30);
    add("profit-potential", "Profit potential after cost-to-serve", 30);
    add("growth", "Growth of the customer's market", 20);
    add("partnership", "Willingness to partner (joint planning, data)", 20);
    c.set_threshold(60);
    c.set_rationale("First criteria, agreed by the steering board at the programme's launch");
  } else {
    add("strategic-fit", "Strategic fit with our portfolio", 25);
    add("profit-potential", "Profit potential after cost-to-serve", 35);
    add("growth", "Growth of the customer's market", 20);
    add("partnership", "Willingness to partner (joint planning, data)", 20);
    c.set_threshold(62.5);
    c.set_rationale(
        "Programme review: revenue-heavy accounts diluted profit; profit potential weighs more");
  }
  return c;
}

absl::Status Loader::Criteria() {
  DEMO_SEND(PublishSelectionCriteria, "champion", 20, CriteriaV(1));
  return absl::OkStatus();
}

absl::Status Loader::Portfolio() {
  const auto& plans = Accounts();
  // Nominations (by the key account manager), days 30..60.
  int day = 30;
  for (const auto& a : plans) {
    v1::NominateAccountRequest n;
    n.set_account_id(a.id);
    n.set_account_name(a.name);
    n.set_rationale(a.rationale);
    DEMO_SEND(NominateAccount, "kam", day, n);
    day += 2;
  }
  // Assessments against criteria v1 (all but the one still only nominated), days 62..75.
  day = 62;
  const char* criteria[] = {"strategic-fit", "profit-potential", "growth", "partnership"};
  for (const auto& a : plans) {
    if (a.scores.empty() || a.id == "aegean-shipping") continue;
    v1::AssessAccountRequest r;
    r.set_account_id(a.id);
    r.set_criteria_version(1);
    for (int i = 0; i < 4; ++i) {
      auto* s = r.add_scores();
      s->set_criterion_id(criteria[i]);
      s->set_score(a.scores[static_cast<std::size_t>(i)]);
    }
    r.set_notes("Scored in the account planning workshop");
    auto result = Send(&ProgrammeCommandService::Stub::AssessAccount, "kam", day++, r);
    if (!result.ok()) return result.status();
    assessment_events_[a.id] = result->event_ids(0);
  }
  // Decisions by the champion (four eyes: the manager nominated), days 80..90.
  auto admit = [&](const std::string& id, int d, const std::string& justification = "",
                   const std::string& role = "champion") -> absl::Status {
    v1::AdmitAccountRequest r;
    r.set_account_id(id);
    r.set_exception_justification(justification);
    DEMO_SEND(AdmitAccount, role, d, r);
    return absl::OkStatus();
  };
  for (const std::string id : {"nordic-foods", "alpine-dairy", "iberia-beverages"}) {
    if (auto s = admit(id, 80); !s.ok()) return s;
  }
  if (auto s = admit("celtic-pharma", 81, "", "sponsor"); !s.ok()) return s;  // steering board
  if (auto s = admit("rhine-chemicals", 82); !s.ok()) return s;
  if (auto s = admit("vistula-steel", 83); !s.ok()) return s;
  if (auto s = admit("baltic-packaging", 84,
                     "Below threshold on today's profit, but our entry into sustainable "
                     "packaging depends on a reference customer; reviewed after one year");
      !s.ok()) {
    return s;
  }
  v1::IncubateAccountRequest incubate;
  incubate.set_account_id("danube-logistics");
  incubate.set_review_by(Date(Day(85 + 540)));
  incubate.set_rationale("Promising hub role; start with one product line and watch 18 months");
  DEMO_SEND(IncubateAccount, "champion", 85, incubate);
  v1::RejectNominationRequest reject;
  reject.set_account_id("atlas-retail");
  reject.set_reason("Buys on price alone; no willingness to plan jointly (score 30 of 100)");
  DEMO_SEND(RejectNomination, "champion", 86, reject);

  // Sponsors (executives; at most three accounts each), day 90. Vistula Steel gets none.
  const std::vector<std::pair<std::string, std::string>> sponsors = {
      {"nordic-foods", "sven-berg"},        {"alpine-dairy", "maria-rossi"},
      {"iberia-beverages", "jonas-weber"},  {"celtic-pharma", "maria-rossi"},
      {"rhine-chemicals", "claire-dubois"}, {"baltic-packaging", "sven-berg"},
      {"danube-logistics", "claire-dubois"}};
  for (const auto& [account, person] : sponsors) {
    v1::AssignSponsorRequest r;
    r.set_account_id(account);
    r.set_person_id(person);
    DEMO_SEND(AssignSponsor, "champion", 90, r);
  }
  // Managers, day 95: Tom Becker is untrained and works to a dated plan.
  const std::vector<std::pair<std::string, std::string>> managers = {
      {"nordic-foods", "kim-tanaka"},      {"alpine-dairy", "lars-nilsson"},
      {"iberia-beverages", "kim-tanaka"},  {"celtic-pharma", "priya-shah"},
      {"rhine-chemicals", "lars-nilsson"}, {"baltic-packaging", "tom-becker"},
      {"vistula-steel", "priya-shah"}};
  for (const auto& [account, person] : managers) {
    v1::AssignManagerRequest r;
    r.set_account_id(account);
    r.set_person_id(person);
    if (person == "priya-shah") {
      auto* item = r.add_training_plan();
      item->set_skill(v1::SKILL_INFLUENCE);
      item->set_due_by(Date(Day(95 + 200)));
    }
    if (person == "tom-becker") {
      for (auto [skill, due] : {std::pair{v1::SKILL_FINANCE, 95 + 120},
                                {v1::SKILL_CONSULTING, 95 + 300},
                                {v1::SKILL_PLANNING, 95 + 700},
                                {v1::SKILL_INTERPERSONAL, 95 + 700},
                                {v1::SKILL_INFLUENCE, 95 + 700}}) {
        auto* item = r.add_training_plan();
        item->set_skill(skill);
        item->set_due_by(Date(Day(due)));
      }
    }
    DEMO_SEND(AssignManager, "champion", 95, r);
  }
  // Account teams from operations and supply chain, day 96.
  for (const auto& [account, person] :
       std::vector<std::pair<std::string, std::string>>{{"nordic-foods", "eva-holm"},
                                                        {"nordic-foods", "raj-patel"},
                                                        {"iberia-beverages", "nina-kowalski"},
                                                        {"alpine-dairy", "raj-patel"}}) {
    v1::AssignTeamMemberRequest r;
    r.set_account_id(account);
    r.set_person_id(person);
    DEMO_SEND(AssignTeamMember, "kam", 96, r);
  }
  // Objectives (one measured by revenue alone: flagged), day 100.
  for (const auto& [account, revenue_only] : std::vector<std::pair<std::string, bool>>{
           {"nordic-foods", false}, {"iberia-beverages", true}, {"celtic-pharma", false}}) {
    v1::SetAccountObjectivesRequest r;
    r.set_account_id(account);
    r.set_objectives(revenue_only ? "Grow volume by 15% a year"
                                  : "Grow contribution after cost-to-serve by 10% a year");
    r.add_measured_by(v1::METRIC_KIND_REVENUE);
    if (!revenue_only) {
      r.add_measured_by(v1::METRIC_KIND_CONTRIBUTION);
      r.add_measured_by(v1::METRIC_KIND_CUSTOMER_LIFETIME_VALUE);
    }
    DEMO_SEND(SetAccountObjectives, "kam", 100, r);
  }
  // A commitment owned by operations, fulfilled; another one still open.
  v1::MakeCommitmentRequest c1;
  c1.set_account_id("nordic-foods");
  c1.set_commitment_id("nf-priority-allocation");
  c1.set_description("Priority allocation of whey protein during shortages (48 h response)");
  c1.set_owner_person_id("eva-holm");
  c1.set_due_by(Date(Day(300)));
  DEMO_SEND(MakeCommitment, "kam", 110, c1);
  v1::MakeCommitmentRequest c2;
  c2.set_account_id("alpine-dairy");
  c2.set_commitment_id("ad-dual-sourcing");
  c2.set_description("Dual sourcing of alpine milk proteins from two plants");
  c2.set_owner_person_id("raj-patel");
  c2.set_due_by(Date(Day(kStoryDays - 20)));
  DEMO_SEND(MakeCommitment, "kam", 120, c2);

  // Sponsor visits through the first year; Jonas Weber stops visiting Iberia.
  const std::vector<std::pair<std::string, int>> visits = {
      {"nordic-foods", 130},  {"alpine-dairy", 140},     {"iberia-beverages", 150},
      {"celtic-pharma", 160}, {"baltic-packaging", 170}, {"danube-logistics", 175}};
  for (const auto& [account, d] : visits) {
    v1::LogSponsorVisitRequest r;
    r.set_account_id(account);
    r.set_visit_date(Date(Day(d)));
    r.set_notes("Executive review of the joint account plan");
    DEMO_SEND(LogSponsorVisit, "sponsor", d, r);
  }
  // Rhine Chemicals is retired after half a year: an admit-then-demote.
  v1::RetireAccountRequest retire;
  retire.set_account_id("rhine-chemicals");
  retire.set_reason("Moved to a tender-only purchasing model; no longer qualifies");
  DEMO_SEND(RetireAccount, "champion", 260, retire);
  v1::FulfilCommitmentRequest fulfil;
  fulfil.set_commitment_id("nf-priority-allocation");
  fulfil.set_evidence("Allocation rule live in the ERP since March; two shortages served in 36 h");
  DEMO_SEND(FulfilCommitment, "kam", 280, fulfil);
  v1::RecordManagerTrainingRequest influence;
  influence.set_person_id("priya-shah");
  influence.set_skill(v1::SKILL_INFLUENCE);
  influence.set_course("KAM Academy: INFLUENCE");
  influence.set_completed_on(Date(Day(290)));
  DEMO_SEND(RecordManagerTraining, "publisher", 290, influence);
  // Thames Hospitals' assessment had growth and partnership swapped: an audit corrects it.
  v1::AssessAccountRequest corrected;
  corrected.set_account_id("thames-hospitals");
  corrected.set_criteria_version(1);
  for (auto [criterion, score] : {std::pair{"strategic-fit", 3},
                                  {"profit-potential", 3},
                                  {"growth", 4},
                                  {"partnership", 3}}) {
    auto* s = corrected.add_scores();
    s->set_criterion_id(criterion);
    s->set_score(score);
  }
  corrected.set_notes("Correction: growth and partnership scores were swapped in the workshop");
  corrected.set_corrects_event_id(assessment_events_["thames-hospitals"]);
  DEMO_SEND(AssessAccount, "kam", 300, corrected);

  // Year one's review of every key account.
  for (const auto& [account, outcome, revenue_only] :
       std::vector<std::tuple<std::string, v1::ReviewOutcome, bool>>{
           {"nordic-foods", v1::REVIEW_OUTCOME_RETAIN, false},
           {"alpine-dairy", v1::REVIEW_OUTCOME_RETAIN, false},
           {"iberia-beverages", v1::REVIEW_OUTCOME_RETAIN, true},
           {"celtic-pharma", v1::REVIEW_OUTCOME_RETAIN, false},
           {"baltic-packaging", v1::REVIEW_OUTCOME_WATCH, false},
           {"vistula-steel", v1::REVIEW_OUTCOME_RETAIN, false}}) {
    v1::ReviewAccountRequest r;
    r.set_account_id(account);
    r.set_outcome(outcome);
    r.add_metrics_considered(v1::METRIC_KIND_REVENUE);
    if (!revenue_only) {
      r.add_metrics_considered(v1::METRIC_KIND_CONTRIBUTION);
      r.add_metrics_considered(v1::METRIC_KIND_CUSTOMER_LIFETIME_VALUE);
    }
    r.set_notes(revenue_only ? "Revenue up 12%; the customer is happy"
                             : "Contribution on plan; joint plan renewed");
    DEMO_SEND(ReviewAccount, "sponsor", 370, r);
  }
  v1::ReviewProgrammeRequest review;
  review.set_summary("Year one: eight key accounts, contribution up, one admit-then-demote");
  review.add_findings("Rhine Chemicals left within its minimum tenure: tighten the assessment");
  review.add_findings("Iberia Beverages: revenue up, contribution negative after cost-to-serve");
  DEMO_SEND(ReviewProgramme, "champion", 380, review);
  v1::RecordBenchmarkRequest bench;
  bench.set_benchmark_id("sama-2025");
  bench.set_compared_with("Strategic Account Management Association benchmark study 2025");
  bench.set_findings("Best programmes weigh profit potential over revenue in selection");
  DEMO_SEND(RecordBenchmark, "champion", 385, bench);
  v1::AdoptBestPracticeRequest practice;
  practice.set_practice_id("profit-weighted-selection");
  practice.set_description("Selection criteria weigh profit potential at least 35%");
  practice.set_benchmark_id("sama-2025");
  DEMO_SEND(AdoptBestPractice, "champion", 386, practice);
  // Criteria v2 after the review; Aegean Shipping is assessed against it and admitted.
  DEMO_SEND(PublishSelectionCriteria, "champion", 400, CriteriaV(2));
  v1::AssessAccountRequest aegean;
  aegean.set_account_id("aegean-shipping");
  aegean.set_criteria_version(2);
  for (auto [criterion, score] : {std::pair{"strategic-fit", 4},
                                  {"profit-potential", 4},
                                  {"growth", 4},
                                  {"partnership", 5}}) {
    auto* s = aegean.add_scores();
    s->set_criterion_id(criterion);
    s->set_score(score);
  }
  aegean.set_notes("Assessed against the revised criteria");
  DEMO_SEND(AssessAccount, "kam", 410, aegean);
  if (auto s = admit("aegean-shipping", 420); !s.ok()) return s;
  v1::AssignSponsorRequest aegean_sponsor;
  aegean_sponsor.set_account_id("aegean-shipping");
  aegean_sponsor.set_person_id("jonas-weber");
  DEMO_SEND(AssignSponsor, "champion", 425, aegean_sponsor);
  v1::AssignManagerRequest aegean_manager;
  aegean_manager.set_account_id("aegean-shipping");
  aegean_manager.set_person_id("lars-nilsson");
  DEMO_SEND(AssignManager, "champion", 425, aegean_manager);

  // Year two: visits go on (not to Iberia), Tom Becker's finance training is late; the
  // year closes with the reviews.
  for (const auto& [account, d] :
       std::vector<std::pair<std::string, int>>{{"nordic-foods", 560},
                                                {"alpine-dairy", 600},
                                                {"celtic-pharma", 640},
                                                {"aegean-shipping", 650},
                                                {"nordic-foods", 690},
                                                {"alpine-dairy", 700},
                                                {"celtic-pharma", 710},
                                                {"baltic-packaging", 715},
                                                {"aegean-shipping", 720}}) {
    v1::LogSponsorVisitRequest r;
    r.set_account_id(account);
    r.set_visit_date(Date(Day(d)));
    r.set_notes("Quarterly executive business review");
    DEMO_SEND(LogSponsorVisit, "sponsor", d, r);
  }
  for (const auto& [account, outcome] : std::vector<std::pair<std::string, v1::ReviewOutcome>>{
           {"nordic-foods", v1::REVIEW_OUTCOME_RETAIN},
           {"alpine-dairy", v1::REVIEW_OUTCOME_RETAIN},
           {"celtic-pharma", v1::REVIEW_OUTCOME_RETAIN},
           {"iberia-beverages", v1::REVIEW_OUTCOME_WATCH},
           {"aegean-shipping", v1::REVIEW_OUTCOME_RETAIN}}) {
    v1::ReviewAccountRequest r;
    r.set_account_id(account);
    r.set_outcome(outcome);
    r.add_metrics_considered(v1::METRIC_KIND_CONTRIBUTION);
    r.add_metrics_considered(v1::METRIC_KIND_CUSTOMER_LIFETIME_VALUE);
    r.set_notes(outcome == v1::REVIEW_OUTCOME_WATCH
                    ? "Negative contribution after cost-to-serve: renegotiate expedited logistics"
                    : "On plan");
    DEMO_SEND(ReviewAccount, "sponsor", 722, r);
  }
  v1::ReviewProgrammeRequest review2;
  review2.set_summary("Year two: criteria v2 in force; cost-to-serve now reviewed quarterly");
  review2.add_findings("Vistula Steel still has no executive sponsor");
  DEMO_SEND(ReviewProgramme, "champion", 724, review2);
  // A fact that reaches the platform late: Claire Dubois's visit to Danube Logistics on day
  // 718 is reported only with her expense claim, after the programme review. It is entered
  // with its own date and a late reason, and shows in the history as a late entry.
  v1::LogSponsorVisitRequest danube;
  danube.set_account_id("danube-logistics");
  danube.set_visit_date(Date(Day(718)));
  danube.set_notes("Executive visit to the Budapest hub; agreed to trial a second product line");
  {
    auto sent = Send(&ProgrammeCommandService::Stub::LogSponsorVisit, "sponsor", 718, danube,
                     "Reported with the sponsor's expense claim after the programme review");
    if (!sent.ok()) return sent.status();
  }
  return absl::OkStatus();
}

absl::Status Loader::Metrics(const std::vector<v1::RecordMetricRequest>& items) {
  for (std::size_t start = 0; start < items.size(); start += 500) {
    v1::RecordMetricBatchRequest batch;
    for (std::size_t i = start; i < std::min(items.size(), start + 500); ++i) {
      *batch.add_items() = items[i];
    }
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_.at("publisher").token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    v1::RecordMetricBatchResponse resp;
    const grpc::Status status = metrics_->RecordMetricBatch(&ctx, batch, &resp);
    if (!status.ok()) {
      return absl::Status(server::FromGrpc(status).code(),
                          base::StrCat("demo metrics: ", status.error_message()));
    }
    for (const auto& o : resp.outcomes()) {
      // A retry of an interrupted load gets the original results (same request ids).
      if (o.code() != 0) {
        return absl::InternalError(
            base::StrCat("demo metric ", start + o.index(), ": ", o.error()));
      }
      metric_events_[items[start + o.index()].metadata().client_request_id()] =
          o.result().event_ids(0);
    }
    summary_.metrics += static_cast<int>(resp.recorded());
  }
  return absl::OkStatus();
}

absl::Status Loader::Economics() {
  // Monthly economics from January two years back to last month, from the ERP and the
  // activity-based costing in finance; retention once a year.
  std::vector<v1::RecordMetricRequest> items;
  const absl::CivilMonth last = absl::CivilMonth(today_) - 1;
  const absl::CivilMonth first(last.year() - 2, 1);
  auto money = [](v1::MetricRecorded* m, double euros) {
    m->mutable_amount()->set_currency("EUR");
    m->mutable_amount()->set_minor_units(static_cast<int64_t>(std::llround(euros * 100)));
  };
  for (const auto& a : Accounts()) {
    if (a.revenue == 0) continue;
    int index = 0;
    for (absl::CivilMonth month = first; month <= last; ++month, ++index) {
      const absl::CivilDay start(month);
      const absl::CivilDay end = absl::CivilDay(month + 1) - 1;
      // A steady trend with seasonality; Iberia's logistics costs climb.
      const double season = 1 + 0.08 * std::sin(static_cast<double>(month.month()) / 12 * 6.283);
      const double trend = 1 + 0.006 * index;
      auto item = [&](v1::MetricKind kind, const std::string& source, const std::string& tag) {
        v1::RecordMetricRequest r;
        r.mutable_metadata()->set_client_request_id(
            base::StrCat("demo/", kProgrammeId, "/", a.id, "/", Date(start), "/", tag));
        *r.mutable_metadata()->mutable_occurred_at() =
            google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(
                absl::FromCivil(absl::CivilSecond(end) + 20 * 3600, absl::UTCTimeZone())));
        auto* m = r.mutable_metric();
        m->set_programme_id(kProgrammeId);
        m->set_account_id(a.id);
        m->set_kind(kind);
        m->set_period_start(Date(start));
        m->set_period_end(Date(end));
        m->set_source_system(source);
        m->set_source_record_id(base::StrCat(a.id, "-", Date(start), "-", tag));
        return r;
      };
      const double revenue = a.revenue * season * trend;
      auto rev = item(v1::METRIC_KIND_REVENUE, "erp", "revenue");
      money(rev.mutable_metric(), revenue);
      items.push_back(rev);
      auto margin = item(v1::METRIC_KIND_GROSS_MARGIN, "erp", "margin");
      money(margin.mutable_metric(), revenue * a.margin_rate);
      items.push_back(margin);
      for (const auto& [activity, cost] : a.cost_to_serve) {
        const double climb = a.id == "iberia-beverages" && activity == "logistics" ? trend : 1;
        auto cts = item(v1::METRIC_KIND_COST_TO_SERVE, "finance-abc", "cts-" + activity);
        cts.mutable_metric()->set_activity(activity);
        money(cts.mutable_metric(), cost * climb);
        items.push_back(cts);
      }
      if (month.month() == 12 || month == last) {
        auto retention = item(v1::METRIC_KIND_RETENTION_RATE, "crm", "retention");
        retention.mutable_metric()->set_period_start(Date(absl::CivilDay(absl::CivilYear(month))));
        retention.mutable_metric()->set_ratio(a.retention);
        items.push_back(retention);
      }
    }
  }
  KAM_RETURN_IF_ERROR(Metrics(items));

  // The late correction: finance finds that Iberia's revenue of March last year included a
  // credit note booked twice. Recorded today, effective for that month.
  const absl::CivilDay march(last.year() - 1, 3, 1);
  const std::string original = metric_events_[base::StrCat(
      "demo/", kProgrammeId, "/iberia-beverages/", Date(march), "/revenue")];
  v1::RecordMetricRequest fix;
  fix.mutable_metadata()->set_client_request_id(
      base::StrCat("demo/", kProgrammeId, "/iberia-beverages/correction-1"));
  auto* m = fix.mutable_metric();
  m->set_programme_id(kProgrammeId);
  m->set_account_id("iberia-beverages");
  m->set_kind(v1::METRIC_KIND_REVENUE);
  m->set_period_start(Date(march));
  m->set_period_end(Date(absl::CivilDay(absl::CivilMonth(march) + 1) - 1));
  money(m, 1320000);
  m->set_source_system("erp");
  m->set_source_record_id("iberia-beverages-credit-note-fix-1");
  m->set_corrects_event_id(original);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + tokens_.at("publisher").token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::RecordMetricResponse resp;
  const grpc::Status status = metrics_->RecordMetric(&ctx, fix, &resp);
  if (!status.ok()) {
    return absl::Status(server::FromGrpc(status).code(),
                        base::StrCat("demo correction: ", status.error_message()));
  }
  ++summary_.metrics;
  return absl::OkStatus();
}

absl::StatusOr<Summary> Loader::Run() {
  for (const char* role : {"admin", "champion", "kam", "sponsor", "board", "publisher"}) {
    if (!tokens_.contains(role)) {
      return absl::InvalidArgumentError(
          base::StrCat("tokens: the demo needs a token with the role '", role, "'"));
    }
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_.at("admin").token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::ListProgrammesResponse list;
    const grpc::Status status = queries_->ListProgrammes(&ctx, {}, &list);
    if (!status.ok()) return server::FromGrpc(status);
    for (const auto& p : list.programmes()) {
      if (p.programme_id() == kProgrammeId) {
        summary_.already_loaded = true;
        return summary_;
      }
    }
  }
  v1::CharterProgrammeRequest charter;
  charter.set_name("EMEA Key Accounts");
  charter.set_rationale(
      "Run our most important customer relationships for profit and lifetime value, "
      "with executive sponsorship and trained account teams");
  charter.set_min_key_accounts(5);
  charter.set_max_key_accounts(12);
  charter.mutable_parameters()->set_max_accounts_per_sponsor(3);
  DEMO_SEND(CharterProgramme, "admin", 0, charter);
  for (auto step : {&Loader::People, &Loader::Criteria, &Loader::Portfolio}) {
    if (auto s = (this->*step)(); !s.ok()) return s;
  }
  if (auto s = Economics(); !s.ok()) return s;
  return summary_;
}

#undef DEMO_SEND

}  // namespace

absl::StatusOr<Tokens> TokensByRole(const std::string& tokens_file) {
  std::ifstream in(tokens_file);
  if (!in) return absl::InvalidArgumentError(base::StrCat("cannot read '", tokens_file, "'"));
  Tokens out;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(l, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() != 3) continue;
    for (absl::string_view role : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
      out.try_emplace(std::string(role), Credential{parts[0], parts[1]});
    }
  }
  return out;
}

absl::StatusOr<Summary> Load(const Channels& channels, const Tokens& tokens, absl::Time today) {
  Loader loader(channels, tokens, today);
  return loader.Run();
}

}  // namespace kam::demo
