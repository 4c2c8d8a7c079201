#include "services/metrics/inbound_ingester.h"

#include "base/log.h"
#include "base/strings.h"
#include "server/server.h"

namespace kam::services {

InboundIngester::InboundIngester(eventlog::KafkaOptions kafka, MetricsService& service,
                                 IngesterOptions options)
    : kafka_(std::move(kafka)),
      service_(service),
      options_(std::move(options)),
      topic_(eventlog::InboundMetricsTopic(options_.topic_prefix)) {}

InboundIngester::~InboundIngester() { Stop(); }

absl::Status InboundIngester::Start() {
  const int count = service_.writer().partition_count();
  if (auto s = eventlog::EnsureTopic(kafka_, topic_, count); !s.ok()) return s;
  auto inbound = eventlog::PartitionCount(kafka_, topic_);
  if (!inbound.ok()) return inbound.status();
  if (*inbound != count) {
    return absl::FailedPreconditionError(base::StrCat(
        topic_, " has ", *inbound, " partitions but ", service_.topic(), " has ", count,
        ": they must match so that an inbound record reaches the writer owning its account"));
  }
  partitions_ = service_.writer().owned_partitions();
  auto consumer = eventlog::Consumer::CreateInGroup(kafka_, options_.group_id);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  if (auto s = consumer_->AssignCommitted(topic_, partitions_); !s.ok()) return s;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void InboundIngester::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  consumer_.reset();
}

InboundIngester::Stats InboundIngester::stats() const {
  return Stats{recorded_.load(), dead_lettered_.load(), retries_.load()};
}

absl::Status InboundIngester::Handle(const eventlog::ConsumedRecord& r) {
  const std::string origin = base::StrCat(r.topic, "/", r.partition, "@", r.offset);
  auto reject = [&](const std::string& reason) -> absl::Status {
    if (auto s = service_.dead_letters().Send(r.key, r.value, reason, origin); !s.ok()) return s;
    ++dead_lettered_;
    return absl::OkStatus();
  };
  v1::InboundMetric inbound;
  if (!inbound.ParseFromString(r.value)) {
    return reject("INVALID_ARGUMENT: value: is not a serialised kam.v1.InboundMetric");
  }
  if (!inbound.has_metric()) return reject("INVALID_ARGUMENT: metric: is required");
  if (auto s = base::ValidateId("publisher", inbound.publisher()); !s.ok()) {
    return reject(base::StrCat("INVALID_ARGUMENT: ", s.message()));
  }
  const auto& m = inbound.metric();
  const std::string aggregate = domain::MetricsAggregateId(m.programme_id(), m.account_id());
  if (r.key != aggregate) {
    return reject(base::StrCat("INVALID_ARGUMENT: key: '", r.key.substr(0, 80),
                               "' must be the metric's aggregate id '", aggregate, "'"));
  }
  v1::CommandMetadata metadata;
  metadata.set_client_request_id(inbound.client_request_id().empty()
                                     ? base::StrCat(m.source_system(), "/", m.source_record_id())
                                     : inbound.client_request_id());
  auto result = service_.Record(metadata, m, base::StrCat("publisher:", inbound.publisher()));
  if (result.ok()) {
    ++recorded_;
    return absl::OkStatus();
  }
  if (IsRejection(result.status())) {
    return reject(base::StrCat(absl::StatusCodeToString(result.status().code()), ": ",
                               result.status().message()));
  }
  if (result.status().message().find("does not own") != std::string::npos) {
    // Partitioned by a different hash than Kafka's default: no writer here will ever own it.
    return reject(base::StrCat("FAILED_PRECONDITION: partition: ", result.status().message(),
                               "; produce with Kafka's default (murmur2) partitioner"));
  }
  return result.status();  // transient
}

void InboundIngester::Run() {
  while (!stop_) {
    auto batch = consumer_->Poll(500, std::chrono::milliseconds(200));
    if (!batch.ok()) {
      std::this_thread::sleep_for(options_.retry_backoff);
      continue;
    }
    std::map<int32_t, int64_t> next;
    std::set<int32_t> blocked;
    absl::Status transient;
    for (const auto& r : *batch) {
      if (blocked.contains(r.partition)) continue;
      if (absl::Status s = Handle(r); s.ok()) {
        next[r.partition] = r.offset + 1;
      } else {
        blocked.insert(r.partition);
        transient = s;
      }
    }
    if (auto s = consumer_->Commit(topic_, next); !s.ok()) {
      base::Log(base::StrCat("ingester: ", s.message(), "; records may be replayed (harmless)"));
    }
    if (!blocked.empty()) {
      ++retries_;
      base::Log(base::StrCat("ingester: will retry after: ", transient.message()));
      std::this_thread::sleep_for(options_.retry_backoff);
      (void)consumer_->AssignCommitted(topic_, partitions_);
    }
  }
}

}  // namespace kam::services
