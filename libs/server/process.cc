#include "server/process.h"

#include <grpc/support/log.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/strings.h"

namespace kam::server {
namespace {

void LogFromGrpc(gpr_log_func_args* args) {
  const base::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? base::LogLevel::kError
                               : args->severity == GPR_LOG_SEVERITY_INFO ? base::LogLevel::kInfo
                                                                         : base::LogLevel::kDebug;
  std::string_view file = args->file != nullptr ? args->file : "";
  if (auto slash = file.rfind('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  base::Log(level, args->message != nullptr ? args->message : "",
            {{"component", "grpc"}, {"source", base::StrCat(file, ":", args->line)}});
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(std::string_view flag, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(base::StrCat(flag, ": cannot read ", path));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(
        base::StrCat(flag, ": ", path, " can be read by other users; chmod 600 ", path));
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (!in || secret.empty()) {
    return absl::InvalidArgumentError(base::StrCat(flag, ": ", path, " is empty or unreadable"));
  }
  return secret;
}

void RouteLibraryLogs() { gpr_set_log_function(&LogFromGrpc); }

void DefineCommonFlags(Flags& flags, const std::string& default_listen,
                       const std::string& default_metrics_listen) {
  flags.Define("listen", default_listen, "address to serve gRPC on");
  DefineMetricsFlag(flags, default_metrics_listen);
  flags.Define("brokers", "127.0.0.1:9092", "Kafka bootstrap servers");
  flags.Define("tokens", "",
               "bearer tokens file (chmod 600): 'token principal role[,role]' per line "
               "(this or --oidc-jwks is required)");
  flags.Define("oidc-jwks", "",
               "JWKS file (JSON) of the identity provider's RS256 / ES256 keys: accept its "
               "OIDC access tokens (JWTs) as bearer tokens; needs --oidc-issuer and "
               "--oidc-audience");
  flags.Define("oidc-issuer", "", "the 'iss' an OIDC access token must carry");
  flags.Define("oidc-audience", "", "the 'aud' an OIDC access token must hold");
  flags.Define("oidc-principal-claim", "sub",
               "the claim of an OIDC access token that names the principal (sub, email, ...)");
  flags.Define("oidc-roles-claim", "kam_roles",
               "the claim of an OIDC access token that holds the principal's roles (a JSON "
               "array or a space-separated string; roles the platform does not know are "
               "ignored)");
  flags.Define("oidc-clock-skew-s", "60",
               "seconds an OIDC access token's exp, nbf and iat may be off by");
  flags.Define("topic-prefix", "", "prefix of every topic name (isolates environments)");
  flags.Define("tls-cert", "", "PEM certificate chain: serve TLS instead of plaintext");
  flags.Define("tls-key", "", "PEM private key of --tls-cert");
  flags.Define("max-message-bytes", "4194304",
               "largest request accepted (RESOURCE_EXHAUSTED beyond)");
  flags.Define("key-dir", "",
               "directory of the persons' data keys that seal personal data (docs/topics.md, "
               "\"Personal data\"); shared by the command services and the read side; empty: "
               "personal data is neither sealed nor erasable");
  flags.Define("keyring", "",
               "PEM public keys of the event writers: only events signed by one of them are "
               "accepted (empty: events are checked by their hash alone)");
  flags.Define("kafka-replication-factor", "3",
               "replicas of each topic this binary creates, and the fewest an existing topic "
               "may have; min.insync.replicas must then be 2 (1 for a one-broker development "
               "cluster, as deploy/local/run.sh passes)");
  flags.Define("kafka-security-protocol", "plaintext",
               "plaintext, ssl, sasl_plaintext or sasl_ssl");
  flags.Define("kafka-ssl-ca", "", "PEM CA bundle that signed the brokers' certificates");
  flags.Define("kafka-ssl-cert", "", "PEM client certificate (mutual TLS), with --kafka-ssl-key");
  flags.Define("kafka-ssl-key", "", "PEM private key of --kafka-ssl-cert");
  flags.Define("kafka-sasl-mechanism", "SCRAM-SHA-512", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  flags.Define("kafka-sasl-username", "", "SASL user name");
  flags.Define("kafka-sasl-password-file", "",
               "a file (chmod 600) holding the SASL password; never on the command line");
}

absl::StatusOr<std::map<std::string, std::string>> KafkaSecurityProperties(const KafkaSecurity& k) {
  const std::string& protocol = k.protocol;
  if (protocol != "plaintext" && protocol != "ssl" && protocol != "sasl_plaintext" &&
      protocol != "sasl_ssl") {
    return absl::InvalidArgumentError(base::StrCat(
        "--kafka-security-protocol must be plaintext, ssl, sasl_plaintext or sasl_ssl, got '",
        protocol, "'"));
  }
  std::map<std::string, std::string> props;
  props["security.protocol"] = protocol;
  const bool tls = protocol == "ssl" || protocol == "sasl_ssl";
  const bool sasl = protocol == "sasl_plaintext" || protocol == "sasl_ssl";
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{"kafka-ssl-ca", k.ssl_ca},
        {"kafka-ssl-cert", k.ssl_cert},
        {"kafka-ssl-key", k.ssl_key}}) {
    if (!value.empty() && !tls) {
      return absl::InvalidArgumentError(base::StrCat(
          "--", name, " needs --kafka-security-protocol ssl or sasl_ssl (it is ", protocol, ")"));
    }
  }
  if (k.ssl_cert.empty() != k.ssl_key.empty()) {
    return absl::InvalidArgumentError("--kafka-ssl-cert and --kafka-ssl-key go together");
  }
  if (!k.ssl_ca.empty()) props["ssl.ca.location"] = k.ssl_ca;
  if (!k.ssl_cert.empty()) {
    props["ssl.certificate.location"] = k.ssl_cert;
    props["ssl.key.location"] = k.ssl_key;
  }
  if (!sasl) {
    if (!k.sasl_username.empty() || !k.sasl_password_file.empty()) {
      return absl::InvalidArgumentError(
          base::StrCat("--kafka-sasl-username and --kafka-sasl-password-file need "
                       "--kafka-security-protocol sasl_plaintext or sasl_ssl (it is ",
                       protocol, ")"));
    }
    return props;
  }
  const std::string& mechanism = k.sasl_mechanism;
  if (mechanism != "PLAIN" && mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-512") {
    return absl::InvalidArgumentError(
        base::StrCat("--kafka-sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got '",
                     mechanism, "'"));
  }
  if (k.sasl_username.empty() || k.sasl_password_file.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat("--kafka-security-protocol ", protocol,
                     " needs --kafka-sasl-username and --kafka-sasl-password-file"));
  }
  auto password = ReadSecretFile("--kafka-sasl-password-file", k.sasl_password_file);
  if (!password.ok()) return password.status();
  props["sasl.mechanism"] = mechanism;
  props["sasl.username"] = k.sasl_username;
  props["sasl.password"] = *password;
  return props;
}

absl::Status ParseKafkaFlags(const Flags& flags, CommonFlags& out) {
  long factor = 1;
  KAM_RETURN_IF_ERROR(flags.GetInt("kafka-replication-factor", 1, 16, factor));
  out.kafka_replication_factor = static_cast<int>(factor);
  auto props = KafkaSecurityProperties(
      KafkaSecurity{.protocol = flags.Get("kafka-security-protocol"),
                    .ssl_ca = flags.Get("kafka-ssl-ca"),
                    .ssl_cert = flags.Get("kafka-ssl-cert"),
                    .ssl_key = flags.Get("kafka-ssl-key"),
                    .sasl_mechanism = flags.Get("kafka-sasl-mechanism"),
                    .sasl_username = flags.Get("kafka-sasl-username"),
                    .sasl_password_file = flags.Get("kafka-sasl-password-file")});
  if (!props.ok()) return props.status();
  out.kafka_properties = *std::move(props);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Authenticator>> AuthenticatorFromFlags(const Flags& flags) {
  const std::string& tokens = flags.Get("tokens");
  const std::string& jwks = flags.Get("oidc-jwks");
  if (tokens.empty() && jwks.empty()) {
    return absl::InvalidArgumentError(
        "--tokens or --oidc-jwks is required: every call is made by an authenticated principal");
  }
  std::unique_ptr<const JwtVerifier> oidc;
  if (jwks.empty()) {
    for (const char* name : {"oidc-issuer", "oidc-audience"}) {
      if (!flags.Get(name).empty()) {
        return absl::InvalidArgumentError(base::StrCat("--", name, " needs --oidc-jwks"));
      }
    }
  } else {
    for (const char* name :
         {"oidc-issuer", "oidc-audience", "oidc-principal-claim", "oidc-roles-claim"}) {
      if (flags.Get(name).empty()) {
        return absl::InvalidArgumentError(
            base::StrCat("--oidc-jwks needs --", name,
                         ": an OIDC access token is accepted only for this platform's issuer "
                         "and audience"));
      }
    }
    long skew_s = 60;
    KAM_RETURN_IF_ERROR(flags.GetInt("oidc-clock-skew-s", 0, 600, skew_s));
    auto verifier =
        JwtVerifier::FromJwksFile(OidcOptions{.jwks_file = jwks,
                                              .issuer = flags.Get("oidc-issuer"),
                                              .audience = flags.Get("oidc-audience"),
                                              .principal_claim = flags.Get("oidc-principal-claim"),
                                              .roles_claim = flags.Get("oidc-roles-claim"),
                                              .clock_skew = absl::Seconds(skew_s)});
    if (!verifier.ok()) return verifier.status();
    base::Log(base::LogLevel::kInfo,
              base::StrCat("accepting OIDC access tokens of ", flags.Get("oidc-issuer"), " for ",
                           flags.Get("oidc-audience"), " (keys ",
                           absl::StrJoin((*verifier)->key_ids(), ", "), ")"));
    oidc = std::move(*verifier);
  }
  return Authenticator::Create(tokens, std::move(oidc));
}

absl::StatusOr<CommonFlags> ParseCommonFlags(Flags& flags, int argc, char** argv) {
  RouteLibraryLogs();
  if (auto s = flags.Parse(argc, argv); !s.ok()) return s;
  if (flags.help()) {
    std::cerr << flags.Usage();
    return absl::CancelledError("help");
  }
  CommonFlags out;
  long max_bytes = 0;
  if (auto s = flags.GetInt("max-message-bytes", 1024, 256L << 20, max_bytes); !s.ok()) return s;
  out.server.listen = flags.Get("listen");
  out.server.max_message_bytes = static_cast<int>(max_bytes);
  out.server.tls_cert_file = flags.Get("tls-cert");
  out.server.tls_key_file = flags.Get("tls-key");
  if (out.server.tls_cert_file.empty() != out.server.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  out.brokers = flags.Get("brokers");
  KAM_RETURN_IF_ERROR(ParseKafkaFlags(flags, out));
  out.topic_prefix = flags.Get("topic-prefix");
  out.keyring_file = flags.Get("keyring");
  out.key_dir = flags.Get("key-dir");
  auto auth = AuthenticatorFromFlags(flags);
  if (!auth.ok()) return auth.status();
  out.auth = std::move(*auth);
  auto metrics = StartMetricsEndpoint(flags);
  if (!metrics.ok()) return metrics.status();
  out.metrics = std::move(*metrics);
  return out;
}

void DefineMetricsFlag(Flags& flags, const std::string& default_listen) {
  flags.Define("metrics-listen", default_listen,
               "host:port to serve GET /metrics (Prometheus) and GET /healthz on (port 0: any "
               "free port, logged; empty: off)");
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetricsEndpoint(const Flags& flags) {
  const std::string& listen = flags.Get("metrics-listen");
  if (listen.empty()) return nullptr;
  auto endpoint = MetricsEndpoint::Start(listen);
  if (!endpoint.ok()) return endpoint.status();
  const std::string host = (*endpoint)->host().find(':') != std::string::npos
                               ? base::StrCat("[", (*endpoint)->host(), "]")
                               : (*endpoint)->host();
  base::Log(base::LogLevel::kInfo,
            base::StrCat("metrics on http://", host, ":", (*endpoint)->port(), "/metrics"),
            {{"metrics_port", (*endpoint)->port()}});
  return endpoint;
}

void DefineWriterFlags(Flags& flags, const std::string& default_transactional_id) {
  flags.Define("partitions", "3", "partitions of a topic this service creates");
  flags.Define("signing-key", "",
               "PEM Ed25519 private key (chmod 600) this writer signs every event with; its "
               "public key must be in --keyring");
  flags.Define("transactional-id", "",
               base::StrCat("base of the per-partition Kafka transactional ids of this writer "
                            "(default: the topic prefix, then ",
                            default_transactional_id, ")"));
  flags.Define("owned-partitions", "",
               "comma-separated partitions this instance writes (default: all); another "
               "instance claiming one fences this one for it");
  flags.Define("ownership", "static",
               "how this instance gets its partitions: static (--owned-partitions) or group "
               "(every live instance with the same --transactional-id shares them through a "
               "Kafka consumer group; a dead instance's partitions move to the others)");
  flags.Define("advertise", "",
               "with --ownership group: host:port where clients reach this instance, named "
               "to them as the owner of its partitions (default: --listen, if it names a host "
               "and a port)");
  flags.Define("group-session-timeout-ms", "6000",
               "with --ownership group: how long a silent instance keeps its partitions "
               "before the others take them (the broker's minimum is 6000)");
  flags.Define("append-timeout-ms", "10000",
               "how long a command waits for Kafka (at most 50000: below the producer's "
               "transaction.timeout.ms of 60000, so the writer gives up on a transaction "
               "before the coordinator aborts it)");
  flags.Define("group-max-commands", "1000",
               "group commit: at most this many commands of a partition in one transaction");
  flags.Define("group-max-bytes", "4194304", "group commit: at most this many bytes of events");
  flags.Define("group-linger-us", "0",
               "group commit: wait this long for more commands before a transaction (commands "
               "that arrive while one is in flight are grouped in any case)");
  flags.Define("transaction-gap-us", "2000",
               "group commit: the least time between a commit and the next transaction (the "
               "broker is still completing the last one; librdkafka would back off 20 ms)");
  flags.Define("checkpoint-interval-ms", "60000",
               "between signed checkpoints of each owned partition's chain tips on the "
               "checkpoints topic (also written at shutdown; 0: only at shutdown)");
}

absl::StatusOr<WriterFlags> ParseWriterFlags(const Flags& flags,
                                             const std::string& default_transactional_id) {
  WriterFlags out;
  long partitions = 0;
  long timeout_ms = 0;
  long group_commands = 0;
  long group_bytes = 0;
  long linger_us = 0;
  long gap_us = 0;
  long checkpoint_ms = 0;
  long session_ms = 0;
  std::vector<int> owned;
  for (auto s : {flags.GetInt("partitions", 1, 1000, partitions),
                 flags.GetInt("append-timeout-ms", 100, 50000, timeout_ms),
                 flags.GetIntList("owned-partitions", 0, 999, owned),
                 flags.GetInt("group-max-commands", 1, 100000, group_commands),
                 flags.GetInt("group-max-bytes", 1024, 64L << 20, group_bytes),
                 flags.GetInt("group-linger-us", 0, 1000000, linger_us),
                 flags.GetInt("transaction-gap-us", 0, 1000000, gap_us),
                 flags.GetInt("checkpoint-interval-ms", 0, 86400000, checkpoint_ms),
                 flags.GetInt("group-session-timeout-ms", 1000, 300000, session_ms)}) {
    if (!s.ok()) return s;
  }
  out.group_max_commands = static_cast<std::size_t>(group_commands);
  out.group_max_bytes = static_cast<std::size_t>(group_bytes);
  out.group_linger = std::chrono::microseconds(linger_us);
  out.transaction_gap = std::chrono::microseconds(gap_us);
  out.checkpoint_interval = std::chrono::milliseconds(checkpoint_ms);
  out.partitions = static_cast<int>(partitions);
  out.signing_key_file = flags.Get("signing-key");
  out.transactional_id = flags.Get("transactional-id");
  if (out.transactional_id.empty()) {
    // Environments told apart by their topic prefix on one cluster must not fence each
    // other's writers: the prefix is part of the default id.
    out.transactional_id = base::StrCat(flags.Get("topic-prefix"), default_transactional_id);
  }
  out.owned_partitions.assign(owned.begin(), owned.end());
  out.append_timeout = std::chrono::milliseconds(timeout_ms);
  out.group_session_timeout = std::chrono::milliseconds(session_ms);
  const std::string ownership = flags.Get("ownership");
  if (ownership != "static" && ownership != "group") {
    return absl::InvalidArgumentError(
        base::StrCat("--ownership: must be static or group, not '", ownership, "'"));
  }
  out.group_ownership = ownership == "group";
  if (!out.group_ownership) {
    if (!flags.Get("advertise").empty()) {
      return absl::InvalidArgumentError("--advertise: only with --ownership group");
    }
    return out;
  }
  if (!out.owned_partitions.empty()) {
    return absl::InvalidArgumentError(
        "--owned-partitions: contradicts --ownership group, where the group assigns the "
        "partitions; give one of them");
  }
  out.advertise = flags.Get("advertise");
  if (out.advertise.empty()) {
    // --listen, when it names a host clients can dial and a fixed port.
    const std::string listen = flags.Get("listen");
    const auto colon = listen.rfind(':');
    const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
    if (host.empty() || host == "0.0.0.0" || host == "[::]" || port.empty() || port == "0") {
      return absl::InvalidArgumentError(
          base::StrCat("--advertise: required with --ownership group when --listen (", listen,
                       ") names no host or port that clients can dial; give host:port"));
    }
    out.advertise = listen;
  }
  const auto colon = out.advertise.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == out.advertise.size() ||
      out.advertise.find_first_of(" ,/") != std::string::npos) {
    return absl::InvalidArgumentError(
        base::StrCat("--advertise: must be host:port, not '", out.advertise, "'"));
  }
  return out;
}

int ExitCode(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kCancelled) return 0;
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    std::cerr << status.message() << "\n";
    return 2;
  }
  base::Log(base::LogLevel::kError, base::StrCat("cannot start: ", status.message()),
            {{"code", absl::StatusCodeToString(status.code())}});
  return 1;
}

int Serve(const ServerOptions& options, const std::vector<grpc::Service*>& services,
          const std::string& what, const std::function<void()>& on_stop) {
  GrpcServer server(options);
  for (grpc::Service* s : services) server.Add(s);
  if (auto s = server.Start(); !s.ok()) {
    base::Log(base::LogLevel::kError, base::StrCat("cannot start: ", s.message()));
    return 1;
  }
  base::Log(base::LogLevel::kInfo,
            base::StrCat(what, " on port ", server.port(),
                         options.tls_cert_file.empty() ? " (plaintext)" : " (TLS)"),
            {{"port", server.port()}});
  WaitForTerminationSignal();
  server.Shutdown();  // in-flight calls finish; each command has committed or aborted
  if (on_stop) on_stop();
  base::Log("stopped");
  return 0;
}

}  // namespace kam::server
