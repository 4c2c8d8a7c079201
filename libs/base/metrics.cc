#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace kam::base {
namespace {

bool ValidName(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

const char* TypeName(MetricFamilyBase::Type type) {
  switch (type) {
    case MetricFamilyBase::Type::kCounter:
      return "counter";
    case MetricFamilyBase::Type::kGauge:
      return "gauge";
    case MetricFamilyBase::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `name{l1="v1",l2="v2"[,extra]} value\n`
void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, std::string_view extra,
                  std::string_view value) {
  out += name;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out += labels[i];
      out += "=\"";
      out += EscapeLabelValue(values[i]);
      out += '"';
    }
    if (!extra.empty()) {
      if (!labels.empty()) out += ',';
      out += extra;
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

// --- Histogram -----------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::logic_error("histogram bounds must be finite and strictly ascending");
    }
  }
}

void Histogram::Observe(double value) {
  // The first bound >= value; NaN and values above every bound land in +Inf.
  const std::size_t i =
      std::isnan(value)
          ? bounds_.size()
          : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                     bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* b = new std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return *b;
}

const std::vector<double>& CountBuckets() {
  static const auto* b =
      new std::vector<double>{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
  return *b;
}

// --- Families ------------------------------------------------------------------------------

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, Type type,
                                   std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!ValidName(name_, /*colon_allowed=*/true)) {
    throw std::logic_error("metric name '" + name_ + "' is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (const auto& l : label_names_) {
    if (!ValidName(l, /*colon_allowed=*/false) || l.rfind("__", 0) == 0 ||
        (type_ == Type::kHistogram && l == "le")) {
      throw std::logic_error("metric " + name_ + ": label name '" + l + "' is not allowed");
    }
  }
}

void MetricFamilyBase::CheckArity(std::size_t values) const {
  if (values != label_names_.size()) {
    throw std::logic_error("metric " + name_ + ": " + std::to_string(values) +
                           " label values for " + std::to_string(label_names_.size()) + " labels");
  }
}

void MetricFamilyBase::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
  RenderSamples(out);
}

template <>
void MetricFamily<Counter>::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, c] : children_) {
    AppendSample(out, name(), label_names(), values, "", std::to_string(c->value()));
  }
}

template <>
void MetricFamily<Gauge>::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, g] : children_) {
    AppendSample(out, name(), label_names(), values, "", FormatMetricValue(g->value()));
  }
}

template <>
void MetricFamily<Histogram>::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string bucket = name() + "_bucket";
  for (const auto& [values, h] : children_) {
    const Histogram::Snapshot s = h->snapshot();
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      const std::string le =
          i < bounds_.size() ? "le=\"" + FormatMetricValue(bounds_[i]) + "\"" : "le=\"+Inf\"";
      AppendSample(out, bucket, label_names(), values, le, std::to_string(s.cumulative[i]));
    }
    AppendSample(out, name() + "_sum", label_names(), values, "", FormatMetricValue(s.sum));
    AppendSample(out, name() + "_count", label_names(), values, "", std::to_string(s.count));
  }
}

// A gauge family whose samples come from callbacks.
class CallbackFamily final : public MetricFamilyBase {
 public:
  using MetricFamilyBase::MetricFamilyBase;

  uint64_t Add(std::function<void(GaugeSamples&)> collect) {
    std::lock_guard<std::mutex> lock(mu_);
    callbacks_.emplace(++next_id_, std::move(collect));
    return next_id_;
  }
  void Remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    callbacks_.erase(id);
  }

 private:
  void RenderSamples(std::string& out) const override {
    GaugeSamples samples;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, collect] : callbacks_) {
        const std::size_t before = samples.size();
        collect(samples);
        for (std::size_t i = before; i < samples.size(); ++i) CheckArity(samples[i].labels.size());
      }
    }
    std::stable_sort(
        samples.begin(), samples.end(),
        [](const GaugeSample& a, const GaugeSample& b) { return a.labels < b.labels; });
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (i > 0 && samples[i].labels == samples[i - 1].labels) continue;  // one series once
      AppendSample(out, name(), label_names(), samples[i].labels, "",
                   FormatMetricValue(samples[i].value));
    }
  }

  mutable std::mutex mu_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::function<void(GaugeSamples&)>> callbacks_;
};

CallbackRegistration& CallbackRegistration::operator=(CallbackRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    family_ = std::exchange(other.family_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void CallbackRegistration::Reset() {
  if (family_ != nullptr) family_->Remove(id_);
  family_ = nullptr;
}

// --- The registry --------------------------------------------------------------------------

template <typename F>
F& MetricsRegistry::Add(std::unique_ptr<F> fresh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(fresh->name());
  if (it == families_.end()) {
    F& added = *fresh;
    families_.emplace(fresh->name(), std::move(fresh));
    return added;
  }
  auto* existing = dynamic_cast<F*>(it->second.get());
  bool same = existing != nullptr && existing->type() == fresh->type() &&
              existing->label_names() == fresh->label_names();
  if constexpr (std::is_same_v<F, MetricFamily<Histogram>>) {
    same = same && existing->bounds() == fresh->bounds();
  }
  if (!same) {
    throw std::logic_error("metric " + fresh->name() +
                           " is already registered with another type, labels or buckets");
  }
  return *existing;
}

MetricFamily<Counter>& MetricsRegistry::Counters(std::string_view name, std::string_view help,
                                                 std::vector<std::string> label_names) {
  return Add(std::make_unique<MetricFamily<Counter>>(std::string(name), std::string(help),
                                                     MetricFamilyBase::Type::kCounter,
                                                     std::move(label_names)));
}

MetricFamily<Gauge>& MetricsRegistry::Gauges(std::string_view name, std::string_view help,
                                             std::vector<std::string> label_names) {
  return Add(std::make_unique<MetricFamily<Gauge>>(std::string(name), std::string(help),
                                                   MetricFamilyBase::Type::kGauge,
                                                   std::move(label_names)));
}

MetricFamily<Histogram>& MetricsRegistry::Histograms(std::string_view name, std::string_view help,
                                                     std::vector<std::string> label_names,
                                                     const std::vector<double>& bounds) {
  Histogram check(bounds);  // throws on bad bounds before anything is registered
  return Add(std::make_unique<MetricFamily<Histogram>>(std::string(name), std::string(help),
                                                       MetricFamilyBase::Type::kHistogram,
                                                       std::move(label_names), bounds));
}

CallbackRegistration MetricsRegistry::GaugeCallback(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names,
                                                    std::function<void(GaugeSamples&)> collect) {
  CallbackFamily& family =
      Add(std::make_unique<CallbackFamily>(std::string(name), std::string(help),
                                           MetricFamilyBase::Type::kGauge, std::move(label_names)));
  return CallbackRegistration(&family, family.Add(std::move(collect)));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

MetricsRegistry& Metrics() {
  static auto* registry = new MetricsRegistry();
  return *registry;
}

// --- Formatting ----------------------------------------------------------------------------

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {  // 2^53
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general);
  return std::string(buf, end);
}

}  // namespace kam::base
