// What every binary of the platform shares: the common flags, their parsing, the metrics
// endpoint, and running a gRPC server until SIGINT / SIGTERM.
//
//   kam::server::Flags flags("kam-x", "what it does");
//   kam::server::DefineCommonFlags(flags, "127.0.0.1:50051", "127.0.0.1:9464");
//   flags.Define(...);                                   // the binary's own flags
//   auto common = kam::server::ParseCommonFlags(flags, argc, argv);   // serves GET /metrics
//   if (!common.ok()) return kam::server::ExitCode(common.status());   // usage / bad flag
//   ... build services from common->brokers, common->auth ...
//   return kam::server::Serve(common->server, {service}, "serving X", [&] { cleanup(); });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth.h"
#include "server/flags.h"
#include "server/metrics_endpoint.h"
#include "server/server.h"

namespace kam::server {

struct CommonFlags {
  ServerOptions server;
  std::string brokers;
  // librdkafka properties from --kafka-security-protocol, --kafka-ssl-*, --kafka-sasl-*
  // (eventlog::KafkaOptions::properties), and --kafka-replication-factor.
  std::map<std::string, std::string> kafka_properties;
  int kafka_replication_factor = 1;
  std::string topic_prefix;
  // --keyring: the writers' public keys (eventlog::LoadIntegrity).
  std::string keyring_file;
  // --key-dir: the persons' data keys (personal/keys.h); empty: personal data unsealed.
  std::string key_dir;
  std::unique_ptr<Authenticator> auth;
  // Serving --metrics-listen from the parse on (null when the flag is empty).
  std::unique_ptr<MetricsEndpoint> metrics;
};

// How a Kafka client authenticates and encrypts: the --kafka-* settings of every binary and
// of kamctl (flags, or the keys kafka_security_protocol, ... of kamctl's config file).
struct KafkaSecurity {
  std::string protocol = "plaintext";  // plaintext, ssl, sasl_plaintext, sasl_ssl
  std::string ssl_ca;                  // PEM CA bundle of the brokers' certificates
  std::string ssl_cert, ssl_key;       // mutual TLS
  std::string sasl_mechanism = "SCRAM-SHA-512";
  std::string sasl_username;
  std::string sasl_password_file;  // chmod 600; a password is never a setting itself
};

// The librdkafka properties for `security` (eventlog::KafkaOptions::properties), the
// password read from its file. INVALID_ARGUMENT naming the --kafka-* setting that is wrong
// or missing, or the password file that others can read.
absl::StatusOr<std::map<std::string, std::string>> KafkaSecurityProperties(
    const KafkaSecurity& security);

// --listen, --brokers, --tokens, --oidc-*, --topic-prefix, --tls-cert, --tls-key,
// --max-message-bytes,
// --metrics-listen, and Kafka's --kafka-replication-factor, --kafka-security-protocol,
// --kafka-ssl-ca/-cert/-key, --kafka-sasl-mechanism/-username/-password-file.
void DefineCommonFlags(Flags& flags, const std::string& default_listen,
                       const std::string& default_metrics_listen);

// Parses argv and starts the metrics endpoint, so that a long start-up (a rebuild) can be
// watched. CANCELLED after printing --help; INVALID_ARGUMENT naming the flag; UNAVAILABLE if
// the metrics address cannot be bound.
absl::StatusOr<CommonFlags> ParseCommonFlags(Flags& flags, int argc, char** argv);

// The Authenticator of --tokens and --oidc-jwks (with --oidc-issuer, --oidc-audience,
// --oidc-principal-claim, --oidc-roles-claim, --oidc-clock-skew-s): INVALID_ARGUMENT naming
// the flag that is missing or wrong, or the file that cannot be used.
absl::StatusOr<std::unique_ptr<Authenticator>> AuthenticatorFromFlags(const Flags& flags);

// gRPC's own log lines (gpr_log) go through base::Log from now on, with field
// "component":"grpc" (librdkafka's do through eventlog's configuration). ParseCommonFlags
// calls it; a binary without the common flags calls it first thing.
void RouteLibraryLogs();

// --metrics-listen alone, for a binary without the common flags (kam-board).
void DefineMetricsFlag(Flags& flags, const std::string& default_listen);
// Starts the endpoint on --metrics-listen (null if it is empty) and logs where, as
// {"msg":"metrics on http://127.0.0.1:9464/metrics","metrics_port":9464}.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetricsEndpoint(const Flags& flags);

// The flags of a command service's writer: --partitions, --transactional-id,
// --owned-partitions or --ownership group (--advertise, --group-session-timeout-ms),
// --append-timeout-ms, and group commit's bounds --group-max-commands,
// --group-max-bytes, --group-linger-us, --transaction-gap-us.
struct WriterFlags {
  int partitions = 3;
  std::string transactional_id;
  // --signing-key: the writer's Ed25519 private key (eventlog::LoadIntegrity).
  std::string signing_key_file;
  std::vector<int32_t> owned_partitions;
  std::chrono::milliseconds append_timeout{10000};
  std::size_t group_max_commands = 1000;
  std::size_t group_max_bytes = 4 << 20;
  std::chrono::microseconds group_linger{0};
  std::chrono::microseconds transaction_gap{2000};
  // --checkpoint-interval-ms: between signed checkpoints of the chain tips (0: at shutdown).
  std::chrono::milliseconds checkpoint_interval{60000};
  // --ownership group: the live instances divide the partitions through a Kafka consumer
  // group (eventlog/ownership.h) named after the transactional id, each naming itself to
  // clients by --advertise; static: --owned-partitions.
  bool group_ownership = false;
  std::string advertise;  // host:port (from --advertise, or --listen when it is concrete)
  std::chrono::milliseconds group_session_timeout{6000};
};
// The transactional id defaults to the topic prefix then `default_transactional_id`, so
// that environments sharing a cluster (told apart by --topic-prefix) never fence each other.
void DefineWriterFlags(Flags& flags, const std::string& default_transactional_id);
absl::StatusOr<WriterFlags> ParseWriterFlags(const Flags& flags,
                                             const std::string& default_transactional_id);

// The contents of a secret file named by `flag` (trailing newline dropped): INVALID_ARGUMENT
// if it is missing, empty, or readable by group or others.
absl::StatusOr<std::string> ReadSecretFile(std::string_view flag, const std::string& path);

// The process exit code for a start-up error: 0 for CANCELLED (--help); 2 for
// INVALID_ARGUMENT (a usage error, printed as is); 1 otherwise (logged).
int ExitCode(const absl::Status& status);

// Starts a server with `services`, logs `what` and the port ("<what> on port N (plaintext)",
// field "port"), waits for SIGINT / SIGTERM, shuts down (in-flight calls finish) and runs
// `on_stop`. Returns the exit code.
int Serve(const ServerOptions& options, const std::vector<grpc::Service*>& services,
          const std::string& what, const std::function<void()>& on_stop = {});

}  // namespace kam::server
