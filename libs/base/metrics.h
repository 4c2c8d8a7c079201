// Process-wide metrics, rendered in Prometheus' text exposition format 0.0.4: counters,
// gauges and histograms with fixed buckets, each a family of children told apart by label
// values, and gauges computed by a callback at scrape time.
//
//   auto& requests = kam::base::Metrics().Counters("kam_x_total", "What it counts", {"code"});
//   kam::base::Counter& ok = requests.With({"OK"});  // look a child up once and keep it:
//   ok.Inc();                                        // an increment is one relaxed atomic add
//
//   kam::base::CallbackRegistration lag = kam::base::Metrics().GaugeCallback(
//       "kam_y", "What it measures", {"partition"},
//       [&](kam::base::GaugeSamples& out) { out.push_back({{"0"}, 42}); });
//   std::string text = kam::base::Metrics().Render();   // what GET /metrics answers
//
// Thread-safe. A child lives as long as its registry (the default one: the process), so a
// reference to it may be cached anywhere. A callback runs during Render() with its family's
// lock held, until its registration is destroyed; it must not register metrics itself.
// Registering a name twice returns the same family if its type, labels and buckets agree;
// anything else (a clash, a malformed name, a wrong number of label values) is a programmer
// error and throws std::logic_error.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kam::base {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets with fixed upper bounds (inclusive: "le").
class Histogram {
 public:
  // `bounds`: finite, strictly ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Buckets and count agree with each other; the sum may include an observation the
  // buckets do not yet (they are separate atomics).
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Bucket bounds: seconds from 0.5 ms to 10 s, for latencies.
const std::vector<double>& LatencyBuckets();
// Bucket bounds: 1 to 5,000, for sizes such as commands per group.
const std::vector<double>& CountBuckets();

class MetricFamilyBase {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  MetricFamilyBase(std::string name, std::string help, Type type,
                   std::vector<std::string> label_names);
  virtual ~MetricFamilyBase() = default;
  MetricFamilyBase(const MetricFamilyBase&) = delete;
  MetricFamilyBase& operator=(const MetricFamilyBase&) = delete;

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends "# HELP", "# TYPE" and every sample.
  void Render(std::string& out) const;

 protected:
  virtual void RenderSamples(std::string& out) const = 0;
  // Throws std::logic_error unless `values` has one value per label name.
  void CheckArity(std::size_t values) const;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
};

// The children of one metric, by label values (in the order of the family's label names).
template <typename T>
class MetricFamily final : public MetricFamilyBase {
 public:
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> labels,
               std::vector<double> bounds = {})
      : MetricFamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        bounds_(std::move(bounds)) {}

  // The child with these label values, created on first use. Takes a lock: look up once.
  T& With(std::initializer_list<std::string_view> values) {
    return With(std::vector<std::string>(values.begin(), values.end()));
  }
  T& With(std::vector<std::string> values) {
    CheckArity(values.size());
    std::lock_guard<std::mutex> lock(mu_);
    auto& child = children_[std::move(values)];
    if (!child) child = Make();
    return *child;
  }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<T> Make() const {
    if constexpr (std::is_same_v<T, Histogram>) {
      return std::make_unique<T>(bounds_);
    } else {
      return std::make_unique<T>();
    }
  }
  void RenderSamples(std::string& out) const override;

  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

template <>
void MetricFamily<Counter>::RenderSamples(std::string& out) const;
template <>
void MetricFamily<Gauge>::RenderSamples(std::string& out) const;
template <>
void MetricFamily<Histogram>::RenderSamples(std::string& out) const;

// One sample of a callback gauge: label values (one per label name) and the value.
struct GaugeSample {
  std::vector<std::string> labels;
  double value = 0;
};
using GaugeSamples = std::vector<GaugeSample>;

class CallbackFamily;

// Keeps a callback registered; destroying (or Reset()) removes it, waiting for a scrape
// that is running it. Move-only.
class CallbackRegistration {
 public:
  CallbackRegistration() = default;
  CallbackRegistration(CallbackFamily* family, uint64_t id) : family_(family), id_(id) {}
  CallbackRegistration(CallbackRegistration&& other) noexcept { *this = std::move(other); }
  CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
  CallbackRegistration(const CallbackRegistration&) = delete;
  CallbackRegistration& operator=(const CallbackRegistration&) = delete;
  ~CallbackRegistration() { Reset(); }
  void Reset();

 private:
  CallbackFamily* family_ = nullptr;
  uint64_t id_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  MetricFamily<Counter>& Counters(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names = {});
  MetricFamily<Gauge>& Gauges(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names = {});
  MetricFamily<Histogram>& Histograms(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      const std::vector<double>& bounds);

  // A gauge whose samples `collect` appends at scrape time. Several callbacks may share a
  // name (e.g. one per topic); a label set two of them report is rendered once.
  [[nodiscard]] CallbackRegistration GaugeCallback(std::string_view name, std::string_view help,
                                                   std::vector<std::string> label_names,
                                                   std::function<void(GaugeSamples&)> collect);

  // Every family, sorted by name, in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  // The family registered under fresh->name(), or `fresh` if there is none.
  template <typename F>
  F& Add(std::unique_ptr<F> fresh);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamilyBase>, std::less<>> families_;
};

// The process's registry, which GET /metrics renders. Never destroyed.
MetricsRegistry& Metrics();

// The exposition format's escaping: of a label value (\ " and newline) and of HELP text
// (\ and newline).
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value: integers exactly, others in the shortest form that reads back the same,
// "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

}  // namespace kam::base
