#include "server/metrics_endpoint.h"

#include <httplib.h>

#include <charconv>
#include <chrono>

#include "base/errors.h"
#include "base/strings.h"

namespace kam::server {

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view listen,
                                                          std::string_view field) {
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string_view::npos && colon > 0) {
    const std::string_view p = listen.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) port = -1;
  }
  std::string_view host = colon == std::string_view::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (port < 0 || host.empty()) {
    return base::InvalidField(field, base::StrCat("must be host:port, got '", listen, "'"));
  }
  return std::pair<std::string, int>(std::string(host), port);
}

void BindExclusively(httplib::Server& http) {
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, const base::MetricsRegistry& registry) {
  auto address = SplitHostPort(listen, "metrics-listen");
  if (!address.ok()) return address.status();
  std::unique_ptr<MetricsEndpoint> self(new MetricsEndpoint());
  self->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *self->http_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  BindExclusively(http);
  http.set_read_timeout(5, 0);
  http.set_write_timeout(10, 0);
  http.set_keep_alive_max_count(100);
  http.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  self->host_ = address->first;
  if (address->second == 0) {
    self->port_ = http.bind_to_any_port(self->host_);
  } else {
    self->port_ = http.bind_to_port(self->host_, address->second) ? address->second : -1;
  }
  if (self->port_ <= 0) {
    return absl::UnavailableError(base::StrCat("cannot serve metrics on ", listen));
  }
  self->thread_ = std::thread([raw = self.get()] {
    raw->http_->listen_after_bind();
    raw->listening_done_ = true;
  });
  return self;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until the server thread has begun to listen.
  while (!http_->is_running() && !listening_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
  thread_.join();
}

}  // namespace kam::server
