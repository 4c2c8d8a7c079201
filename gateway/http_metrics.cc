#include "gateway/http_metrics.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "base/metrics.h"

namespace kam::gateway {
namespace {

class RouteMetrics {
 public:
  explicit RouteMetrics(std::string route)
      : route_(std::move(route)),
        duration_(base::Metrics()
                      .Histograms("kam_http_request_duration_seconds",
                                  "HTTP requests from handler call to return, by route", {"route"},
                                  base::LatencyBuckets())
                      .With({route_})) {}

  void Count(int status) {
    base::Counter* counter = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& c = by_status_[status];
      if (c == nullptr) {
        static auto& family = base::Metrics().Counters(
            "kam_http_requests_total", "HTTP requests answered, by route and status code",
            {"route", "code"});
        c = &family.With({route_, std::to_string(status)});
      }
      counter = c;
    }
    counter->Inc();
  }
  base::Histogram& duration() { return duration_; }

 private:
  const std::string route_;
  base::Histogram& duration_;
  std::mutex mu_;
  std::map<int, base::Counter*> by_status_;
};

// The route of the request this thread is answering, left by its handler for the logger.
thread_local RouteMetrics* answered = nullptr;

}  // namespace

httplib::Server::Handler Measured(std::string route, httplib::Server::Handler handler) {
  auto metrics = std::make_shared<RouteMetrics>(std::move(route));
  return
      [metrics, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        const auto started = std::chrono::steady_clock::now();
        handler(req, res);
        metrics->duration().Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        answered = metrics.get();
      };
}

void CountRequests(httplib::Server& http) {
  auto other = std::make_shared<RouteMetrics>("other");
  http.set_logger([other](const httplib::Request&, const httplib::Response& res) {
    RouteMetrics* route = answered != nullptr ? answered : other.get();
    answered = nullptr;
    route->Count(res.status);
  });
}

}  // namespace kam::gateway
