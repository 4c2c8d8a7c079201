#include "domain/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "domain/checks.h"
#include "kam/v1/snapshot.pb.h"

namespace kam::domain {
namespace {

using internal::FailedRule;

bool IsMoneyKind(v1::MetricKind k) {
  return k == v1::METRIC_KIND_REVENUE || k == v1::METRIC_KIND_GROSS_MARGIN ||
         k == v1::METRIC_KIND_COST_TO_SERVE;
}

absl::Status Shape(std::string_view problem) {
  return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kMetricShape, problem);
}

absl::Status CheckCurrency(const v1::Money& m) {
  const std::string& c = m.currency();
  bool ok = c.size() == 3;
  for (char ch : c) ok = ok && ch >= 'A' && ch <= 'Z';
  if (!ok) return base::InvalidField("metric.amount.currency", "must be an ISO-4217 code like EUR");
  return absl::OkStatus();
}

}  // namespace

std::string FormatMoney(int64_t minor_units, std::string_view currency) {
  // Minor units are cents for every currency the platform reports (ISO-4217 exponent 2).
  const uint64_t magnitude =
      minor_units < 0 ? 0 - static_cast<uint64_t>(minor_units) : static_cast<uint64_t>(minor_units);
  std::string whole = std::to_string(magnitude / 100);
  for (int i = static_cast<int>(whole.size()) - 3; i > 0; i -= 3) {
    whole.insert(static_cast<std::size_t>(i), ",");
  }
  const uint64_t cents = magnitude % 100;
  return base::StrCat(minor_units < 0 ? "-" : "", whole, ".", cents < 10 ? "0" : "", cents, " ",
                      currency);
}

std::string SourceKey(std::string_view source_system, std::string_view source_record_id) {
  return base::StrCat(source_system, std::string_view("\0", 1), source_record_id);
}

namespace {

// What the state keeps of a recorded metric (from an event, or from a snapshot of one).
MetricEntry EntryOf(const v1::MetricRecorded& m, uint64_t version) {
  MetricEntry e;
  e.kind = m.kind();
  e.has_amount = m.has_amount();
  e.minor_units = m.amount().minor_units();
  e.ratio = m.ratio();
  e.period_end = m.period_end();
  e.activity = m.activity();
  e.source = SourceKey(m.source_system(), m.source_record_id());
  e.version = version;
  return e;
}

}  // namespace

std::string MetricsAggregateId(std::string_view programme_id, std::string_view account_id) {
  return base::StrCat(programme_id, ":", account_id);
}

absl::StatusOr<Events> Decide(const MetricsState& state, const v1::RecordMetricRequest& cmd,
                              const CommandContext& ctx) {
  if (!cmd.has_metric()) return base::InvalidField("metric", "is required");
  const v1::MetricRecorded& m = cmd.metric();
  KAM_RETURN_IF_ERROR(base::ValidateId("metric.programme_id", m.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("metric.account_id", m.account_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("metric.source_system", m.source_system()));
  KAM_RETURN_IF_ERROR(base::ValidateRequestId("metric.source_record_id", m.source_record_id()));
  const auto kind = m.kind();
  if (kind == v1::METRIC_KIND_UNSPECIFIED || !v1::MetricKind_IsValid(kind)) {
    return base::InvalidField("metric.kind", "must be a known metric kind");
  }
  if (kind == v1::METRIC_KIND_CONTRIBUTION || kind == v1::METRIC_KIND_CUSTOMER_LIFETIME_VALUE) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kMetricDerived,
                              base::StrCat(v1::MetricKind_Name(kind),
                                           " is computed from margin, cost-to-serve and retention; "
                                           "publish those instead"));
  }
  auto start = ParseDate("metric.period_start", m.period_start());
  if (!start.ok()) return start.status();
  auto end = ParseDate("metric.period_end", m.period_end());
  if (!end.ok()) return end.status();
  if (*end < *start || DaysBetween(*start, *end) > 366) {
    return base::RuleViolated(
        absl::StatusCode::kInvalidArgument, rules::kMetricPeriod,
        "metric.period_end must be on or after period_start, at most a year later");
  }
  if (*end > ctx.Today()) {
    return base::RuleViolated(
        absl::StatusCode::kInvalidArgument, rules::kMetricPeriod,
        base::StrCat("metric.period_end ", m.period_end(), " is after today (",
                     FormatDate(ctx.Today()),
                     " in the programme's time zone): a period is measured once it has ended"));
  }
  if (IsMoneyKind(kind)) {
    if (!m.has_amount())
      return Shape(base::StrCat(v1::MetricKind_Name(kind), " needs metric.amount"));
    if (m.ratio() != 0) return Shape(base::StrCat(v1::MetricKind_Name(kind), " carries no ratio"));
    KAM_RETURN_IF_ERROR(CheckCurrency(m.amount()));
    if (m.amount().minor_units() > kMaxMinorUnits || m.amount().minor_units() < -kMaxMinorUnits) {
      return base::InvalidField(
          "metric.amount.minor_units",
          base::StrCat("must be within ±", FormatMoney(kMaxMinorUnits, m.amount().currency()), " (",
                       kMaxMinorUnits, " minor units)"));
    }
    if (kind != v1::METRIC_KIND_GROSS_MARGIN && m.amount().minor_units() < 0) {
      return Shape(base::StrCat(v1::MetricKind_Name(kind), " must not be negative"));
    }
  }
  if (kind == v1::METRIC_KIND_COST_TO_SERVE) {
    KAM_RETURN_IF_ERROR(base::ValidateId("metric.activity", m.activity()));
  } else if (!m.activity().empty()) {
    return Shape("metric.activity is only for COST_TO_SERVE");
  }
  if (kind == v1::METRIC_KIND_RETENTION_RATE) {
    if (m.has_amount()) return Shape("RETENTION_RATE carries a ratio, not an amount");
    if (!(m.ratio() >= 0 && m.ratio() <= 1)) return Shape("RETENTION_RATE ratio must be in [0, 1]");
  }
  if (kind == v1::METRIC_KIND_CUSTOM) {
    KAM_RETURN_IF_ERROR(
        base::ValidateText("metric.custom_name", m.custom_name(), base::kMaxNameLength));
    if (m.has_amount()) KAM_RETURN_IF_ERROR(CheckCurrency(m.amount()));
    if (!std::isfinite(m.ratio())) return Shape("metric.ratio must be finite");
  } else if (!m.custom_name().empty()) {
    return Shape("metric.custom_name is only for CUSTOM");
  }
  if (m.has_amount() && !state.currency.empty() && m.amount().currency() != state.currency) {
    return FailedRule(rules::kMetricSingleCurrency,
                      base::StrCat("account '", m.account_id(), "' is reported in ", state.currency,
                                   ", not ", m.amount().currency()));
  }
  if (state.sources.contains(SourceKey(m.source_system(), m.source_record_id()))) {
    return base::RuleViolated(absl::StatusCode::kAlreadyExists, rules::kMetricUniqueSource,
                              base::StrCat("record '", m.source_record_id(), "' of '",
                                           m.source_system(), "' is already recorded"));
  }
  if (!m.corrects_event_id().empty()) {
    auto it = state.entries.find(m.corrects_event_id());
    if (it == state.entries.end() || it->second.superseded || it->second.kind != kind) {
      return FailedRule(
          rules::kMetricCorrection,
          base::StrCat("corrects_event_id '", m.corrects_event_id(), "' is not an uncorrected ",
                       v1::MetricKind_Name(kind), " of this account"));
    }
  }
  v1::Event event;
  *event.mutable_metric_recorded() = m;
  return internal::One(std::move(event));
}

void Evolve(MetricsState& s, const v1::EventEnvelope& env) {
  if (!env.event().has_metric_recorded()) return;
  const auto& m = env.event().metric_recorded();
  if (s.programme_id.empty()) {
    s.programme_id = m.programme_id();
    s.account_id = m.account_id();
  }
  if (s.currency.empty() && m.has_amount()) {
    s.currency = m.amount().currency();
    s.currency_set_by = env.event_id();
  }
  MetricEntry e = EntryOf(m, env.aggregate_version());
  s.sources.insert(e.source);
  if (!m.corrects_event_id().empty()) {
    if (auto it = s.entries.find(m.corrects_event_id()); it != s.entries.end()) {
      it->second.superseded = true;
    }
  }
  s.entries.insert_or_assign(env.event_id(), std::move(e));
}

namespace {

// What Revert needs of an event: its id and what it pointed at.
struct Applied {
  std::string event_id;
  std::string corrects_event_id;
};

void RevertApplied(MetricsState& s, const Applied& a) {
  if (auto it = s.entries.find(a.event_id); it != s.entries.end()) {
    s.sources.erase(it->second.source);
    s.entries.erase(it);
  }
  if (!a.corrects_event_id.empty()) {
    if (auto it = s.entries.find(a.corrects_event_id); it != s.entries.end()) {
      it->second.superseded = false;  // a correction's target was uncorrected before it
    }
  }
  if (!s.currency_set_by.empty() && s.currency_set_by == a.event_id) {
    s.currency.clear();
    s.currency_set_by.clear();
  }
  if (s.entries.empty()) {
    s.programme_id.clear();
    s.account_id.clear();
  }
}

}  // namespace

void Revert(MetricsState& s, const v1::EventEnvelope& env) {
  if (!env.event().has_metric_recorded()) return;
  RevertApplied(s, Applied{env.event_id(), env.event().metric_recorded().corrects_event_id()});
}

std::function<void(MetricsState&)> EvolveUndoable(MetricsState& s, const v1::EventEnvelope& env) {
  Evolve(s, env);
  if (!env.event().has_metric_recorded()) return [](MetricsState&) {};
  return [a = Applied{env.event_id(), env.event().metric_recorded().corrects_event_id()}](
             MetricsState& st) { RevertApplied(st, a); };
}

std::string EncodeSnapshot(const MetricsState& s) {
  v1::MetricsStateSnapshot out;
  out.set_programme_id(s.programme_id);
  out.set_account_id(s.account_id);
  out.set_currency(s.currency);
  out.set_currency_set_by(s.currency_set_by);
  // In version order, so that the same state always gives the same bytes.
  std::vector<std::pair<const std::string*, const MetricEntry*>> ordered;
  ordered.reserve(s.entries.size());
  for (const auto& [event_id, entry] : s.entries) ordered.emplace_back(&event_id, &entry);
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.second->version < b.second->version; });
  for (const auto& [event_id, entry] : ordered) {
    auto* e = out.add_entries();
    e->set_event_id(*event_id);
    v1::MetricRecorded* m = e->mutable_metric();
    m->set_kind(entry->kind);
    if (entry->has_amount) {
      m->mutable_amount()->set_currency(s.currency);
      m->mutable_amount()->set_minor_units(entry->minor_units);
    }
    m->set_ratio(entry->ratio);
    m->set_period_end(entry->period_end);
    m->set_activity(entry->activity);
    const std::size_t nul = entry->source.find('\0');
    m->set_source_system(entry->source.substr(0, nul));
    if (nul != std::string::npos) m->set_source_record_id(entry->source.substr(nul + 1));
    e->set_version(entry->version);
    e->set_superseded(entry->superseded);
  }
  return out.SerializeAsString();
}

absl::StatusOr<MetricsState> DecodeMetricsSnapshot(std::string_view bytes) {
  v1::MetricsStateSnapshot in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("metrics snapshot does not decode");
  }
  MetricsState s;
  s.programme_id = in.programme_id();
  s.account_id = in.account_id();
  s.currency = in.currency();
  s.currency_set_by = in.currency_set_by();
  s.entries.reserve(static_cast<std::size_t>(in.entries_size()));
  for (const auto& e : in.entries()) {
    const auto& m = e.metric();
    MetricEntry entry = EntryOf(m, e.version());
    entry.superseded = e.superseded();
    s.sources.insert(entry.source);
    s.entries.insert_or_assign(e.event_id(), std::move(entry));
  }
  return s;
}

namespace {

// a + b, held at int64's bounds instead of overflowing (undefined behaviour).
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

Economics ComputeEconomics(const MetricsState& s, double discount_rate, int projection_years) {
  Economics out;
  out.currency = s.currency;
  out.discount_d = discount_rate;
  std::map<int, YearEconomics> years;
  std::map<int, std::pair<absl::CivilDay, uint64_t>> retention_at;  // latest period end, version
  for (const auto& [event_id, entry] : s.entries) {
    if (entry.superseded) continue;
    auto end = ParseDate("period_end", entry.period_end);
    if (!end.ok()) continue;
    YearEconomics& y = years[static_cast<int>(end->year())];
    y.year = static_cast<int>(end->year());
    const int64_t v = entry.minor_units;
    switch (entry.kind) {
      case v1::METRIC_KIND_REVENUE:
        y.revenue = SaturatingAdd(y.revenue, v);
        break;
      case v1::METRIC_KIND_GROSS_MARGIN:
        y.gross_margin = SaturatingAdd(y.gross_margin, v);
        break;
      case v1::METRIC_KIND_COST_TO_SERVE:
        y.cost_to_serve = SaturatingAdd(y.cost_to_serve, v);
        y.cost_to_serve_by_activity[entry.activity] =
            SaturatingAdd(y.cost_to_serve_by_activity[entry.activity], v);
        break;
      case v1::METRIC_KIND_RETENTION_RATE: {
        auto& at = retention_at[y.year];
        const std::pair<absl::CivilDay, uint64_t> key{*end, entry.version};
        if (!y.retention_rate || key > at) {
          y.retention_rate = entry.ratio;
          at = key;
        }
        break;
      }
      default:
        break;
    }
  }
  std::optional<double> r;
  for (auto& [year, y] : years) {
    y.contribution = y.cost_to_serve == std::numeric_limits<int64_t>::min()
                         ? std::numeric_limits<int64_t>::max()
                         : SaturatingAdd(y.gross_margin, -y.cost_to_serve);
    if (y.retention_rate) r = y.retention_rate;
    out.years.push_back(y);
  }
  if (out.years.empty() || !r) return out;
  const double m = static_cast<double>(out.years.back().contribution);
  const double d = discount_rate;
  out.margin_m = m;
  out.retention_r = *r;
  if (1 + d - *r <= 0) return out;  // r <= 1 and d >= 0 make this unreachable but for d = 0, r = 1
  out.clv = m * *r / (1 + d - *r);
  for (int t = 1; t <= projection_years; ++t) {
    out.projection.push_back(m * std::pow(*r, t) / std::pow(1 + d, t));
  }
  return out;
}

std::vector<Flag> ComputeMetricFlags(const MetricsState& s, const Economics& e) {
  std::vector<Flag> out;
  if (!e.years.empty() && e.years.back().contribution < 0) {
    const auto& y = e.years.back();
    out.push_back(Flag{
        std::string(rules::kFlagNegativeContribution), 6, "account " + s.account_id,
        base::StrCat("contribution in ", y.year, " is ", FormatMoney(y.contribution, e.currency),
                     " (gross margin ", FormatMoney(y.gross_margin, e.currency),
                     " - cost-to-serve ", FormatMoney(y.cost_to_serve, e.currency), ")")});
  }
  return out;
}

}  // namespace kam::domain
