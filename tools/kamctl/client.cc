#include "tools/kamctl/client.h"

#include <grpcpp/generic/generic_stub.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "base/errors.h"
#include "base/strings.h"
#include "kam/v1/errors.pb.h"
#include "server/process.h"
#include "server/status.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string ExpandHome(const std::string& path) {
  if (path.starts_with("~/")) {
    const std::string home = Env("HOME");
    if (!home.empty()) return home + path.substr(1);
  }
  return path;
}

std::string DefaultConfigPath() {
  if (std::string c = Env("KAM_CONFIG"); !c.empty()) return c;
  if (std::string x = Env("XDG_CONFIG_HOME"); !x.empty()) return x + "/kam/config.toml";
  if (std::string h = Env("HOME"); !h.empty()) return h + "/.config/kam/config.toml";
  return "";
}

// Applies one table of the config file to `s`; INVALID_ARGUMENT naming an unknown key.
absl::Status ApplyTable(const toml::table& t, const std::string& file, const std::string& where,
                        Settings& s) {
  for (const auto& [key, node] : t) {
    const std::string k(key.str());
    if (k == "profiles") continue;
    auto text = node.value<std::string>();
    auto str = [&](std::string& into) -> absl::Status {
      if (!text) {
        return absl::InvalidArgumentError(
            base::StrCat(file, ": ", where, k, " must be a string in quotes"));
      }
      into = *text;
      return absl::OkStatus();
    };
    if (k == "commands") {
      KAM_RETURN_IF_ERROR(str(s.commands));
    } else if (k == "metrics") {
      KAM_RETURN_IF_ERROR(str(s.metrics));
    } else if (k == "queries") {
      KAM_RETURN_IF_ERROR(str(s.queries));
    } else if (k == "tls_ca") {
      KAM_RETURN_IF_ERROR(str(s.tls_ca));
    } else if (k == "token_file") {
      KAM_RETURN_IF_ERROR(str(s.token_file));
    } else if (k == "programme") {
      KAM_RETURN_IF_ERROR(str(s.programme));
    } else if (k == "output") {
      KAM_RETURN_IF_ERROR(str(s.output));
    } else if (k == "brokers") {
      KAM_RETURN_IF_ERROR(str(s.brokers));
    } else if (k == "topic_prefix") {
      KAM_RETURN_IF_ERROR(str(s.topic_prefix));
    } else if (k == "kafka_security_protocol") {
      KAM_RETURN_IF_ERROR(str(s.kafka_security_protocol));
    } else if (k == "kafka_ssl_ca") {
      KAM_RETURN_IF_ERROR(str(s.kafka_ssl_ca));
    } else if (k == "kafka_ssl_cert") {
      KAM_RETURN_IF_ERROR(str(s.kafka_ssl_cert));
    } else if (k == "kafka_ssl_key") {
      KAM_RETURN_IF_ERROR(str(s.kafka_ssl_key));
    } else if (k == "kafka_sasl_mechanism") {
      KAM_RETURN_IF_ERROR(str(s.kafka_sasl_mechanism));
    } else if (k == "kafka_sasl_username") {
      KAM_RETURN_IF_ERROR(str(s.kafka_sasl_username));
    } else if (k == "kafka_sasl_password_file") {
      KAM_RETURN_IF_ERROR(str(s.kafka_sasl_password_file));
    } else if (k == "timeout_seconds") {
      auto n = node.value<int64_t>();
      if (!n || *n <= 0 || *n > 3600) {
        return absl::InvalidArgumentError(
            base::StrCat(file, ": ", where, "timeout_seconds must be a number of seconds, 1-3600"));
      }
      s.timeout = std::chrono::seconds(*n);
    } else if (k == "token") {
      return absl::InvalidArgumentError(base::StrCat(
          file, ": ", where,
          "token: a token does not belong in the config file; put it in a file of its own "
          "(chmod 600) and name it with token_file"));
    } else {
      return absl::InvalidArgumentError(base::StrCat(
          file, ": ", where, k,
          " is not a setting (commands, metrics, queries, tls_ca, token_file, programme, "
          "output, brokers, topic_prefix, timeout_seconds, kafka_security_protocol, "
          "kafka_ssl_ca, kafka_ssl_cert, kafka_ssl_key, kafka_sasl_mechanism, "
          "kafka_sasl_username, kafka_sasl_password_file)"));
    }
  }
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  *ok = static_cast<bool>(in) || !text.str().empty();
  return text.str();
}

}  // namespace

absl::StatusOr<Settings> Resolve(const Overrides& o) {
  Settings s;
  // The config file, then its profile.
  const std::string path = o.config.empty() ? DefaultConfigPath() : ExpandHome(o.config);
  const std::string profile = o.profile.empty() ? Env("KAM_PROFILE") : o.profile;
  if (!path.empty() && std::filesystem::exists(path)) {
    toml::table root;
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return absl::InvalidArgumentError(
          base::StrCat(path, ":", e.source().begin.line, ": ", e.description()));
    }
    KAM_RETURN_IF_ERROR(ApplyTable(root, path, "", s));
    // Every profile is checked, not only the one in use: a token or a typo anywhere in the
    // file is reported the first time kamctl reads it.
    if (const toml::table* all = root["profiles"].as_table()) {
      for (const auto& [name, node] : *all) {
        const toml::table* t = node.as_table();
        const std::string where = base::StrCat("[profiles.", name.str(), "] ");
        if (t == nullptr) {
          return absl::InvalidArgumentError(base::StrCat(path, ": ", where, "must be a table"));
        }
        Settings ignored;
        KAM_RETURN_IF_ERROR(ApplyTable(*t, path, where, ignored));
      }
    }
    if (!profile.empty()) {
      const toml::table* p = root["profiles"][profile].as_table();
      if (p == nullptr) {
        return absl::InvalidArgumentError(
            base::StrCat(path, ": no [profiles.", profile, "] table for --profile ", profile));
      }
      KAM_RETURN_IF_ERROR(ApplyTable(*p, path, base::StrCat("[profiles.", profile, "] "), s));
    }
    s.config_path = path;
  } else if (!o.config.empty()) {
    return absl::InvalidArgumentError(base::StrCat("--config: ", path, " does not exist"));
  } else if (!profile.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat("--profile ", profile, ": there is no config file (", path, ")"));
  }
  // The environment.
  auto env = [](const char* name, std::string& into) {
    if (std::string v = Env(name); !v.empty()) into = v;
  };
  env("KAM_COMMANDS", s.commands);
  env("KAM_METRICS", s.metrics);
  env("KAM_QUERIES", s.queries);
  env("KAM_TLS_CA", s.tls_ca);
  env("KAM_TOKEN_FILE", s.token_file);
  env("KAM_PROGRAMME", s.programme);
  env("KAM_OUTPUT", s.output);
  env("KAM_BROKERS", s.brokers);
  env("KAM_TOPIC_PREFIX", s.topic_prefix);
  env("KAM_KAFKA_SECURITY_PROTOCOL", s.kafka_security_protocol);
  env("KAM_KAFKA_SSL_CA", s.kafka_ssl_ca);
  env("KAM_KAFKA_SSL_CERT", s.kafka_ssl_cert);
  env("KAM_KAFKA_SSL_KEY", s.kafka_ssl_key);
  env("KAM_KAFKA_SASL_MECHANISM", s.kafka_sasl_mechanism);
  env("KAM_KAFKA_SASL_USERNAME", s.kafka_sasl_username);
  env("KAM_KAFKA_SASL_PASSWORD_FILE", s.kafka_sasl_password_file);
  // The command line.
  auto flag = [](const std::string& v, std::string& into) {
    if (!v.empty()) into = v;
  };
  flag(o.commands, s.commands);
  flag(o.metrics, s.metrics);
  flag(o.queries, s.queries);
  flag(o.tls_ca, s.tls_ca);
  flag(o.token_file, s.token_file);
  flag(o.output, s.output);
  flag(o.brokers, s.brokers);
  flag(o.topic_prefix, s.topic_prefix);
  flag(o.kafka_security_protocol, s.kafka_security_protocol);
  flag(o.kafka_ssl_ca, s.kafka_ssl_ca);
  flag(o.kafka_ssl_cert, s.kafka_ssl_cert);
  flag(o.kafka_ssl_key, s.kafka_ssl_key);
  flag(o.kafka_sasl_mechanism, s.kafka_sasl_mechanism);
  flag(o.kafka_sasl_username, s.kafka_sasl_username);
  flag(o.kafka_sasl_password_file, s.kafka_sasl_password_file);
  if (o.timeout_seconds > 0) s.timeout = std::chrono::seconds(o.timeout_seconds);
  s.tls_ca = ExpandHome(s.tls_ca);
  s.token_file = ExpandHome(s.token_file);
  s.kafka_ssl_ca = ExpandHome(s.kafka_ssl_ca);
  s.kafka_ssl_cert = ExpandHome(s.kafka_ssl_cert);
  s.kafka_ssl_key = ExpandHome(s.kafka_ssl_key);
  s.kafka_sasl_password_file = ExpandHome(s.kafka_sasl_password_file);
  if (s.output != "table" && s.output != "json" && s.output != "yaml") {
    return absl::InvalidArgumentError(
        base::StrCat("--output: '", s.output, "' is not table, json or yaml"));
  }
  return s;
}

absl::StatusOr<eventlog::KafkaOptions> KafkaOf(const Settings& s) {
  auto properties = server::KafkaSecurityProperties(
      server::KafkaSecurity{.protocol = s.kafka_security_protocol,
                            .ssl_ca = s.kafka_ssl_ca,
                            .ssl_cert = s.kafka_ssl_cert,
                            .ssl_key = s.kafka_ssl_key,
                            .sasl_mechanism = s.kafka_sasl_mechanism,
                            .sasl_username = s.kafka_sasl_username,
                            .sasl_password_file = s.kafka_sasl_password_file});
  if (!properties.ok()) return properties.status();
  return eventlog::KafkaOptions{.brokers = s.brokers, .properties = *std::move(properties)};
}

absl::Status LoadToken(Settings& s) {
  if (!s.token.empty()) return absl::OkStatus();
  if (std::string t = Env("KAM_TOKEN"); !t.empty()) {
    s.token = t;
    return absl::OkStatus();
  }
  if (s.token_file.empty()) {
    return absl::UnauthenticatedError(
        "no token: set KAM_TOKEN, or put the token in a file only you can read (chmod 600) "
        "and pass --token-file FILE (or token_file in ~/.config/kam/config.toml)");
  }
  struct stat st {};
  if (::stat(s.token_file.c_str(), &st) != 0) {
    return absl::UnauthenticatedError(base::StrCat("--token-file: cannot read ", s.token_file));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::UnauthenticatedError(base::StrCat(
        "--token-file: ", s.token_file,
        " can be read by other users; refusing to use it (chmod 600 ", s.token_file, ")"));
  }
  bool ok = false;
  std::string text = ReadFile(s.token_file, &ok);
  s.token = std::string(Trim(text));
  if (!ok || s.token.empty()) {
    return absl::UnauthenticatedError(base::StrCat("--token-file: ", s.token_file, " is empty"));
  }
  return absl::OkStatus();
}

Client::Client(Settings settings) : settings_(std::move(settings)) {
  credentials_ = grpc::InsecureChannelCredentials();
  if (!settings_.tls_ca.empty()) {
    bool ok = false;
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(settings_.tls_ca, &ok);
    credentials_ = grpc::SslCredentials(ssl);
  }
}

std::vector<std::string> Client::Targets(Endpoint endpoint) const {
  const std::string& list = endpoint == Endpoint::kCommands  ? settings_.commands
                            : endpoint == Endpoint::kMetrics ? settings_.metrics
                                                             : settings_.queries;
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= list.size()) {
    std::size_t comma = list.find(',', from);
    if (comma == std::string::npos) comma = list.size();
    std::string one = list.substr(from, comma - from);
    one.erase(0, one.find_first_not_of(' '));
    one.erase(one.find_last_not_of(' ') + 1);
    if (!one.empty()) out.push_back(one);
    from = comma + 1;
  }
  return out;
}

std::shared_ptr<grpc::Channel> Client::ChannelTo(const std::string& target) {
  auto& channel = channels_[target];
  if (!channel) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel = grpc::CreateCustomChannel(target, credentials_, args);
  }
  return channel;
}

std::shared_ptr<grpc::Channel> Client::Channel(Endpoint endpoint) {
  const std::vector<std::string> targets = Targets(endpoint);
  const int i = static_cast<int>(endpoint);
  return ChannelTo(targets.empty() ? std::string() : targets[preferred_[i] % targets.size()]);
}

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + settings_.token);
  ctx->set_deadline(std::chrono::system_clock::now() + settings_.timeout);
  return ctx;
}

grpc::Status Client::Unary(const google::protobuf::MethodDescriptor* method,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response) {
  // While the instances move partitions (one joined, left or died), a round ends
  // "rebalancing" or at an owner that does not answer: the same request (the same request
  // id, so it is never written twice) is tried again every second, for at most 20 s.
  const auto settle_until =
      std::chrono::steady_clock::now() +
      std::min<std::chrono::seconds>(settings_.timeout, std::chrono::seconds(20));
  bool told = false;
  for (;;) {
    bool moving = false;
    grpc::Status status = Round(method, request, response, moving);
    if (!moving || status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        std::chrono::steady_clock::now() + std::chrono::seconds(1) > settle_until) {
      return status;
    }
    if (!told) {
      std::cerr << "kamctl: " << status.error_message()
                << "\nkamctl: the instances are moving partitions; retrying with the same "
                   "request id for up to 20 s\n";
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

grpc::Status Client::Round(const google::protobuf::MethodDescriptor* method,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response, bool& moving) {
  // Several instances of a command service (--ownership group): an instance that does not
  // own the command's partition names its owner, and the same request goes there; an
  // instance that does not answer at all is skipped for the next in the list. At most one
  // try per listed instance plus three hops to named owners.
  const Endpoint endpoint = EndpointOf(method);
  const std::vector<std::string> targets = Targets(endpoint);
  const int i = static_cast<int>(endpoint);
  std::string target = targets.empty() ? std::string() : targets[preferred_[i] % targets.size()];
  grpc::Status status;
  int hops = 0;
  bool named = false;  // the target is an owner an instance named
  for (std::size_t tries = 0; tries < targets.size() + 3; ++tries) {
    status = UnaryAt(target, method, request, response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    const v1::ErrorDetail detail = server::DetailOf(status);
    if (detail.reason() == base::kReasonRebalancing) {
      moving = true;
      break;
    }
    if (detail.reason() == base::kReasonNotOwner && !detail.owner().empty() && hops < 3 &&
        detail.owner() != target) {
      // The owner comes from the writer group, which anyone allowed to join it can fill in:
      // the token goes only to a listed instance, or over TLS (where the owner must prove
      // its name under the configured CA).
      const bool listed =
          std::find(targets.begin(), targets.end(), detail.owner()) != targets.end();
      if (!listed && settings_.tls_ca.empty()) {
        return grpc::Status(
            status.error_code(),
            base::StrCat(status.error_message(),
                         "; kamctl sends the token only to the listed "
                         "instances over plaintext: add ",
                         detail.owner(), " to --commands/--metrics (or use --tls-ca)"),
            status.error_details());
      }
      ++hops;
      target = detail.owner();
      named = true;
      continue;
    }
    if (!detail.reason().empty()) break;
    // Not answered: an owner named a moment ago has died (its partitions are moving), or a
    // listed instance is down (the next one of the list).
    if (named) {
      moving = true;
      break;
    }
    if (tries + 1 >= targets.size()) break;
    preferred_[i] = (preferred_[i] + 1) % targets.size();
    target = targets[preferred_[i]];
  }
  return status;
}

grpc::Status Client::UnaryAt(const std::string& target,
                             const google::protobuf::MethodDescriptor* method,
                             const google::protobuf::Message& request,
                             google::protobuf::Message* response) {
  grpc::GenericStub stub(ChannelTo(target));
  grpc::CompletionQueue cq;
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  auto ctx = Context();
  const std::string path = base::StrCat("/", method->service()->full_name(), "/", method->name());
  auto call = stub.PrepareUnaryCall(ctx.get(), path, in, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&out, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (status.ok()) {
    grpc::Slice whole;
    if (!out.DumpToSingleSlice(&whole).ok() ||
        !response->ParseFromArray(whole.begin(), static_cast<int>(whole.size()))) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          base::StrCat("the reply to ", method->name(), " does not parse"));
    }
  }
  return status;
}

int ExitCodeOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitRejected;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitUnauthorised;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitFailed;
  }
}

std::string CodeName(int code) {
  // gRPC's codes are absl's, number for number.
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? std::to_string(code) : name;
}

std::string DescribeError(const std::string& what, const grpc::Status& status, bool colour) {
  const std::string name = CodeName(static_cast<int>(status.error_code()));
  v1::ErrorDetail detail;
  v1::RpcStatus rpc;
  if (!status.error_details().empty() && rpc.ParseFromString(status.error_details())) {
    for (const auto& any : rpc.details()) {
      if (any.Is<v1::ErrorDetail>()) any.UnpackTo(&detail);
    }
  }
  const int exit = ExitCodeOf(status);
  const std::string verb = exit == kExitRejected       ? "rejected"
                           : exit == kExitUnauthorised ? "not allowed"
                           : exit == kExitUnavailable  ? "could not reach the platform"
                                                       : "failed";
  const char* red = colour ? "\033[1;31m" : "";
  const char* bold = colour ? "\033[1m" : "";
  const char* dim = colour ? "\033[2m" : "";
  const char* reset = colour ? "\033[0m" : "";
  std::string out = base::StrCat(red, "error", reset, ": ", what, " ", verb);
  if (!detail.rule().empty()) base::StrAppend(&out, " by rule ", bold, detail.rule(), reset);
  if (!detail.field().empty()) base::StrAppend(&out, " (field ", bold, detail.field(), reset, ")");
  base::StrAppend(&out, "\n  ", status.error_message(), "\n  ", dim, name);
  if (!detail.reason().empty()) base::StrAppend(&out, ", ", detail.reason());
  base::StrAppend(&out, reset, "\n");
  if (exit == kExitUnavailable) {
    base::StrAppend(&out,
                    "  is the platform running? (deploy/run.sh starts it; endpoints come "
                    "from --commands/--metrics/--queries or ~/.config/kam/config.toml)\n");
  } else if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    base::StrAppend(&out, "  check KAM_TOKEN or --token-file\n");
  }
  return out;
}

}  // namespace kam::kamctl
