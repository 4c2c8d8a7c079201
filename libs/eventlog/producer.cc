#include "eventlog/producer.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/strings.h"
#include "eventlog/consumer.h"
#include "eventlog/delivery.h"

namespace kam::eventlog {
namespace {

std::string Describe(const RdKafka::Error* e) { return base::StrCat(e->name(), ": ", e->str()); }

using Clock = std::chrono::steady_clock;

// How long a wait for acknowledgements (flush) runs before the producer looks at its watch
// again: the longest a writer keeps waiting on a cluster its watch already sees down.
constexpr std::chrono::milliseconds kWatchSlice{100};
// The same for init_transactions and commit_transaction, which a timeout interrupts and a
// second call resumes (documented since librdkafka 1.8). Longer, so that a healthy call is
// never cut: librdkafka recommends not cutting commits short.
constexpr std::chrono::milliseconds kResumeSlice{1000};

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 1));
}

// With a watch, a blocking call runs in slices of `slice`, so that the caller can look at
// the watch in between; without one, in one piece as before.
int SliceMs(Clock::time_point deadline, const ClusterWatch* watch,
            std::chrono::milliseconds slice) {
  const int left = RemainingMs(deadline);
  return watch == nullptr ? left : std::min(left, static_cast<int>(slice.count()));
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The metrics of transactions to one topic.
struct TopicMetrics {
  base::Histogram* produce = nullptr;
  base::Histogram* commit = nullptr;
  base::Counter* committed = nullptr;
  base::Counter* aborted = nullptr;
  base::Counter* unknown = nullptr;

  explicit TopicMetrics(const std::string& topic) {
    static auto& produce_family = base::Metrics().Histograms(
        "kam_kafka_produce_duration_seconds",
        "From a transaction's first record produced to its last acknowledged, by topic", {"topic"},
        base::LatencyBuckets());
    static auto& commit_family = base::Metrics().Histograms(
        "kam_kafka_commit_duration_seconds",
        "commit_transaction of an acknowledged transaction (retries included), by topic", {"topic"},
        base::LatencyBuckets());
    static auto& transactions = base::Metrics().Counters(
        "kam_kafka_transactions_total",
        "Transactions by outcome: committed; aborted (nothing of it is visible); unknown (the "
        "producer is recreated and the writer reads the log to know)",
        {"topic", "outcome"});
    produce = &produce_family.With({topic});
    commit = &commit_family.With({topic});
    committed = &transactions.With({topic, "committed"});
    aborted = &transactions.With({topic, "aborted"});
    unknown = &transactions.With({topic, "unknown"});
  }
};

bool IsFencing(RdKafka::ErrorCode code) {
  return code == RdKafka::ERR__FENCED || code == RdKafka::ERR_PRODUCER_FENCED;
}

// The watches' metrics, process-wide.
struct WatchMetrics {
  base::Gauge& down;
  base::Counter& outages;
  static WatchMetrics& Get() {
    static WatchMetrics m{
        base::Metrics()
            .Gauges("kam_kafka_cluster_down",
                    "Cluster watches (one per writer) that see every broker down right now; "
                    "their writers refuse commands at once meanwhile",
                    {})
            .With({}),
        base::Metrics()
            .Counters("kam_kafka_cluster_outages_total",
                      "Times a cluster watch saw every broker go down", {})
            .With({})};
    return m;
  }
};

}  // namespace

absl::StatusOr<std::shared_ptr<ClusterWatch>> ClusterWatch::Start(const KafkaOptions& options,
                                                                  Options watch) {
  // Reconnecting every 250 ms at most (instead of every second): the watch is the one
  // client whose reconnect decides when a writer takes commands again after an outage.
  // It never creates a topic by asking about it.
  auto conf = MakeConf(options, {{"client.id", "kam-cluster-watch"},
                                 {"reconnect.backoff.ms", "50"},
                                 {"reconnect.backoff.max.ms", "250"},
                                 {"allow.auto.create.topics", "false"}});
  if (!conf.ok()) return conf.status();
  std::shared_ptr<ClusterWatch> self(new ClusterWatch());
  self->options_ = watch;
  // A C handle on a copy of the configuration (security settings and logging included), so
  // that the error callback's opaque is this watch and this thread alone serves it.
  rd_kafka_conf_t* c = rd_kafka_conf_dup((*conf)->c_ptr_global());
  rd_kafka_conf_set_opaque(c, self.get());
  rd_kafka_conf_set_error_cb(c, &ClusterWatch::OnError);
  char err[512];
  self->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);  // takes `c` on success
  if (self->rk_ == nullptr) {
    rd_kafka_conf_destroy(c);
    return absl::InternalError(base::StrCat("kafka cluster watch: ", err));
  }
  if (!watch.topic.empty()) {
    self->topic_ = rd_kafka_topic_new(self->rk_, watch.topic.c_str(), nullptr);
    if (self->topic_ == nullptr) {
      return absl::InvalidArgumentError(base::StrCat("kafka cluster watch: topic ", watch.topic,
                                                     ": ",
                                                     rd_kafka_err2str(rd_kafka_last_error())));
    }
  }
  self->thread_ = std::thread([w = self.get()] { w->Run(); });
  return self;
}

ClusterWatch::~ClusterWatch() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
  if (down()) WatchMetrics::Get().down.Add(-1);
}

void ClusterWatch::OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
  auto* self = static_cast<ClusterWatch*>(opaque);
  const std::string what =
      reason != nullptr ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN: {
      std::string last;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        last = self->last_error_;
      }
      self->MarkDown(last.empty() ? what : base::StrCat(last, " (", what, ")"));
      break;
    }
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL: {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->last_error_ = what;
      break;
    }
    default:
      break;
  }
}

bool ClusterWatch::Answers(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  // One round trip to any broker; without a topic librdkafka asks about every topic.
  const rd_kafka_resp_err_t e =
      rd_kafka_metadata(rk_, 0, topic_, &md, static_cast<int>(timeout.count()));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void ClusterWatch::Run() {
  int missed = 0;
  auto next_request = Clock::now();
  while (!stop_) {
    rd_kafka_poll(rk_, 50);  // the error callback runs here, as soon as librdkafka reports
    if (Clock::now() < next_request) continue;
    const bool was_down = down();
    const bool answered = Answers(options_.request_timeout);
    rd_kafka_poll(rk_, 0);  // a report that came in meanwhile goes before this answer
    if (answered) {
      missed = 0;
      if (was_down) MarkUp();
    } else if (!was_down && ++missed >= options_.missed_heartbeats) {
      std::string last;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last = last_error_;
      }
      MarkDown(base::StrCat("no broker answered ", missed, " metadata requests in a row",
                            last.empty() ? "" : base::StrCat(" (", last, ")")));
    }
    next_request = Clock::now() + (down() ? options_.probe : options_.heartbeat);
  }
}

void ClusterWatch::MarkDown(std::string why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (down_.load(std::memory_order_relaxed)) return;
    since_ = std::chrono::system_clock::now();
    why_ = std::move(why);
    down_.store(true, std::memory_order_release);
  }
  WatchMetrics::Get().down.Add(1);
  WatchMetrics::Get().outages.Inc();
  base::Log(base::LogLevel::kWarning,
            base::StrCat("kafka: all brokers are down; commands are refused until one answers: ",
                         Reachable().message()),
            {{"client", rd_kafka_name(rk_)}});
}

void ClusterWatch::MarkUp() {
  double seconds = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!down_.load(std::memory_order_relaxed)) return;
    seconds =
        std::chrono::round<std::chrono::milliseconds>(std::chrono::system_clock::now() - since_)
            .count() /
        1000.0;
    down_.store(false, std::memory_order_release);
  }
  WatchMetrics::Get().down.Add(-1);
  base::Log(base::LogLevel::kInfo,
            base::StrCat("kafka: a broker answers again after ", seconds,
                         " s of outage; commands are taken again"),
            {{"client", rd_kafka_name(rk_)}});
}

absl::Status ClusterWatch::Reachable() const {
  if (!down()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::system_clock::now();
  const double for_seconds =
      std::chrono::round<std::chrono::milliseconds>(now - since_).count() / 1000.0;
  return absl::UnavailableError(base::StrCat(
      "kafka: all brokers are down since ",
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", absl::FromChrono(since_), absl::UTCTimeZone()),
      " (", for_seconds, " s): ", why_));
}

bool FencedByAnotherProducer(bool fencing_code, std::chrono::milliseconds transaction_age,
                             std::chrono::milliseconds transaction_timeout) {
  return fencing_code && transaction_age < transaction_timeout;
}

struct TransactionalProducer::Impl {
  DeliveryReports reports;
  std::unique_ptr<RdKafka::Producer> producer;
  // Slots of aborted or failed transactions whose reports may still arrive.
  std::vector<std::unique_ptr<std::vector<Slot>>> orphans;
  bool broken = false;
  bool fenced = false;
  // The open transaction's start, the timeout the coordinator holds it to, and whether the
  // coordinator aborted it for outliving that timeout (not a fencing: see Break).
  Clock::time_point transaction_began = Clock::now();
  std::chrono::milliseconds transaction_timeout = kTransactionTimeout;
  bool expired = false;
  // Optional: stops a wait once the cluster is seen down.
  std::shared_ptr<const ClusterWatch> watch;
  // A producer appends to one topic (its partition's): its metrics are looked up once.
  std::string metrics_topic;
  std::optional<TopicMetrics> metrics;

  TopicMetrics& MetricsOf(const std::string& topic) {
    if (!metrics || topic != metrics_topic) {
      metrics.emplace(topic);
      metrics_topic = topic;
    }
    return *metrics;
  }

  ~Impl() {
    producer.reset();  // no report can arrive after this
    orphans.clear();
  }

  // Marks the producer unusable after a fatal or indeterminate error. Only a fencing by
  // another producer with this transactional.id retires it for good; anything else -
  // including INVALID_PRODUCER_EPOCH, the epoch the coordinator bumps when it aborts a
  // transaction that outlived transaction.timeout.ms - leaves it broken but recoverable: the
  // writer makes a new producer (whose init aborts what is open) and reloads the partition.
  void Break(const RdKafka::Error* e) {
    broken = true;
    if (e == nullptr) return;
    const auto age =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - transaction_began);
    if (FencedByAnotherProducer(IsFencing(e->code()), age, transaction_timeout)) {
      fenced = true;
    } else if (IsFencing(e->code())) {
      expired = true;
    }
  }

  absl::Status Fail(std::string what, const RdKafka::Error* e) {
    if (fenced || (e != nullptr && (e->is_fatal() || IsFencing(e->code())))) {
      Break(e);
      if (fenced) {
        return absl::FailedPreconditionError(base::StrCat(
            "writer fenced: another producer took over this transactional.id (", what, ")"));
      }
      if (expired) {
        return absl::UnavailableError(base::StrCat(
            "kafka: the transaction outlived transaction.timeout.ms (", transaction_timeout.count(),
            " ms) and the coordinator aborted it; a new producer takes over (", what, ")"));
      }
    }
    return absl::UnavailableError(std::move(what));
  }

  // Adds the consumer's offsets to the open transaction.
  absl::Status SendOffsets(const TransactionOffsets& o, Clock::time_point deadline) {
    std::unique_ptr<RdKafka::ConsumerGroupMetadata> group(
        ConsumerAccess::GroupMetadata(*o.consumer));
    if (!group) return absl::FailedPreconditionError("offsets: the consumer has no group");
    std::vector<RdKafka::TopicPartition*> tps;
    for (const auto& [p, next] : o.next)
      tps.push_back(RdKafka::TopicPartition::create(o.topic, p, next));
    RdKafka::Error* e =
        producer->send_offsets_to_transaction(tps, group.get(), RemainingMs(deadline));
    RdKafka::TopicPartition::destroy(tps);
    if (e == nullptr) return absl::OkStatus();
    auto s = Fail(base::StrCat("kafka send_offsets_to_transaction: ", Describe(e)), e);
    delete e;
    return s;
  }

  // The watch's refusal, or OK (also without a watch).
  absl::Status Outage() const { return watch == nullptr ? absl::OkStatus() : watch->Reachable(); }

  // Aborts the open transaction; on failure the producer is unusable. With the cluster
  // down the abort cannot reach the coordinator, so it is given one slice only: the next
  // producer's init aborts the transaction once the cluster is back.
  void Abort(Clock::time_point deadline, std::unique_ptr<std::vector<Slot>> slots) {
    if (!Outage().ok()) deadline = std::min(deadline, Clock::now() + kWatchSlice);
    producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT |
                    RdKafka::Producer::PURGE_NON_BLOCKING);
    if (RdKafka::Error* e = producer->abort_transaction(RemainingMs(deadline)); e != nullptr) {
      Break(e);
      delete e;
    }
    producer->poll(0);
    if (producer->outq_len() > 0 && slots) orphans.push_back(std::move(slots));
  }
};

TransactionalProducer::TransactionalProducer(std::string transactional_id)
    : transactional_id_(std::move(transactional_id)), impl_(std::make_unique<Impl>()) {}

TransactionalProducer::~TransactionalProducer() = default;

absl::StatusOr<std::unique_ptr<TransactionalProducer>> TransactionalProducer::Create(
    const KafkaOptions& options, std::string transactional_id, std::chrono::milliseconds timeout,
    std::shared_ptr<const ClusterWatch> watch) {
  if (transactional_id.empty()) return absl::InvalidArgumentError("transactional_id: is required");
  std::unique_ptr<TransactionalProducer> self(new TransactionalProducer(transactional_id));
  auto conf =
      MakeConf(options, {{"transactional.id", transactional_id},
                         {"enable.idempotence", "true"},
                         {"acks", "all"},
                         {"linger.ms", "1"},
                         {"transaction.timeout.ms", std::to_string(kTransactionTimeout.count())},
                         {"message.timeout.ms", "60000"},
                         {"message.max.bytes", "1000000"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  if ((*conf)->set("dr_cb", &self->impl_->reports, err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(err);
  }
  if (auto t = options.properties.find("transaction.timeout.ms"); t != options.properties.end()) {
    self->impl_->transaction_timeout = std::chrono::milliseconds(std::atol(t->second.c_str()));
  }
  self->impl_->watch = std::move(watch);
  self->impl_->producer.reset(RdKafka::Producer::create(conf->get(), err));
  if (!self->impl_->producer) return absl::InternalError(base::StrCat("kafka producer: ", err));
  const auto deadline = Clock::now() + timeout;
  const ClusterWatch* w = self->impl_->watch.get();
  while (RdKafka::Error* e =
             self->impl_->producer->init_transactions(SliceMs(deadline, w, kResumeSlice))) {
    // A retriable error (a timed-out slice, a coordinator still loading) is resumed until
    // the deadline, unless the watch sees the cluster down: then waiting cannot help.
    const absl::Status down = self->impl_->Outage();
    if (e->is_retriable() && !e->is_fatal() && Clock::now() < deadline && down.ok()) {
      const bool timed_out = e->code() == RdKafka::ERR__TIMED_OUT;
      delete e;
      if (!timed_out) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    std::string what = down.ok() ? Describe(e) : std::string(down.message());
    delete e;
    return ExplainRefusal(
        absl::UnavailableError(base::StrCat("kafka: cannot register transactional.id '",
                                            transactional_id, "' with the coordinator: ", what)),
        self->impl_->producer->name());
  }
  return self;
}

bool TransactionalProducer::fenced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->fenced;
}

bool TransactionalProducer::usable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !impl_->broken;
}

absl::StatusOr<std::vector<v1::LogPosition>> TransactionalProducer::Append(
    const std::string& topic, int32_t partition, std::span<const Record> records,
    std::chrono::milliseconds timeout, const TransactionOffsets* offsets) {
  std::lock_guard<std::mutex> lock(mu_);
  Impl& im = *impl_;
  if (im.fenced) {
    return absl::FailedPreconditionError(
        "writer fenced: another producer took over this "
        "transactional.id");
  }
  if (im.broken) return absl::UnavailableError("kafka producer must be recreated after an error");
  if (records.empty()) return std::vector<v1::LogPosition>{};
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  TopicMetrics& metrics = im.MetricsOf(topic);
  im.transaction_began = started;

  if (RdKafka::Error* e = im.producer->begin_transaction(); e != nullptr) {
    auto s = im.Fail(base::StrCat("kafka begin_transaction: ", Describe(e)), e);
    delete e;
    im.broken = true;
    metrics.aborted->Inc();
    return s;
  }
  auto slots = std::make_unique<std::vector<Slot>>(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const bool own = r.topic.empty();
    const int32_t target = own ? partition : r.partition;
    RdKafka::Headers* headers = nullptr;
    if (!r.headers.empty()) {
      headers = RdKafka::Headers::create();
      for (const auto& [k, v] : r.headers) headers->add(k, v.data(), v.size());
    }
    RdKafka::ErrorCode ec = im.producer->produce(
        own ? topic : r.topic, target < 0 ? RdKafka::Topic::PARTITION_UA : target,
        RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(r.value.data()), r.value.size(),
        r.key.data(), r.key.size(), 0, headers, &(*slots)[i]);
    if (ec != RdKafka::ERR_NO_ERROR) {
      delete headers;  // not taken by a failed produce()
      im.Abort(deadline, std::move(slots));
      metrics.aborted->Inc();
      std::string what = base::StrCat("kafka produce: ", RdKafka::err2str(ec));
      if (ec == RdKafka::ERR_MSG_SIZE_TOO_LARGE) return absl::InvalidArgumentError(what);
      return absl::UnavailableError(what);
    }
  }
  if (offsets != nullptr && !offsets->next.empty()) {
    if (auto s = im.SendOffsets(*offsets, deadline); !s.ok()) {
      im.Abort(deadline, std::move(slots));
      metrics.aborted->Inc();
      return s;
    }
  }
  // Waits for every acknowledgement, in slices with a watch: a cluster seen down ends the
  // wait, since no acknowledgement can come before it is back. Nothing is committed then.
  absl::Status down = absl::OkStatus();
  while (true) {
    im.producer->flush(SliceMs(deadline, im.watch.get(), kWatchSlice));
    const bool all_done =
        std::all_of(slots->begin(), slots->end(), [](const Slot& slot) { return slot.done; });
    down = im.Outage();
    if (all_done || Clock::now() >= deadline || !down.ok()) break;
  }
  for (const Slot& s : *slots) {
    if (!s.done || s.err != RdKafka::ERR_NO_ERROR) {
      std::string what =
          s.done       ? base::StrCat("kafka delivery failed: ", RdKafka::err2str(s.err))
          : !down.ok() ? base::StrCat(down.message(),
                                      "; the transaction's records were not acknowledged "
                                      "and it was not committed")
                       : base::StrCat("kafka did not acknowledge within ", timeout.count(), " ms");
      const bool too_large = s.done && s.err == RdKafka::ERR_MSG_SIZE_TOO_LARGE;
      im.Abort(deadline, std::move(slots));
      metrics.aborted->Inc();
      if (too_large) return absl::InvalidArgumentError(what);
      if (im.fenced) return im.Fail(what, nullptr);
      return absl::UnavailableError(what);
    }
  }
  metrics.produce->Observe(SecondsSince(started));
  // Everything is acknowledged; commit. A retriable commit error is retried until the
  // deadline, since the coordinator may still complete it.
  const auto committing = Clock::now();
  while (true) {
    RdKafka::Error* e =
        im.producer->commit_transaction(SliceMs(deadline, im.watch.get(), kResumeSlice));
    if (e == nullptr) break;
    std::string what = base::StrCat("kafka commit_transaction: ", Describe(e));
    if (e->txn_requires_abort()) {
      delete e;
      im.Abort(deadline, std::move(slots));
      metrics.aborted->Inc();
      return absl::UnavailableError(what);
    }
    down = im.Outage();
    if (e->is_retriable() && Clock::now() < deadline && down.ok()) {
      delete e;
      continue;
    }
    if (!down.ok()) {
      // The commit may have reached the coordinator before the cluster went down: only the
      // log can tell, once it is back.
      what = base::StrCat(down.message(), "; the commit's outcome is unknown (", what, ")");
    }
    auto s = im.Fail(what, e);
    delete e;
    // Outcome unknown: the caller must recreate the producer, whose init aborts the
    // transaction if it was not committed.
    im.broken = true;
    if (slots) im.orphans.push_back(std::move(slots));
    metrics.unknown->Inc();
    return s;
  }
  metrics.commit->Observe(SecondsSince(committing));
  metrics.committed->Inc();
  std::vector<v1::LogPosition> positions;
  positions.reserve(records.size());
  for (const Slot& s : *slots) {
    v1::LogPosition p;
    p.set_topic(records[positions.size()].topic.empty() ? topic : records[positions.size()].topic);
    p.set_partition(s.partition);
    p.set_offset(s.offset);
    positions.push_back(std::move(p));
  }
  return positions;
}

absl::Status TransactionalProducer::AppendAndAbort(const std::string& topic,
                                                   std::span<const Record> records,
                                                   std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  Impl& im = *impl_;
  if (im.broken) return absl::UnavailableError("kafka producer must be recreated after an error");
  const auto deadline = Clock::now() + timeout;
  if (RdKafka::Error* e = im.producer->begin_transaction(); e != nullptr) {
    std::string what = Describe(e);
    delete e;
    return absl::UnavailableError(what);
  }
  auto slots = std::make_unique<std::vector<Slot>>(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    im.producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         const_cast<char*>(r.value.data()), r.value.size(), r.key.data(),
                         r.key.size(), 0, &(*slots)[i]);
  }
  im.producer->flush(RemainingMs(deadline));  // the records reach the log, uncommitted
  if (RdKafka::Error* e = im.producer->abort_transaction(RemainingMs(deadline)); e != nullptr) {
    std::string what = Describe(e);
    delete e;
    im.broken = true;
    im.MetricsOf(topic).unknown->Inc();
    return absl::UnavailableError(what);
  }
  im.MetricsOf(topic).aborted->Inc();
  return absl::OkStatus();
}

}  // namespace kam::eventlog
