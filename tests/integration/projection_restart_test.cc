// Exactly-once effect across restarts: the projection stores its offsets in the same
// RocksDB WriteBatch as the read model, so stopping and starting it never folds an
// event twice or skips one.
#include <gtest/gtest.h>

#include <filesystem>

#include "eventlog/producer.h"
#include "projections/history/history_fold.h"
#include "projections/history/history_index.h"
#include "readmodel/projection_runtime.h"
#include "support/events.h"
#include "support/kafka_broker.h"

namespace kam {
namespace {

using std::chrono::seconds;

class ProjectionRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ =
        eventlog::AggregateTopic(testing::UniqueTopicPrefix(), domain::kProgrammeAggregateType);
    ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), topic_, 3).ok());
    auto p = eventlog::TransactionalProducer::Create(testing::SharedKafka(), topic_ + "-w");
    ASSERT_TRUE(p.ok()) << p.status();
    producer_ = std::move(*p);
    base_ = std::filesystem::temp_directory_path() / ("kam-restart-" + topic_);
    std::filesystem::remove_all(base_);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  // Appends `n` nominations spread over three programmes, one transaction each; returns
  // the position of the last record per partition.
  std::vector<v1::LogPosition> Append(int n) {
    std::map<int32_t, v1::LogPosition> last;
    for (int i = 0; i < n; ++i) {
      const std::string programme = "prog-" + std::to_string(i % 3);
      std::vector<eventlog::Record> r = {
          {programme, events_.Nominated(programme, "acct-" + std::to_string(appended_++))}};
      auto at = producer_->Append(topic_, -1, r);
      EXPECT_TRUE(at.ok()) << at.status();
      if (at.ok()) last[(*at)[0].partition()] = (*at)[0];
    }
    std::vector<v1::LogPosition> out;
    for (auto& [p, pos] : last) out.push_back(pos);
    return out;
  }

  // Runs a projection over `dir` until it has applied `positions`, then stops it.
  void RunUntil(const std::string& dir, const std::vector<v1::LogPosition>& positions) {
    auto store = readmodel::Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    projections::HistoryFold fold;
    readmodel::RuntimeOptions options;
    options.topic = topic_;
    options.max_batch = 7;  // many small batches: more places for a restart to land
    readmodel::ProjectionRuntime runtime(testing::SharedKafka(), **store, fold, options);
    ASSERT_TRUE(runtime.Start().ok());
    auto s = runtime.WaitFor(positions, seconds(60));
    runtime.Stop();
    ASSERT_TRUE(s.ok()) << s;
  }

  projections::HistoryIndex Index(const readmodel::Store& store) const {
    return projections::HistoryIndex(store, topic_, "");
  }

  // Events stored for the three programmes, and records that claimed a stored version.
  uint64_t CountStoredEvents(const readmodel::Store& store) const {
    uint64_t n = 0;
    for (int i = 0; i < 3; ++i) {
      const auto h = Index(store).Programme("prog-" + std::to_string(i));
      n += h.events.size() + h.duplicates.size();
    }
    return n;
  }

  std::string topic_;
  std::string base_;
  std::unique_ptr<eventlog::TransactionalProducer> producer_;
  testing::EventFactory events_;
  int appended_ = 0;
};

TEST_F(ProjectionRestart, EveryEventIsFoldedExactlyOnceAcrossARestart) {
  const std::string dir = base_ + "/restarted";
  RunUntil(dir, Append(40));
  {
    auto store = readmodel::Store::Open(dir, {});
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(Index(**store).FoldedCount(), 40u);
  }
  auto last = Append(25);  // written while the projection is down
  RunUntil(dir, last);
  RunUntil(dir, last);  // a restart with nothing new folds nothing

  auto store = readmodel::Store::Open(dir, {});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(Index(**store).FoldedCount(), 65u);
  EXPECT_EQ(CountStoredEvents(**store), 65u);

  // And the restarted read model equals one built in a single run.
  const std::string clean = base_ + "/clean";
  RunUntil(clean, last);
  auto clean_store = readmodel::Store::Open(clean, {});
  ASSERT_TRUE(clean_store.ok());
  EXPECT_EQ((*store)->Digest(), (*clean_store)->Digest());
}

}  // namespace
}  // namespace kam
