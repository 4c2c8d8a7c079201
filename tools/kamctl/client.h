// Where kamctl connects and who it is: flags, then the environment, then the config file
// (~/.config/kam/config.toml, or $KAM_CONFIG), then defaults. The token never needs to be
// on the command line (argv is visible to every user of the machine): it comes from
// $KAM_TOKEN or from a token file readable only by its owner.
//
//   # ~/.config/kam/config.toml
//   commands = "kam.example.com:50051"     # ProgrammeCommandService (or a comma-separated
//                                          # list of its instances)
//   metrics = "kam.example.com:50052"      # MetricsCommandService
//   queries = "kam.example.com:50061"      # governance and history queries
//   tls_ca = "/etc/kam/ca.pem"             # TLS to all three (plaintext without)
//   token_file = "~/.config/kam/token"     # chmod 600
//   programme = "emea-kam"                 # the programme when a command names none
//   output = "table"                       # or json, yaml
//   [profiles.staging]                     # kamctl --profile staging ...
//   commands = "staging.example.com:50051"
//
// Exit codes: 0 done; 1 failed otherwise (a server error, a file that cannot be read);
// 2 usage (a flag or value kamctl itself refuses); 3 rejected by a rule or a field of the
// request; 4 unauthenticated or not allowed; 5 the platform is unavailable or did not
// answer in time.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"
#include "google/protobuf/message.h"
#include "tools/kamctl/catalogue.h"

namespace kam::kamctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,
  kExitUsage = 2,
  kExitRejected = 3,
  kExitUnauthorised = 4,
  kExitUnavailable = 5,
};

struct Settings {
  std::string commands = "127.0.0.1:50051";
  std::string metrics = "127.0.0.1:50052";
  std::string queries = "127.0.0.1:50061";
  std::string tls_ca;
  std::string token_file;
  std::string programme;
  std::string output = "table";
  std::string brokers = "127.0.0.1:9092";
  std::string topic_prefix;
  // Kafka's TLS and SASL, as the services' --kafka-* flags (dlq, audit, checkpoints).
  std::string kafka_security_protocol = "plaintext";
  std::string kafka_ssl_ca, kafka_ssl_cert, kafka_ssl_key;
  std::string kafka_sasl_mechanism = "SCRAM-SHA-512";
  std::string kafka_sasl_username, kafka_sasl_password_file;
  std::chrono::seconds timeout{30};
  // Resolved:
  std::string token;
  std::string config_path;  // the file read, if any
};

// What the command line set explicitly (empty: not given).
struct Overrides {
  std::string config;
  std::string profile;
  std::string commands, metrics, queries, tls_ca, token_file, output, brokers, topic_prefix;
  std::string kafka_security_protocol, kafka_ssl_ca, kafka_ssl_cert, kafka_ssl_key,
      kafka_sasl_mechanism, kafka_sasl_username, kafka_sasl_password_file;
  int timeout_seconds = 0;
};

// Resolves the settings. INVALID_ARGUMENT naming the file and key for a config file that
// does not parse or a token file that others can read.
absl::StatusOr<Settings> Resolve(const Overrides& overrides);

// The Kafka client options of the settings (brokers, TLS, SASL with the password read from
// its file). INVALID_ARGUMENT naming the --kafka-* setting that is wrong.
absl::StatusOr<eventlog::KafkaOptions> KafkaOf(const Settings& settings);

// The token, from $KAM_TOKEN or the token file; UNAUTHENTICATED (with how to fix it) if
// neither is there. Read only when a call needs it.
absl::Status LoadToken(Settings& settings);

class Client {
 public:
  explicit Client(Settings settings);
  const Settings& settings() const { return settings_; }

  // The endpoint's first instance (or the one that answered last, of a comma-separated list).
  std::shared_ptr<grpc::Channel> Channel(Endpoint endpoint);
  // A context with the token and the deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;
  // A unary call of any RPC by its descriptor: serialises `request`, parses `response`.
  // A command that reaches an instance not owning its partition follows the owner it names
  // (ErrorDetail.owner); an instance that does not answer is skipped for the next listed;
  // while the instances move partitions it is tried again each second (at most 20 s).
  grpc::Status Unary(const google::protobuf::MethodDescriptor* method,
                     const google::protobuf::Message& request, google::protobuf::Message* response);

 private:
  std::vector<std::string> Targets(Endpoint endpoint) const;
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target);
  grpc::Status Round(const google::protobuf::MethodDescriptor* method,
                     const google::protobuf::Message& request, google::protobuf::Message* response,
                     bool& moving);
  grpc::Status UnaryAt(const std::string& target, const google::protobuf::MethodDescriptor* method,
                       const google::protobuf::Message& request,
                       google::protobuf::Message* response);

  Settings settings_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::size_t preferred_[3] = {0, 0, 0};
};

// The exit code for a call's status.
int ExitCodeOf(const grpc::Status& status);

// "INVALID_ARGUMENT" for 3; the number itself for a code gRPC does not define.
std::string CodeName(int code);

// An error as a person reads it: what failed, the rule or field (from the status details)
// and the server's sentence. `colour` adds ANSI colour.
std::string DescribeError(const std::string& what, const grpc::Status& status, bool colour);

}  // namespace kam::kamctl
