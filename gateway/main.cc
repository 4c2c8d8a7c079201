// kam-board: the board's dashboard and the read API as JSON over HTTP (board_server.h).
#include <iostream>

#include "base/log.h"
#include "base/strings.h"
#include "gateway/board_server.h"
#include "server/flags.h"
#include "server/process.h"
#include "server/server.h"

int main(int argc, char** argv) {
  kam::server::BlockTerminationSignals();
  kam::server::RouteLibraryLogs();
  kam::server::Flags flags("kam-board",
                           "the governance board's dashboard and the read API as JSON over HTTP");
  flags.Define("listen", "127.0.0.1:8080", "host:port to serve HTTP (or HTTPS) on");
  flags.Define("queries", "127.0.0.1:50061", "gRPC address of the query services");
  flags.Define("queries-tls-ca", "", "PEM CA certificate: talk TLS to the query services");
  flags.Define("web-root", "", "directory of the built dashboard page (empty: the API only)");
  flags.Define("tls-cert", "", "PEM certificate chain: serve HTTPS and mark cookies Secure");
  flags.Define("tls-key", "", "PEM private key of --tls-cert");
  flags.Define("max-feed-clients", "8", "live feeds (Server-Sent Events) open at once");
  flags.Define("session-idle-minutes", "30", "a session unused this long is closed");
  kam::server::DefineMetricsFlag(flags, "127.0.0.1:9467");
  if (auto s = flags.Parse(argc, argv); !s.ok()) return kam::server::ExitCode(s);
  if (flags.help()) {
    std::cerr << flags.Usage();
    return 0;
  }
  long feeds = 0;
  long idle = 0;
  for (auto s : {flags.GetInt("max-feed-clients", 1, 1000, feeds),
                 flags.GetInt("session-idle-minutes", 1, 24 * 60, idle)}) {
    if (!s.ok()) return kam::server::ExitCode(s);
  }
  kam::gateway::BoardOptions options;
  options.listen = flags.Get("listen");
  options.queries = flags.Get("queries");
  options.queries_tls_ca = flags.Get("queries-tls-ca");
  options.web_root = flags.Get("web-root");
  options.tls_cert_file = flags.Get("tls-cert");
  options.tls_key_file = flags.Get("tls-key");
  options.max_feed_clients = static_cast<int>(feeds);
  options.threads = static_cast<int>(feeds) + 16;
  options.sessions.idle = absl::Minutes(idle);
  auto board = kam::gateway::BoardServer::Create(options);
  if (!board.ok()) return kam::server::ExitCode(board.status());
  auto metrics = kam::server::StartMetricsEndpoint(flags);
  if (!metrics.ok()) return kam::server::ExitCode(metrics.status());
  if (auto s = (*board)->Start(); !s.ok()) return kam::server::ExitCode(s);
  kam::base::Log(kam::base::LogLevel::kInfo,
                 kam::base::StrCat("serving the board dashboard on ",
                                   options.tls_cert_file.empty() ? "http://" : "https://",
                                   options.listen.substr(0, options.listen.rfind(':')), ":",
                                   (*board)->port(), "/ (queries at ", options.queries, ")"),
                 {{"port", (*board)->port()}});
  kam::server::WaitForTerminationSignal();
  (*board)->Stop();
  kam::base::Log("stopped");
  return 0;
}
