// kamctl: talk to the platform from a shell.
//
//   kamctl [--commands ADDR] [--queries ADDR] [--token TOKEN] COMMAND ARGS...
//     charter PROGRAMME NAME RATIONALE [MIN MAX]
//     nominate PROGRAMME ACCOUNT NAME RATIONALE
//     history PROGRAMME ACCOUNT [--after TOPIC/PARTITION@OFFSET]
// Every command sends a fresh client request id unless --request-id is given (a retry).
// Replies are printed as JSON; errors as "CODE: message" with exit status 1.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "base/ids.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "kam/v1/governance_service.grpc.pb.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "tools/demo/demo.h"

namespace {

const char* const kUsage =
    "usage: kamctl [--commands ADDR] [--queries ADDR] [--token TOKEN] [--request-id ID] COMMAND\n"
    "  charter PROGRAMME NAME RATIONALE [MIN MAX]   charter a programme\n"
    "  nominate PROGRAMME ACCOUNT NAME RATIONALE     nominate an account\n"
    "  history PROGRAMME ACCOUNT [TOPIC PARTITION OFFSET]\n"
    "                                               an account's history (waiting for a position)\n"
    "  programme PROGRAMME [recorded|effective TIME] the programme now, or as of TIME\n"
    "                                               (RFC 3339, e.g. 2026-01-31T00:00:00Z)\n"
    "  scorecard PROGRAMME                           the seven-step scorecard\n"
    "  register PROGRAMME                            admissions and retirements, with rates\n"
    "  verify PROGRAMME                              re-check the programme's hash chain\n"
    "  economics PROGRAMME ACCOUNT                   contribution and lifetime value\n"
    "  demo --tokens-file FILE                       load the demo programme (needs tokens for\n"
    "                                               admin, champion, kam, sponsor, publisher)\n"
    "defaults: --commands $KAM_COMMANDS or 127.0.0.1:50051, --metrics $KAM_METRICS or\n"
    "127.0.0.1:50052, --queries $KAM_QUERIES or\n"
    "127.0.0.1:50061, --token $KAM_TOKEN; --tls-ca PEM ($KAM_TLS_CA) talks TLS to the servers\n";

const char* const kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

int Print(const grpc::Status& status, const google::protobuf::Message& reply) {
  if (!status.ok()) {
    const int code = static_cast<int>(status.error_code());
    std::cerr << (code >= 0 && code <= 16 ? kCodeNames[code] : "CODE") << ": "
              << status.error_message() << "\n";
    return 1;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(reply, &json, options);
  std::cout << json;
  return 0;
}

// The argument types of a stub's unary method.
template <typename T>
struct RpcArgs;
template <typename Stub, typename Req, typename Reply>
struct RpcArgs<grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Reply*)> {
  using type = std::tuple<grpc::ClientContext*, const Req&, Reply*>;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"commands", Env("KAM_COMMANDS", "127.0.0.1:50051")},
                                            {"queries", Env("KAM_QUERIES", "127.0.0.1:50061")},
                                            {"metrics", Env("KAM_METRICS", "127.0.0.1:50052")},
                                            {"tokens-file", ""},
                                            {"token", Env("KAM_TOKEN", "")},
                                            {"request-id", ""},
                                            {"tls-ca", Env("KAM_TLS_CA", "")}};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && opt.contains(a.substr(2)) && i + 1 < argc) {
      opt[a.substr(2)] = argv[++i];
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto context = [&](grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", "Bearer " + opt["token"]);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(40));
  };
  // One unary call with the token and deadline; prints the reply or the error.
  auto call = [&](auto& stub, auto rpc, const auto& req) {
    using Reply =
        std::remove_pointer_t<std::tuple_element_t<2, typename RpcArgs<decltype(rpc)>::type>>;
    Reply reply;
    grpc::ClientContext ctx;
    context(ctx);
    return Print((stub.*rpc)(&ctx, req, &reply), reply);
  };
  auto metadata = [&](kam::v1::CommandMetadata* m) {
    m->set_client_request_id(opt["request-id"].empty() ? kam::base::NewEventId()
                                                       : opt["request-id"]);
  };
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!opt["tls-ca"].empty()) {
    std::ifstream in(opt["tls-ca"]);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      std::cerr << "--tls-ca: cannot read '" << opt["tls-ca"] << "'\n";
      return 2;
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  const std::string& cmd = args[0];
  if (cmd == "charter" && (args.size() == 4 || args.size() == 6)) {
    auto stub = kam::v1::ProgrammeCommandService::NewStub(
        grpc::CreateChannel(opt["commands"], credentials));
    kam::v1::CharterProgrammeRequest req;
    metadata(req.mutable_metadata());
    req.set_programme_id(args[1]);
    req.set_name(args[2]);
    req.set_rationale(args[3]);
    if (args.size() == 6) {
      req.set_min_key_accounts(static_cast<uint32_t>(std::strtoul(args[4].c_str(), nullptr, 10)));
      req.set_max_key_accounts(static_cast<uint32_t>(std::strtoul(args[5].c_str(), nullptr, 10)));
    }
    return call(*stub, &std::remove_reference_t<decltype(*stub)>::CharterProgramme, req);
  }
  if (cmd == "nominate" && args.size() == 5) {
    auto stub = kam::v1::ProgrammeCommandService::NewStub(
        grpc::CreateChannel(opt["commands"], credentials));
    kam::v1::NominateAccountRequest req;
    metadata(req.mutable_metadata());
    req.set_programme_id(args[1]);
    req.set_account_id(args[2]);
    req.set_account_name(args[3]);
    req.set_rationale(args[4]);
    return call(*stub, &std::remove_reference_t<decltype(*stub)>::NominateAccount, req);
  }
  if (cmd == "history" && (args.size() == 3 || args.size() == 6)) {
    auto stub =
        kam::v1::HistoryQueryService::NewStub(grpc::CreateChannel(opt["queries"], credentials));
    kam::v1::GetAccountHistoryRequest req;
    req.set_programme_id(args[1]);
    req.set_account_id(args[2]);
    if (args.size() == 6) {
      auto* p = req.mutable_consistency()->add_at_least();
      p->set_topic(args[3]);
      p->set_partition(std::atoi(args[4].c_str()));
      p->set_offset(std::atoll(args[5].c_str()));
    }
    return call(*stub, &std::remove_reference_t<decltype(*stub)>::GetAccountHistory, req);
  }
  auto governance = [&] {
    return kam::v1::GovernanceQueryService::NewStub(
        grpc::CreateChannel(opt["queries"], credentials));
  };
  if (cmd == "programme" && (args.size() == 2 || args.size() == 4)) {
    kam::v1::GetProgrammeRequest req;
    req.set_programme_id(args[1]);
    if (args.size() == 4) {
      if (args[2] != "recorded" && args[2] != "effective") {
        std::cerr << "the time axis is 'recorded' or 'effective'\n";
        return 2;
      }
      req.mutable_as_of()->set_axis(args[2] == "recorded" ? kam::v1::TIME_AXIS_RECORDED
                                                          : kam::v1::TIME_AXIS_EFFECTIVE);
      if (!google::protobuf::util::TimeUtil::FromString(args[3],
                                                        req.mutable_as_of()->mutable_time())) {
        std::cerr << "TIME must be RFC 3339, e.g. 2026-01-31T00:00:00Z\n";
        return 2;
      }
    }
    return call(*governance(), &std::remove_reference_t<decltype(*governance())>::GetProgramme,
                req);
  }
  if (cmd == "scorecard" && args.size() == 2) {
    kam::v1::GetScorecardRequest req;
    req.set_programme_id(args[1]);
    return call(*governance(), &std::remove_reference_t<decltype(*governance())>::GetScorecard,
                req);
  }
  if (cmd == "register" && args.size() == 2) {
    kam::v1::GetRegisterRequest req;
    req.set_programme_id(args[1]);
    return call(*governance(), &std::remove_reference_t<decltype(*governance())>::GetRegister, req);
  }
  if (cmd == "verify" && args.size() == 2) {
    kam::v1::VerifyHistoryRequest req;
    req.set_aggregate_type("programme");
    req.set_aggregate_id(args[1]);
    return call(*governance(), &std::remove_reference_t<decltype(*governance())>::VerifyHistory,
                req);
  }
  if (cmd == "economics" && args.size() == 3) {
    kam::v1::GetEconomicsRequest req;
    req.set_programme_id(args[1]);
    req.set_account_id(args[2]);
    return call(*governance(), &std::remove_reference_t<decltype(*governance())>::GetEconomics,
                req);
  }
  if (cmd == "demo" && args.size() == 1) {
    if (opt["tokens-file"].empty()) {
      std::cerr << "demo needs --tokens-file (e.g. .run/tokens)\n";
      return 2;
    }
    auto tokens = kam::demo::TokensByRole(opt["tokens-file"]);
    if (!tokens.ok()) {
      std::cerr << tokens.status().message() << "\n";
      return 2;
    }
    auto summary = kam::demo::Load({grpc::CreateChannel(opt["commands"], credentials),
                                    grpc::CreateChannel(opt["metrics"], credentials),
                                    grpc::CreateChannel(opt["queries"], credentials)},
                                   *tokens);
    if (!summary.ok()) {
      std::cerr << "demo: " << summary.status().message() << "\n";
      return 1;
    }
    if (summary->already_loaded) {
      std::cout << "the demo programme '" << kam::demo::kProgrammeId << "' is already loaded\n";
    } else {
      std::cout << "loaded the demo programme '" << kam::demo::kProgrammeId
                << "': " << summary->commands << " commands, " << summary->metrics << " metrics\n";
    }
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
