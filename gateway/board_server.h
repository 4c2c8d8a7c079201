// kam-board: the HTTP gateway the governance board, the champion and the key account
// managers use in a browser. It serves
//   - the read API as JSON: the query services' own messages through protobuf's JSON
//     mapping (lowerCamelCase names, enums by name, 64-bit integers as strings), so the
//     JSON contract is proto/kam/v1/*.proto and not a second hand-written one;
//   - a live change feed as Server-Sent Events (change_feed.h);
//   - the dashboard page's static files (gateway/web, built by npm).
// It holds no data: every call goes to HistoryQueryService / GovernanceQueryService over
// gRPC with the person's own credential, so the read side's authorisation applies as is.
//
// Endpoints (docs/gateway.md):
//   POST   /api/session            {"token": "..."} -> session cookie + CSRF token
//   GET    /api/session            {"authenticated": false}, or who is logged in (+ CSRF token)
//   DELETE /api/session            log out (X-CSRF-Token)
//   GET    /api/programmes                                       ListProgrammes
//   GET    /api/programmes/{p}[?asOf=RFC3339&axis=recorded|effective]   GetProgramme
//   GET    /api/programmes/{p}/scorecard[?asOf&axis]             GetScorecard
//   GET    /api/programmes/{p}/register                          GetRegister
//   GET    /api/programmes/{p}/verification                      VerifyHistory
//   GET    /api/programmes/{p}/history[?account|person&types&pageSize&pageToken]  GetHistory
//   GET    /api/programmes/{p}/accounts/{a}/economics            GetEconomics
//   GET    /api/programmes/{p}/economics                         GetPortfolioEconomics
//   GET    /api/programmes/{p}/feed[?after=cursor]               the SSE change feed
//   GET    /api/status                                           GetProjectionStatus
//
// Safety: request bodies are capped (413), slow clients time out, the number of feed
// clients is bounded (503 with Retry-After), anything but GET needs a same-origin Origin
// and (with a session) the X-CSRF-Token header, failed logins are throttled per address
// (429), every response carries a strict Content-Security-Policy and no-store, and every
// error is JSON naming the rule or field: {"error": {"code", "status", "message", "rule",
// "field"}}.
//
// Metrics (base/metrics.h; served by the binary's --metrics-listen endpoint): requests by
// route and status and their latency (http_metrics.h), and kam_board_feed_clients.
//
//   auto board = kam::gateway::BoardServer::Create({.queries = "127.0.0.1:50061", ...});
//   KAM_RETURN_IF_ERROR((*board)->Start());     // (*board)->port()
//   (*board)->Stop();
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "gateway/sessions.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace kam::gateway {

struct BoardOptions {
  // host:port to serve HTTP on (port 0: any free port).
  std::string listen = "127.0.0.1:8080";
  // gRPC address of the query services, and a CA (PEM file) to talk TLS to them.
  std::string queries = "127.0.0.1:50061";
  std::string queries_tls_ca;
  // Directory of the built page (index.html and its assets); empty: the API only.
  std::string web_root;
  // PEM files: serve HTTPS (and mark cookies Secure) instead of HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::size_t max_body_bytes = 16 * 1024;
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{10};
  std::chrono::milliseconds rpc_timeout{15000};
  // Worker threads; each feed client holds one while connected.
  int threads = 24;
  int max_feed_clients = 8;
  std::chrono::milliseconds feed_keep_alive{10000};
  SessionStore::Options sessions;
  int max_login_failures = 10;
  absl::Duration login_failure_window = absl::Minutes(1);
};

class BoardServer {
 public:
  // INVALID_ARGUMENT naming the option that is wrong (e.g. an unreadable web root).
  static absl::StatusOr<std::unique_ptr<BoardServer>> Create(BoardOptions options);
  ~BoardServer();
  BoardServer(const BoardServer&) = delete;
  BoardServer& operator=(const BoardServer&) = delete;

  // Binds and serves in a background thread. UNAVAILABLE if the address cannot be bound.
  absl::Status Start();
  int port() const { return port_; }
  // Ends every feed, stops accepting, and waits for in-flight requests. Idempotent.
  void Stop();

  int feed_clients() const { return feed_clients_.load(); }

 private:
  struct Impl;
  explicit BoardServer(BoardOptions options);

  BoardOptions options_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> feed_clients_{0};
  // kam_board_feed_clients; last: unregistered before what it reads goes.
  base::CallbackRegistration feed_gauge_;
};

}  // namespace kam::gateway
