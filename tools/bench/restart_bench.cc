// kam-restart-bench: how long a command service takes to start over a long log, with and
// without a snapshot. Fills a fresh account-metrics topic with N sealed events (spread over
// many accounts), then measures in one run:
//   baseline  Start() replaying the whole log (no snapshot)
//   snapshot  Start() from a snapshot taken at N, plus a tail of N/100 events
//
//   build/bin/kam-restart-bench --brokers 127.0.0.1:9092 --events 1000000 --accounts 1000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "base/strings.h"
#include "domain/metrics.h"
#include "eventlog/producer.h"
#include "support/metric_events.h"
#include "writer/aggregate_writer.h"
#include "writer/kafka_event_log.h"

namespace {

using Clock = std::chrono::steady_clock;
using Writer = kam::writer::AggregateWriter<kam::domain::MetricsState>;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Arg(int argc, char** argv, const std::string& name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return fallback;
}

void Die(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::cerr << what << ": " << s << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("KAM_KAFKA_BROKERS");
  kam::eventlog::KafkaOptions kafka;
  kafka.brokers = Arg(argc, argv, "brokers", env != nullptr ? env : "127.0.0.1:9092");
  const long events = std::atol(Arg(argc, argv, "events", "1000000").c_str());
  const long accounts = std::atol(Arg(argc, argv, "accounts", "1000").c_str());
  const std::string prefix = kam::base::StrCat("bench-", getpid(), "-");
  const std::string topic =
      kam::eventlog::AggregateTopic(prefix, kam::domain::kMetricsAggregateType);
  const std::string dir = std::filesystem::temp_directory_path() / (prefix + "snapshots");
  Die(kam::eventlog::EnsureTopic(kafka, topic, 3), "topic");

  kam::testing::MetricEventFactory factory;
  auto fill = [&](long n) {
    auto producer = kam::eventlog::TransactionalProducer::Create(kafka, prefix + "filler");
    Die(producer.status(), "producer");
    std::map<int32_t, std::vector<kam::eventlog::Record>> batch;
    std::size_t pending = 0;
    auto flush = [&] {
      for (auto& [p, records] : batch) {
        if (!records.empty()) {
          Die((*producer)->Append(topic, p, records, std::chrono::seconds(120)).status(), "append");
        }
        records.clear();
      }
      pending = 0;
    };
    for (long i = 0; i < n; ++i) {
      auto [id, bytes] = factory.Next("emea-kam", "acct-" + std::to_string(i % accounts));
      batch[kam::eventlog::PartitionFor(id, 3)].push_back({id, std::move(bytes)});
      if (++pending == 20000) flush();
    }
    flush();
  };
  auto start_writer = [&](bool snapshots, double& seconds, uint64_t& replayed) {
    kam::writer::WriterOptions o{.topic = topic,
                                 .aggregate_type = std::string(kam::domain::kMetricsAggregateType),
                                 .transactional_id = prefix + "writer",
                                 .snapshot_dir = snapshots ? dir : "",
                                 .snapshot_every_events = UINT64_MAX};
    auto w = std::make_unique<Writer>(
        kam::writer::KafkaEventLog(kafka, std::chrono::seconds(10)), o,
        static_cast<Writer::EvolveFn>(&kam::domain::Evolve),
        kam::writer::SnapshotCodec<kam::domain::MetricsState>{&kam::domain::EncodeSnapshot,
                                                              &kam::domain::DecodeMetricsSnapshot});
    const auto t = Clock::now();
    Die(w->Start(), "start");
    seconds = Seconds(t);
    replayed = 0;
    for (const auto& [p, l] : w->load_stats()) replayed += l.records_replayed;
    return w;
  };

  std::printf("kam-restart-bench: %ld events over %ld accounts, topic %s, 3 partitions\n", events,
              accounts, topic.c_str());
  auto t = Clock::now();
  fill(events);
  std::printf("fill           %8.2f s  (%.0f events/s appended in transactions of 20000)\n",
              Seconds(t), static_cast<double>(events) / Seconds(t));

  double full_s = 0;
  uint64_t full_n = 0;
  {
    auto w = start_writer(false, full_s, full_n);
    std::printf("baseline start %8.2f s  replayed %llu events (%.0f events/s), no snapshot\n",
                full_s, static_cast<unsigned long long>(full_n),
                static_cast<double>(full_n) / full_s);
  }
  {
    double s = 0;
    uint64_t n = 0;
    auto w = start_writer(true, s, n);
    t = Clock::now();
    Die(w->SnapshotAll(), "snapshot");
    uintmax_t bytes = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) bytes += f.file_size();
    std::printf("snapshot write %8.2f s  %.1f MB\n", Seconds(t), static_cast<double>(bytes) / 1e6);
  }
  fill(events / 100);
  double snap_s = 0;
  uint64_t snap_n = 0;
  { auto w = start_writer(true, snap_s, snap_n); }
  std::printf("snapshot start %8.2f s  replayed %llu tail events after the snapshot\n", snap_s,
              static_cast<unsigned long long>(snap_n));
  std::printf("speed-up       %8.1fx\n", full_s / snap_s);
  std::filesystem::remove_all(dir);
  return 0;
}
