// The account-metrics aggregate (step 6): the economics enterprise systems publish about
// one account of one programme, and what the board derives from them - contribution
// after cost-to-serve and customer lifetime value.
//
//   kam::domain::MetricsState m;   // aggregate id MetricsAggregateId("emea-kam", "acme")
//   auto events = kam::domain::Decide(m, request, ctx);
//   kam::domain::Economics e = kam::domain::ComputeEconomics(m, /*discount_rate=*/0.10);
//
// Pure and thread-compatible, like the programme aggregate.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "domain/programme.h"
#include "kam/v1/metrics_service.pb.h"

namespace kam::domain {

inline constexpr std::string_view kMetricsAggregateType = "account-metrics";
// The largest amount one metric may carry, in minor units either way: 10 trillion in major
// units, beyond any one customer's yearly figure and far enough from int64's limit that
// sums of ordinary figures cannot overflow (sums saturate at int64's bounds regardless).
inline constexpr int64_t kMaxMinorUnits = 1'000'000'000'000'000;

// An amount in minor units as a person reads it: FormatMoney(-15000050, "EUR") is
// "-150,000.50 EUR".
std::string FormatMoney(int64_t minor_units, std::string_view currency);

// "<programme_id>:<account_id>": the Kafka key of the account's metrics stream.
std::string MetricsAggregateId(std::string_view programme_id, std::string_view account_id);

// What the rules and the economics need of one recorded metric (the event itself stays in
// the log): an account may carry a million of them, so this stays small.
struct MetricEntry {
  v1::MetricKind kind = v1::METRIC_KIND_UNSPECIFIED;
  bool has_amount = false;
  int64_t minor_units = 0;  // in the state's currency
  double ratio = 0;
  std::string period_end;  // YYYY-MM-DD
  std::string activity;    // COST_TO_SERVE only
  std::string source;      // SourceKey(source_system, source_record_id)
  uint64_t version = 0;
  bool superseded = false;  // a later record corrects it
};

// The key under which a metric's source record is remembered (MetricsState::sources).
std::string SourceKey(std::string_view source_system, std::string_view source_record_id);

struct MetricsState {
  std::string programme_id;
  std::string account_id;
  std::string currency;                                   // of the first money metric
  std::string currency_set_by;                            // the event id that set it
  absl::flat_hash_map<std::string, MetricEntry> entries;  // by event id
  absl::flat_hash_set<std::string> sources;               // SourceKey of each recorded metric
};

absl::StatusOr<Events> Decide(const MetricsState& state, const v1::RecordMetricRequest& cmd,
                              const CommandContext& ctx);
void Evolve(MetricsState& state, const v1::EventEnvelope& envelope);
// Takes `envelope`, the last event evolved into `state`, back out again: the writer undoes
// the events of a group whose transaction failed with it (events are taken back newest
// first). Evolve then Revert leaves the state exactly as it was.
void Revert(MetricsState& state, const v1::EventEnvelope& envelope);
// Evolve, and the way back (Revert of this event), for the writer's group commit.
std::function<void(MetricsState&)> EvolveUndoable(MetricsState& state,
                                                  const v1::EventEnvelope& envelope);

// The state as snapshot bytes (kam.v1.MetricsStateSnapshot), and back. DATA_LOSS if the
// bytes do not decode.
std::string EncodeSnapshot(const MetricsState& state);
absl::StatusOr<MetricsState> DecodeMetricsSnapshot(std::string_view bytes);

// One calendar year (by period end) of an account's economics, in minor currency units.
struct YearEconomics {
  int year = 0;
  int64_t revenue = 0;
  int64_t gross_margin = 0;
  int64_t cost_to_serve = 0;
  std::map<std::string, int64_t> cost_to_serve_by_activity;
  int64_t contribution = 0;              // gross_margin - cost_to_serve
  std::optional<double> retention_rate;  // the latest recorded in the year
};

struct Economics {
  std::string currency;
  std::vector<YearEconomics> years;  // ascending
  // CLV = m * r / (1 + d - r): m the latest year's contribution, r its retention rate
  // (or the latest known), d the programme's discount rate. Absent without both inputs.
  std::optional<double> clv;
  double margin_m = 0;
  double retention_r = 0;
  double discount_d = 0;
  // Year t = 1..N of the multi-year projection: m * r^t / (1 + d)^t (sums towards CLV).
  std::vector<double> projection;
  static constexpr std::string_view kFormula = "CLV = m * r / (1 + d - r)";
};

Economics ComputeEconomics(const MetricsState& state, double discount_rate,
                           int projection_years = 5);

// Step 6 flags of one account: negative contribution after cost-to-serve in the latest year.
std::vector<Flag> ComputeMetricFlags(const MetricsState& state, const Economics& economics);

}  // namespace kam::domain
