// A rebuild killed with SIGKILL again and again ends byte-for-byte equal (same digest) to
// a clean rebuild: the read model and its offsets are written in one RocksDB WriteBatch,
// so a kill never leaves a fold without its offset or an offset without its fold.
// The per-partition fold digests agree too. Runs the real kam-history-projection binary
// against the real broker.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "eventlog/producer.h"
#include "projections/history/history_index.h"
#include "readmodel/store.h"
#include "support/events.h"
#include "support/kafka_broker.h"
#include "support/run_binary.h"

namespace kam {
namespace {

constexpr int kEvents = 150000;

class RebuildUnderKill : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    base_ = std::filesystem::temp_directory_path() / ("kam-kill-" + prefix_);
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
    std::ofstream(base_ + "/tokens") << "tok-bob-board bob@supplier.example board\n";
    // chmod 600: a service refuses a tokens file others can read.
    std::filesystem::permissions(base_ + "/tokens", std::filesystem::perms::owner_read |
                                                        std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  void Fill() {
    const std::string topic = eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType);
    ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), topic, 3).ok());
    auto producer =
        eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "fill");
    ASSERT_TRUE(producer.ok());
    testing::EventFactory events;
    std::map<int32_t, std::vector<eventlog::Record>> batch;
    for (int i = 0; i < kEvents; ++i) {
      const std::string programme = "prog-" + std::to_string(i % 300);
      batch[eventlog::PartitionFor(programme, 3)].push_back(
          {programme, events.Nominated(programme, "acct-" + std::to_string(i))});
      if ((i + 1) % 15000 == 0 || i + 1 == kEvents) {
        for (auto& [p, records] : batch) {
          ASSERT_TRUE((*producer)->Append(topic, p, records, std::chrono::seconds(60)).ok());
          records.clear();
        }
      }
    }
  }

  // Starts the projection binary folding into `dir`; returns its pid.
  pid_t Start(const std::string& dir, bool rebuild) {
    const std::string binary = std::string(KAM_BINARY_DIR) + "/kam-history-projection";
    std::vector<std::string> args = {binary,     "--brokers",       testing::SharedBroker(),
                                     "--tokens", base_ + "/tokens", "--topic-prefix",
                                     prefix_,    "--data-dir",      dir,
                                     "--listen", "127.0.0.1:0",     "--exit-when-caught-up",
                                     "true",     "--rebuild",       rebuild ? "true" : "false"};
    args.insert(args.end(), {"--metrics-listen", "127.0.0.1:0", "--kafka-replication-factor", "1"});
    return testing::SpawnBinary(std::move(args), base_ + "/projection.log");
  }

  static int Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  static uint64_t Folded(const std::string& dir) {
    auto store = readmodel::Store::Open(dir, {});
    return store.ok() ? projections::HistoryIndex(**store, "", "").FoldedCount() : 0;
  }

  static std::string Digest(const std::string& dir) {
    auto store = readmodel::Store::Open(dir, {});
    EXPECT_TRUE(store.ok());
    return store.ok() ? (*store)->Digest() : "";
  }

  std::string prefix_;
  std::string base_;
};

TEST_F(RebuildUnderKill, RepeatedSigkillsDuringARebuildLeaveTheSameReadModelAsACleanRebuild) {
  Fill();
  const std::string killed = base_ + "/killed";
  const std::string clean = base_ + "/clean";
  std::mt19937 rng(42);
  int killed_midway = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = Start(killed, /*rebuild=*/round == 0);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 1200)(rng)));
    kill(pid, SIGKILL);
    const int rc = Wait(pid);
    EXPECT_TRUE(rc == -SIGKILL || rc == 0) << rc;  // 0: it had caught up before the kill
    const uint64_t folded = Folded(killed);
    if (folded > 0 && folded < static_cast<uint64_t>(kEvents)) ++killed_midway;
  }
  EXPECT_GE(killed_midway, 2) << "the kills should land in the middle of the rebuild";
  ASSERT_EQ(Wait(Start(killed, /*rebuild=*/false)), 0);  // resumes and finishes
  ASSERT_EQ(Wait(Start(clean, /*rebuild=*/true)), 0);
  EXPECT_EQ(Folded(killed), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(Folded(clean), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(Digest(killed), Digest(clean));
  // The running fold digests say the same per partition, at the same offsets.
  auto killed_store = readmodel::Store::Open(killed, {});
  auto clean_store = readmodel::Store::Open(clean, {});
  ASSERT_TRUE(killed_store.ok() && clean_store.ok());
  const std::string topic = eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType);
  EXPECT_EQ((*killed_store)->FoldDigests(topic).size(), 3u);
  EXPECT_EQ((*killed_store)->FoldDigests(topic), (*clean_store)->FoldDigests(topic));
  EXPECT_EQ((*killed_store)->Offsets(topic), (*clean_store)->Offsets(topic));
}

}  // namespace
}  // namespace kam
