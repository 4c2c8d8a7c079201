// Writer snapshots: a restart from a snapshot replays only the log's tail and ends in the
// same state as a full replay; a snapshot that does not fit the log is discarded.
#include <gtest/gtest.h>

#include <filesystem>

#include "domain/metrics.h"
#include "eventlog/producer.h"
#include "support/kafka_broker.h"
#include "support/metric_events.h"
#include "writer/aggregate_writer.h"
#include "writer/files.h"
#include "writer/kafka_event_log.h"

namespace kam {
namespace {

using Writer = writer::AggregateWriter<domain::MetricsState>;

class Snapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    topic_ = eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType);
    dir_ = std::filesystem::temp_directory_path() / ("kam-snap-" + prefix_);
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), topic_, 3).ok());
    auto p = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "filler");
    ASSERT_TRUE(p.ok());
    filler_ = std::move(*p);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Fill(int n) {
    std::map<int32_t, std::vector<eventlog::Record>> by_partition;
    for (int i = 0; i < n; ++i) {
      auto [id, bytes] = events_.Next("emea-kam", "acct-" + std::to_string(i % 7));
      by_partition[eventlog::PartitionFor(id, 3)].push_back({id, std::move(bytes)});
    }
    for (auto& [p, records] : by_partition) ASSERT_TRUE(filler_->Append(topic_, p, records).ok());
  }

  std::unique_ptr<Writer> Start(bool snapshots) {
    writer::WriterOptions o{.topic = topic_,
                            .aggregate_type = std::string(domain::kMetricsAggregateType),
                            .transactional_id = prefix_ + "metrics-writer",
                            .snapshot_dir = snapshots ? dir_ : "",
                            .snapshot_every_events = 1000000};
    auto w = std::make_unique<Writer>(
        writer::KafkaEventLog(testing::SharedKafka(), std::chrono::seconds(10)), o,
        static_cast<Writer::EvolveFn>(&domain::Evolve),
        writer::SnapshotCodec<domain::MetricsState>{&domain::EncodeSnapshot,
                                                    &domain::DecodeMetricsSnapshot});
    auto s = w->Start();
    EXPECT_TRUE(s.ok()) << s;
    return w;
  }

  static uint64_t Replayed(const Writer& w) {
    uint64_t n = 0;
    for (const auto& [p, l] : w.load_stats()) n += l.records_replayed;
    return n;
  }

  static std::string Fingerprint(const Writer& w) {
    std::string out;
    for (int a = 0; a < 7; ++a) {
      auto [state, version] =
          w.Snapshot(domain::MetricsAggregateId("emea-kam", "acct-" + std::to_string(a)));
      out += std::to_string(version) + ":" + std::to_string(state.entries.size()) + ":" +
             std::to_string(domain::ComputeEconomics(state, 0.1).years.back().revenue) + " ";
    }
    return out;
  }

  std::string prefix_, topic_, dir_;
  std::unique_ptr<eventlog::TransactionalProducer> filler_;
  testing::MetricEventFactory events_;
};

TEST_F(Snapshots, ARestartFromASnapshotReplaysOnlyTheTailAndEndsInTheSameState) {
  Fill(700);
  {
    auto w = Start(true);
    EXPECT_EQ(Replayed(*w), 700u);
    ASSERT_TRUE(w->SnapshotAll().ok());
  }
  filler_.reset();  // the writer fenced it anyway; a new one appends the tail
  auto p = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "filler");
  ASSERT_TRUE(p.ok());
  filler_ = std::move(*p);
  Fill(70);

  auto from_snapshot = Start(true);
  EXPECT_EQ(Replayed(*from_snapshot), 70u);
  for (const auto& [part, l] : from_snapshot->load_stats()) EXPECT_TRUE(l.from_snapshot) << part;
  const std::string expected = Fingerprint(*from_snapshot);
  from_snapshot.reset();
  auto full = Start(false);
  EXPECT_EQ(Replayed(*full), 770u);
  EXPECT_EQ(Fingerprint(*full), expected);

  // Request ids from before the snapshot still deduplicate.
  full.reset();
  auto again = Start(true);
  v1::CommandMetadata meta;
  meta.set_client_request_id("erp/rec-1");
  auto r =
      again->Execute(domain::MetricsAggregateId("emea-kam", "acct-0"), meta, "publisher:erp",
                     [](const domain::MetricsState&, absl::Time) -> absl::StatusOr<domain::Events> {
                       return absl::InternalError("must not be called for a retry");
                     });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->deduplicated());
  // ... and what they were for: the snapshot kept each command's fingerprint.
  auto reused = again->Execute(
      domain::MetricsAggregateId("emea-kam", "acct-0"), meta, "publisher:erp",
      [](const domain::MetricsState&, absl::Time) -> absl::StatusOr<domain::Events> {
        return absl::InternalError("must not be called for a reused request id");
      },
      "fp-another-command");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
  for (const auto& [part, l] : again->load_stats()) EXPECT_TRUE(l.from_snapshot) << part;
}

TEST_F(Snapshots, ASnapshotThatDoesNotFitTheLogIsDiscarded) {
  Fill(50);
  { ASSERT_TRUE(Start(true)->SnapshotAll().ok()); }
  // Corrupt every partition's snapshot: a different chain tip.
  for (int p = 0; p < 3; ++p) {
    const std::string path = dir_ + "/" + topic_ + ".p" + std::to_string(p) + ".snapshot";
    auto bytes = writer::ReadFile(path);
    ASSERT_TRUE(bytes.ok());
    v1::WriterSnapshot snap;
    ASSERT_TRUE(snap.ParseFromString(*bytes));
    for (auto& a : *snap.mutable_aggregates()) a.set_last_hash(std::string(32, 'x'));
    ASSERT_TRUE(writer::WriteFileAtomically(path, snap.SerializeAsString()).ok());
  }
  auto p = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "filler");
  ASSERT_TRUE(p.ok());
  filler_ = std::move(*p);
  Fill(7);  // every account gets one event that does not continue the forged tips
  auto w = Start(true);
  EXPECT_EQ(Replayed(*w), 57u);  // the forged tips were refused: the whole log was replayed
  for (const auto& [part, l] : w->load_stats()) EXPECT_FALSE(l.from_snapshot) << part;
  auto [state, version] = w->Snapshot(domain::MetricsAggregateId("emea-kam", "acct-0"));
  EXPECT_EQ(version, 9u);  // 57 events over 7 accounts: acct-0 has 8 + 1
}

TEST_F(Snapshots, ACommandThatDecidesNoEventsWritesNothing) {
  Fill(7);
  auto w = Start(false);
  const std::string id = domain::MetricsAggregateId("emea-kam", "acct-0");
  v1::CommandMetadata meta;
  meta.set_client_request_id("nothing-to-do");
  auto r =
      w->Execute(id, meta, "publisher:erp",
                 [](const domain::MetricsState&, absl::Time) -> absl::StatusOr<domain::Events> {
                   return domain::Events{};
                 });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->aggregate_version(), 1u);
  EXPECT_EQ(r->event_ids_size(), 0);
  w.reset();
  EXPECT_EQ(Replayed(*Start(false)), 7u);  // nothing was appended
}

}  // namespace
}  // namespace kam
