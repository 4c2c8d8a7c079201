// Issue 13's disk-full fault: a real kam-history-projection process whose --data-dir is on a
// small tmpfs, which the test fills with a file while events keep coming into Kafka. The
// projection must stop folding with ONE clear error naming its directory and the cause, show it
// where an operator looks (GET /metrics kam_rocksdb_unwritable, GetProjectionStatus.error, a
// read-your-writes query refused with the reason), keep answering reads of what it holds,
// and, once the file is deleted, resume by itself and fold every record exactly once: its
// store then equals a clean rebuild's (digest, offsets, per-partition fold digests, counts).
// (Store::Write refuses a write once the filesystem lacks the room RocksDB may need for it, so
// the refusal names the full disk before RocksDB itself runs into it.)
//
// The small filesystem is a real tmpfs mounted by the test (mount(2): root with CAP_SYS_ADMIN,
// as on the developers' and CI's machines); the test is skipped, saying so, where it cannot be.
#include <errno.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "eventlog/producer.h"
#include "eventlog/topics.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "projections/history/history_index.h"
#include "readmodel/store.h"
#include "support/events.h"
#include "support/kafka_broker.h"
#include "support/metric_events.h"
#include "support/prometheus.h"
#include "support/run_binary.h"

namespace kam {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kAdmin[] = "tok-admin-000";
constexpr uint64_t kDiskBytes = 32ull << 20;  // the tmpfs under the read model
constexpr int kBefore = 2000;                 // events per topic folded before the disk fills
constexpr int kWhileFull = 4000;              // events per topic appended once it is full

bool Eventually(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st {};
  return statvfs(dir.c_str(), &st) == 0 ? static_cast<uint64_t>(st.f_bavail) * st.f_frsize : 0;
}

// Writes `path` until its filesystem has no room left; the bytes written.
uint64_t FillUp(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  uint64_t written = 0;
  const std::string chunk(1 << 20, 'x');
  for (std::size_t size : {chunk.size(), std::size_t{4096}}) {  // then the last pages
    for (;;) {
      const ssize_t n = write(fd, chunk.data(), size);
      if (n <= 0) break;
      written += static_cast<uint64_t>(n);
    }
  }
  close(fd);
  return written;
}

// One kam-history-projection process logging JSON lines to a file; SIGTERM when destroyed.
class Projection {
 public:
  Projection(const std::string& log, std::vector<std::string> args) : log_(log) {
    args.insert(args.begin(), std::string(KAM_BINARY_DIR) + "/kam-history-projection");
    pid_ = testing::SpawnBinary(std::move(args), log_, /*append=*/false);
  }
  ~Projection() { Stop(); }
  Projection(const Projection&) = delete;
  Projection& operator=(const Projection&) = delete;

  // Waits for it to exit by itself (--exit-when-caught-up); its exit code.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    if (!Eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, seconds(20))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  std::vector<nlohmann::json> Lines() const {
    std::ifstream in(log_);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  // The logged lines whose msg starts with `prefix`.
  std::vector<nlohmann::json> LinesStartingWith(const std::string& prefix) const {
    std::vector<nlohmann::json> out;
    for (auto& line : Lines()) {
      if (line.value("msg", "").starts_with(prefix)) out.push_back(std::move(line));
    }
    return out;
  }
  // Waits for the gRPC and metrics ports it logs once it serves.
  void Connect() {
    ASSERT_TRUE(Eventually(
        [&] {
          for (const auto& line : Lines()) {
            if (line.contains("port") && line["port"].is_number_integer()) {
              port_ = line["port"].get<int>();
            }
            if (line.contains("metrics_port") && line["metrics_port"].is_number_integer()) {
              metrics_port_ = line["metrics_port"].get<int>();
            }
          }
          return port_ > 0 && metrics_port_ > 0;
        },
        seconds(30)))
        << "it never logged its ports; see " << log_;
    stub_ = v1::HistoryQueryService::NewStub(
        grpc::CreateChannel(base::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }

  v1::GetProjectionStatusResponse Status() const {
    v1::GetProjectionStatusResponse out;
    grpc::ClientContext ctx;
    Authorize(ctx);
    const grpc::Status s = stub_->GetProjectionStatus(&ctx, {}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  // The first `n` events of `programme`, read only once `at` is folded (if given).
  grpc::Status History(const std::string& programme, uint32_t n, const v1::LogPosition* at,
                       v1::GetHistoryResponse& out) const {
    v1::GetHistoryRequest r;
    r.set_programme_id(programme);
    r.set_page_size(n);
    if (at != nullptr) {
      *r.mutable_consistency()->add_at_least() = *at;
      r.mutable_consistency()->set_wait_timeout_ms(1000);
    }
    grpc::ClientContext ctx;
    Authorize(ctx);
    return stub_->GetHistory(&ctx, r, &out);
  }
  int metrics_port() const { return metrics_port_; }
  const std::string& log() const { return log_; }

 private:
  static void Authorize(grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", base::StrCat("Bearer ", kAdmin));
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(20));
  }

  std::string log_;
  pid_t pid_ = -1;
  int port_ = -1;
  int metrics_port_ = -1;
  std::unique_ptr<v1::HistoryQueryService::Stub> stub_;
};

// Per (topic, partition) of every topic the projection folds: "next_offset fold_digest".
std::map<std::string, std::string> Positions(const v1::GetProjectionStatusResponse& s) {
  std::map<std::string, std::string> out;
  for (const auto& p : s.partitions()) {
    if (p.topic().ends_with(eventlog::CheckpointTopic(""))) continue;  // no events of this test
    out[base::StrCat(p.topic(), "/", p.partition())] =
        base::StrCat(p.next_offset(), " ", p.fold_digest());
  }
  return out;
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    base_ = (fs::temp_directory_path() / ("kam-diskfull-" + prefix_)).string();
    disk_ = base_ + "/disk";
    fs::remove_all(base_);
    fs::create_directories(disk_);
    std::ofstream(base_ + "/tokens") << kAdmin << " admin@supplier.example admin\n";
    // chmod 600: a service refuses a tokens file others can read.
    fs::permissions(base_ + "/tokens", fs::perms::owner_read | fs::perms::owner_write);
    const std::string options = base::StrCat("size=", kDiskBytes, ",mode=0700");
    if (mount("kam-disk-full", disk_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) !=
        0) {
      const int err = errno;
      GTEST_SKIP() << "no small filesystem for the read model: mount(tmpfs, " << disk_
                   << ") failed: " << std::strerror(err)
                   << " (needs root with CAP_SYS_ADMIN, as on the project's machines and CI)";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (HasFailure()) {  // what the processes said, before their files go
      for (const auto& entry : fs::directory_iterator(base_)) {
        if (entry.path().extension() != ".log") continue;
        std::ifstream in(entry.path());
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        std::cout << "--- last lines of " << entry.path().filename().string() << "\n";
        for (std::size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size(); ++i) {
          std::cout << lines[i] << "\n";
        }
      }
    }
    if (mounted_) umount2(disk_.c_str(), MNT_DETACH);
    fs::remove_all(base_);
  }

  std::vector<std::string> Args(const std::string& data_dir) const {
    return {"--brokers",
            testing::SharedBroker(),
            "--kafka-replication-factor",
            "1",
            "--topic-prefix",
            prefix_,
            "--tokens",
            base_ + "/tokens",
            "--data-dir",
            data_dir,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--write-buffer-mb",
            "1",
            "--block-cache-mb",
            "8"};
  }

  // Appends `n` nominations (over 30 programmes) and `n` revenue metrics (over 30 accounts),
  // in transactions of up to 500 records per partition; the last position per partition of
  // the programme topic.
  std::vector<v1::LogPosition> Append(int n) {
    const std::string programmes =
        eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType);
    const std::string metrics = eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType);
    if (!producer_) {
      for (const std::string& topic : {programmes, metrics}) {
        EXPECT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), topic, 3).ok());
      }
      auto p = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix_ + "fill");
      EXPECT_TRUE(p.ok()) << p.status();
      if (!p.ok()) return {};
      producer_ = std::move(*p);
    }
    std::map<std::string, std::map<int32_t, std::vector<eventlog::Record>>> by_topic;
    for (int i = 0; i < n; ++i) {
      const std::string programme = base::StrCat("prog-", i % 30);
      by_topic[programmes][eventlog::PartitionFor(programme, 3)].push_back(
          {programme, events_.Nominated(programme, base::StrCat("acct-", appended_ + i))});
      auto [id, bytes] = metrics_.Next("emea-kam", base::StrCat("acct-", i % 30));
      const int32_t p = eventlog::PartitionFor(id, 3);
      by_topic[metrics][p].push_back({std::move(id), std::move(bytes)});
    }
    appended_ += n;
    std::map<int32_t, v1::LogPosition> last;
    for (auto& [topic, partitions] : by_topic) {
      for (auto& [p, records] : partitions) {
        for (std::size_t from = 0; from < records.size(); from += 500) {
          const std::size_t to = std::min(records.size(), from + 500);
          auto at = producer_->Append(
              topic, p, std::span<const eventlog::Record>(records.data() + from, to - from),
              seconds(60));
          EXPECT_TRUE(at.ok()) << at.status();
          if (at.ok() && topic == programmes) last[p] = at->back();
        }
      }
    }
    std::vector<v1::LogPosition> out;
    for (auto& [p, pos] : last) out.push_back(pos);
    return out;
  }

  std::string prefix_;
  std::string base_;
  std::string disk_;
  bool mounted_ = false;
  std::unique_ptr<eventlog::TransactionalProducer> producer_;
  testing::EventFactory events_;
  testing::MetricEventFactory metrics_;
  int appended_ = 0;
};

TEST_F(DiskFull, TheProjectionPausesWithOneClearErrorAndResumesExactlyOnceWhenSpaceReturns) {
  const auto started = Clock::now();
  const std::string data_dir = disk_ + "/rocksdb";
  const uint64_t total = 2ull * (kBefore + kWhileFull);

  // 1. Folding normally on the small filesystem.
  Append(kBefore);
  Projection live(base_ + "/live.log", Args(data_dir));
  ASSERT_NO_FATAL_FAILURE(live.Connect());
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = live.Status();
        return s.caught_up() && s.records_folded_total() == 2ull * kBefore;
      },
      seconds(60)))
      << "it did not fold the first events; see " << live.log();

  // 2. The disk fills up, and events keep coming.
  const std::string filler = disk_ + "/filler";
  const uint64_t filled = FillUp(filler);
  const uint64_t free_after_fill = FreeBytes(disk_);
  ASSERT_GT(filled, 0u);
  const auto full_at = Clock::now();
  const std::vector<v1::LogPosition> last = Append(kWhileFull);
  ASSERT_FALSE(last.empty());

  // It stops folding, and says so once, naming the directory and the cause ...
  const testing::Samples::Labels store_label = {{"path", data_dir}};
  ASSERT_TRUE(Eventually(
      [&] {
        return testing::Scrape(live.metrics_port()).Sum("kam_rocksdb_unwritable", store_label) == 1;
      },
      seconds(30)))
      << "kam_rocksdb_unwritable never read 1; see " << live.log();
  const double seconds_to_stall = SecondsSince(full_at);
  const auto stalled = live.Status();
  EXPECT_NE(stalled.error().find("No space left on device"), std::string::npos) << stalled.error();
  EXPECT_NE(stalled.error().find(data_dir), std::string::npos) << stalled.error();
  EXPECT_FALSE(stalled.caught_up());
  EXPECT_GT(stalled.lag(), 0);
  // ... and stays paused while the disk is full, retrying without a log line per attempt.
  std::this_thread::sleep_for(seconds(4));
  const auto paused = live.Status();
  const uint64_t folded_while_full = paused.records_folded_total();
  EXPECT_LT(folded_while_full, total);
  EXPECT_FALSE(paused.error().empty());
  const auto errors =
      live.LinesStartingWith(base::StrCat("read model ", data_dir, " cannot be written"));
  ASSERT_EQ(errors.size(), 1u) << "one error line per episode; see " << live.log();
  EXPECT_EQ(errors[0].value("level", ""), "error");
  EXPECT_EQ(errors[0].value("path", ""), data_dir);
  EXPECT_NE(errors[0].value("cause", "").find("No space left on device"), std::string::npos)
      << errors[0].dump();
  std::size_t error_lines = 0;
  for (const auto& line : live.Lines()) error_lines += line.value("level", "") == "error";
  EXPECT_EQ(error_lines, 1u) << "see " << live.log();

  // Reads of what it holds are still answered; a read of a position it cannot reach yet is
  // refused with the reason, not left to time out.
  v1::GetHistoryResponse history;
  grpc::Status read = live.History("prog-0", 5, nullptr, history);
  EXPECT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(history.entries_size(), 5);
  read = live.History("prog-0", 5, &last.back(), history);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::UNAVAILABLE) << read.error_message();
  EXPECT_NE(read.error_message().find("No space left on device"), std::string::npos)
      << read.error_message();

  // 3. Space returns: it resumes by itself and folds the rest.
  fs::remove(filler);
  const auto freed_at = Clock::now();
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = live.Status();
        return s.caught_up() && s.error().empty() && s.records_folded_total() == total;
      },
      seconds(30)))
      << "it did not resume; see " << live.log();
  const double seconds_to_resume = SecondsSince(freed_at);
  EXPECT_EQ(testing::Scrape(live.metrics_port()).Sum("kam_rocksdb_unwritable", store_label), 0);
  const auto resumed =
      live.LinesStartingWith(base::StrCat("read model ", data_dir, " is writable again"));
  ASSERT_EQ(resumed.size(), 1u) << "see " << live.log();
  const uint64_t refused_writes = resumed[0].value("refused_writes", uint64_t{0});
  EXPECT_GE(refused_writes, 2u) << "it should have retried while the disk was full";
  EXPECT_EQ(
      live.LinesStartingWith(base::StrCat("read model ", data_dir, " cannot be written")).size(),
      1u);
  // What it folded, as it reports it: per partition the next offset and the fold digest.
  const std::map<std::string, std::string> live_positions = Positions(live.Status());
  live.Stop();

  // 4. Exactly once: what it folded and stored equals a clean rebuild of the same log.
  const std::string clean_dir = base_ + "/clean";
  std::vector<std::string> args = Args(clean_dir);
  args.insert(args.end(), {"--rebuild", "true", "--exit-when-caught-up", "true"});
  Projection rebuild(base_ + "/rebuild.log", args);
  ASSERT_EQ(rebuild.Wait(), 0) << "see " << rebuild.log();
  auto live_store = readmodel::Store::Open(data_dir, {});
  auto clean_store = readmodel::Store::Open(clean_dir, {});
  ASSERT_TRUE(live_store.ok() && clean_store.ok());
  const std::string programmes = eventlog::AggregateTopic(prefix_, domain::kProgrammeAggregateType);
  const std::string metrics = eventlog::AggregateTopic(prefix_, domain::kMetricsAggregateType);
  const uint64_t live_folded =
      projections::HistoryIndex(**live_store, programmes, metrics).FoldedCount();
  const uint64_t clean_folded =
      projections::HistoryIndex(**clean_store, programmes, metrics).FoldedCount();
  EXPECT_EQ(live_folded, total);
  EXPECT_EQ(clean_folded, total);
  std::map<std::string, std::string> clean_positions;
  for (const std::string& topic : {programmes, metrics}) {
    const auto digests = (*clean_store)->FoldDigests(topic);
    for (const auto& [p, next] : (*clean_store)->Offsets(topic)) {
      clean_positions[base::StrCat(topic, "/", p)] =
          base::StrCat(next, " ", absl::BytesToHexString(digests.at(p)));
    }
  }
  for (const auto& [partition, position] : clean_positions) {
    EXPECT_EQ(live_positions.count(partition) ? live_positions.at(partition) : "", position)
        << partition << ": the live projection's offset and fold digest";
  }
  for (const std::string& topic : {programmes, metrics}) {
    EXPECT_EQ((*live_store)->Offsets(topic), (*clean_store)->Offsets(topic)) << topic;
    EXPECT_EQ((*live_store)->FoldDigests(topic).size(), 3u) << topic;
    EXPECT_EQ((*live_store)->FoldDigests(topic), (*clean_store)->FoldDigests(topic)) << topic;
  }
  const std::string live_digest = (*live_store)->Digest();
  EXPECT_EQ(live_digest, (*clean_store)->Digest());

  std::cout << "disk full: tmpfs " << (kDiskBytes >> 20) << " MiB, filler " << filled << " bytes ("
            << free_after_fill << " bytes free after it)\n"
            << "  events appended: " << 2 * kBefore << " before the disk filled, " << 2 * kWhileFull
            << " while it was full (" << total << " in all)\n"
            << "  folding paused " << seconds_to_stall << " s after the disk filled, with "
            << folded_while_full << " of " << total << " records folded; " << errors.size()
            << " error line, " << refused_writes << " writes refused while full\n"
            << "  resumed by itself " << seconds_to_resume
            << " s after the filler was deleted; folded " << live_folded
            << " records, a clean rebuild " << clean_folded << "\n"
            << "  store digest " << live_digest.substr(0, 16) << "... equal to the rebuild's: "
            << (live_digest == (*clean_store)->Digest() ? "yes" : "no") << "; "
            << SecondsSince(started) << " s in all\n";
}

}  // namespace
}  // namespace kam
