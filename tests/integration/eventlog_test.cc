// The event log on the real broker: transactional append, read_committed reads, fencing.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>

#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "projections/history/history_fold.h"
#include "projections/history/history_index.h"
#include "readmodel/projection_runtime.h"
#include "support/events.h"
#include "support/kafka_broker.h"

namespace kam {
namespace {

using std::chrono::seconds;

struct Topic {
  std::string name =
      eventlog::AggregateTopic(testing::UniqueTopicPrefix(), domain::kProgrammeAggregateType);
  Topic() { EXPECT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), name, 3).ok()); }
};

std::vector<std::string> ReadValues(const std::string& topic) {
  std::vector<std::string> values;
  auto s = eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
    values.push_back(r.value);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return values;
}

TEST(EventLog, AppendsOneTransactionAndReportsPositionsInKeyOrder) {
  Topic topic;
  auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), topic.name + "w");
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<eventlog::Record> records = {{"p1", "a"}, {"p1", "b"}, {"p1", "c"}};
  auto positions = (*producer)->Append(topic.name, -1, records);
  ASSERT_TRUE(positions.ok()) << positions.status();
  ASSERT_EQ(positions->size(), 3u);
  EXPECT_EQ((*positions)[0].partition(), (*positions)[2].partition());  // one key, one partition
  EXPECT_LT((*positions)[0].offset(), (*positions)[1].offset());
  EXPECT_LT((*positions)[1].offset(), (*positions)[2].offset());
  EXPECT_EQ(ReadValues(topic.name), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(EventLog, AnAbortedTransactionIsNeverSeenByReadCommittedReaders) {
  Topic topic;
  auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), topic.name + "w");
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<eventlog::Record> ghost = {{"p1", "ghost-1"}, {"p1", "ghost-2"}};
  ASSERT_TRUE((*producer)->AppendAndAbort(topic.name, ghost).ok());
  std::vector<eventlog::Record> real = {{"p1", "real"}};
  ASSERT_TRUE((*producer)->Append(topic.name, -1, real).ok());
  EXPECT_EQ(ReadValues(topic.name), (std::vector<std::string>{"real"}));
}

TEST(EventLog, TheProjectionNeverFoldsAnAbortedTransaction) {
  Topic topic;
  testing::EventFactory events;
  auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), topic.name + "w");
  ASSERT_TRUE(producer.ok());
  std::vector<eventlog::Record> ghost = {{"emea", events.Nominated("emea", "ghost")}};
  ASSERT_TRUE((*producer)->AppendAndAbort(topic.name, ghost).ok());
  testing::EventFactory fresh;  // the aborted event never happened: restart the chain
  std::vector<eventlog::Record> real = {{"emea", fresh.Nominated("emea", "acme")}};
  auto positions = (*producer)->Append(topic.name, -1, real);
  ASSERT_TRUE(positions.ok());

  const std::string dir = std::filesystem::temp_directory_path() / ("kam-rm-" + topic.name);
  std::filesystem::remove_all(dir);
  auto store = readmodel::Store::Open(dir, {});
  ASSERT_TRUE(store.ok());
  projections::HistoryFold fold;
  readmodel::RuntimeOptions options;
  options.topic = topic.name;
  readmodel::ProjectionRuntime runtime(testing::SharedKafka(), **store, fold, options);
  ASSERT_TRUE(runtime.Start().ok());
  ASSERT_TRUE(runtime.WaitFor(*positions, seconds(30)).ok());
  runtime.Stop();
  const projections::HistoryIndex index(**store, topic.name, "");
  EXPECT_EQ(index.FoldedCount(), 1u);
  const auto history = index.Programme("emea");
  ASSERT_EQ(history.events.size(), 1u);
  EXPECT_TRUE(history.duplicates.empty());
  EXPECT_EQ(history.events[0].envelope.event().account_nominated().account_id(), "acme");
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(EventLog, ANewProducerWithTheSameTransactionalIdFencesTheOld) {
  Topic topic;
  const std::string id = topic.name + "-writer";
  auto zombie = eventlog::TransactionalProducer::Create(testing::SharedKafka(), id);
  ASSERT_TRUE(zombie.ok());
  std::vector<eventlog::Record> first = {{"p1", "from-zombie-before"}};
  ASSERT_TRUE((*zombie)->Append(topic.name, -1, first).ok());

  auto successor = eventlog::TransactionalProducer::Create(testing::SharedKafka(), id);
  ASSERT_TRUE(successor.ok());
  std::vector<eventlog::Record> late = {{"p1", "from-zombie-after"}};
  auto fenced = (*zombie)->Append(topic.name, -1, late);
  EXPECT_EQ(fenced.status().code(), absl::StatusCode::kFailedPrecondition) << fenced.status();
  std::vector<eventlog::Record> next = {{"p1", "from-successor"}};
  ASSERT_TRUE((*successor)->Append(topic.name, -1, next).ok());
  EXPECT_EQ(ReadValues(topic.name),
            (std::vector<std::string>{"from-zombie-before", "from-successor"}));
}

}  // namespace
}  // namespace kam
