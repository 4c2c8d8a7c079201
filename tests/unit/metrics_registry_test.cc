// The metrics registry (base/metrics.h) and its HTTP endpoint (server/metrics_endpoint.h):
// the exposition format as golden text, clashes as programmer errors, exact counts under
// concurrent increments, scrapes and (un)registrations, and GET /metrics, /healthz.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "server/flags.h"
#include "server/metrics_endpoint.h"
#include "server/process.h"
#include "support/log_capture.h"
#include "support/prometheus.h"

namespace kam {
namespace {

using base::MetricsRegistry;

TEST(MetricsExposition, RendersEveryTypeInTheTextFormatSortedByNameAndLabels) {
  MetricsRegistry r;
  auto& things = r.Counters("kam_test_things_total", "Things \\ counted\nover lines", {"kind"});
  things.With({"plain"}).Inc();
  things.With({"a\"b\\c\nd"}).Inc(3);
  r.Gauges("kam_test_level", "A level").With({}).Set(2.5);
  auto& seconds = r.Histograms("kam_test_seconds", "A latency", {"op"}, {0.5, 1});
  for (double v : {0.25, 0.5, 3.0}) seconds.With({"x"}).Observe(v);
  auto lag = r.GaugeCallback("kam_test_lag", "Behind", {"partition"}, [](base::GaugeSamples& out) {
    out.push_back({{"1"}, 7});
    out.push_back({{"0"}, 0});
  });
  EXPECT_EQ(r.Render(),
            "# HELP kam_test_lag Behind\n"
            "# TYPE kam_test_lag gauge\n"
            "kam_test_lag{partition=\"0\"} 0\n"
            "kam_test_lag{partition=\"1\"} 7\n"
            "# HELP kam_test_level A level\n"
            "# TYPE kam_test_level gauge\n"
            "kam_test_level 2.5\n"
            "# HELP kam_test_seconds A latency\n"
            "# TYPE kam_test_seconds histogram\n"
            "kam_test_seconds_bucket{op=\"x\",le=\"0.5\"} 2\n"
            "kam_test_seconds_bucket{op=\"x\",le=\"1\"} 2\n"
            "kam_test_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n"
            "kam_test_seconds_sum{op=\"x\"} 3.75\n"
            "kam_test_seconds_count{op=\"x\"} 3\n"
            "# HELP kam_test_things_total Things \\\\ counted\\nover lines\n"
            "# TYPE kam_test_things_total counter\n"
            "kam_test_things_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"
            "kam_test_things_total{kind=\"plain\"} 1\n");
}

TEST(MetricsExposition, AnUnregisteredCallbackIsNoLongerCalledAndDuplicateSeriesShowOnce) {
  MetricsRegistry r;
  std::atomic<int> calls{0};
  auto first = r.GaugeCallback("kam_test_lag", "Behind", {"topic"}, [&](base::GaugeSamples& out) {
    ++calls;
    out.push_back({{"t"}, 1});
  });
  auto second = r.GaugeCallback("kam_test_lag", "Behind", {"topic"}, [](base::GaugeSamples& out) {
    out.push_back({{"t"}, 2});
  });
  EXPECT_EQ(r.Render(),
            "# HELP kam_test_lag Behind\n# TYPE kam_test_lag gauge\nkam_test_lag{topic=\"t\"} 1\n");
  first.Reset();
  EXPECT_EQ(r.Render(),
            "# HELP kam_test_lag Behind\n# TYPE kam_test_lag gauge\nkam_test_lag{topic=\"t\"} 2\n");
  base::CallbackRegistration moved = std::move(second);
  moved = base::CallbackRegistration();
  EXPECT_EQ(r.Render(), "# HELP kam_test_lag Behind\n# TYPE kam_test_lag gauge\n");
  EXPECT_EQ(calls.load(), 1);
}

TEST(MetricsExposition, ValuesAreExactIntegersOrTheShortestDecimal) {
  EXPECT_EQ(base::FormatMetricValue(0), "0");
  EXPECT_EQ(base::FormatMetricValue(-3), "-3");
  EXPECT_EQ(base::FormatMetricValue(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(base::FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(base::FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(base::FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(base::FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(base::FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(base::FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistration, TheSameNameGivesTheSameFamilyAndAClashIsAProgrammerError) {
  MetricsRegistry r;
  auto& a = r.Counters("kam_test_total", "x", {"k"});
  EXPECT_EQ(&a, &r.Counters("kam_test_total", "x", {"k"}));
  EXPECT_EQ(&a.With({"v"}), &a.With({"v"})) << "a child is created once";
  EXPECT_THROW(r.Counters("kam_test_total", "x", {"other"}), std::logic_error);
  EXPECT_THROW(r.Gauges("kam_test_total", "x", {"k"}), std::logic_error);
  EXPECT_THROW((void)r.GaugeCallback("kam_test_total", "x", {"k"}, [](base::GaugeSamples&) {}),
               std::logic_error);
  r.Histograms("kam_test_seconds", "x", {}, {1, 2});
  EXPECT_THROW(r.Histograms("kam_test_seconds", "x", {}, {1, 3}), std::logic_error);
  EXPECT_THROW(r.Histograms("kam_test_bad", "x", {}, {2, 1}), std::logic_error);
  EXPECT_THROW(r.Histograms("kam_test_le", "x", {"le"}, {1}), std::logic_error);
  EXPECT_THROW(r.Counters("kam-test", "x"), std::logic_error);
  EXPECT_THROW(r.Counters("kam_test_labels_total", "x", {"0k"}), std::logic_error);
  EXPECT_THROW(a.With({"one", "two"}), std::logic_error);
}

TEST(MetricsConcurrency, IncrementsFromManyThreadsAreExactWhileScrapesAndRegistrationsRun) {
  MetricsRegistry r;
  constexpr int kThreads = 8;
  constexpr int kEach = 50000;
  constexpr double kSmall = 0.00048828125;  // 2^-11, under the first bound
  auto& shared = r.Counters("kam_test_total", "x", {"k"}).With({"shared"});
  auto& level = r.Gauges("kam_test_level", "x").With({});
  auto& seconds = r.Histograms("kam_test_seconds", "x", {}, base::LatencyBuckets()).With({});
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    int n = 0;
    while (!done) {
      auto reg = r.GaugeCallback("kam_test_cb", "x", {"n"}, [n](base::GaugeSamples& out) {
        out.push_back({{std::to_string(n)}, 1});
      });
      const testing::Samples s = testing::Samples::Parse(r.Render());
      EXPECT_EQ(s.Sum("kam_test_seconds_count"), s.Sum("kam_test_seconds_bucket", {{"le", "+Inf"}}))
          << "buckets and count agree in every scrape";
      ++n;
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto& own = r.Counters("kam_test_total", "x", {"k"}).With({"t" + std::to_string(t)});
      for (int i = 0; i < kEach; ++i) {
        shared.Inc();
        own.Inc(2);
        level.Add(1);
        seconds.Observe(i % 2 == 0 ? kSmall : 20.0);
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  scraper.join();
  const testing::Samples s = testing::Samples::Parse(r.Render());
  EXPECT_EQ(s.Sum("kam_test_total", {{"k", "shared"}}), kThreads * kEach);
  EXPECT_EQ(s.Sum("kam_test_total"), 3.0 * kThreads * kEach);
  EXPECT_EQ(s.Sum("kam_test_level"), kThreads * kEach);
  EXPECT_EQ(s.Sum("kam_test_seconds_count"), kThreads * kEach);
  EXPECT_EQ(s.Sum("kam_test_seconds_bucket", {{"le", "0.0005"}}), kThreads * kEach / 2);
  EXPECT_EQ(s.Sum("kam_test_seconds_bucket", {{"le", "10"}}), kThreads * kEach / 2);
  EXPECT_EQ(s.Sum("kam_test_seconds_sum"), kThreads * kEach / 2 * (kSmall + 20.0))
      << "binary fractions: every partial sum is exact, in any order";
  EXPECT_FALSE(s.Has("kam_test_cb", {})) << "every callback was unregistered";
}

// --- The endpoint ----------------------------------------------------------------------------

TEST(MetricsEndpoint, ServesTheRegistryAndHealthOverHttp) {
  MetricsRegistry r;
  r.Counters("kam_test_total", "x").With({}).Inc(5);
  auto endpoint = server::MetricsEndpoint::Start("127.0.0.1:0", r);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_GT((*endpoint)->port(), 0);
  EXPECT_EQ(testing::Scrape((*endpoint)->port()).Sum("kam_test_total"), 5);
  r.Counters("kam_test_total", "x").With({}).Inc();
  EXPECT_EQ(testing::Scrape((*endpoint)->port()).Sum("kam_test_total"), 6) << "live, not a copy";

  httplib::Client client("127.0.0.1", (*endpoint)->port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  // A taken port cannot be served twice.
  auto again =
      server::MetricsEndpoint::Start("127.0.0.1:" + std::to_string((*endpoint)->port()), r);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
}

TEST(MetricsEndpoint, AnAddressMustBeHostAndPort) {
  EXPECT_EQ(server::MetricsEndpoint::Start("9464").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server::MetricsEndpoint::Start("127.0.0.1:99999").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server::MetricsEndpoint::Start(":9464").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto v6 = server::SplitHostPort("[::1]:9464", "metrics-listen");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 9464);
  EXPECT_EQ(server::SplitHostPort("localhost:x", "listen").status().message(),
            "listen: must be host:port, got 'localhost:x'");
}

TEST(MetricsEndpoint, TheFlagStartsItAndTheLogSaysWhere) {
  testing::LogCapture logs;
  server::Flags flags("kam-test", "test");
  server::DefineMetricsFlag(flags, "127.0.0.1:0");
  std::vector<std::string> args = {"kam-test"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_TRUE(flags.Parse(static_cast<int>(argv.size()), argv.data()).ok());
  auto endpoint = server::StartMetricsEndpoint(flags);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_NE(*endpoint, nullptr);
  auto line = logs.Await([](const nlohmann::json& l) { return l.contains("metrics_port"); });
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["metrics_port"], (*endpoint)->port());
  EXPECT_EQ((*line)["msg"],
            "metrics on http://127.0.0.1:" + std::to_string((*endpoint)->port()) + "/metrics");

  std::vector<std::string> off = {"kam-test", "--metrics-listen="};
  argv.clear();
  for (auto& a : off) argv.push_back(a.data());
  ASSERT_TRUE(flags.Parse(static_cast<int>(argv.size()), argv.data()).ok());
  auto none = server::StartMetricsEndpoint(flags);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr) << "an empty address turns the endpoint off";
}

}  // namespace
}  // namespace kam
