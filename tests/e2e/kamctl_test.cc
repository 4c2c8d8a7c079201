// The built kamctl binary, run as a person runs it, against the real services over real
// gRPC and the real broker: a whole programme from charter to retirement, the tables and
// the JSON it prints, its exit codes and error messages, its settings, bulk import and
// the contract coverage (every RPC in proto/ has a command).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "base/ids.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"
#include "eventlog/topics.h"
#include "kam/v1/inbound.pb.h"
#include "services/programme/inbound.h"
#include "support/kafka_broker.h"
#include "support/keys.h"
#include "support/run_binary.h"
#include "support/servers.h"

namespace kam {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kKamctl = std::string(KAM_BINARY_DIR) + "/kamctl";

class Kamctl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = fs::temp_directory_path() / ("kam-kamctl-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/home");
    commands_ = new testing::CommandServer(testing::SharedKafka(), prefix_);
    metrics_ = new testing::MetricsServer(testing::SharedKafka(), prefix_, /*inbound=*/false);
    queries_ = new testing::HistoryServer(testing::SharedKafka(), prefix_, dir_ + "/read");
  }
  static void TearDownTestSuite() {
    delete queries_;
    delete metrics_;
    delete commands_;
    fs::remove_all(dir_);
  }

  // kamctl as the holder of `token`, with the platform's endpoints in the environment.
  static testing::RunResult Run(const std::string& token, std::vector<std::string> args,
                                std::map<std::string, std::string> env = {},
                                const std::string& input = "") {
    std::map<std::string, std::string> base = {
        {"KAM_COMMANDS", "127.0.0.1:" + std::to_string(commands_->port())},
        {"KAM_METRICS", "127.0.0.1:" + std::to_string(metrics_->port())},
        {"KAM_QUERIES", "127.0.0.1:" + std::to_string(queries_->port())},
        {"KAM_TOKEN", token},
        {"HOME", dir_ + "/home"},
        {"TZ", "UTC"},
        {"NO_COLOR", "1"}};
    for (auto& [k, v] : env) base[k] = v;
    return testing::RunBinary(kKamctl, args, base, input);
  }
  // Runs and expects success; returns stdout.
  static std::string Ok(const std::string& token, std::vector<std::string> args) {
    auto r = Run(token, args);
    std::string line;
    for (const auto& a : args) line += " " + a;
    EXPECT_EQ(r.exit_code, 0) << "kamctl" << line << "\n" << r.err << r.out;
    return r.out;
  }
  // The position a command printed ("position <topic>/<p>@<o>").
  static std::string PositionIn(const std::string& out) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(out, m, std::regex("position (\\S+/\\d+@\\d+)"))) << out;
    return m.size() > 1 ? m[1].str() : "";
  }

  static std::string prefix_;
  static std::string dir_;
  static testing::CommandServer* commands_;
  static testing::MetricsServer* metrics_;
  static testing::HistoryServer* queries_;
};
std::string Kamctl::prefix_;
std::string Kamctl::dir_;
testing::CommandServer* Kamctl::commands_ = nullptr;
testing::MetricsServer* Kamctl::metrics_ = nullptr;
testing::HistoryServer* Kamctl::queries_ = nullptr;

constexpr char kAdmin[] = "tok-admin-000";
constexpr char kAna[] = "tok-ana-champion";
constexpr char kSam[] = "tok-sam-board";
constexpr char kKim[] = "tok-kim-kam";
constexpr char kEve[] = "tok-eve-sponsor";
constexpr char kBoard[] = "tok-bob-board";
constexpr char kErp[] = "tok-erp-publish";

TEST_F(Kamctl, AWholeProgrammeFromCharterToRetirement) {
  const std::string p = "journey";
  // Step 1-2: charter, people, champion, criteria.
  std::string out = Ok(kAdmin, {"charter", p, "EMEA key accounts", "Grow profitable customers",
                                "--min-key-accounts", "1", "--max-key-accounts", "25"});
  EXPECT_NE(out.find("✓ charter-programme: 'journey' is now at version 1"), std::string::npos)
      << out;
  Ok(kAdmin, {"register-person", p, "ana", "Ana Ruiz", "--principal", "ana@supplier.example",
              "--functions", "executive", "--senior", "--reports-to-top-management"});
  Ok(kAdmin, {"person", p, "sam", "Sam Lee", "--principal", "sam@supplier.example", "--functions",
              "steering-board,executive"});
  Ok(kAdmin, {"person", p, "kim", "Kim Park", "--principal", "kim@supplier.example", "--functions",
              "key-account-manager"});
  Ok(kAdmin, {"person", p, "eve", "Eve Adams", "--principal", "eve@supplier.example", "--functions",
              "EXECUTIVE"});
  // The board reads through a membership of its own: a board observer, who commands nothing.
  Ok(kAdmin, {"person", p, "bob", "Bob Gray", "--principal", "bob@supplier.example", "--functions",
              "board-observer"});
  // The ERP publishes the programme's metrics: a publisher, who records and decides nothing.
  Ok(kAdmin, {"person", p, "erp", "ERP", "--principal", "erp@supplier.example", "--functions",
              "publisher"});
  Ok(kAdmin, {"appoint-champion", p, "ana", "--rationale", "Board mandate"});
  Ok(kAna, {"publish-criteria", p, "--criteria",
            "criterion_id=profit-potential,name=Profit potential,weight_percent=60,scale_min=1,"
            "scale_max=5",
            "--criteria",
            R"({"criterion_id":"strategic-fit","name":"Strategic fit","weight_percent":40,)"
            R"("scale_min":1,"scale_max":5})",
            "--threshold", "60", "--rationale", "Profit-based selection"});
  // Step 3-4: nominate, assess; four eyes refuses the nominator's own admission.
  Ok(kAna, {"nominate", p, "acme", "ACME Industries", "Top-5 by contribution"});
  Ok(kAna, {"assess", p, "acme", "--criteria-version", "1", "--scores", "profit-potential=5",
            "--scores", "strategic-fit=4"});
  auto refused = Run(kAna, {"admit", p, "acme"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("admit-account rejected by rule admission.four_eyes"),
            std::string::npos)
      << refused.err;
  Ok(kSam, {"admit", p, "acme"});
  // Step 5: sponsor, trained manager.
  Ok(kAna, {"assign-sponsor", p, "acme", "eve"});
  for (const char* skill : {"finance", "consulting", "planning", "interpersonal", "influence"}) {
    Ok(kAna, {"train-manager", p, "kim", "--skill", skill, "--course", "KAM academy",
              "--completed-on", "2026-10-01"});
  }
  Ok(kAna, {"assign-manager", p, "acme", "kim"});
  Ok(kEve, {"log-visit", p, "acme", "--visit-date", "2026-11-20", "--notes", "QBR"});
  // Step 6: metrics, from the publisher.
  for (auto [kind, amount, id] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"revenue", "1,200,000.00 EUR", "r1"},
           {"gross-margin", "300,000.00 EUR", "m1"},
           {"cost-to-serve", "120,000.50 EUR", "c1"}}) {
    std::vector<std::string> args = {"record-metric",
                                     p,
                                     "acme",
                                     "--kind",
                                     kind,
                                     "--amount",
                                     amount,
                                     "--period-start",
                                     "2025-01-01",
                                     "--period-end",
                                     "2025-12-31",
                                     "--source-system",
                                     "erp",
                                     "--source-record-id",
                                     id};
    if (kind == "cost-to-serve") args.insert(args.end(), {"--activity", "logistics"});
    Ok(kErp, args);
  }
  Ok(kErp, {"metric", p, "acme", "--kind", "retention-rate", "--ratio", "90%", "--period-start",
            "2025-01-01", "--period-end", "2025-12-31", "--source-system", "erp",
            "--source-record-id", "ret1"});
  // Step 7 and the end: review, retire.
  Ok(kKim, {"review", p, "acme", "--outcome", "retain", "--metrics-considered",
            "gross-margin,cost-to-serve", "--notes", "On plan"});
  const std::string retired = Ok(kAna, {"retire", p, "acme", "--reason", "Acquired"});
  const std::string at = PositionIn(retired);

  // The board reads it back: tables for people...
  out = Ok(kBoard, {"programme", p, "--consistency.at-least", at});
  EXPECT_NE(out.find("EMEA key accounts (journey)"), std::string::npos) << out;
  EXPECT_NE(out.find("champion            ana"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("acme +ACME Industries +retired"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("kim +Kim Park +key-account-manager +finance, "
                                                "consulting, planning, interpersonal, influence")))
      << out;
  // ... and JSON with the proto's field names for scripts.
  json j = json::parse(Ok(kBoard, {"programme", p, "-o", "json", "--at-least", at}));
  EXPECT_EQ(j["programme"]["accounts"][0]["account_id"], "acme");
  EXPECT_EQ(j["programme"]["accounts"][0]["stage"], "retired");
  EXPECT_EQ(j["programme"]["champion"], "ana");

  out = Ok(kBoard, {"register", p, "--at-least", at});
  EXPECT_NE(out.find("1 admissions (0 as exceptions"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("acme +admitted +sam@supplier.example"))) << out;

  out = Ok(kBoard, {"economics", p, "acme", "--at-least", at});
  EXPECT_NE(out.find("1,200,000.00 EUR"), std::string::npos) << out;
  EXPECT_NE(out.find("179,999.50 EUR"), std::string::npos) << out;  // 300,000 - 120,000.50
  EXPECT_NE(out.find("customer lifetime value"), std::string::npos) << out;

  out = Ok(kBoard, {"scorecard", p, "--at-least", at});
  EXPECT_NE(out.find("Step 1"), std::string::npos) << out;
  EXPECT_NE(out.find("history intact"), std::string::npos) << out;

  out = Ok(kBoard, {"history", p, "acme", "--at-least", at});
  for (const char* e : {"AccountNominated", "AccountAssessed", "AccountAdmitted", "SponsorAssigned",
                        "ManagerAssigned", "AccountReviewed", "AccountRetired"}) {
    EXPECT_NE(out.find(e), std::string::npos) << e << "\n" << out;
  }
  EXPECT_NE(out.find("2026-"), std::string::npos) << "times in the local zone: " << out;

  out = Ok(kBoard, {"verify", p, "--at-least", at});
  EXPECT_NE(out.find("✓ intact"), std::string::npos) << out;
  // Once the writer has stated its tips in a checkpoint, verify says what it anchors.
  ASSERT_TRUE(commands_->service().writer().CheckpointAll().ok());
  for (int i = 0; i < 100 && out.find("anchored: version") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = Ok(kBoard, {"verify", p, "--at-least", at});
  }
  EXPECT_NE(out.find("anchored: version"), std::string::npos) << out;
  EXPECT_NE(out.find("by the writer's signed checkpoint of 20"), std::string::npos) << out;
}

TEST_F(Kamctl, TheLiveTailFollowsNewEventsAsLinesOrJson) {
  const std::string p = "tailing";
  Ok(kAdmin, {"charter", p, "Tail", "Follow it"});
  Ok(kAdmin, {"person", p, "kim", "Kim Park", "--principal", "kim@supplier.example", "--functions",
              "key-account-manager"});
  // The board follows the programme as a board observer of it.
  const std::string first =
      PositionIn(Ok(kAdmin, {"person", p, "bob", "Bob Gray", "--principal", "bob@supplier.example",
                             "--functions", "board-observer"}));
  // Reads are scoped by what the read side has folded, and a tail's --after is where to start,
  // not a position to wait for: wait until bob's registration is read before bob tails.
  Ok(kBoard, {"programme", p, "--at-least", first});
  // In the background: two more events.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Ok(kKim, {"nominate", p, "a1", "A1 Ltd", "Because"});
    Ok(kKim, {"nominate", p, "a2", "A2 Ltd", "Because"});
  });
  auto r =
      Run(kBoard, {"tail", "--aggregate-id", p, "--after", first, "--limit", "2", "-o", "json"});
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> accounts;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    accounts.push_back(
        json::parse(line)["entry"]["envelope"]["event"]["account_nominated"]["account_id"]);
  }
  EXPECT_EQ(accounts, (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(Kamctl, ExitCodesAndErrorsSayWhatWasWrongAndHowToFixIt) {
  // Usage: an unknown flag, a value that is not one of the choices.
  auto r = Run(kAdmin, {"charter", "x", "--no-such-flag", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Run(kErp, {"record-metric", "p", "a", "--kind", "revnue"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--metric.kind: 'revnue' is not one of revenue|gross-margin"),
            std::string::npos)
      << r.err;
  r = Run(kErp, {"record-metric", "p", "a", "--amount", "12.345 EUR"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("at most two decimals"), std::string::npos) << r.err;
  // Rejected by a field of the request (the server's validation): exit 3, the field named.
  r = Run(kAdmin, {"charter", "Not An Id!", "Name", "Why"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("(field programme_id)"), std::string::npos) << r.err;
  // Unauthorised: no token, a wrong token, a role that may not.
  r = Run("", {"programmes"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("set KAM_TOKEN"), std::string::npos) << r.err;
  r = Run("tok-nobody", {"programmes"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  r = Run(kBoard, {"charter", "x", "Name", "Why"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  // Unavailable, with the request id to retry safely.
  r = Run(kAdmin, {"charter", "x", "Name", "Why", "--request-id", "fixed-1"},
          {{"KAM_COMMANDS", "127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("retry with --request-id fixed-1"), std::string::npos) << r.err;
  // --help per command, with an example.
  r = Run("", {"admit", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("example:\n  kamctl admit emea-kam acme"), std::string::npos) << r.out;
}

TEST_F(Kamctl, ARetryWithTheSameRequestIdAndADryRunWriteNothingTwice) {
  const std::string p = "retries";
  Ok(kAdmin, {"charter", p, "Retries", "Why", "--request-id", "charter-retries"});
  const std::string again =
      Ok(kAdmin, {"charter", p, "Retries", "Why", "--request-id", "charter-retries"});
  EXPECT_NE(again.find("already done by an earlier call with this request id"), std::string::npos)
      << again;
  Ok(kAdmin, {"person", p, "kim", "Kim Park", "--principal", "kim@supplier.example", "--functions",
              "key-account-manager"});
  const std::string dry = Ok(kKim, {"nominate", p, "acme", "ACME", "Why", "--dry-run"});
  EXPECT_NE(dry.find("would be accepted (dry run, nothing written); 'retries' would be at "
                     "version 3"),
            std::string::npos)
      << dry;
  const std::string real = Ok(kKim, {"nominate", p, "acme", "ACME", "Why"});
  EXPECT_NE(real.find("'retries' is now at version 3"), std::string::npos) << real;
}

TEST_F(Kamctl, SettingsComeFromAConfigFileProfileAndAPrivateTokenFile) {
  const std::string home = dir_ + "/home-config";
  fs::create_directories(home + "/.config/kam");
  const std::string token_file = home + "/token";
  std::ofstream(token_file) << kBoard << "\n";
  ::chmod(token_file.c_str(), 0600);
  std::ofstream(home + "/.config/kam/config.toml")
      << "commands = \"127.0.0.1:1\"\nqueries = \"127.0.0.1:1\"\n"
      << "token_file = \"" << token_file << "\"\noutput = \"json\"\n"
      << "[profiles.local]\nqueries = \"127.0.0.1:" << queries_->port() << "\"\n";
  std::map<std::string, std::string> env = {{"HOME", home}, {"KAM_QUERIES", ""}};
  // The profile's endpoint, the file's token and output.
  auto r = Run("", {"--profile", "local", "programmes"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["principal"], "bob@supplier.example");
  // Without the profile, the file's (unreachable) endpoint.
  r = Run("", {"programmes"}, env);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  // A token file others can read is refused.
  ::chmod(token_file.c_str(), 0644);
  r = Run("", {"--profile", "local", "programmes"}, env);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("can be read by other users; refusing to use it (chmod 600"),
            std::string::npos)
      << r.err;
  // A token in the config file itself is refused, naming the fix.
  std::ofstream(home + "/.config/kam/config.toml", std::ios::app) << "token = \"x\"\n";
  r = Run("", {"programmes"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("a token does not belong in the config file"), std::string::npos) << r.err;
}

TEST_F(Kamctl, YamlOutputIsTheSameDocumentAsJson) {
  Ok(kAdmin, {"charter", "yaml-out", "YAML", "Why"});
  auto r = Run(kBoard, {"programmes", "-o", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("principal: \"bob@supplier.example\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("programmes:"), std::string::npos) << r.out;
}

// --- Bulk import ---------------------------------------------------------------------

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST_F(Kamctl, ImportReportsEveryBadLineAndAReimportWritesNothingTwice) {
  const std::string p = "imports";
  Ok(kAdmin, {"charter", p, "Imports", "Why"});
  Ok(kAdmin, {"person", p, "erp", "ERP", "--principal", "erp@supplier.example", "--functions",
              "publisher"});
  std::string csv =
      "account_id,kind,period_start,period_end,amount,ratio,activity,source_system,"
      "source_record_id\n";
  for (int i = 1; i <= 20; ++i) {
    csv += "acme,revenue,2026-01-01,2026-01-31," + std::to_string(1000 * i) + ".00 EUR,,,erp,r" +
           std::to_string(i) + "\n";
  }
  csv += "acme,revnue,2026-01-01,2026-01-31,5.00 EUR,,,erp,bad-kind\n";            // line 22
  csv += "acme,revenue,2026-01-01,2026-01-31,5.00 USD,,,erp,usd\n";                // line 23
  csv += "acme,revenue,2026-01-01,2026-01-31,5.00 EUR,,,erp,x,extra\n";            // line 24
  csv += "acme,cost-to-serve,2026-01-01,2026-01-31,5.00 EUR,,,erp,no-activity\n";  // line 25
  csv += "acme,revenue,2026-01-01,2026-01-31,1000.00 EUR,,,erp,r1\n";              // line 26
  const std::string file = WriteFile(dir_ + "/erp-2026-01.csv", csv);

  auto r = Run(kErp, {"import", "metrics", file, "--programme", p, "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  json s = json::parse(r.out);
  EXPECT_EQ(s["lines"], 25);
  EXPECT_EQ(s["accepted"], 20);
  EXPECT_EQ(s["duplicates"], 1);  // line 26 repeats line 2
  ASSERT_EQ(s["rejected"], 4) << r.out;
  EXPECT_EQ(s["errors"][0]["line"], 22);
  EXPECT_EQ(s["errors"][0]["field"], "kind");
  EXPECT_NE(s["errors"][0]["message"].get<std::string>().find("'revnue' is not one of"),
            std::string::npos);
  EXPECT_EQ(s["errors"][1]["line"], 23);
  EXPECT_EQ(s["errors"][1]["rule"], "metric.single_currency");
  EXPECT_EQ(s["errors"][2]["line"], 24);
  EXPECT_NE(s["errors"][2]["message"].get<std::string>().find("has 10 fields; the header has 9"),
            std::string::npos);
  EXPECT_EQ(s["errors"][3]["line"], 25);
  EXPECT_EQ(s["errors"][3]["field"], "metric.activity");

  // The same file again: nothing new; the bad lines are still reported.
  r = Run(kErp, {"import", "metrics", file, "--programme", p, "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  s = json::parse(r.out);
  EXPECT_EQ(s["accepted"], 0);
  EXPECT_EQ(s["duplicates"], 21);
  EXPECT_EQ(s["rejected"], 4);
  // The table a person reads.
  r = Run(kErp, {"import", "metrics", file, "--programme", p});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("0 accepted, 21 skipped as duplicates, 4 rejected"), std::string::npos)
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("23 +rule metric.single_currency"))) << r.out;
}

TEST_F(Kamctl, ADryRunImportChecksEveryLineAndWritesNothing) {
  const std::string p = "dry-imports";
  Ok(kAdmin, {"charter", p, "Dry", "Why"});
  // kim nominates, so kim is a member; the board reads as a board observer.
  Ok(kAdmin, {"person", p, "kim", "Kim Park", "--principal", "kim@supplier.example", "--functions",
              "key-account-manager"});
  Ok(kAdmin, {"person", p, "bob", "Bob Gray", "--principal", "bob@supplier.example", "--functions",
              "board-observer"});
  const std::string file = WriteFile(dir_ + "/accounts.csv",
                                     "account_id,account_name,rationale\n"
                                     "acme,ACME Industries,Top-5\n"
                                     "globex,\"Globex, Inc.\",\"Multi-site, \"\"strategic\"\"\"\n"
                                     "Bad Id,Bad,Why\n");
  auto r = Run(kKim, {"import", "accounts", file, "--programme", p, "--dry-run", "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  json s = json::parse(r.out);
  EXPECT_EQ(s["accepted"], 2);
  EXPECT_EQ(s["rejected"], 1);
  EXPECT_EQ(s["errors"][0]["line"], 4);
  EXPECT_EQ(s["errors"][0]["field"], "account_id");
  // Nothing was written: the real import accepts both, none as duplicates.
  r = Run(kKim, {"import", "accounts", file, "--programme", p, "-o", "json"});
  s = json::parse(r.out);
  EXPECT_EQ(s["accepted"], 2) << r.out;
  EXPECT_EQ(s["duplicates"], 0);
  std::vector<std::string> query = {"programme", p, "-o", "json"};
  for (const auto& at : s["positions"]) query.insert(query.end(), {"--at-least", at});
  json programme = json::parse(Ok(kBoard, query));
  std::set<std::string> names;
  for (const auto& a : programme["programme"]["accounts"]) names.insert(a["name"]);
  EXPECT_TRUE(names.contains("Globex, Inc.")) << programme.dump();
}

TEST_F(Kamctl, ImportPeopleFromCsvAndTrainingsFromJsonLines) {
  const std::string p = "hr-imports";
  Ok(kAdmin, {"charter", p, "HR", "Why"});
  const std::string people =
      WriteFile(dir_ + "/people.csv",
                "person_id,name,principal,functions,senior,reports_to_top_management\n"
                "ana,Ana Ruiz,ana@supplier.example,executive;steering-board,yes,yes\n"
                "kim,Kim Park,kim@supplier.example,key-account-manager,no,no\n"
                "olga,Olga Berg,olga@supplier.example,operations,,\n");
  auto r = Run(kAdmin, {"import", "people", people, "--programme", p});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("3 accepted, 0 skipped as duplicates, 0 rejected"), std::string::npos)
      << r.out;
  const std::string lms = WriteFile(
      dir_ + "/lms.jsonl",
      R"({"type":"manager","person_id":"kim","skill":"finance","course":"KAM finance","completed_on":"2026-10-01"})"
      "\n"
      R"({"person_id":"kim","skill":"planning","course":"KAM planning","completed_on":"2026-10-02"})"
      "\n\n"
      R"({"type":"staff","person_id":"olga","course":"KAM for operations","completed_on":"2026-10-03"})"
      "\n"
      "not json\n");
  // Until the LMS is a member of the programme its import stops, naming the rule, and says
  // that running it again waits on that, not on a retry.
  r = Run(kErp, {"import", "trainings", lms, "--programme", p});
  EXPECT_EQ(r.exit_code, 4) << r.err << r.out;
  EXPECT_NE(r.err.find("import stopped: rule membership.required: erp@supplier.example may not "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("once the caller is allowed to do this, run the same import again"),
            std::string::npos)
      << r.err;
  // The LMS records trainings: a publisher member of the programme (it commands nothing
  // else), registered by the platform admin while the programme has no champion, as is bob,
  // the board observer who reads the result.
  Ok(kAdmin, {"person", p, "lms", "Learning system", "--principal", "erp@supplier.example",
              "--functions", "publisher"});
  Ok(kAdmin, {"person", p, "bob", "Bob Gray", "--principal", "bob@supplier.example", "--functions",
              "board-observer"});
  r = Run(kErp, {"import", "trainings", lms, "--programme", p, "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  json s = json::parse(r.out);
  EXPECT_EQ(s["accepted"], 3) << r.out;
  EXPECT_EQ(s["errors"][0]["line"], 5);
  std::vector<std::string> query = {"programme", p, "-o", "json"};
  for (const auto& at : s["positions"]) query.insert(query.end(), {"--at-least", at});
  json programme = json::parse(Ok(kBoard, query));
  bool kim_skills = false;
  bool olga_trained = false;
  for (const auto& person : programme["programme"]["people"]) {
    if (person["person_id"] == "kim") kim_skills = person["skills"].size() == 2;
    if (person["person_id"] == "olga") olga_trained = person["staff_trained"];
  }
  EXPECT_TRUE(kim_skills) << programme.dump();
  EXPECT_TRUE(olga_trained) << programme.dump();
}

// --- Inbound topics and their dead letters --------------------------------------------

TEST_F(Kamctl, EnterpriseFeedsArriveByKafkaAndDeadLettersAreReDrivenAfterAFix) {
  const std::string p = "feeds";
  Ok(kAdmin, {"charter", p, "Feeds", "Why"});
  Ok(kAdmin, {"person", p, "bob", "Bob Gray", "--principal", "bob@supplier.example", "--functions",
              "board-observer"});  // the board reads what the feeds wrote
  // HR and the LMS sign what they publish; the ingesters know their public keys.
  const auto hr_key = testing::NewSigningKey(dir_, "hr");
  const auto lms_key = testing::NewSigningKey(dir_, "lms");
  auto hr = eventlog::Signer::FromPemFile(hr_key.private_pem);
  auto lms = eventlog::Signer::FromPemFile(lms_key.private_pem);
  auto publishers = eventlog::Keyring::FromPemFile(
      testing::KeyringOf(dir_ + "/publishers.pem", {hr_key, lms_key}));
  ASSERT_TRUE(hr.ok() && lms.ok() && publishers.ok());
  // Each feed acts through its membership of the programme, as "publisher:<key id>".
  Ok(kAdmin, {"person", p, "hr", "HR feed", "--principal", "publisher:" + (*hr)->key_id(),
              "--functions", "publisher"});
  Ok(kAdmin, {"person", p, "lms", "Learning system", "--principal", "publisher:" + (*lms)->key_id(),
              "--functions", "publisher"});
  services::ProgrammeIngesters ingesters(
      testing::SharedKafka(), commands_->service(),
      {.topic_prefix = prefix_, .group_id = prefix_ + "pi", .publishers = *std::move(publishers)});
  ASSERT_TRUE(ingesters.Start().ok());
  auto producer =
      eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "feeds-producer");
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto publish = [&](std::string_view kind, const google::protobuf::Message& m,
                     const std::string& key, const eventlog::Signer& by) {
    const std::string topic = eventlog::InboundTopic(prefix_, kind);
    eventlog::Record r{key, m.SerializeAsString(), topic, eventlog::PartitionFor(key, 3), {}};
    eventlog::SignInbound(by, kind, r);
    ASSERT_TRUE((*producer)->Append(topic, -1, {&r, 1}).ok());
  };
  // HR registers olga (who she is; a sign-in is an approver's to give); the LMS reports her
  // training and one for a person nobody registered, and one claiming to come from another
  // publisher.
  v1::InboundPerson person;
  person.set_publisher((*hr)->key_id());  // optional, but if set it must be the signer's
  auto* reg = person.mutable_person();
  reg->set_programme_id(p);
  reg->set_person_id("olga");
  reg->set_name("Olga Berg");
  reg->add_functions(v1::PERSON_FUNCTION_OPERATIONS);
  publish("people", person, p, **hr);
  auto training = [&](const std::string& who) {
    v1::InboundTraining t;
    auto* staff = t.mutable_staff();
    staff->set_programme_id(p);
    staff->set_person_id(who);
    staff->set_course("KAM for operations");
    staff->set_completed_on("2026-10-03");
    return t;
  };
  publish("trainings", training("olga"), p, **lms);
  publish("trainings", training("nemo"), p, **lms);
  v1::InboundTraining garbage = training("olga");
  garbage.set_publisher("hr");
  publish("trainings", garbage, p, **lms);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ingesters.stats().recorded + ingesters.stats().dead_lettered < 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ingesters.stats().recorded, 2u);
  EXPECT_EQ(ingesters.stats().dead_lettered, 2u);

  const std::map<std::string, std::string> kafka = {{"KAM_BROKERS", testing::SharedKafka().brokers},
                                                    {"KAM_TOPIC_PREFIX", prefix_}};
  auto r = Run(kAdmin, {"dlq", "list", "--topic", "trainings", "-o", "json"}, kafka);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 2u) << r.out;
  EXPECT_NE(list[0]["reason"].get<std::string>().find("nemo"), std::string::npos) << r.out;
  EXPECT_NE(list[1]["reason"].get<std::string>().find("claims publisher 'hr' but is signed by"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(list[0]["redriven"], false);

  // The fix: nemo is registered. A re-drive sends both back with the LMS's signature; nemo's
  // training is now accepted, the garbage is refused again (a new dead letter), nothing is
  // lost.
  Ok(kAdmin, {"person", p, "nemo", "Nemo", "--principal", "nemo@supplier.example", "--functions",
              "operations"});
  r = Run(kAdmin, {"dlq", "redrive", "--topic", "trainings"}, kafka);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("re-drove 2 records"), std::string::npos) << r.out;
  while (ingesters.stats().recorded + ingesters.stats().dead_lettered < 6 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ingesters.stats().recorded, 3u);
  EXPECT_EQ(ingesters.stats().dead_lettered, 3u);
  // Running it again re-drives only what is new since (the garbage, once more).
  r = Run(kAdmin, {"dlq", "list", "--topic", "trainings", "-o", "json"}, kafka);
  list = json::parse(r.out);
  ASSERT_EQ(list.size(), 3u) << r.out;
  EXPECT_EQ(list[0]["redriven"], true);
  EXPECT_EQ(list[1]["redriven"], true);
  EXPECT_EQ(list[2]["redriven"], false);
  EXPECT_EQ(list[2]["redriven_from"], list[1]["position"]) << r.out;
  ingesters.Stop();

  // The read model catches up with what the feeds wrote.
  int trained = 0;
  json programme;
  while (trained < 2 && std::chrono::steady_clock::now() < deadline) {
    programme = json::parse(Ok(kBoard, {"programme", p, "-o", "json"}));
    trained = 0;
    for (const auto& person_view : programme["programme"]["people"]) {
      trained += person_view["staff_trained"].get<bool>() ? 1 : 0;
    }
  }
  EXPECT_EQ(trained, 2) << programme.dump();
}

// Every `rpc` of every service in proto/ has a kamctl command: a new RPC without one fails.
TEST(KamctlContract, EveryRpcInTheContractHasACommand) {
  std::set<std::string> contract;
  for (const auto& file : fs::directory_iterator(std::string(KAM_SOURCE_DIR) + "/proto/kam/v1")) {
    std::ifstream in(file.path());
    std::string service;
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, std::regex("^\\s*service\\s+(\\w+)"))) service = m[1];
      if (std::regex_search(line, m, std::regex("^\\s*rpc\\s+(\\w+)\\s*\\("))) {
        contract.insert("kam.v1." + service + "." + m[1].str());
      }
    }
  }
  ASSERT_GT(contract.size(), 40u);
  auto r = testing::RunBinary(kKamctl, {"__rpcs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> covered;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) covered.insert(line);
  for (const auto& rpc : contract)
    EXPECT_TRUE(covered.contains(rpc)) << "no kamctl command: " << rpc;
  for (const auto& rpc : covered) EXPECT_TRUE(contract.contains(rpc)) << "not in proto/: " << rpc;
}

}  // namespace
}  // namespace kam
