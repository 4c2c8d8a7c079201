// kamctl: the whole programme from a shell - every command and query of the platform,
// bulk import, the live change stream, and the dead-letter topics.
//
//   kamctl --help                       every command, grouped by KAM step
//   kamctl nominate --help              its flags, with an example
//   kamctl nominate emea-kam acme 'ACME Industries' 'Top-5 by contribution'
//   kamctl scorecard emea-kam -o json
//   kamctl import metrics erp-2026.csv --programme emea-kam --dry-run
//
// Settings and exit codes: client.h. Output: render.h. Import: import.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "google/protobuf/util/json_util.h"
#include "kam/v1/commands.pb.h"
#include "kam/v1/governance_service.pb.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "tools/demo/demo.h"
#include "tools/kamctl/audit.h"
#include "tools/kamctl/catalogue.h"
#include "tools/kamctl/client.h"
#include "tools/kamctl/dlq.h"
#include "tools/kamctl/fields.h"
#include "tools/kamctl/import.h"
#include "tools/kamctl/render.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

using google::protobuf::Message;

bool ColourOn(int fd, bool no_color) {
  const char* no = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return !no_color && isatty(fd) != 0 && (no == nullptr || *no == '\0') &&
         (term == nullptr || std::string(term) != "dumb");
}

// One RPC command as the command line gave it.
struct Bound {
  const RpcCommand* command = nullptr;
  const google::protobuf::MethodDescriptor* method = nullptr;
  CLI::App* app = nullptr;
  std::vector<Leaf> leaves;
  std::vector<std::vector<std::string>> values;  // per leaf
  std::vector<CLI::Option*> options;             // per leaf
  std::vector<std::string> positionals;
  std::string from_json;
  // CommandMetadata
  bool has_metadata = false;
  std::string request_id;
  std::string correlation_id;
  std::string occurred_at;
  std::string late_reason;
  uint64_t expected_version = 0;
  CLI::Option* expected_version_option = nullptr;
  bool dry_run = false;
  // tail / stream-metrics
  int limit = 0;
  std::string file;
};

struct Global {
  Overrides overrides;
  bool json = false;
  bool no_color = false;
};

int Usage(const std::string& message) {
  std::cerr << "kamctl: " << message << "\n";
  return kExitUsage;
}

absl::StatusOr<std::string> ReadText(const std::string& file) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(base::StrCat(file, ": cannot be read"));
  text << in.rdbuf();
  return text.str();
}

void Define(CLI::App& app, Bound& b) {
  const RpcCommand& c = *b.command;
  b.app = app.add_subcommand(c.name, c.summary);
  for (const auto& a : c.aliases) b.app->alias(a);
  b.app->group(c.group);
  std::string positional_help;
  for (const auto& p : c.positionals) {
    positional_help += (positional_help.empty() ? "" : " ") + Upper(Kebab(p));
  }
  b.app->footer(base::StrCat("example:\n  ", c.example));
  b.leaves = LeavesOf(b.method->input_type());
  b.values.resize(b.leaves.size());
  b.options.resize(b.leaves.size());
  const bool stream = c.name == "stream-metrics";
  if (stream) {
    b.app->add_option("file", b.file, "JSON Lines: one RecordMetricRequest per line ('-': stdin)")
        ->required()
        ->type_name("FILE");
  } else {
    for (std::size_t i = 0; i < b.leaves.size(); ++i) {
      const Leaf& l = b.leaves[i];
      std::string names = "--" + l.flag;
      for (const auto& a : l.aliases) names += ",--" + a;
      std::string help = l.kind;
      if (l.repeated) help += " (repeat the flag for more)";
      CLI::Option* o = b.app->add_option(names, b.values[i], help);
      if (l.boolean) {
        o->expected(0, 1);
      } else {
        o->expected(1);
      }
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      b.options[i] = o;
    }
  }
  if (!c.positionals.empty()) {
    b.app
        ->add_option(
            "args", b.positionals,
            base::StrCat("in this order (or as the flags of the same names): ", positional_help))
        ->type_name(positional_help)
        ->expected(0, static_cast<int>(c.positionals.size()));
  }
  b.has_metadata = b.method->input_type()->FindFieldByName("metadata") != nullptr;
  if (b.has_metadata) {
    b.app->add_option("--request-id", b.request_id,
                      "the command's client request id; a retry with the same id writes "
                      "nothing twice (default: a new one, printed if the call fails)");
    b.app->add_option("--correlation-id", b.correlation_id, "ties the command to a process");
    b.expected_version_option =
        b.app->add_option("--expected-version", b.expected_version,
                          "refuse (ABORTED) unless the aggregate is at exactly this version");
    b.app->add_option("--occurred-at", b.occurred_at,
                      "business time of the fact: RFC 3339 or YYYY-MM-DD (default: now)");
    b.app->add_option("--late-reason", b.late_reason,
                      "why a fact older than the programme's latest business time is entered "
                      "only now (an explicit late entry: it takes effect now, claiming "
                      "--occurred-at)");
    b.app->add_flag("--dry-run", b.dry_run, "decide the command, write nothing");
  }
  b.app->add_option("--from-json", b.from_json,
                    "the request as JSON (a file, or - for stdin); flags override its fields");
  if (c.name == "tail") {
    b.app->add_option("--limit", b.limit, "stop after this many events (default: follow)");
  }
}

// Builds the request from --from-json, positionals and flags. Usage errors name the flag.
absl::StatusOr<std::unique_ptr<Message>> BuildRequest(const Bound& b, const Settings& settings) {
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(b.method->input_type())
                                       ->New());
  if (!b.from_json.empty()) {
    auto text = ReadText(b.from_json);
    if (!text.ok())
      return absl::InvalidArgumentError(base::StrCat("--from-json: ", text.status().message()));
    auto s = google::protobuf::util::JsonStringToMessage(*text, request.get());
    if (!s.ok()) {
      return absl::InvalidArgumentError(base::StrCat(
          "--from-json: not a JSON ", b.method->input_type()->name(), ": ", s.ToString()));
    }
  }
  std::set<std::string> given;
  for (std::size_t i = 0; i < b.positionals.size(); ++i) {
    const std::string& path = b.command->positionals[i];
    for (const Leaf& l : b.leaves) {
      if (l.path != path) continue;
      KAM_RETURN_IF_ERROR(SetLeaf(*request, l, {b.positionals[i]}));
      given.insert(path);
    }
  }
  for (std::size_t i = 0; i < b.leaves.size(); ++i) {
    if (b.options[i] == nullptr || b.options[i]->count() == 0) continue;
    const Leaf& l = b.leaves[i];
    if (given.contains(l.path)) {
      return absl::InvalidArgumentError(
          base::StrCat("--", l.flag, ": also given as a positional argument; give it once"));
    }
    std::vector<std::string> values = b.values[i];
    if (l.boolean && values.empty()) values.push_back("true");
    KAM_RETURN_IF_ERROR(SetLeaf(*request, l, values));
  }
  // The configured programme, where the command names none.
  if (!settings.programme.empty()) {
    for (const Leaf& l : b.leaves) {
      if (l.path != "programme_id" && l.path != "metric.programme_id") continue;
      const Message* m = request.get();
      for (std::size_t i = 0; i + 1 < l.chain.size(); ++i) {
        m = &m->GetReflection()->GetMessage(*m, l.chain[i]);
      }
      if (m->GetReflection()->GetString(*m, l.chain.back()).empty()) {
        KAM_RETURN_IF_ERROR(SetLeaf(*request, l, {settings.programme}));
      }
    }
  }
  if (b.command->name == "verify") {
    auto* v = static_cast<v1::VerifyHistoryRequest*>(request.get());
    if (v->aggregate_type().empty()) v->set_aggregate_type("programme");
  }
  if (b.has_metadata) {
    const auto* f = request->GetDescriptor()->FindFieldByName("metadata");
    auto* meta = static_cast<v1::CommandMetadata*>(
        request->GetReflection()->MutableMessage(request.get(), f));
    if (!b.request_id.empty()) meta->set_client_request_id(b.request_id);
    if (meta->client_request_id().empty()) {
      meta->set_client_request_id("kamctl-" + base::NewEventId());
    }
    if (!b.correlation_id.empty()) meta->set_correlation_id(b.correlation_id);
    if (b.expected_version_option != nullptr && b.expected_version_option->count() > 0) {
      meta->set_expected_version(b.expected_version);
    }
    if (!b.occurred_at.empty()) {
      Leaf leaf;
      leaf.flag = "occurred-at";
      leaf.chain = {v1::CommandMetadata::descriptor()->FindFieldByName("occurred_at")};
      KAM_RETURN_IF_ERROR(SetLeaf(*meta, leaf, {b.occurred_at}));
    }
    if (!b.late_reason.empty()) meta->set_late_reason(b.late_reason);
    if (b.dry_run) meta->set_dry_run(true);
  }
  return request;
}

std::string RequestIdOf(const Message& request) {
  const auto* f = request.GetDescriptor()->FindFieldByName("metadata");
  if (f == nullptr) return "";
  return static_cast<const v1::CommandMetadata&>(request.GetReflection()->GetMessage(request, f))
      .client_request_id();
}

int Tail(Client& client, const Bound& b, const Message& request, const Style& style) {
  auto stub = v1::HistoryQueryService::NewStub(client.Channel(Endpoint::kQueries));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + client.settings().token);
  auto reader = stub->Subscribe(&ctx, static_cast<const v1::SubscribeRequest&>(request));
  v1::SubscribeResponse event;
  int seen = 0;
  const std::string& output = client.settings().output;
  while (reader->Read(&event)) {
    const v1::EventEnvelope env = kam::kamctl::Unsealed(event.entry().envelope());
    if (output == "json") {
      std::cout << ToJson(event, false) << "\n";
    } else if (output == "yaml") {
      std::cout << "---\n" << ToYaml(event);
    } else {
      const char* dim = style.colour ? "\033[2m" : "";
      const char* bold = style.colour ? "\033[1m" : "";
      const char* reset = style.colour ? "\033[0m" : "";
      std::cout << dim << LocalTime(env.recorded_at()) << reset << "  " << env.aggregate_id()
                << " v" << env.aggregate_version() << "  " << bold << EventName(env) << reset
                << "  by " << env.actor() << "  " << EventSummary(env) << "  " << dim
                << PositionText(event.entry().position()) << reset << "\n";
    }
    std::cout.flush();
    if (b.limit > 0 && ++seen >= b.limit) {
      ctx.TryCancel();
      break;
    }
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok() && !(b.limit > 0 && seen >= b.limit)) {
    std::cerr << DescribeError(b.command->name, s, ColourOn(2, false));
    return ExitCodeOf(s);
  }
  return kExitOk;
}

int StreamMetrics(Client& client, const Bound& b, const Style& style) {
  auto text = ReadText(b.file);
  if (!text.ok()) return Usage(std::string(text.status().message()));
  std::vector<std::pair<int, v1::StreamMetricsRequest>> items;
  int line = 0;
  for (std::string_view l : Split(*text, '\n', false)) {
    ++line;
    if (Trim(l).empty()) continue;
    v1::StreamMetricsRequest item;
    auto s = google::protobuf::util::JsonStringToMessage(std::string(l), &item);
    if (!s.ok()) {
      return Usage(
          base::StrCat(b.file, ":", line, ": not a JSON RecordMetricRequest: ", s.ToString()));
    }
    if (item.metadata().client_request_id().empty()) {
      item.mutable_metadata()->set_client_request_id(ImportRequestId("stream", b.file, item));
    }
    items.emplace_back(line, std::move(item));
  }
  auto stub = v1::MetricsCommandService::NewStub(client.Channel(Endpoint::kMetrics));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + client.settings().token);
  auto stream = stub->StreamMetrics(&ctx);
  std::thread writer([&] {
    for (const auto& [n, item] : items) {
      if (!stream->Write(item)) break;
    }
    stream->WritesDone();
  });
  v1::StreamMetricsResponse response;
  int recorded = 0;
  int rejected = 0;
  Table t({"line", "outcome", "detail"});
  while (stream->Read(&response)) {
    const auto& o = response.outcome();
    const int at = o.index() < items.size() ? items[o.index()].first : 0;
    if (o.code() == 0) {
      ++recorded;
    } else {
      ++rejected;
      t.Row({std::to_string(at), "rejected",
             (o.detail().rule().empty() ? "" : "rule " + o.detail().rule() + ": ") + o.error()});
    }
    if (client.settings().output != "table") std::cout << ToJson(response, false) << "\n";
  }
  writer.join();
  const grpc::Status s = stream->Finish();
  if (!s.ok()) {
    std::cerr << DescribeError(b.command->name, s, ColourOn(2, false));
    return ExitCodeOf(s);
  }
  if (client.settings().output == "table") {
    if (!t.empty()) std::cout << t.Render(style, 100) << "\n";
    std::cout << recorded << " recorded, " << rejected << " rejected\n";
  }
  return rejected > 0 ? kExitRejected : kExitOk;
}

int RunRpc(const Bound& b, const Global& g) {
  auto settings = Resolve(g.overrides);
  if (!settings.ok()) return Usage(std::string(settings.status().message()));
  if (g.json) settings->output = "json";
  auto request = BuildRequest(b, *settings);
  if (!request.ok()) return Usage(std::string(request.status().message()));
  if (auto s = LoadToken(*settings); !s.ok()) {
    std::cerr << "kamctl: " << s.message() << "\n";
    return kExitUnauthorised;
  }
  const Style style{ColourOn(1, g.no_color)};
  Client client(*settings);
  if (b.command->name == "tail") return Tail(client, b, **request, style);
  if (b.command->name == "stream-metrics") return StreamMetrics(client, b, style);
  std::unique_ptr<Message> response(google::protobuf::MessageFactory::generated_factory()
                                        ->GetPrototype(b.method->output_type())
                                        ->New());
  const grpc::Status status = client.Unary(b.method, **request, response.get());
  if (!status.ok()) {
    std::string text = DescribeError(b.command->name, status, ColourOn(2, g.no_color));
    if (ExitCodeOf(status) == kExitUnavailable && b.has_metadata) {
      base::StrAppend(&text, "  it may or may not have been written: retry with --request-id ",
                      RequestIdOf(**request), " (a retry never writes twice)\n");
    }
    std::cerr << text;
    return ExitCodeOf(status);
  }
  std::cout << Render(b.command->name, *response, settings->output, style);
  return kExitOk;
}

// CLI11's help, with positionals named in the usage line as the user types them
// ("kamctl admit-account [OPTIONS] [PROGRAMME-ID ACCOUNT-ID]").
class Formatter : public CLI::Formatter {
 public:
  std::string make_option_usage(const CLI::Option* opt) const override {
    if (opt->get_positional() && !opt->get_type_name().empty()) return opt->get_type_name();
    return CLI::Formatter::make_option_usage(opt);
  }
};

}  // namespace
}  // namespace kam::kamctl

int main(int argc, char** argv) {
  using namespace kam::kamctl;  // NOLINT: the entry point of this tool
  CLI::App app{
      "kamctl: the KAM governance platform from a shell.\n"
      "Settings come from flags, the environment (KAM_COMMANDS, KAM_METRICS, KAM_QUERIES,\n"
      "KAM_TLS_CA, KAM_TOKEN, KAM_TOKEN_FILE, KAM_PROGRAMME, KAM_OUTPUT) or\n"
      "~/.config/kam/config.toml. Exit codes: 0 done, 1 failed, 2 usage, 3 rejected by a\n"
      "rule or field, 4 unauthorised, 5 platform unavailable."};
  app.name("kamctl");
  app.formatter(std::make_shared<Formatter>());
  app.require_subcommand(1, 1);
  app.fallthrough();
  Global g;
  app.add_option("--config", g.overrides.config, "config file (default ~/.config/kam/config.toml)")
      ->group("Settings");
  app.add_option("--profile", g.overrides.profile, "a [profiles.NAME] table of the config file")
      ->group("Settings");
  app.add_option("--commands", g.overrides.commands, "ProgrammeCommandService host:port")
      ->group("Settings");
  app.add_option("--metrics", g.overrides.metrics, "MetricsCommandService host:port")
      ->group("Settings");
  app.add_option("--queries", g.overrides.queries, "query services host:port")->group("Settings");
  app.add_option("--tls-ca", g.overrides.tls_ca, "PEM CA bundle: talk TLS to the services")
      ->group("Settings");
  app.add_option("--token-file", g.overrides.token_file,
                 "a file holding the bearer token (chmod 600); or set KAM_TOKEN")
      ->group("Settings");
  app.add_option("--brokers", g.overrides.brokers,
                 "Kafka bootstrap servers (dlq, audit, checkpoints)")
      ->group("Settings");
  app.add_option("--topic-prefix", g.overrides.topic_prefix,
                 "topic prefix (dlq, audit, checkpoints)")
      ->group("Settings");
  app.add_option("--kafka-security-protocol", g.overrides.kafka_security_protocol,
                 "plaintext (default), ssl, sasl_plaintext or sasl_ssl")
      ->group("Kafka");
  app.add_option("--kafka-ssl-ca", g.overrides.kafka_ssl_ca, "PEM CA bundle of the Kafka brokers")
      ->group("Kafka");
  app.add_option("--kafka-ssl-cert", g.overrides.kafka_ssl_cert,
                 "PEM client certificate for Kafka (mutual TLS)")
      ->group("Kafka");
  app.add_option("--kafka-ssl-key", g.overrides.kafka_ssl_key,
                 "PEM private key of --kafka-ssl-cert")
      ->group("Kafka");
  app.add_option("--kafka-sasl-mechanism", g.overrides.kafka_sasl_mechanism,
                 "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default)")
      ->group("Kafka");
  app.add_option("--kafka-sasl-username", g.overrides.kafka_sasl_username, "Kafka SASL user")
      ->group("Kafka");
  app.add_option("--kafka-sasl-password-file", g.overrides.kafka_sasl_password_file,
                 "a file (chmod 600) holding the Kafka SASL password")
      ->group("Kafka");
  app.add_option("-o,--output", g.overrides.output, "table (default), json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->group("Settings");
  app.add_flag("--json", g.json, "the same as --output json")->group("Settings");
  app.add_flag("--no-color", g.no_color, "no colour even on a terminal (also: NO_COLOR=1)")
      ->group("Settings");
  app.add_option("--timeout", g.overrides.timeout_seconds, "seconds per call (default 30)")
      ->group("Settings");

  std::vector<std::unique_ptr<Bound>> bound;
  for (const RpcCommand& c : Catalogue()) {
    auto b = std::make_unique<Bound>();
    b->command = &c;
    b->method = MethodOf(c);
    if (b->method == nullptr) {
      std::cerr << "kamctl: internal: no method " << c.method << "\n";
      return kExitFailed;
    }
    Define(app, *b);
    bound.push_back(std::move(b));
  }

  // import
  ImportOptions import;
  auto* import_cmd = app.add_subcommand(
      "import", "Import people, accounts, metrics or trainings from a CSV or JSON Lines file.");
  import_cmd->group("Bulk import");
  import_cmd->add_option("kind", import.kind, "people | accounts | metrics | trainings")
      ->required()
      ->check(CLI::IsMember({"people", "accounts", "metrics", "trainings"}))
      ->type_name("KIND");
  import_cmd->add_option("file", import.file, "the file ('-': stdin, with --source)")
      ->required()
      ->type_name("FILE");
  import_cmd->add_option("--programme", import.programme,
                         "the programme for lines without programme_id");
  import_cmd->add_option("--format", import.format, "csv or jsonl (default: by extension)");
  import_cmd->add_option("--source", import.source,
                         "the data's identity in request ids (default: the file's name)");
  import_cmd->add_flag("--dry-run", import.dry_run, "check every line, write nothing");
  import_cmd->add_option("--parallel", import.parallel, "requests in flight (default 8)");
  import_cmd->add_option("--batch", import.batch, "metrics per batch (default and at most 1000)");
  import_cmd->footer(
      "The header (CSV) or keys (JSON Lines) name fields as the commands' flags do:\n"
      "  people:    person_id,name,principal,functions,senior,reports_to_top_management,"
      "board_level\n"
      "  accounts:  account_id,account_name,rationale\n"
      "  metrics:   account_id,kind,period_start,period_end,amount,ratio,activity,\n"
      "             source_system,source_record_id[,corrects_event_id,custom_name]\n"
      "  trainings: type(manager|staff),person_id,skill,course,completed_on\n"
      "Lists (functions) are separated by ';'. Re-running an import writes nothing twice.\n"
      "example:\n  kamctl import metrics erp-2026-q1.csv --programme emea-kam --dry-run");

  // dlq
  DlqOptions dlq;
  auto* dlq_cmd = app.add_subcommand(
      "dlq", "Dead-lettered inbound records: list them, and re-drive them after a fix.");
  dlq_cmd->group("Operations");
  dlq_cmd->add_option("action", dlq.action, "list | redrive")
      ->required()
      ->check(CLI::IsMember({"list", "redrive"}));
  dlq_cmd->add_option("--topic", dlq.inbound,
                      "the inbound topic (metrics, trainings, people, visits, commitments or a "
                      "full name); default: all");
  dlq_cmd->add_option("--limit", dlq.limit, "at most this many records (list)");
  dlq_cmd->footer(
      "redrive produces each not yet re-driven dead letter back to its inbound topic, in one\n"
      "transaction with the progress marker, so a record is re-driven once; one that fails\n"
      "again is dead-lettered again with its new reason.\nexample:\n"
      "  kamctl dlq list --brokers kafka:9092\n  kamctl dlq redrive --topic metrics");

  // audit
  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand(
      "audit", "Check the event topics straight from Kafka with only the writers' public keys.");
  audit_cmd->group("Operations");
  audit_cmd->add_option("--keyring", audit.keyring,
                        "PEM public keys of the writers (without: hashes and chains only)");
  audit_cmd->add_option("--aggregate", audit.aggregate, "only this aggregate id");
  audit_cmd->add_option(
      "--checkpoints", audit.checkpoint_files,
      "checkpoints exported earlier by `kamctl checkpoints -o json` (repeatable)");
  audit_cmd->footer(
      "Per aggregate: authentic, chained events, the tip, the first break and quarantined\n"
      "records. Each chain is held against the writers' signed checkpoints (the topic's and\n"
      "those in --checkpoints files): a log that lost checkpointed events is reported.\n"
      "Exit 0 when all is intact, 1 otherwise.\nexample:\n"
      "  kamctl audit --brokers kafka:9092 --keyring /etc/kam/keyring.pem \\\n"
      "      --checkpoints board-2026-11.json");

  // checkpoints
  CheckpointsOptions checkpoints;
  auto* checkpoints_cmd = app.add_subcommand(
      "checkpoints", "List the writers' signed checkpoints of the chain tips, to keep outside.");
  checkpoints_cmd->group("Operations");
  checkpoints_cmd->add_option("--keyring", checkpoints.keyring,
                              "PEM public keys of the writers (checks each signature)");
  checkpoints_cmd->footer(
      "Each checkpoint states every aggregate's version and hash at a log position, signed by\n"
      "its writer. Keep the JSON outside the platform; `kamctl audit --checkpoints FILE`\n"
      "later shows whether the log still holds what they state. Exit 1 if one is not\n"
      "authentic.\nexample:\n"
      "  kamctl checkpoints --keyring keyring.pem -o json > board-2026-11.json");

  // demo, config, __rpcs
  std::string demo_tokens;
  auto* demo_cmd = app.add_subcommand("demo", "Load the demo programme through the public API.");
  demo_cmd->group("Operations");
  demo_cmd
      ->add_option("--tokens-file", demo_tokens,
                   "tokens per role (admin, champion, kam, sponsor, publisher)")
      ->required();
  auto* config_cmd = app.add_subcommand("config", "Show the settings kamctl would use, and why.");
  config_cmd->group("Operations");
  auto* rpcs_cmd = app.add_subcommand("__rpcs", "the RPCs kamctl covers (for tests)");
  rpcs_cmd->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  for (const auto& b : bound) {
    if (b->app->parsed()) return RunRpc(*b, g);
  }
  if (rpcs_cmd->parsed()) {
    for (const RpcCommand& c : Catalogue()) std::cout << c.method << "\n";
    return kExitOk;
  }
  auto settings = Resolve(g.overrides);
  if (!settings.ok()) return Usage(std::string(settings.status().message()));
  if (g.json) settings->output = "json";
  const Style style{ColourOn(1, g.no_color)};
  if (config_cmd->parsed()) {
    std::cout << "config file  "
              << (settings->config_path.empty() ? "(none)" : settings->config_path)
              << "\ncommands     " << settings->commands << "\nmetrics      " << settings->metrics
              << "\nqueries      " << settings->queries << "\ntls ca       "
              << (settings->tls_ca.empty() ? "(plaintext)" : settings->tls_ca) << "\ntoken        "
              << (std::getenv("KAM_TOKEN") != nullptr ? "from KAM_TOKEN"
                  : settings->token_file.empty()      ? "(none: set KAM_TOKEN or --token-file)"
                                                      : "from " + settings->token_file)
              << "\nprogramme    " << (settings->programme.empty() ? "(none)" : settings->programme)
              << "\noutput       " << settings->output << "\nbrokers      " << settings->brokers
              << "\nkafka        " << settings->kafka_security_protocol
              << (settings->kafka_security_protocol.starts_with("sasl")
                      ? " as " + settings->kafka_sasl_username + " (" +
                            settings->kafka_sasl_mechanism + ")"
                      : std::string())
              << "\n";
    return kExitOk;
  }
  if (dlq_cmd->parsed()) return RunDlq(*settings, dlq, style);
  if (audit_cmd->parsed()) return RunAudit(*settings, audit, style);
  if (checkpoints_cmd->parsed()) return RunCheckpoints(*settings, checkpoints, style);
  if (demo_cmd->parsed()) {
    auto tokens = kam::demo::TokensByRole(demo_tokens);
    if (!tokens.ok()) return Usage(std::string(tokens.status().message()));
    Client client(*settings);
    auto summary =
        kam::demo::Load({client.Channel(Endpoint::kCommands), client.Channel(Endpoint::kMetrics),
                         client.Channel(Endpoint::kQueries)},
                        *tokens);
    if (!summary.ok()) {
      std::cerr << "kamctl demo: " << summary.status().message() << "\n";
      return kExitFailed;
    }
    if (summary->already_loaded) {
      std::cout << "the demo programme '" << kam::demo::kProgrammeId << "' is already loaded\n";
    } else {
      std::cout << "loaded the demo programme '" << kam::demo::kProgrammeId
                << "': " << summary->commands << " commands, " << summary->metrics << " metrics\n";
    }
    return kExitOk;
  }
  if (import_cmd->parsed()) {
    if (auto s = LoadToken(*settings); !s.ok()) {
      std::cerr << "kamctl: " << s.message() << "\n";
      return kExitUnauthorised;
    }
    if (import.programme.empty()) import.programme = settings->programme;
    import.progress = ColourOn(2, false) || isatty(2) != 0;
    Client client(*settings);
    auto summary = Import(client, import);
    if (!summary.ok()) {
      std::cerr << "kamctl import: " << summary.status().message() << "\n";
      const auto code = summary.status().code();
      if (code == absl::StatusCode::kUnauthenticated ||
          code == absl::StatusCode::kPermissionDenied) {
        return kExitUnauthorised;
      }
      if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
        return kExitUnavailable;
      }
      if (code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound) {
        return kExitUsage;
      }
      return kExitFailed;
    }
    std::cout << RenderSummary(*summary, settings->output, style);
    return summary->rejected.empty() ? kExitOk : kExitRejected;
  }
  return kExitUsage;
}
