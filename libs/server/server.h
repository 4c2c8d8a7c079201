// One gRPC server for a binary or a test: health checking, server reflection, a
// message-size limit, per-call metrics and log context (rpc_telemetry.h), INVALID_ARGUMENT
// for a request body that does not parse (malformed_request.h), and graceful
// shutdown (in-flight calls finish, bounded).
//
//   kam::server::GrpcServer server({.listen = "127.0.0.1:0"});
//   server.Add(&handler);
//   KAM_RETURN_IF_ERROR(server.Start());      // server.port() is the bound port
//   kam::server::WaitForTerminationSignal();  // SIGINT / SIGTERM (BlockTerminationSignals() first)
//   server.Shutdown();
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kam::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  int max_message_bytes = 4 << 20;
  // PEM files; both set: TLS, none: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::milliseconds shutdown_grace{5000};
  // The threads the synchronous server may use for calls (gRPC's resource quota): beyond
  // them a new call is RESOURCE_EXHAUSTED instead of a new thread. Long-lived streams are
  // bounded below this by their services (StreamSlots), so unary calls keep threads.
  int max_threads = 128;
};

class GrpcServer {
 public:
  explicit GrpcServer(ServerOptions options);
  ~GrpcServer();
  void Add(grpc::Service* service);  // not owned; must outlive the server
  // UNAVAILABLE if the address cannot be bound; INVALID_ARGUMENT if a TLS file is unreadable.
  absl::Status Start();
  int port() const { return port_; }
  // Marks the server NOT_SERVING, stops accepting calls and waits (bounded) for
  // in-flight calls to finish.
  void Shutdown();

 private:
  ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later.
// Call first thing in main(), before any library starts a thread.
void BlockTerminationSignals();
// Blocks until SIGINT or SIGTERM arrives (after BlockTerminationSignals()).
void WaitForTerminationSignal();

}  // namespace kam::server
