// The HTTP endpoint every binary serves for Prometheus (cpp-httplib), on its own port:
//   GET /metrics   the registry (base/metrics.h) in the text exposition format 0.0.4
//   GET /healthz   "ok" while the process runs
//
//   auto endpoint = kam::server::MetricsEndpoint::Start("127.0.0.1:0");   // port 0: any free
//   if (!endpoint.ok()) ...;                 // UNAVAILABLE: cannot bind; INVALID_ARGUMENT
//   int port = (*endpoint)->port();
//
// Two worker threads; destroying the endpoint stops it (waiting for requests in flight).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "base/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace kam::server {

class MetricsEndpoint {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, const base::MetricsRegistry& registry = base::Metrics());
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> listening_done_{false};
  std::string host_;
  int port_ = 0;
};

// Makes `http` bind its port exclusively: httplib's default socket options set SO_REUSEPORT,
// with which a second process binds the same port and the kernel splits connections between
// the two. (SO_REUSEADDR still lets a restarted server bind at once.)
void BindExclusively(httplib::Server& http);

// "host:port" (an IPv6 host in brackets, "[::1]:9464") as host and port (0-65535).
// INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view listen,
                                                          std::string_view field);

}  // namespace kam::server
