// The writer's metrics (writer/writer_metrics.h) over the in-memory log: every outcome of a
// group counted once - accepted, deduplicated, rejected by its rule, unavailable - with
// group sizes, appends, aborted transactions and dead letters.
#include <gtest/gtest.h>

#include <set>

#include "base/errors.h"
#include "base/metrics.h"
#include "domain/rules.h"
#include "support/memory_event_log.h"
#include "support/prometheus.h"
#include "writer/aggregate_writer.h"

namespace kam::writer {
namespace {

struct Names {
  std::set<std::string> names;
};
void EvolveNames(Names& n, const v1::EventEnvelope& e) {
  n.names.insert(e.event().account_nominated().account_id());
}

Command<Names> Add(const std::string& name, std::string request_id = "") {
  Command<Names> c;
  c.aggregate_id = "list";
  c.metadata.set_client_request_id(request_id.empty() ? "add-" + name : request_id);
  c.actor = "ana@supplier.example";
  c.decide = [name](const Names& n, absl::Time) -> absl::StatusOr<domain::Events> {
    if (n.names.contains(name)) {
      return base::RuleViolated(absl::StatusCode::kAlreadyExists, domain::rules::kNominationUnique,
                                "'" + name + "' is already there");
    }
    domain::Events out(1);
    out[0].mutable_account_nominated()->set_account_id(name);
    return out;
  };
  return c;
}

TEST(WriterMetrics, EveryOutcomeOfEveryGroupIsCountedByKindAndRule) {
  auto log = std::make_unique<testing::MemoryEventLog>();
  testing::MemoryEventLog* mem = log.get();
  WriterOptions o;
  o.topic = "names";
  o.aggregate_type = "names-metrics-test";
  o.partitions = 1;
  o.transactional_id = "w";
  AggregateWriter<Names> writer(std::move(log), o, &EvolveNames);
  ASSERT_TRUE(writer.Start().ok());
  const auto before = testing::Samples::Parse(base::Metrics().Render());

  // One command per group: each is answered before the next is submitted.
  EXPECT_TRUE(writer.Submit(Add("acme")).get().result.ok());
  EXPECT_TRUE(writer.Submit(Add("globex")).get().result.ok());
  EXPECT_TRUE(writer.Submit(Add("acme")).get().result->deduplicated());
  EXPECT_EQ(writer.Submit(Add("acme", "again")).get().result.status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(writer.Submit(Add("bad", "no spaces allowed")).get().result.status().code(),
            absl::StatusCode::kInvalidArgument);
  mem->FailNext(testing::MemoryEventLog::Fault::kAbort);
  EXPECT_EQ(writer.Submit(Add("initech")).get().result.status().code(),
            absl::StatusCode::kUnavailable);
  auto rejected = Add("acme", "dup");
  rejected.dead_letter = [](const absl::Status&) -> std::optional<eventlog::Record> {
    return eventlog::Record{"list", "the original", "names.dlq", -1, {}};
  };
  std::vector<Command<Names>> batch;
  batch.push_back(Add("initech"));
  batch.push_back(std::move(rejected));
  auto out = writer.SubmitTransaction(0, std::move(batch), std::nullopt).get();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].result.ok());
  EXPECT_TRUE(out[1].dead_lettered);

  const auto after = testing::Samples::Parse(base::Metrics().Render());
  struct Moved {
    const testing::Samples& before;
    const testing::Samples& after;
    double Sum(const std::string& name, const testing::Samples::Labels& labels) const {
      return after.Sum(name, labels) - before.Sum(name, labels);
    }
  } s{before, after};
  const std::string type = o.aggregate_type;
  auto commands = [&](const std::string& outcome, const std::string& rule) {
    return s.Sum("kam_commands_total",
                 {{"aggregate_type", type}, {"outcome", outcome}, {"rule", rule}});
  };
  EXPECT_EQ(commands("accepted", ""), 3);
  EXPECT_EQ(commands("deduplicated", ""), 1);
  EXPECT_EQ(commands("rejected", "nomination.unique"), 2);
  EXPECT_EQ(commands("rejected", ""), 1) << "a field error names no rule";
  EXPECT_EQ(commands("unavailable", ""), 1);
  EXPECT_EQ(s.Sum("kam_transaction_aborts_total", {{"aggregate_type", type}}), 1);
  EXPECT_EQ(s.Sum("kam_dead_letters_total", {{"topic", "names.dlq"}}), 1);
  EXPECT_EQ(s.Sum("kam_writer_group_commands_count", {{"aggregate_type", type}}), 7);
  EXPECT_EQ(s.Sum("kam_writer_group_commands_sum", {{"aggregate_type", type}}), 8);
  EXPECT_EQ(s.Sum("kam_writer_group_commands_bucket", {{"aggregate_type", type}, {"le", "1"}}), 6);
  EXPECT_EQ(s.Sum("kam_writer_append_duration_seconds_count", {{"aggregate_type", type}}), 4)
      << "groups that appended: acme, globex, the aborted one, the transaction";
}

}  // namespace
}  // namespace kam::writer
