// kam-bench: drives the running platform (its real binaries, started here against a real
// broker) and prints each figure beside a baseline measured in the same run:
//
//   ingestion     RecordMetricBatch, StreamMetrics and the inbound topic, events/s, against
//                 raw librdkafka at the same durability (acks=all, idempotent): transactions
//                 of the same batch size, and plain idempotent production
//   commands      closed-loop maximum with 16 and 64 callers, and open-loop latency
//                 p50/p99/p99.9 at fixed offered rates (scheduled send times, so coordinated
//                 omission cannot hide queueing), against raw one-record transactions
//   rebuild       the read model from offset zero (records/s, peak RSS) against raw
//                 read_committed consumption + RocksDB WriteBatch, and a Kafka Streams peer
//                 (EOS v2, persistent store) in full mode
//   personal      sealing and opening an event's personal fields (AES-256-GCM, per person)
//                 on one core, against the same event in the clear; with --programme-flags
//                 etc. "--key-dir DIR" every other section runs with personal data sealed
//   queries       a history page of an account with many events, GetProgramme and
//                 GetScorecard on a programme of 25 accounts, freshness (ack -> visible)
//
//   build/bin/kam-bench --brokers 127.0.0.1:9092            # full run (minutes)
//   build/bin/kam-bench --quick --brokers ...               # a smoke run (the test command)
//   --json FILE / --markdown FILE write the report; it is printed as Markdown in any case.
//
// No figure is asserted: a benchmark reports, it does not pass or fail on a noisy machine.
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafkacpp.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"
#include "google/protobuf/util/time_util.h"
#include "kam/v1/governance_service.grpc.pb.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "kam/v1/metrics_service.grpc.pb.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "personal/seal.h"
#include "tools/bench/platform.h"

namespace kam::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "kam-bench: " << what << "\n";
  std::exit(1);
}
void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Die(base::StrCat(what, ": ", s.ToString()));
}
void Check(const grpc::Status& s, const std::string& what) {
  if (!s.ok()) Die(base::StrCat(what, ": ", s.error_message()));
}

struct Options {
  bool quick = false;
  std::string brokers;
  std::string bin_dir;
  std::string json_out;
  std::string markdown_out;
  std::string streams_peer_jar;            // empty: no Kafka Streams peer
  std::vector<std::string> metrics_flags;  // extra flags for kam-metrics-service
  std::vector<std::string> programme_flags;
  std::vector<std::string> queries_flags;
  std::set<std::string> only;  // empty: every section
};

// One line of the report.
struct Figure {
  std::string section;
  std::string name;
  double ours = 0;
  std::string unit;
  std::string baseline_name;
  double baseline = 0;
  std::string goal;
  std::string note;
};

class Report {
 public:
  void Add(Figure f) {
    std::cerr << "  " << f.section << " / " << f.name << ": " << Fixed(f.ours, f.ours < 10 ? 2 : 0)
              << " " << f.unit
              << (f.baseline_name.empty()
                      ? ""
                      : base::StrCat(" (", f.baseline_name, ": ",
                                     Fixed(f.baseline, f.baseline < 10 ? 2 : 0), ")"))
              << "\n";
    figures_.push_back(std::move(f));
  }
  std::string Markdown() const {
    std::string out =
        "| section | figure | ours | baseline (same run) | ratio | goal "
        "|\n|---|---|---|---|---|---|\n";
    for (const auto& f : figures_) {
      const std::string ratio = f.baseline > 0 ? Fixed(f.ours / f.baseline, 2) : std::string("—");
      base::StrAppend(
          &out, "| ", f.section, " | ", f.name, " | ", Fixed(f.ours, f.ours < 10 ? 2 : 0), " ",
          f.unit, " | ",
          f.baseline_name.empty()
              ? std::string("—")
              : base::StrCat(f.baseline_name, ": ", Fixed(f.baseline, f.baseline < 10 ? 2 : 0)),
          " | ", ratio, " | ", f.goal, f.note.empty() ? "" : " (" + f.note + ")", " |\n");
    }
    return out;
  }
  json Json() const {
    json out = json::array();
    for (const auto& f : figures_) {
      out.push_back({{"section", f.section},
                     {"figure", f.name},
                     {"ours", f.ours},
                     {"unit", f.unit},
                     {"baseline", f.baseline_name},
                     {"baseline_value", f.baseline},
                     {"goal", f.goal},
                     {"note", f.note}});
    }
    return out;
  }

 private:
  static std::string Fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
  }
  std::vector<Figure> figures_;
};

struct Latencies {
  std::vector<double> ms;
  double Percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    const std::size_t i =
        std::min(s.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(s.size())));
    return s[i];
  }
};

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int seconds = 60) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

std::shared_ptr<grpc::Channel> Channel(int port) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Separate subchannels so that many callers are not serialised on one HTTP/2 connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(base::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

v1::MetricRecorded Metric(const std::string& programme, const std::string& account, long n) {
  v1::MetricRecorded m;
  m.set_programme_id(programme);
  m.set_account_id(account);
  m.set_kind(v1::METRIC_KIND_COST_TO_SERVE);
  m.set_activity("logistics");
  m.set_period_start("2025-01-01");
  m.set_period_end("2025-01-31");
  m.mutable_amount()->set_currency("EUR");
  m.mutable_amount()->set_minor_units(100000 + n);
  m.set_source_system("bench");
  m.set_source_record_id(base::StrCat("rec-", n));
  return m;
}

// --- Raw librdkafka baselines --------------------------------------------------------------

struct DeliveryCounter : public RdKafka::DeliveryReportCb {
  std::atomic<long> failed{0};
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) ++failed;
  }
};

std::unique_ptr<RdKafka::Producer> RawProducer(const std::string& brokers,
                                               const std::string& transactional_id,
                                               DeliveryCounter* dr) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("enable.idempotence", "true", err);
  conf->set("acks", "all", err);
  conf->set("linger.ms", "5", err);
  conf->set("dr_cb", dr, err);
  if (!transactional_id.empty()) conf->set("transactional.id", transactional_id, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) Die("raw producer: " + err);
  if (!transactional_id.empty()) {
    if (RdKafka::Error* e = p->init_transactions(30000); e != nullptr) Die(e->str());
  }
  return p;
}

// `producers` transactional producers (one per partition) appending `total` records of
// `record_bytes` in transactions of `per_transaction`; records/s.
double RawTransactional(const std::string& brokers, const std::string& topic, int producers,
                        long total, int per_transaction, std::size_t record_bytes,
                        Latencies* latency = nullptr) {
  std::vector<std::thread> threads;
  std::mutex mu;
  // Producers are created (and their transactional ids registered) before the clock starts:
  // the platform's writers are running already when it is measured.
  std::vector<DeliveryCounter> reports(static_cast<std::size_t>(producers));
  std::vector<std::unique_ptr<RdKafka::Producer>> made;
  for (int p = 0; p < producers; ++p) {
    made.push_back(RawProducer(brokers, base::StrCat(topic, "-raw-", p, "-", getpid()),
                               &reports[static_cast<std::size_t>(p)]));
  }
  const auto start = Clock::now();
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto& producer = made[static_cast<std::size_t>(p)];
      const std::string value(record_bytes, 'x');
      const long mine = total / producers;
      Latencies local;
      for (long done = 0; done < mine;) {
        const auto t = Clock::now();
        if (RdKafka::Error* e = producer->begin_transaction(); e != nullptr) Die(e->str());
        for (int i = 0; i < per_transaction && done < mine; ++i, ++done) {
          while (producer->produce(topic, p, RdKafka::Producer::RK_MSG_COPY,
                                   const_cast<char*>(value.data()), value.size(), "k", 1, 0,
                                   nullptr) == RdKafka::ERR__QUEUE_FULL) {
            producer->poll(1);
          }
        }
        if (RdKafka::Error* e = producer->commit_transaction(60000); e != nullptr) Die(e->str());
        local.ms.push_back(Since(t) * 1000);
      }
      if (latency != nullptr) {
        std::lock_guard<std::mutex> lock(mu);
        latency->ms.insert(latency->ms.end(), local.ms.begin(), local.ms.end());
      }
    });
  }
  for (auto& t : threads) t.join();
  return static_cast<double>(total) / Since(start);
}

// One idempotent acks=all producer without transactions; records/s.
double RawIdempotent(const std::string& brokers, const std::string& topic, long total,
                     std::size_t record_bytes) {
  DeliveryCounter dr;
  auto producer = RawProducer(brokers, "", &dr);
  const std::string value(record_bytes, 'x');
  const auto start = Clock::now();
  for (long i = 0; i < total; ++i) {
    while (producer->produce(topic, static_cast<int32_t>(i % 3), RdKafka::Producer::RK_MSG_COPY,
                             const_cast<char*>(value.data()), value.size(), "k", 1, 0,
                             nullptr) == RdKafka::ERR__QUEUE_FULL) {
      producer->poll(1);
    }
  }
  producer->flush(120000);
  return static_cast<double>(total) / Since(start);
}

// Raw read_committed consumption of every partition of `topics` at once (a plain
// librdkafka consumer with its default queues) into one RocksDB WriteBatch per 1,000
// records (value under its position, plus the offsets): records/s over `expected`.
double RawRebuild(const std::string& brokers, const std::vector<std::string>& topics, long expected,
                  const std::string& dir) {
  std::filesystem::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir, &raw).ok()) Die("rocksdb open " + dir);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", base::StrCat("kam-bench-raw-", getpid()), err);
  conf->set("isolation.level", "read_committed", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("enable.partition.eof", "true", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) Die("raw consumer: " + err);
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto& topic : topics) {
    for (int32_t p = 0; p < 3; ++p) {
      parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  const auto t0 = Clock::now();
  if (consumer->assign(parts) != RdKafka::ERR_NO_ERROR) Die("raw assign");
  const std::size_t partitions = parts.size();
  RdKafka::TopicPartition::destroy(parts);
  long done = 0;
  std::set<std::pair<std::string, int32_t>> ended;
  rocksdb::WriteBatch wb;
  long in_batch = 0;
  auto flush = [&] {
    if (in_batch == 0) return;
    if (!db->Write(rocksdb::WriteOptions(), &wb).ok()) Die("raw rocksdb write");
    wb.Clear();
    in_batch = 0;
  };
  while (ended.size() < partitions && done < expected) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      ended.insert({m->topic_name(), m->partition()});
      flush();
      continue;
    }
    if (m->err() == RdKafka::ERR__TIMED_OUT) {
      flush();
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) Die("raw consume: " + m->errstr());
    wb.Put(base::StrCat(m->topic_name(), "/", m->partition(), "/", m->offset()),
           rocksdb::Slice(static_cast<const char*>(m->payload()), m->len()));
    wb.Put(base::StrCat("~offset/", m->topic_name(), "/", m->partition()),
           std::to_string(m->offset() + 1));
    ++done;
    if (++in_batch == 1000) flush();
  }
  flush();
  consumer->close();
  return static_cast<double>(done) / Since(t0);
}

// --- The platform --------------------------------------------------------------------------

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  void Run() {
    PlatformOptions po{.bin_dir = o_.bin_dir, .brokers = o_.brokers};
    po.extra_flags["kam-metrics-service"] = o_.metrics_flags;
    po.extra_flags["kam-programme-service"] = o_.programme_flags;
    po.extra_flags["kam-history-projection"] = o_.queries_flags;
    platform_ = std::make_unique<Platform>(po);
    std::cerr << "kam-bench: starting the platform (topic prefix " << platform_->prefix() << ")\n";
    Check(platform_->Start(), "platform");
    commands_ = v1::ProgrammeCommandService::NewStub(Channel(platform_->port("commands")));
    metrics_ = v1::MetricsCommandService::NewStub(Channel(platform_->port("metrics")));
    history_ = v1::HistoryQueryService::NewStub(Channel(platform_->port("queries")));
    governance_ = v1::GovernanceQueryService::NewStub(Channel(platform_->port("queries")));
    auto wanted = [&](const char* section) { return o_.only.empty() || o_.only.contains(section); };
    if (wanted("ingestion")) Ingestion();
    if (wanted("commands")) Commands();
    if (wanted("queries")) Queries();
    if (wanted("rebuild")) Rebuild();
    if (wanted("integrity")) Integrity();
    if (wanted("personal")) Personal();
    platform_->Stop();
    std::filesystem::remove_all(platform_->dir());
  }

  const Report& report() const { return report_; }

 private:
  long Scale(long quick, long full) const { return o_.quick ? quick : full; }

  // How many times a second `step` runs, over `n` runs on this thread.
  static double PerSecond(long n, const std::function<void()>& step) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) step();
    return n / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // The cost of event signatures on one core: sealing an envelope of the size the platform
  // writes (a MetricRecorded) with and without an Ed25519 signature, and opening it with
  // the hash alone or with the signature checked against a keyring.
  void Integrity() {
    std::cerr << "kam-bench: integrity (signing and verifying)\n";
    const std::string dir = platform_->dir() + "/keys";
    std::filesystem::create_directories(dir);
    const std::string key = dir + "/writer.pem";
    const std::string ring = dir + "/keyring.pem";
    auto sh = [](const std::string& cmd) {
      if (std::system(cmd.c_str()) != 0) Die("integrity: " + cmd + " failed");
    };
    sh(base::StrCat("umask 077 && openssl genpkey -algorithm ed25519 -out ", key));
    sh(base::StrCat("openssl pkey -in ", key, " -pubout > ", ring));
    auto integrity = eventlog::LoadIntegrity(key, ring);
    Check(integrity.status(), "integrity keys");
    v1::EventEnvelope env;
    env.set_event_id(base::NewEventId());
    env.set_aggregate_type(std::string(domain::kMetricsAggregateType));
    env.set_aggregate_id("bench-kam:account-0001");
    env.set_aggregate_version(1);
    env.set_actor("erp@supplier.example");
    env.set_client_request_id("bench-0000000001");
    env.set_previous_hash(std::string(32, 'x'));
    auto* m = env.mutable_event()->mutable_metric_recorded();
    m->set_programme_id("bench-kam");
    m->set_account_id("account-0001");
    m->set_source_system("erp");
    m->set_source_record_id("r-000000001");
    m->set_kind(v1::METRIC_KIND_REVENUE);
    m->set_period_start("2026-01-01");
    m->set_period_end("2026-01-31");
    m->mutable_amount()->set_currency("EUR");
    m->mutable_amount()->set_minor_units(123456789);
    const long n = Scale(5000, 100000);
    auto rate = [n](const std::function<void()>& step) { return PerSecond(n, step); };
    std::string plain_bytes;
    std::string signed_bytes;
    const double seal = rate([&] { plain_bytes = eventlog::Seal(env); });
    const double seal_signed =
        rate([&] { signed_bytes = eventlog::Seal(env, integrity->signer.get()); });
    const double open = rate([&] { (void)eventlog::Open(signed_bytes); });
    const double open_verified =
        rate([&] { (void)eventlog::Open(signed_bytes, integrity->keyring.get()); });
    report_.Add({"integrity", "seal an event, signed (Ed25519)", seal_signed, "events/s",
                 "hash only, unsigned", seal});
    report_.Add({"integrity", "open an event, signature verified", open_verified, "events/s",
                 "hash only", open});
    report_.Add({"integrity", "stored event size, signed", static_cast<double>(signed_bytes.size()),
                 "bytes", "unsigned", static_cast<double>(plain_bytes.size())});
  }
  // The cost of personal data on one core: a sponsor visit as the programme service writes
  // it (the sponsor's notes, the actor a person), sealed with and without its personal
  // fields sealed, and opened (parsed) with and without them opened again.
  void Personal() {
    std::cerr << "kam-bench: personal data (sealing and opening)\n";
    auto keys = personal::OpenFileKeyStore(platform_->dir() + "/personal-keys");
    Check(keys.status(), "key store");
    personal::Sealer sealer(**keys);
    personal::Revealer revealer(**keys);
    v1::EventEnvelope env;
    env.set_event_id(base::NewEventId());
    env.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
    env.set_aggregate_id("bench-kam");
    env.set_aggregate_version(1);
    env.set_actor("sponsor@supplier.example");
    env.set_client_request_id("bench-0000000001");
    env.set_previous_hash(std::string(32, 'x'));
    auto* v = env.mutable_event()->mutable_sponsor_visit_logged();
    v->set_programme_id("bench-kam");
    v->set_account_id("account-0001");
    v->set_person_id("sponsor");
    v->set_visit_date("2026-11-27");
    v->set_notes(
        "Met the CFO and the head of procurement about the 2027 framework agreement; "
        "they want quarterly business reviews.");
    personal::Whose whose;
    whose.person_of = [](std::string_view p) {
      return p == "sponsor@supplier.example" ? std::string("sponsor") : std::string();
    };
    whose.author = "sponsor";
    const long n = Scale(5000, 100000);
    auto rate = [n](const std::function<void()>& step) { return PerSecond(n, step); };
    std::string clear_bytes;
    std::string sealed_bytes;
    const double clear = rate([&] { clear_bytes = eventlog::Seal(env); });
    const double sealed = rate([&] {
      v1::EventEnvelope copy = env;
      Check(sealer.Seal(copy, "bench-kam", whose), "seal");
      sealed_bytes = eventlog::Seal(copy);
    });
    const double copied = rate([&] {
      v1::EventEnvelope copy = env;
      clear_bytes = eventlog::Seal(copy);
    });
    const double open = rate([&] { (void)eventlog::Open(sealed_bytes); });
    const double opened = rate([&] {
      auto o = eventlog::Open(sealed_bytes);
      revealer.Reveal(o->envelope);
    });
    report_.Add({"personal", "seal a sponsor visit, personal fields sealed (2 values)", sealed,
                 "events/s", "hash only, in the clear", clear, "",
                 base::StrCat("copying the envelope alone: ", static_cast<long>(copied), "/s")});
    report_.Add(
        {"personal", "open it, personal fields opened", opened, "events/s", "parse only", open});
    report_.Add({"personal", "stored event size, sealed", static_cast<double>(sealed_bytes.size()),
                 "bytes", "in the clear", static_cast<double>(clear_bytes.size())});
    PersonalFold(sealer, revealer);
  }

  // Rebuilding a programme's state from its log, as a writer's replay and the views' first
  // fold do: one history of 50 people, nominations with rationales, sponsor visits with
  // notes and reviews, opened and folded with its personal fields sealed, against the same
  // history in the clear.
  void PersonalFold(personal::Sealer& sealer, personal::Revealer& revealer) {
    const long n = Scale(5000, 100000);
    std::vector<std::string> clear;
    std::vector<std::string> sealed;
    clear.reserve(n);
    sealed.reserve(n);
    personal::Whose whose;
    whose.person_of = [](std::string_view principal) {
      const auto at = principal.find('@');
      return at == std::string_view::npos ? std::string() : std::string(principal.substr(0, at));
    };
    for (long i = 0; i < n; ++i) {
      const std::string person = base::StrCat("p", i % 50);
      const std::string principal = base::StrCat(person, "@supplier.example");
      const std::string account = base::StrCat("a", i % 500);
      v1::EventEnvelope env;
      env.set_event_id(base::NewEventId());
      env.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
      env.set_aggregate_id("bench-kam");
      env.set_aggregate_version(static_cast<uint64_t>(i + 1));
      env.set_actor(principal);
      env.set_client_request_id(base::StrCat("r", i));
      env.mutable_occurred_at()->set_seconds(1767225600 + i);
      v1::Event& e = *env.mutable_event();
      if (i == 0) {
        e.mutable_programme_chartered()->set_programme_id("bench-kam");
      } else if (i <= 50) {
        auto* r = e.mutable_person_registered();
        r->set_programme_id("bench-kam");
        r->set_person_id(base::StrCat("p", i - 1));
        r->set_name(base::StrCat("Person Number ", i - 1));
        r->set_principal(base::StrCat("p", i - 1, "@supplier.example"));
        r->add_functions(v1::PERSON_FUNCTION_EXECUTIVE);
      } else if (i % 3 == 0) {
        auto* a = e.mutable_account_nominated();
        a->set_programme_id("bench-kam");
        a->set_account_id(account);
        a->set_account_name("Account Ltd");
        a->set_rationale("Top-5 by contribution, multi-site, joint product development");
        a->set_nominated_by(principal);
        a->set_nominated_by_person(person);
      } else if (i % 3 == 1) {
        auto* v = e.mutable_sponsor_visit_logged();
        v->set_programme_id("bench-kam");
        v->set_account_id(account);
        v->set_person_id(person);
        v->set_visit_date("2026-01-02");
        v->set_notes("Met the CFO about the 2027 framework agreement");
      } else {
        auto* r = e.mutable_account_reviewed();
        r->set_programme_id("bench-kam");
        r->set_account_id(account);
        r->set_outcome(v1::REVIEW_OUTCOME_RETAIN);
        r->set_notes("On plan; retain");
        r->set_reviewed_by(principal);
      }
      clear.push_back(eventlog::Seal(env));
      Check(sealer.Seal(env, "bench-kam", whose), "seal");
      sealed.push_back(eventlog::Seal(env));
    }
    auto fold = [&](const std::vector<std::string>& log, bool open) {
      domain::ProgrammeState state;
      const auto start = std::chrono::steady_clock::now();
      for (const std::string& bytes : log) {
        auto o = eventlog::Open(bytes);
        if (!o.ok()) Die("fold: an event does not open");
        if (open) revealer.Reveal(o->envelope);
        domain::Evolve(state, o->envelope);
      }
      const double rate =
          static_cast<double>(log.size()) /
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (state.people.size() != 50 || state.people.at("p7").name != "Person Number 7") {
        Die("fold: the state is not the history's");
      }
      return rate;
    };
    const double in_clear = fold(clear, false);
    const double opened = fold(sealed, true);
    report_.Add({"personal",
                 base::StrCat("fold a programme's history of ", n,
                              " events, personal fields opened (replay, first view)"),
                 opened, "events/s", "the same history in the clear", in_clear});
  }

  std::string Topic(std::string_view type) const {
    return eventlog::AggregateTopic(platform_->prefix(), type);
  }
  // Committed records of `topic` (an independent read_committed reader).
  long CountRecords(const std::string& topic) {
    long n = 0;
    Check(eventlog::ReadAll({.brokers = o_.brokers}, topic,
                            [&](const eventlog::ConsumedRecord&) {
                              ++n;
                              return absl::OkStatus();
                            }),
          "count " + topic);
    return n;
  }

  void Ingestion() {
    std::cerr << "kam-bench: ingestion\n";
    const long n = Scale(20000, 300000);
    const long accounts = 300;
    const std::string publisher = platform_->token("publisher");
    Charter("bench");  // the programme whose publisher the ERP is
    // RecordMetricBatch of 1,000 items from 4 callers.
    {
      std::atomic<long> next{0};
      std::vector<std::thread> callers;
      const auto t0 = Clock::now();
      for (int c = 0; c < 4; ++c) {
        callers.emplace_back([&] {
          while (true) {
            const long from = next.fetch_add(1000);
            if (from >= n) return;
            v1::RecordMetricBatchRequest batch;
            for (long i = from; i < std::min(n, from + 1000); ++i) {
              auto* item = batch.add_items();
              item->mutable_metadata()->set_client_request_id(base::StrCat("batch-", i));
              *item->mutable_metric() = Metric("bench", base::StrCat("acct-", i % accounts), i);
            }
            v1::RecordMetricBatchResponse resp;
            Check(metrics_->RecordMetricBatch(Ctx(publisher, 300).get(), batch, &resp), "batch");
            if (resp.rejected() != 0)
              Die(base::StrCat("batch rejected ", resp.rejected(), ": ", resp.outcomes(0).error()));
          }
        });
      }
      for (auto& t : callers) t.join();
      batch_rate_ = static_cast<double>(n) / Since(t0);
    }
    metric_events_ += n;
    // StreamMetrics: two pipelined streams.
    double stream_rate = 0;
    {
      const long per = n / 2;
      std::vector<std::thread> streams;
      const auto t0 = Clock::now();
      for (int s = 0; s < 2; ++s) {
        streams.emplace_back([&, s] {
          auto ctx = Ctx(publisher, 600);
          auto stream = metrics_->StreamMetrics(ctx.get());
          std::thread reader([&] {
            v1::StreamMetricsResponse resp;
            long got = 0;
            while (stream->Read(&resp)) {
              if (resp.outcome().code() != 0) Die("stream item: " + resp.outcome().error());
              ++got;
            }
            if (got != per) Die(base::StrCat("stream answered ", got, " of ", per));
          });
          for (long i = 0; i < per; ++i) {
            v1::StreamMetricsRequest req;
            const long id = n + s * per + i;
            req.mutable_metadata()->set_client_request_id(base::StrCat("stream-", id));
            *req.mutable_metric() = Metric("bench", base::StrCat("acct-", id % accounts), id);
            if (!stream->Write(req)) Die("stream write");
          }
          stream->WritesDone();
          reader.join();
          Check(stream->Finish(), "stream");
        });
      }
      for (auto& t : streams) t.join();
      stream_rate = static_cast<double>(per * 2) / Since(t0);
      metric_events_ += per * 2;
    }
    // The inbound topic: produced as fast as an idempotent producer can, ingested as it
    // arrives; timed until the last event is committed in the metrics topic.
    double inbound_rate = 0;
    {
      const std::string inbound = eventlog::InboundMetricsTopic(platform_->prefix());
      const std::string metrics_topic = Topic(domain::kMetricsAggregateType);
      const long before = CountRecords(metrics_topic);
      DeliveryCounter dr;
      auto producer = RawProducer(o_.brokers, "", &dr);
      const auto t0 = Clock::now();
      for (long i = 0; i < n; ++i) {
        const long id = 3 * n + i;
        v1::InboundMetric m;
        m.set_publisher("erp");
        *m.mutable_metric() = Metric("bench", base::StrCat("acct-", id % accounts), id);
        const std::string key = domain::MetricsAggregateId("bench", m.metric().account_id());
        const std::string value = m.SerializeAsString();
        while (producer->produce(inbound, eventlog::PartitionFor(key, 3),
                                 RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                 value.size(), key.data(), key.size(), 0,
                                 nullptr) == RdKafka::ERR__QUEUE_FULL) {
          producer->poll(1);
        }
      }
      producer->flush(120000);
      // Wait for the last one: the metrics topic's committed records grow by n.
      auto consumer = eventlog::Consumer::Create({.brokers = o_.brokers});
      Check(consumer.status(), "consumer");
      std::map<int32_t, int64_t> start;
      for (int32_t p = 0; p < 3; ++p) start[p] = -2;
      Check((*consumer)->AssignExactly(metrics_topic, start), "assign");
      long seen = 0;
      const auto deadline = Clock::now() + std::chrono::seconds(o_.quick ? 300 : 1800);
      while (seen < before + n && Clock::now() < deadline) {
        auto batch = (*consumer)->Poll(5000, std::chrono::milliseconds(200));
        if (batch.ok()) seen += static_cast<long>(batch->size());
      }
      if (seen < before + n)
        Die(base::StrCat("inbound: only ", seen - before, " of ", n, " ingested"));
      inbound_rate = static_cast<double>(n) / Since(t0);
      metric_events_ += n;
    }
    // Bulk import of a CSV file by the built kamctl, as an operator runs it.
    const double import_rate = ImportRate(Scale(2000, 100000), accounts);
    // Baselines: the same durability, record size and batch size, raw.
    const std::size_t record_bytes = EnvelopeBytes();
    const std::string raw_topic = platform_->prefix() + "raw-baseline";
    Check(eventlog::EnsureTopic({.brokers = o_.brokers}, raw_topic, 3), "raw topic");
    const double raw_tx = RawTransactional(o_.brokers, raw_topic, 3, n, 1000, record_bytes);
    const double raw_idem = RawIdempotent(o_.brokers, raw_topic, n, record_bytes);
    const std::string goal = ">= 0.80 of raw transactional";
    report_.Add({"ingestion", "RecordMetricBatch (1,000 per call, 4 callers)", batch_rate_,
                 "events/s", "raw transactional, 1,000 per transaction", raw_tx, goal});
    report_.Add({"ingestion", "StreamMetrics (2 pipelined streams)", stream_rate, "events/s",
                 "raw transactional, 1,000 per transaction", raw_tx, goal});
    report_.Add({"ingestion", "inbound topic", inbound_rate, "events/s",
                 "raw transactional, 1,000 per transaction", raw_tx, goal});
    report_.Add({"ingestion", "kamctl import metrics (CSV, batches of 1,000, 8 in flight)",
                 import_rate, "lines/s", "raw transactional, 1,000 per transaction", raw_tx, goal});
    report_.Add({"ingestion", "RecordMetricBatch (1,000 per call, 4 callers)", batch_rate_,
                 "events/s", "raw idempotent acks=all, no transactions", raw_idem, "—"});
    report_.Add({"ingestion", "record size", static_cast<double>(record_bytes), "bytes"});
  }

  // `kamctl import metrics` of a generated CSV file of `n` lines: lines/s, wall clock of
  // the whole command (reading, parsing, validating, sending, waiting for every outcome).
  double ImportRate(long n, long accounts) {
    const std::string file = platform_->dir() + "/import.csv";
    {
      std::ofstream csv(file);
      csv << "account_id,kind,period_start,period_end,amount,source_system,source_record_id\n";
      for (long i = 0; i < n; ++i) {
        csv << "acct-" << i % accounts << ",revenue,2026-01-01,2026-01-31," << 1000 + i
            << ".00 EUR,bench-import,line-" << i << "\n";
      }
    }
    const std::string token_file = platform_->dir() + "/publisher.token";
    std::ofstream(token_file) << platform_->token("publisher") << "\n";
    std::filesystem::permissions(
        token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const std::string out = platform_->dir() + "/import.json";
    const std::string cmd = base::StrCat(
        "NO_COLOR=1 '", o_.bin_dir, "/kamctl' --metrics 127.0.0.1:", platform_->port("metrics"),
        " --token-file '", token_file, "' -o json import metrics '", file,
        "' --programme bench > '", out, "' 2>'", platform_->dir(), "/import.err'");
    const auto t0 = Clock::now();
    if (std::system(cmd.c_str()) != 0) Die("kamctl import failed; see import.err");
    const double seconds = Since(t0);
    std::ifstream in(out);
    const json summary = json::parse(in);
    if (summary["accepted"].get<long>() != n) {
      Die(base::StrCat("kamctl import accepted ", summary["accepted"].get<long>(), " of ", n));
    }
    metric_events_ += n;
    return static_cast<double>(n) / seconds;
  }

  // The size of one of our metric envelopes as stored, so raw baselines write the same.
  std::size_t EnvelopeBytes() {
    std::size_t bytes = 0;
    long n = 0;
    auto consumer = eventlog::Consumer::Create({.brokers = o_.brokers});
    Check(consumer.status(), "consumer");
    Check((*consumer)->AssignExactly(Topic(domain::kMetricsAggregateType), {{0, -2}}), "assign");
    while (n < 100) {
      auto batch = (*consumer)->Poll(100, std::chrono::milliseconds(500));
      if (!batch.ok() || batch->empty()) break;
      for (const auto& r : *batch) {
        bytes += r.value.size();
        ++n;
      }
    }
    return n == 0 ? 250 : bytes / static_cast<std::size_t>(n);
  }

  // --- Programme commands --------------------------------------------------------------

  // A programme with a champion, a key account manager, a sponsor, a board observer and one
  // criterion, so nominations (by kam), admissions (by the champion) and visits (by the
  // sponsor) are real commands of members. No command names its business time: each takes
  // its time of recording, so the programme's business time only moves forward.
  void Charter(const std::string& id, uint32_t max_accounts = 100) {
    v1::CharterProgrammeRequest c;
    c.mutable_metadata()->set_client_request_id(base::NewEventId());
    c.set_programme_id(id);
    c.set_name("Bench " + id);
    c.set_rationale("benchmark");
    c.set_min_key_accounts(1);
    c.set_max_key_accounts(max_accounts);
    c.mutable_parameters()->set_max_accounts_per_sponsor(100);
    v1::CharterProgrammeResponse cr;
    Check(commands_->CharterProgramme(Ctx(platform_->token("admin")).get(), c, &cr), "charter");
    auto person = [&](const std::string& pid, const std::string& principal,
                      std::initializer_list<v1::PersonFunction> fs) {
      v1::RegisterPersonRequest r;
      r.mutable_metadata()->set_client_request_id(base::NewEventId());
      r.set_programme_id(id);
      r.set_person_id(pid);
      r.set_name(pid);
      r.set_principal(principal);
      for (auto f : fs) r.add_functions(f);
      r.set_senior(true);
      r.set_reports_to_top_management(true);
      v1::RegisterPersonResponse rr;
      Check(commands_->RegisterPerson(Ctx(platform_->token("admin")).get(), r, &rr), "person");
    };
    // Every principal the benchmark calls with is a person of the programme (rule
    // membership.required); the board's reads only (its queries are scoped to members).
    person("champ", "champion@supplier.example", {v1::PERSON_FUNCTION_EXECUTIVE});
    person("kam", "kam@supplier.example", {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER});
    person("sponsor", "sponsor@supplier.example", {v1::PERSON_FUNCTION_EXECUTIVE});
    person("board", "board@supplier.example", {v1::PERSON_FUNCTION_BOARD_OBSERVER});
    // The ERP publishes the programme's metrics over gRPC and on the inbound topic.
    person("erp", "erp@supplier.example", {v1::PERSON_FUNCTION_PUBLISHER});
    person("erp-feed", "publisher:erp", {v1::PERSON_FUNCTION_PUBLISHER});
    v1::AppointChampionRequest a;
    a.mutable_metadata()->set_client_request_id(base::NewEventId());
    a.set_programme_id(id);
    a.set_person_id("champ");
    a.set_rationale("benchmark");
    v1::AppointChampionResponse ar;
    Check(commands_->AppointChampion(Ctx(platform_->token("admin")).get(), a, &ar), "champion");
    v1::PublishSelectionCriteriaRequest k;
    k.mutable_metadata()->set_client_request_id(base::NewEventId());
    k.set_programme_id(id);
    auto* crit = k.add_criteria();
    crit->set_criterion_id("fit");
    crit->set_name("Fit");
    crit->set_weight_percent(100);
    crit->set_scale_min(1);
    crit->set_scale_max(5);
    k.set_threshold(50);
    k.set_rationale("benchmark");
    v1::PublishSelectionCriteriaResponse kr;
    Check(commands_->PublishSelectionCriteria(Ctx(platform_->token("champion")).get(), k, &kr),
          "criteria");
  }

  grpc::Status Nominate(const std::string& programme, const std::string& account,
                        v1::CommandResult* result = nullptr) {
    v1::NominateAccountRequest r;
    r.mutable_metadata()->set_client_request_id(base::NewEventId());
    r.set_programme_id(programme);
    r.set_account_id(account);
    r.set_account_name(account);
    r.set_rationale("benchmark nomination");
    v1::NominateAccountResponse resp;
    auto s = commands_->NominateAccount(Ctx(platform_->token("kam")).get(), r, &resp);
    if (result != nullptr) *result = resp.result();
    return s;
  }

  void Commands() {
    std::cerr << "kam-bench: programme commands\n";
    const int programmes = 6;
    for (int p = 0; p < programmes; ++p) Charter(base::StrCat("prog-", p), 100);
    std::atomic<long> seq{0};
    auto closed_loop = [&](int callers, double seconds) {
      std::atomic<long> done{0};
      std::atomic<bool> stop{false};
      std::vector<std::thread> threads;
      for (int c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
          while (!stop) {
            const long i = seq.fetch_add(1);
            Check(Nominate(base::StrCat("prog-", (c + i) % programmes), base::StrCat("a", i)),
                  "nominate");
            ++done;
          }
        });
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      stop = true;
      for (auto& t : threads) t.join();
      return static_cast<double>(done) / seconds;
    };
    const double seconds = o_.quick ? 3 : 15;
    const double max16 = closed_loop(16, seconds);
    const double max64 = closed_loop(64, seconds);
    // Baseline: raw one-record transactions from 3 producers (one per partition).
    const std::string raw_topic = platform_->prefix() + "raw-commands";
    Check(eventlog::EnsureTopic({.brokers = o_.brokers}, raw_topic, 3), "raw topic");
    Latencies raw_latency;
    const double raw_one =
        RawTransactional(o_.brokers, raw_topic, 3, o_.quick ? 600 : 6000, 1, 400, &raw_latency);
    report_.Add({"commands", "max sustained, 16 callers, 6 programmes", max16, "commands/s",
                 "raw one-record transactions, 3 producers", raw_one, ">= 5,000/s"});
    report_.Add({"commands", "max sustained, 64 callers, 6 programmes", max64, "commands/s",
                 "raw one-record transactions, 3 producers", raw_one, ">= 5,000/s"});
    // Open loop: each command has a scheduled send time; its latency counts from then.
    for (double rate : o_.quick ? std::vector<double>{100} : std::vector<double>{100, 1000, 5000}) {
      const double duration = o_.quick ? 2 : 10;
      const long total = static_cast<long>(rate * duration);
      std::vector<double> latency(static_cast<std::size_t>(total));
      std::atomic<long> next{0};
      std::atomic<long> errors{0};
      const auto t0 = Clock::now();
      std::vector<std::thread> workers;
      for (int w = 0; w < 128; ++w) {
        workers.emplace_back([&] {
          while (true) {
            const long i = next.fetch_add(1);
            if (i >= total) return;
            const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(static_cast<double>(i) / rate));
            std::this_thread::sleep_until(due);
            const long id = seq.fetch_add(1);
            if (!Nominate(base::StrCat("prog-", id % programmes), base::StrCat("a", id)).ok()) {
              ++errors;
            }
            latency[static_cast<std::size_t>(i)] =
                std::chrono::duration<double, std::milli>(Clock::now() - due).count();
          }
        });
      }
      for (auto& t : workers) t.join();
      const double achieved = static_cast<double>(total) / Since(t0);
      Latencies l{latency};
      const std::string at =
          base::StrCat(static_cast<long>(rate), "/s offered (achieved ",
                       static_cast<long>(achieved), "/s, ", errors.load(), " errors)");
      const std::string goal = rate <= 100 ? "p99 <= 10 ms" : rate <= 1000 ? "p99 <= 20 ms" : "—";
      report_.Add({"commands", "latency p50 at " + at, l.Percentile(50), "ms",
                   "raw one-record transaction p50", raw_latency.Percentile(50), goal});
      report_.Add({"commands", "latency p99 at " + at, l.Percentile(99), "ms",
                   "raw one-record transaction p99", raw_latency.Percentile(99), goal});
      report_.Add({"commands", "latency p99.9 at " + at, l.Percentile(99.9), "ms"});
    }
  }

  // --- Queries ---------------------------------------------------------------------------

  // Assesses, admits and sponsors a nominated account.
  void AdmitWithSponsor(const std::string& id, const std::string& account) {
    v1::AssessAccountRequest as;
    as.mutable_metadata()->set_client_request_id(base::NewEventId());
    as.set_programme_id(id);
    as.set_account_id(account);
    as.set_criteria_version(1);
    auto* sc = as.add_scores();
    sc->set_criterion_id("fit");
    sc->set_score(4);
    v1::AssessAccountResponse asr;
    Check(commands_->AssessAccount(Ctx(platform_->token("kam")).get(), as, &asr), "assess");
    v1::AdmitAccountRequest ad;
    ad.mutable_metadata()->set_client_request_id(base::NewEventId());
    ad.set_programme_id(id);
    ad.set_account_id(account);
    v1::AdmitAccountResponse adr;
    Check(commands_->AdmitAccount(Ctx(platform_->token("champion")).get(), ad, &adr), "admit");
    v1::AssignSponsorRequest sp;
    sp.mutable_metadata()->set_client_request_id(base::NewEventId());
    sp.set_programme_id(id);
    sp.set_account_id(account);
    sp.set_person_id("sponsor");
    v1::AssignSponsorResponse spr;
    Check(commands_->AssignSponsor(Ctx(platform_->token("champion")).get(), sp, &spr), "sponsor");
  }

  // `n` sponsor visits from 16 callers; `account(i)` picks the account of the i-th; the
  // result with the highest version lands in `last`.
  void Visits(const std::string& id, long n, const std::function<std::string(long)>& account,
              v1::CommandResult* last) {
    std::atomic<long> next{0};
    std::vector<std::thread> callers;
    std::mutex mu;
    // Visits of today: a date before the programme's charter would be a story no one tells.
    const std::string today =
        absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
    for (int c = 0; c < 16; ++c) {
      callers.emplace_back([&] {
        while (true) {
          const long i = next.fetch_add(1);
          if (i >= n) return;
          v1::LogSponsorVisitRequest v;
          v.mutable_metadata()->set_client_request_id(base::NewEventId());
          v.set_programme_id(id);
          v.set_account_id(account(i));
          v.set_visit_date(today);
          v.set_notes("benchmark visit");
          v1::LogSponsorVisitResponse r;
          Check(commands_->LogSponsorVisit(Ctx(platform_->token("sponsor")).get(), v, &r), "visit");
          std::lock_guard<std::mutex> lock(mu);
          if (r.result().aggregate_version() > last->aggregate_version()) *last = r.result();
        }
      });
    }
    for (auto& t : callers) t.join();
  }

  // Waits until the read side has applied `at` (a query that names the position).
  void AwaitVisible(const std::string& programme, const v1::LogPosition& at) {
    v1::GetHistoryRequest wait;
    wait.set_programme_id(programme);
    wait.set_page_size(1);
    *wait.mutable_consistency()->add_at_least() = at;
    wait.mutable_consistency()->set_wait_timeout_ms(30000);
    v1::GetHistoryResponse ignored;
    Check(history_->GetHistory(Ctx(platform_->token("board")).get(), wait, &ignored), "history");
  }

  template <typename Call>
  Latencies Timed(const std::string& name, int n, Call call) {
    Latencies l;
    for (int i = 0; i < n; ++i) {
      const auto t = Clock::now();
      Check(call(i), name);
      l.ms.push_back(Since(t) * 1000);
    }
    return l;
  }

  void Queries() {
    std::cerr << "kam-bench: queries\n";
    // A programme of 25 admitted, sponsored accounts and visits up to `events` in all.
    const std::string id = "scored";
    Charter(id, 30);
    const long events = Scale(1000, 10000);
    for (int a = 0; a < 25; ++a) {
      const std::string account = base::StrCat("acct-", a);
      Check(Nominate(id, account), "nominate");
      AdmitWithSponsor(id, account);
    }
    v1::CommandResult last;
    Visits(
        id, events - 110, [](long i) { return base::StrCat("acct-", i % 25); }, &last);
    AwaitVisible(id, last.position());
    const std::string board = platform_->token("board");
    // The first query after the events arrived folds them (after a restart, all of them):
    // reported on its own, then the steady state.
    const auto cold_start = Clock::now();
    v1::GetScorecardRequest card;
    card.set_programme_id(id);
    v1::GetScorecardResponse cold;
    Check(governance_->GetScorecard(Ctx(board).get(), card, &cold), "scorecard");
    const std::string at = base::StrCat("25 accounts, ", last.aggregate_version(), " events");
    report_.Add({"queries", "GetScorecard, the first query (folds every event), " + at,
                 Since(cold_start) * 1000, "ms"});
    auto programme = Timed("programme", o_.quick ? 20 : 200, [&](int) {
      v1::GetProgrammeRequest q;
      q.set_programme_id(id);
      v1::GetProgrammeResponse r;
      return governance_->GetProgramme(Ctx(board).get(), q, &r);
    });
    auto scorecard = Timed("scorecard", o_.quick ? 20 : 200, [&](int) {
      v1::GetScorecardResponse r;
      return governance_->GetScorecard(Ctx(board).get(), card, &r);
    });
    report_.Add({"queries", "GetProgramme p50, " + at, programme.Percentile(50), "ms"});
    report_.Add({"queries", "GetProgramme p99, " + at, programme.Percentile(99), "ms", "", 0,
                 "p99 <= 5 ms at 10,000 events"});
    report_.Add({"queries", "GetScorecard p50, " + at, scorecard.Percentile(50), "ms"});
    report_.Add({"queries", "GetScorecard p99, " + at, scorecard.Percentile(99), "ms", "", 0,
                 "p99 <= 5 ms at 10,000 events"});

    // History pages (100 entries) of one account with a long history, spread over it.
    const std::string longer = "long-history";
    Charter(longer, 30);
    Check(Nominate(longer, "acct-long"), "nominate");
    AdmitWithSponsor(longer, "acct-long");
    const long account_events = Scale(5000, 100000);
    v1::CommandResult tail;
    Visits(
        longer, account_events, [](long) { return std::string("acct-long"); }, &tail);
    AwaitVisible(longer, tail.position());
    auto history = Timed("history", o_.quick ? 50 : 500, [&](int i) {
      v1::GetHistoryRequest q;
      q.set_programme_id(longer);
      q.set_account_id("acct-long");
      q.set_page_size(100);
      q.set_page_token(std::to_string((static_cast<uint64_t>(i) * 7919) %
                                      static_cast<uint64_t>(account_events)));
      v1::GetHistoryResponse r;
      return history_->GetHistory(Ctx(board).get(), q, &r);
    });
    report_.Add(
        {"queries",
         base::StrCat("history page (100 entries) p50, an account of ", account_events, " events"),
         history.Percentile(50), "ms"});
    report_.Add({"queries",
                 base::StrCat("history page p99, an account of ", account_events, " events"),
                 history.Percentile(99), "ms", "", 0, "p99 <= 1 ms at 100,000 per account"});

    // Freshness: a command's acknowledgement until a query that waits for its position returns.
    Latencies fresh;
    for (int i = 0; i < (o_.quick ? 20 : 200); ++i) {
      v1::CommandResult r;
      Check(Nominate(id, base::StrCat("fresh-", i, "-", base::NewEventId().substr(0, 8)), &r),
            "nominate");
      const auto t = Clock::now();
      v1::GetHistoryRequest q;
      q.set_programme_id(id);
      q.set_page_size(1);
      *q.mutable_consistency()->add_at_least() = r.position();
      v1::GetHistoryResponse resp;
      Check(history_->GetHistory(Ctx(board).get(), q, &resp), "fresh");
      fresh.ms.push_back(Since(t) * 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    report_.Add({"queries", "freshness (ack -> visible) p50", fresh.Percentile(50), "ms"});
    report_.Add({"queries", "freshness (ack -> visible) p99", fresh.Percentile(99), "ms", "", 0,
                 "p99 <= 10 ms"});
  }

  // --- Rebuild ---------------------------------------------------------------------------

  void Rebuild() {
    std::cerr << "kam-bench: rebuild\n";
    const std::vector<std::string> topics = {Topic(domain::kProgrammeAggregateType),
                                             Topic(domain::kMetricsAggregateType)};
    long records = 0;
    for (const auto& t : topics) records += CountRecords(t);
    // The real binary, as an operator runs it.
    const std::string dir = platform_->dir() + "/rebuild";
    const std::string binary = o_.bin_dir + "/kam-history-projection";
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen((platform_->dir() + "/rebuild.log").c_str(), "a", stderr);
      (void)f;
      std::vector<std::string> args = {binary,
                                       "--brokers",
                                       o_.brokers,
                                       "--tokens",
                                       platform_->tokens_file(),
                                       "--topic-prefix",
                                       platform_->prefix(),
                                       "--kafka-replication-factor",
                                       "1",
                                       "--data-dir",
                                       dir,
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--metrics-listen",
                                       "127.0.0.1:0",
                                       "--rebuild",
                                       "true",
                                       "--exit-when-caught-up",
                                       "true"};
      args.insert(args.end(), o_.queries_flags.begin(), o_.queries_flags.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    const double seconds = Since(t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("the rebuild failed; see rebuild.log");
    const double ours = static_cast<double>(records) / seconds;
    const double raw = RawRebuild(o_.brokers, topics, records, platform_->dir() + "/raw-rocksdb");
    report_.Add({"rebuild", base::StrCat("read model from offset 0, ", records, " records"), ours,
                 "records/s", "raw read_committed consume + RocksDB WriteBatch", raw,
                 ">= 0.70 of raw"});
    report_.Add({"rebuild", "peak RSS of the rebuild",
                 static_cast<double>(usage.ru_maxrss) / 1024.0, "MiB", "", 0,
                 "<= 256 MiB over 1,000,000 events"});
    if (!o_.streams_peer_jar.empty()) {
      const double streams = StreamsPeer(topics[1], CountRecords(topics[1]));
      report_.Add({"rebuild", "read model (all topics) vs a Kafka Streams peer (metrics topic)",
                   ours, "records/s", "Kafka Streams, exactly_once_v2, persistent store", streams,
                   ">= 3x the peer"});
    }
  }

  // The Kafka Streams peer folds `topic` into a persistent store; records/s it reports.
  double StreamsPeer(const std::string& topic, long records) {
    const std::string out = platform_->dir() + "/streams.out";
    const std::string cmd =
        base::StrCat("java -Xmx512m -jar '", o_.streams_peer_jar, "' '", o_.brokers, "' '", topic,
                     "' ", records, " '", platform_->dir(), "/streams-state' > '", out, "' 2>'",
                     platform_->dir(), "/streams.log'");
    if (std::system(cmd.c_str()) != 0) Die("the Kafka Streams peer failed; see streams.log");
    std::ifstream in(out);
    double rate = 0;
    in >> rate;
    return rate;
  }

  Options o_;
  Report report_;
  std::unique_ptr<Platform> platform_;
  std::unique_ptr<v1::ProgrammeCommandService::Stub> commands_;
  std::unique_ptr<v1::MetricsCommandService::Stub> metrics_;
  std::unique_ptr<v1::HistoryQueryService::Stub> history_;
  std::unique_ptr<v1::GovernanceQueryService::Stub> governance_;
  double batch_rate_ = 0;
  long metric_events_ = 0;
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace
}  // namespace kam::bench

int main(int argc, char** argv) {
  kam::bench::Options o;
  const char* env = std::getenv("KAM_KAFKA_BROKERS");
  o.brokers = env != nullptr ? env : "127.0.0.1:9092";
  o.bin_dir = std::filesystem::path(argv[0]).parent_path().string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) kam::bench::Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--brokers") {
      o.brokers = value();
    } else if (a == "--bin-dir") {
      o.bin_dir = value();
    } else if (a == "--json") {
      o.json_out = value();
    } else if (a == "--markdown") {
      o.markdown_out = value();
    } else if (a == "--streams-peer") {
      o.streams_peer_jar = value();
    } else if (a == "--metrics-flags") {
      o.metrics_flags = kam::bench::Split(value());
    } else if (a == "--programme-flags") {
      o.programme_flags = kam::bench::Split(value());
    } else if (a == "--queries-flags") {
      o.queries_flags = kam::bench::Split(value());
    } else if (a == "--only") {
      for (const auto& section : kam::bench::Split(value())) o.only.insert(section);
    } else if (a == "--help" || a == "-h") {
      std::cout
          << "usage: kam-bench [--quick] [--brokers HOST:PORT] [--bin-dir DIR] [--json FILE]\n"
             "                 [--markdown FILE] [--streams-peer JAR]\n"
             "                 [--metrics-flags '...'] [--programme-flags '...'] "
             "[--queries-flags '...']\n";
      return 0;
    } else {
      kam::bench::Die("unknown argument " + a + "; see --help");
    }
  }
  kam::bench::Bench bench(o);
  bench.Run();
  const std::string md = bench.report().Markdown();
  std::cout << md;
  if (!o.markdown_out.empty()) std::ofstream(o.markdown_out) << md;
  if (!o.json_out.empty()) std::ofstream(o.json_out) << bench.report().Json().dump(2) << "\n";
  return 0;
}
