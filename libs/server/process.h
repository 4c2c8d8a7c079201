// What every binary of the platform shares: the common flags, their parsing, and running
// a gRPC server until SIGINT / SIGTERM.
//
//   kam::server::Flags flags("kam-x", "what it does");
//   kam::server::DefineCommonFlags(flags, "127.0.0.1:50051");
//   flags.Define(...);                                   // the binary's own flags
//   auto common = kam::server::ParseCommonFlags(flags, argc, argv);
//   if (!common.ok()) return kam::server::ExitCode(common.status());   // usage / bad flag
//   ... build services from common->brokers, common->auth ...
//   return kam::server::Serve(common->server, {service}, "serving X", [&] { cleanup(); });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth.h"
#include "server/flags.h"
#include "server/server.h"

namespace kam::server {

struct CommonFlags {
  ServerOptions server;
  std::string brokers;
  std::string topic_prefix;
  std::unique_ptr<Authenticator> auth;
};

// --listen, --brokers, --tokens, --topic-prefix, --tls-cert, --tls-key, --max-message-bytes.
void DefineCommonFlags(Flags& flags, const std::string& default_listen);

// Parses argv. CANCELLED after printing --help; INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<CommonFlags> ParseCommonFlags(Flags& flags, int argc, char** argv);

// The flags of a command service's writer: --partitions, --transactional-id,
// --owned-partitions, --append-timeout-ms, and group commit's bounds --group-max-commands,
// --group-max-bytes, --group-linger-us, --transaction-gap-us.
struct WriterFlags {
  int partitions = 3;
  std::string transactional_id;
  std::vector<int32_t> owned_partitions;
  std::chrono::milliseconds append_timeout{10000};
  std::size_t group_max_commands = 1000;
  std::size_t group_max_bytes = 4 << 20;
  std::chrono::microseconds group_linger{0};
  std::chrono::microseconds transaction_gap{2000};
};
void DefineWriterFlags(Flags& flags, const std::string& default_transactional_id);
absl::StatusOr<WriterFlags> ParseWriterFlags(const Flags& flags);

// Prints a ParseCommonFlags error (not for --help) and returns the process exit code.
int ExitCode(const absl::Status& status);

// Starts a server with `services`, logs `what` and the port, waits for SIGINT / SIGTERM,
// shuts down (in-flight calls finish) and runs `on_stop`. Returns the exit code.
int Serve(const ServerOptions& options, const std::vector<grpc::Service*>& services,
          const std::string& what, const std::function<void()>& on_stop = {});

}  // namespace kam::server
