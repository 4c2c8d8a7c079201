// Observability end to end, against the real broker: the built binaries started as an
// operator starts them, with --metrics-listen 127.0.0.1:0, their ports read from their
// structured logs, commands over gRPC, and GET /metrics over HTTP - the counters move, the
// history projection's lag per partition reaches 0 as it folds. And the consumer lag of a
// projection runtime whose fold is held: exactly what it has still to fold, per partition,
// until it catches up.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/ids.h"
#include "base/metrics.h"
#include "eventlog/producer.h"
#include "eventlog/topics.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "readmodel/projection_runtime.h"
#include "server/metrics_endpoint.h"
#include "server/status.h"
#include "support/kafka_broker.h"
#include "support/members.h"
#include "support/prometheus.h"
#include "support/run_binary.h"
#include "unit/scenario.h"

namespace kam {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Samples;

constexpr char kTokens[] =
    "tok-admin-000    admin@supplier.example admin\n"
    "tok-ana-champion ana@supplier.example champion\n"
    "tok-kim-kam      kim@supplier.example kam\n"
    "tok-bob-board    bob@supplier.example board\n"
    "tok-erp-publish  erp@supplier.example publisher\n";

// Waits until `done` holds, polling; false at the deadline.
bool Eventually(const std::function<bool()>& done, milliseconds timeout = seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + seconds(60));
  return ctx;
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureChannelCredentials());
}

// A built binary, its stderr in a file; stopped with SIGTERM (then SIGKILL) when destroyed.
class Binary {
 public:
  Binary(const std::string& name, std::vector<std::string> args, std::string log)
      : name_(name), log_(std::move(log)) {
    const std::string binary = std::string(KAM_BINARY_DIR) + "/" + name;
    args.insert(args.begin(), binary);
    pid_ = testing::SpawnBinary(std::move(args), log_, /*append=*/false);
  }
  ~Binary() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    if (!Eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, seconds(20))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  Binary(const Binary&) = delete;
  Binary& operator=(const Binary&) = delete;

  // Every line of its log, each parsed as JSON (a line that is not JSON fails the test).
  std::vector<nlohmann::json> Lines() const {
    std::ifstream in(log_);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(j.is_discarded()) << name_ << " logged a line that is not JSON: " << line;
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  // The integer field `key` of the first line that has it, waiting for the line.
  int AwaitField(const std::string& key) const {
    int value = -1;
    const bool found = Eventually(
        [&] {
          for (const auto& line : Lines()) {
            if (line.contains(key) && line[key].is_number_integer()) {
              value = line[key].get<int>();
              return true;
            }
          }
          return false;
        },
        seconds(90));
    EXPECT_TRUE(found) << name_ << " never logged \"" << key << "\"; its log is " << log_;
    return value;
  }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

class MetricsScrape : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = (std::filesystem::temp_directory_path() / ("kam-scrape-" + prefix_)).string();
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/tokens") << kTokens;
    // chmod 600: a service refuses a tokens file others can read.
    std::filesystem::permissions(
        dir_ + "/tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Binary> Start(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--listen",
                                     "127.0.0.1:0",
                                     "--metrics-listen",
                                     "127.0.0.1:0",
                                     "--brokers",
                                     testing::SharedBroker(),
                                     "--tokens",
                                     dir_ + "/tokens",
                                     "--topic-prefix",
                                     prefix_,
                                     "--kafka-replication-factor",
                                     "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Binary>(name, std::move(args), dir_ + "/" + name + ".log");
  }

  std::string prefix_;
  std::string dir_;
};

v1::NominateAccountRequest Nomination(const std::string& request_id) {
  v1::NominateAccountRequest req;
  req.mutable_metadata()->set_client_request_id(request_id);
  req.mutable_metadata()->set_correlation_id("onboarding-acme");
  req.set_programme_id("emea-kam");
  req.set_account_id("acme");
  req.set_account_name("ACME Industries");
  req.set_rationale("Top-5 by contribution, multi-site");
  return req;
}

v1::MetricRecorded Revenue(const std::string& record, const std::string& currency) {
  v1::MetricRecorded m;
  m.set_programme_id("emea-kam");
  m.set_account_id("acme");
  m.set_kind(v1::METRIC_KIND_REVENUE);
  m.set_period_start("2025-01-01");
  m.set_period_end("2025-12-31");
  m.mutable_amount()->set_currency(currency);
  m.mutable_amount()->set_minor_units(100000);
  m.set_source_system("erp");
  m.set_source_record_id(record);
  return m;
}

TEST_F(MetricsScrape, EveryBinaryServesMetricsThatMoveAndLogsJsonLines) {
  auto programme = Start("kam-programme-service", {"--inbound-unauthenticated", "true"});
  const int commands_port = programme->AwaitField("port");
  const int programme_metrics = programme->AwaitField("metrics_port");
  auto metrics = Start("kam-metrics-service", {"--inbound", "false"});
  const int metrics_port = metrics->AwaitField("port");
  const int metrics_metrics = metrics->AwaitField("metrics_port");
  auto history = Start("kam-history-projection", {"--data-dir", dir_ + "/history"});
  const int queries_port = history->AwaitField("port");
  const int history_metrics = history->AwaitField("metrics_port");
  auto board = std::make_unique<Binary>(
      "kam-board",
      std::vector<std::string>{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                               "--queries", "127.0.0.1:" + std::to_string(queries_port)},
      dir_ + "/kam-board.log");
  const int board_port = board->AwaitField("port");
  const int board_metrics = board->AwaitField("metrics_port");
  for (int port : {commands_port, programme_metrics, metrics_port, metrics_metrics, queries_port,
                   history_metrics, board_port, board_metrics}) {
    ASSERT_GT(port, 0);
  }

  // Commands: a charter (the platform admin's), kim registered as its key account manager
  // (by the admin, while it has no champion) and kim's nomination accepted, a second
  // nomination rejected by its rule, a retry of the first answered from what was recorded.
  auto commands = v1::ProgrammeCommandService::NewStub(ChannelTo(commands_port));
  auto charter = testing::Charter();
  charter.mutable_metadata()->set_client_request_id(base::NewEventId());
  v1::CharterProgrammeResponse chartered;
  ASSERT_TRUE(commands->CharterProgramme(Context("tok-admin-000").get(), charter, &chartered).ok());
  auto kim =
      testing::Person("kim", "kim@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER});
  kim.mutable_metadata()->set_client_request_id(base::NewEventId());
  v1::RegisterPersonResponse registered;
  ASSERT_TRUE(commands->RegisterPerson(Context("tok-admin-000").get(), kim, &registered).ok());
  const std::string first_id = base::NewEventId();
  v1::NominateAccountResponse nominated;
  ASSERT_TRUE(
      commands->NominateAccount(Context("tok-kim-kam").get(), Nomination(first_id), &nominated)
          .ok());
  v1::NominateAccountResponse again;
  const grpc::Status twice = commands->NominateAccount(Context("tok-kim-kam").get(),
                                                       Nomination(base::NewEventId()), &again);
  ASSERT_EQ(twice.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_EQ(server::DetailOf(twice).rule(), "nomination.unique");
  v1::NominateAccountResponse retried;
  ASSERT_TRUE(
      commands->NominateAccount(Context("tok-kim-kam").get(), Nomination(first_id), &retried).ok());
  ASSERT_TRUE(retried.result().deduplicated());

  const std::string programme_topic = prefix_ + "kam.programme.v1";
  const std::string nominate = "/kam.v1.ProgrammeCommandService/NominateAccount";
  {
    const Samples s = testing::Scrape(programme_metrics);
    EXPECT_EQ(s.Sum("kam_grpc_requests_total", {{"method", nominate}, {"code", "OK"}}), 2);
    EXPECT_EQ(s.Sum("kam_grpc_requests_total", {{"method", nominate}, {"code", "ALREADY_EXISTS"}}),
              1);
    EXPECT_EQ(s.Sum("kam_grpc_requests_total",
                    {{"method", "/kam.v1.ProgrammeCommandService/CharterProgramme"}}),
              1);
    EXPECT_EQ(s.Sum("kam_grpc_request_duration_seconds_count", {{"method", nominate}}), 3);
    auto commanded = [&](const std::string& outcome, const std::string& rule) {
      return s.Sum("kam_commands_total",
                   {{"aggregate_type", "programme"}, {"outcome", outcome}, {"rule", rule}});
    };
    EXPECT_EQ(commanded("accepted", ""), 3);  // the charter, kim's registration, the nomination
    EXPECT_EQ(commanded("rejected", "nomination.unique"), 1);
    EXPECT_EQ(commanded("deduplicated", ""), 1);
    EXPECT_EQ(commanded("unavailable", ""), 0);
    EXPECT_EQ(s.Sum("kam_kafka_transactions_total",
                    {{"topic", programme_topic}, {"outcome", "committed"}}),
              3);
    EXPECT_EQ(s.Sum("kam_kafka_transactions_total", {{"outcome", "aborted"}}), 0);
    EXPECT_EQ(s.Sum("kam_kafka_produce_duration_seconds_count", {{"topic", programme_topic}}), 3);
    EXPECT_EQ(s.Sum("kam_kafka_commit_duration_seconds_count", {{"topic", programme_topic}}), 3);
    EXPECT_EQ(s.Sum("kam_writer_group_commands_count", {{"aggregate_type", "programme"}}), 5);
    EXPECT_EQ(s.Sum("kam_writer_append_duration_seconds_count", {{"aggregate_type", "programme"}}),
              3);
    EXPECT_EQ(s.Sum("kam_transaction_aborts_total", {{"aggregate_type", "programme"}}), 0);
  }

  // Metrics: the ERP registered as the programme's publisher, then a batch with an item the
  // rules reject, which goes to the dead-letter topic.
  ASSERT_TRUE(testing::RegisterPublisher(*commands, "emea-kam").ok());
  auto publisher = v1::MetricsCommandService::NewStub(ChannelTo(metrics_port));
  v1::RecordMetricBatchRequest batch;
  for (const auto& [record, currency] :
       std::vector<std::pair<std::string, std::string>>{{"r1", "EUR"}, {"r2", "euro"}}) {
    auto* item = batch.add_items();
    item->mutable_metadata()->set_client_request_id("batch-" + record);
    *item->mutable_metric() = Revenue(record, currency);
  }
  v1::RecordMetricBatchResponse recorded;
  ASSERT_TRUE(
      publisher->RecordMetricBatch(Context("tok-erp-publish").get(), batch, &recorded).ok());
  ASSERT_EQ(recorded.recorded(), 1u);
  {
    const Samples s = testing::Scrape(metrics_metrics);
    EXPECT_EQ(s.Sum("kam_commands_total",
                    {{"aggregate_type", "account-metrics"}, {"outcome", "accepted"}}),
              1);
    EXPECT_EQ(s.Sum("kam_commands_total",
                    {{"aggregate_type", "account-metrics"}, {"outcome", "rejected"}, {"rule", ""}}),
              1);
    EXPECT_EQ(s.Sum("kam_dead_letters_total",
                    {{"topic", eventlog::DeadLetterTopic(eventlog::InboundMetricsTopic(prefix_))}}),
              1);
    EXPECT_EQ(
        s.Sum("kam_grpc_requests_total",
              {{"method", "/kam.v1.MetricsCommandService/RecordMetricBatch"}, {"code", "OK"}}),
        1);
  }

  // The read side folds the four events; its lag per partition of both topics reaches 0.
  const std::string metrics_topic = prefix_ + "kam.account-metrics.v1";
  Samples folded;
  ASSERT_TRUE(Eventually([&] {
    folded = testing::Scrape(history_metrics);
    return folded.Sum("kam_fold_records_total", {{"topic", programme_topic}}) == 4 &&
           folded.Sum("kam_fold_records_total", {{"topic", metrics_topic}}) == 1 &&
           folded.Sum("kam_projection_caught_up") == 3;
  })) << "the read side did not fold the five events";
  for (const std::string& topic : {programme_topic, metrics_topic}) {
    for (const char* partition : {"0", "1", "2"}) {
      EXPECT_TRUE(folded.Has("kam_consumer_lag", {{"topic", topic}, {"partition", partition}}))
          << topic << "/" << partition;
    }
    EXPECT_EQ(folded.Sum("kam_consumer_lag", {{"topic", topic}}), 0) << topic;
    EXPECT_GE(folded.Sum("kam_fold_batch_duration_seconds_count", {{"topic", topic}}), 1);
  }
  EXPECT_GT(folded.Sum("kam_rocksdb_estimated_keys", {{"path", dir_ + "/history"}}), 0);
  EXPECT_TRUE(folded.Has("kam_rocksdb_memtables_bytes", {{"path", dir_ + "/history"}}));
  EXPECT_TRUE(folded.Has("kam_rocksdb_block_cache_usage_bytes", {{"path", dir_ + "/history"}}));
  EXPECT_TRUE(folded.Has("kam_rocksdb_sst_files_bytes", {{"path", dir_ + "/history"}}));

  // GetProjectionStatus agrees: the ends are known (they were not before) and the lag is 0.
  auto queries = v1::HistoryQueryService::NewStub(ChannelTo(queries_port));
  v1::GetProjectionStatusResponse status;
  ASSERT_TRUE(queries->GetProjectionStatus(Context("tok-bob-board").get(), {}, &status).ok());
  EXPECT_EQ(status.lag(), 0);
  EXPECT_TRUE(status.caught_up());
  ASSERT_EQ(status.partitions_size(), 7)
      << "three partitions of each event topic, one of checkpoints";
  int with_records = 0;
  for (const auto& p : status.partitions()) {
    EXPECT_TRUE(p.topic() == programme_topic || p.topic() == metrics_topic ||
                p.topic() == prefix_ + "kam.checkpoints.v1")
        << p.topic();
    EXPECT_GE(p.end_offset(), p.next_offset()) << p.topic() << "/" << p.partition();
    // A partition with folded records has a digest; an untouched one has none yet.
    EXPECT_EQ(p.fold_digest().size(), p.next_offset() > 0 ? 64u : 0u)
        << p.topic() << "/" << p.partition();
    with_records += p.next_offset() > 0;
  }
  EXPECT_GE(with_records, 2);
  EXPECT_EQ(
      testing::Scrape(history_metrics)
          .Sum("kam_grpc_requests_total",
               {{"method", "/kam.v1.HistoryQueryService/GetProjectionStatus"}, {"code", "OK"}}),
      1);

  // The board counts its requests by route and status.
  httplib::Client http("127.0.0.1", board_port);
  auto session = http.Get("/api/session");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 200);
  auto missing = http.Get("/~nothing");  // no route takes it
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  Samples b;
  ASSERT_TRUE(Eventually([&] {
    b = testing::Scrape(board_metrics);
    return b.Sum("kam_http_requests_total", {{"route", "other"}}) == 1;
  }));
  EXPECT_EQ(b.Sum("kam_http_requests_total", {{"route", "GET /api/session"}, {"code", "200"}}), 1);
  EXPECT_EQ(b.Sum("kam_http_requests_total", {{"route", "other"}, {"code", "404"}}), 1);
  EXPECT_EQ(b.Sum("kam_http_request_duration_seconds_count", {{"route", "GET /api/session"}}), 1);
  EXPECT_EQ(b.Sum("kam_board_feed_clients"), 0);
  auto health = httplib::Client("127.0.0.1", board_metrics).Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "ok\n");

  // Every line every binary logged is a JSON object with time, level, program and message.
  for (const auto* bin : {programme.get(), metrics.get(), history.get(), board.get()}) {
    for (const auto& line : bin->Lines()) {
      for (const char* key : {"ts", "level", "program", "msg"}) {
        EXPECT_TRUE(line.contains(key)) << line.dump();
      }
    }
  }
  const auto serving = programme->Lines();
  EXPECT_TRUE(std::any_of(serving.begin(), serving.end(), [](const nlohmann::json& l) {
    return l["program"] == "kam-programme-service" && l["level"] == "info" &&
           l["msg"].get<std::string>().find("serving ProgrammeCommandService") == 0;
  }));
}

// --- The lag of a projection runtime whose fold is held ---------------------------------------

// Folds nothing until opened; counts what it folds.
class HeldFold final : public readmodel::Projection {
 public:
  absl::Status Fold(const eventlog::ConsumedRecord&, readmodel::FoldContext&) override {
    std::unique_lock<std::mutex> lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    ++folded_;
    return absl::OkStatus();
  }
  void AwaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(30), [&] { return held_; })) << "nothing to fold";
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool open_ = false;
  int folded_ = 0;
};

TEST_F(MetricsScrape, TheConsumerLagIsWhatTheFoldHasStillToReadPerPartitionUntilItCatchesUp) {
  const eventlog::KafkaOptions kafka = testing::SharedKafka();
  const std::string topic = prefix_ + "lag.v1";
  ASSERT_TRUE(eventlog::EnsureTopic(kafka, topic, 3).ok());
  auto producer = eventlog::TransactionalProducer::Create(kafka, prefix_ + "lag-filler");
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto records = [](int n) {
    std::vector<eventlog::Record> out;
    for (int i = 0; i < n; ++i) out.push_back({"k" + std::to_string(i), "v"});
    return out;
  };
  // Partition 0: five records and the transaction's commit marker; partition 1: three and
  // its marker; partition 2: nothing.
  ASSERT_TRUE((*producer)->Append(topic, 0, records(5)).ok());
  ASSERT_TRUE((*producer)->Append(topic, 1, records(3)).ok());
  ASSERT_TRUE((*producer)->AppendAndAbort(topic, records(1)).ok());  // never visible

  auto endpoint = server::MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const int port = (*endpoint)->port();
  const Samples at_start = testing::Scrape(port);
  EXPECT_EQ(
      at_start.Sum("kam_kafka_transactions_total", {{"topic", topic}, {"outcome", "aborted"}}), 1);
  EXPECT_EQ(
      at_start.Sum("kam_kafka_transactions_total", {{"topic", topic}, {"outcome", "committed"}}),
      2);

  auto store = readmodel::Store::Open(dir_ + "/store", {});
  ASSERT_TRUE(store.ok());
  HeldFold fold;
  readmodel::ProjectionRuntime runtime(kafka, **store, fold, {.topic = topic});
  ASSERT_TRUE(runtime.Start().ok());
  fold.AwaitHeld();

  // Held on its first record: nothing is folded, every offset up to each end is still to go
  // (the aborted transaction's record and markers count as offsets in the log too).
  const auto progress = runtime.progress();
  const Samples held = testing::Scrape(port);
  auto lag = [&](const Samples& s, const char* partition) {
    return s.Sum("kam_consumer_lag", {{"topic", topic}, {"partition", partition}});
  };
  EXPECT_EQ(lag(held, "0"), static_cast<double>(progress.end_offsets.at(0)));
  EXPECT_GE(lag(held, "0"), 6);
  EXPECT_GE(lag(held, "1"), 4);
  EXPECT_GT(held.Sum("kam_consumer_lag", {{"topic", topic}}), 0);
  EXPECT_EQ(held.Sum("kam_consumer_lag", {{"topic", topic}}), progress.lag)
      << "the gauge and GetProjectionStatus's lag are one figure";
  EXPECT_EQ(progress.partition_lag.size(), 3u);
  EXPECT_EQ(held.Sum("kam_fold_records_total", {{"topic", topic}}), 0);
  EXPECT_EQ(held.Sum("kam_projection_caught_up", {{"topic", topic}}), 0);

  fold.Open();
  ASSERT_TRUE(runtime.WaitCaughtUp(seconds(30)).ok());
  Samples caught_up = testing::Scrape(port);
  for (const char* partition : {"0", "1", "2"}) EXPECT_EQ(lag(caught_up, partition), 0);
  EXPECT_EQ(caught_up.Sum("kam_fold_records_total", {{"topic", topic}}), 8);
  EXPECT_EQ(caught_up.Sum("kam_projection_caught_up", {{"topic", topic}}), 1);
  EXPECT_EQ(runtime.progress().lag, 0);

  // More records: folded as they come, the counter moves on and the lag returns to 0.
  ASSERT_TRUE((*producer)->Append(topic, 2, records(4)).ok());
  ASSERT_TRUE(Eventually([&] {
    caught_up = testing::Scrape(port);
    return caught_up.Sum("kam_fold_records_total", {{"topic", topic}}) == 12 &&
           caught_up.Sum("kam_consumer_lag", {{"topic", topic}}) == 0;
  }));
  runtime.Stop();
}

}  // namespace
}  // namespace kam
