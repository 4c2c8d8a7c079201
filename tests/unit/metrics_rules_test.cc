// Step 6: account economics - what enterprise systems may record, and what the board
// derives: contribution after cost-to-serve and customer lifetime value.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "domain/metrics.h"
#include "unit/golden.h"

namespace kam::testing {
namespace {

class Metrics : public ::testing::Test {
 protected:
  v1::RecordMetricRequest Money(v1::MetricKind kind, int64_t cents,
                                std::string period_end = "2025-12-31", std::string activity = "") {
    v1::RecordMetricRequest r;
    r.mutable_metadata()->set_client_request_id("r");
    auto* m = r.mutable_metric();
    m->set_programme_id("emea-kam");
    m->set_account_id("acme");
    m->set_kind(kind);
    m->set_activity(std::move(activity));
    m->set_period_start(period_end.substr(0, 4) + "-01-01");
    m->set_period_end(std::move(period_end));
    m->mutable_amount()->set_currency("EUR");
    m->mutable_amount()->set_minor_units(cents);
    m->set_source_system("erp");
    m->set_source_record_id("rec-" + std::to_string(++n_));
    return r;
  }
  v1::RecordMetricRequest Retention(double r, std::string period_end = "2025-12-31") {
    auto req = Money(v1::METRIC_KIND_RETENTION_RATE, 0, std::move(period_end));
    req.mutable_metric()->clear_amount();
    req.mutable_metric()->set_ratio(r);
    return req;
  }
  absl::StatusOr<domain::Events> Apply(const v1::RecordMetricRequest& r) {
    auto out = domain::Decide(state, r, {"erp@supplier.example", absl::Now()});
    if (out.ok()) {
      v1::EventEnvelope env;
      env.set_event_id("m" + std::to_string(++version));
      env.set_aggregate_version(version);
      *env.mutable_event() = (*out)[0];
      domain::Evolve(state, env);
      last_event_id = env.event_id();
      applied.push_back(env);
    }
    return out;
  }
  domain::MetricsState state;
  std::vector<v1::EventEnvelope> applied;
  uint64_t version = 0;
  std::string last_event_id;
  int n_ = 0;
};

TEST_F(Metrics, TheAggregateIdJoinsProgrammeAndAccount) {
  EXPECT_EQ(domain::MetricsAggregateId("emea-kam", "acme"), "emea-kam:acme");
}

TEST_F(Metrics, EachKindCarriesItsFields) {
  auto cts = Money(v1::METRIC_KIND_COST_TO_SERVE, 100);
  EXPECT_EQ(Render(Apply(cts).status()), "INVALID_ARGUMENT: metric.activity: is required");
  auto retention = Retention(1.2);
  EXPECT_EQ(Render(Apply(retention).status()),
            "INVALID_ARGUMENT: rule metric.shape: RETENTION_RATE ratio must be in [0, 1]");
  auto revenue = Money(v1::METRIC_KIND_REVENUE, -5);
  EXPECT_EQ(Render(Apply(revenue).status()),
            "INVALID_ARGUMENT: rule metric.shape: METRIC_KIND_REVENUE must not be negative");
  auto no_amount = Money(v1::METRIC_KIND_GROSS_MARGIN, 1);
  no_amount.mutable_metric()->clear_amount();
  EXPECT_EQ(Render(Apply(no_amount).status()),
            "INVALID_ARGUMENT: rule metric.shape: METRIC_KIND_GROSS_MARGIN needs metric.amount");
  auto currency = Money(v1::METRIC_KIND_REVENUE, 1);
  currency.mutable_metric()->mutable_amount()->set_currency("euro");
  EXPECT_EQ(Render(Apply(currency).status()),
            "INVALID_ARGUMENT: metric.amount.currency: must be an ISO-4217 code like EUR");
  auto custom = Money(v1::METRIC_KIND_CUSTOM, 1);
  EXPECT_EQ(Render(Apply(custom).status()), "INVALID_ARGUMENT: metric.custom_name: is required");
  custom.mutable_metric()->set_custom_name("Share of wallet");
  EXPECT_TRUE(Apply(custom).ok());
  EXPECT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, -300)).ok());  // a margin may be negative
}

TEST_F(Metrics, DerivedMeasuresAreNotRecorded) {
  EXPECT_EQ(Render(Apply(Money(v1::METRIC_KIND_CONTRIBUTION, 1)).status()),
            "INVALID_ARGUMENT: rule metric.derived_not_recordable: METRIC_KIND_CONTRIBUTION is "
            "computed from margin, cost-to-serve and retention; publish those instead");
}

TEST_F(Metrics, PeriodsAreRealAndAtMostAYear) {
  auto r = Money(v1::METRIC_KIND_REVENUE, 1);
  r.mutable_metric()->set_period_start("2026-01-01");
  EXPECT_EQ(Render(Apply(r).status()),
            "INVALID_ARGUMENT: rule metric.period: metric.period_end must be on or after "
            "period_start, at most a year later");
  r.mutable_metric()->set_period_start("2025-02-30");
  EXPECT_EQ(Render(Apply(r).status()),
            "INVALID_ARGUMENT: metric.period_start: must be a date YYYY-MM-DD, got '2025-02-30'");
}

// A period is measured once it has ended: its end is not after the programme's day of the
// metric's business time (a programme in Auckland is a day ahead of UTC at times).
TEST_F(Metrics, APeriodThatHasNotEndedIsNotMeasuredYet) {
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2026, 3, 31, 18, 0, 0), absl::UTCTimeZone());
  auto march = Money(v1::METRIC_KIND_REVENUE, 1, "2026-04-01");
  march.mutable_metric()->set_period_start("2026-03-01");
  EXPECT_EQ(Render(domain::Decide(state, march, {.actor = "erp", .now = now}).status()),
            "INVALID_ARGUMENT: rule metric.period: metric.period_end 2026-04-01 is after today "
            "(2026-03-31 in the programme's time zone): a period is measured once it has ended");
  EXPECT_TRUE(domain::Decide(state, march,
                             {.actor = "erp", .now = now, .today = absl::CivilDay(2026, 4, 1)})
                  .ok());
  march.mutable_metric()->set_period_end("2026-03-31");
  EXPECT_TRUE(domain::Decide(state, march, {.actor = "erp", .now = now}).ok());
}

TEST_F(Metrics, OneCurrencyPerAccount) {
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, 100)).ok());
  auto usd = Money(v1::METRIC_KIND_REVENUE, 100);
  usd.mutable_metric()->mutable_amount()->set_currency("USD");
  EXPECT_EQ(
      Render(Apply(usd).status()),
      "FAILED_PRECONDITION: rule metric.single_currency: account 'acme' is reported in EUR, not "
      "USD");
}

TEST_F(Metrics, ASourceRecordIsRecordedOnce) {
  auto r = Money(v1::METRIC_KIND_REVENUE, 100);
  ASSERT_TRUE(Apply(r).ok());
  EXPECT_EQ(Render(Apply(r).status()),
            "ALREADY_EXISTS: rule metric.unique_source_record: record 'rec-1' of 'erp' is already "
            "recorded");
}

TEST_F(Metrics, ACorrectionSupersedesItsTarget) {
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, 500000)).ok());
  const std::string wrong = last_event_id;
  auto fix = Money(v1::METRIC_KIND_GROSS_MARGIN, 400000);
  fix.mutable_metric()->set_corrects_event_id("m99");
  EXPECT_EQ(Render(Apply(fix).status()),
            "FAILED_PRECONDITION: rule metric.correction_target: corrects_event_id 'm99' is not an "
            "uncorrected METRIC_KIND_GROSS_MARGIN of this account");
  fix.mutable_metric()->set_corrects_event_id(wrong);
  ASSERT_TRUE(Apply(fix).ok());
  EXPECT_EQ(domain::ComputeEconomics(state, 0.1).years.back().gross_margin, 400000);
  auto again = Money(v1::METRIC_KIND_GROSS_MARGIN, 1);
  again.mutable_metric()->set_corrects_event_id(wrong);
  EXPECT_EQ(Apply(again).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(Metrics, ContributionIsMarginAfterCostToServeByActivity) {
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, 10000000)).ok());
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, 3000000)).ok());
  ASSERT_TRUE(
      Apply(Money(v1::METRIC_KIND_COST_TO_SERVE, 800000, "2025-12-31", "expedited-delivery")).ok());
  ASSERT_TRUE(
      Apply(Money(v1::METRIC_KIND_COST_TO_SERVE, 200000, "2025-06-30", "key-account-team")).ok());
  auto e = domain::ComputeEconomics(state, 0.1);
  ASSERT_EQ(e.years.size(), 1u);
  EXPECT_EQ(e.years[0].contribution, 2000000);
  EXPECT_EQ(e.years[0].cost_to_serve_by_activity.at("expedited-delivery"), 800000);
  EXPECT_FALSE(e.clv.has_value());  // no retention rate yet
  EXPECT_TRUE(domain::ComputeMetricFlags(state, e).empty());
}

// An amount beyond ±10 trillion is refused naming the field; sums of the largest allowed
// amounts stay exact, and sums beyond int64 hold at its bound instead of wrapping (two
// revenues of INT64_MAX once showed a yearly revenue of -2).
TEST_F(Metrics, AmountsAreBoundedAndSumsNeverWrap) {
  for (int64_t too_much : {domain::kMaxMinorUnits + 1, std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min()}) {
    auto r = Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, too_much));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << too_much;
    EXPECT_NE(r.status().message().find("metric.amount.minor_units: must be within ±"),
              std::string::npos)
        << r.status();
  }
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, domain::kMaxMinorUnits)).ok());
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, domain::kMaxMinorUnits)).ok());
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, -domain::kMaxMinorUnits)).ok());
  auto e = domain::ComputeEconomics(state, 0.1);
  ASSERT_EQ(e.years.size(), 1u);
  EXPECT_EQ(e.years[0].revenue, 2 * domain::kMaxMinorUnits);
  EXPECT_EQ(e.years[0].contribution, -domain::kMaxMinorUnits);
  // Ten thousand of the largest revenues exceed int64: the sum holds at its bound.
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, domain::kMaxMinorUnits)).ok());
  }
  e = domain::ComputeEconomics(state, 0.1);
  EXPECT_EQ(e.years[0].revenue, std::numeric_limits<int64_t>::max());
}

TEST_F(Metrics, LifetimeValueFollowsTheStatedFormula) {
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, 3000000)).ok());
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_COST_TO_SERVE, 1000000, "2025-12-31", "logistics")).ok());
  ASSERT_TRUE(Apply(Retention(0.8)).ok());
  auto e = domain::ComputeEconomics(state, 0.1, 3);
  ASSERT_TRUE(e.clv.has_value());
  // m = 2,000,000 cents, r = 0.8, d = 0.1: CLV = m r / (1 + d - r) = 1,600,000 / 0.3
  EXPECT_NEAR(*e.clv, 5333333.33, 0.01);
  ASSERT_EQ(e.projection.size(), 3u);
  EXPECT_NEAR(e.projection[0], 2000000 * 0.8 / 1.1, 1e-6);
  EXPECT_NEAR(e.projection[2], 2000000 * std::pow(0.8 / 1.1, 3), 1e-6);
  EXPECT_EQ(domain::Economics::kFormula, "CLV = m * r / (1 + d - r)");
}

TEST_F(Metrics, NegativeContributionIsFlagged) {
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_GROSS_MARGIN, 100000)).ok());
  ASSERT_TRUE(
      Apply(Money(v1::METRIC_KIND_COST_TO_SERVE, 250000, "2025-12-31", "field-service")).ok());
  auto flags = domain::ComputeMetricFlags(state, domain::ComputeEconomics(state, 0.1));
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].rule, "flag.step6.negative_contribution");
  EXPECT_EQ(flags[0].detail,
            "contribution in 2025 is -1,500.00 EUR (gross margin 1,000.00 EUR - cost-to-serve "
            "2,500.00 EUR)");
}

// The writer's group commit takes the events of a failed transaction back out, newest
// first: every intermediate state must come back exactly.
TEST_F(Metrics, RevertTakesEventsBackOutNewestFirst) {
  std::vector<std::string> states = {domain::EncodeSnapshot(state)};
  ASSERT_TRUE(Apply(Retention(0.8)).ok());  // no money yet: no currency
  states.push_back(domain::EncodeSnapshot(state));
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, 100)).ok());  // sets the currency
  states.push_back(domain::EncodeSnapshot(state));
  const std::string revenue = last_event_id;
  ASSERT_TRUE(Apply(Money(v1::METRIC_KIND_COST_TO_SERVE, 50, "2025-12-31", "logistics")).ok());
  states.push_back(domain::EncodeSnapshot(state));
  auto fix = Money(v1::METRIC_KIND_REVENUE, 90);
  fix.mutable_metric()->set_corrects_event_id(revenue);  // supersedes the revenue
  ASSERT_TRUE(Apply(fix).ok());
  EXPECT_TRUE(state.entries.at(revenue).superseded);
  while (!applied.empty()) {
    domain::Revert(state, applied.back());
    applied.pop_back();
    EXPECT_EQ(domain::EncodeSnapshot(state), states.back()) << applied.size() << " left";
    states.pop_back();
  }
  EXPECT_TRUE(state.currency.empty());
  EXPECT_TRUE(state.sources.empty());
  // And the taken-back record may be recorded again (its source is free).
  EXPECT_TRUE(Apply(Money(v1::METRIC_KIND_REVENUE, 100)).ok());
}

TEST(FormatMoney, ReadsAsAPersonWritesIt) {
  EXPECT_EQ(domain::FormatMoney(0, "EUR"), "0.00 EUR");
  EXPECT_EQ(domain::FormatMoney(5, "EUR"), "0.05 EUR");
  EXPECT_EQ(domain::FormatMoney(-15000050, "EUR"), "-150,000.50 EUR");
  EXPECT_EQ(domain::FormatMoney(123456789012, "USD"), "1,234,567,890.12 USD");
  EXPECT_EQ(domain::FormatMoney(INT64_MIN, "EUR"), "-92,233,720,368,547,758.08 EUR");
}

}  // namespace
}  // namespace kam::testing
