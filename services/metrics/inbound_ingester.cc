#include "services/metrics/inbound_ingester.h"

#include <map>

#include "base/log.h"
#include "base/strings.h"

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

writer::Command<domain::MetricsState> InboundIngester::CommandFor(
    const eventlog::ConsumedRecord& r) const {
  const std::string origin = base::StrCat(r.topic, "/", r.partition, "@", r.offset);
  // A record that cannot become a command is still one: its decision is the rejection,
  // which goes to the dead-letter topic in the batch's transaction.
  auto refused = [&](absl::Status why) {
    writer::Command<domain::MetricsState> c;
    c.aggregate_id = r.key;
    c.metadata.set_client_request_id(base::StrCat("inbound/", origin));
    c.decide = [why](const domain::MetricsState&, absl::Time) -> absl::StatusOr<domain::Events> {
      return why;
    };
    c.dead_letter = [this, r, origin](const absl::Status& s) -> std::optional<eventlog::Record> {
      return service_.DeadLetter(
          r.key, r.value, base::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message()),
          origin);
    };
    return c;
  };
  v1::InboundMetric inbound;
  if (!inbound.ParseFromString(r.value)) {
    return refused(base::InvalidField("value", "is not a serialised kam.v1.InboundMetric"));
  }
  if (!inbound.has_metric()) return refused(base::InvalidField("metric", "is required"));
  if (auto s = base::ValidateId("publisher", inbound.publisher()); !s.ok()) return refused(s);
  const auto& m = inbound.metric();
  const std::string aggregate = domain::MetricsAggregateId(m.programme_id(), m.account_id());
  if (r.key != aggregate) {
    return refused(base::InvalidField(
        "key", base::StrCat("'", r.key.substr(0, 80), "' must be the metric's aggregate id '",
                            aggregate, "'")));
  }
  if (service_.writer().PartitionOf(r.key) != r.partition) {
    // Partitioned by another hash than Kafka's default: no writer will ever own it here.
    return refused(base::InvalidField(
        "partition", base::StrCat("the record is in partition ", r.partition, " but '", r.key,
                                  "' belongs in partition ", service_.writer().PartitionOf(r.key),
                                  "; produce with Kafka's default (murmur2) partitioner")));
  }
  v1::CommandMetadata metadata;
  metadata.set_client_request_id(inbound.client_request_id().empty()
                                     ? base::StrCat(m.source_system(), "/", m.source_record_id())
                                     : inbound.client_request_id());
  return service_.ItemCommand(metadata, m, base::StrCat("publisher:", inbound.publisher()), origin);
}

void InboundIngester::Run() {
  while (!stop_) {
    auto batch = consumer_->Poll(options_.max_batch, std::chrono::milliseconds(200));
    if (!batch.ok()) {
      std::this_thread::sleep_for(options_.retry_backoff);
      continue;
    }
    if (batch->empty()) continue;
    // One transaction per partition: its events, its dead letters and its offsets.
    std::map<int32_t, std::vector<writer::Command<domain::MetricsState>>> commands;
    std::map<int32_t, int64_t> next;
    for (const auto& r : *batch) {
      commands[r.partition].push_back(CommandFor(r));
      next[r.partition] = r.offset + 1;
    }
    std::map<int32_t, std::future<std::vector<writer::Outcome>>> pending;
    for (auto& [p, cmds] : commands) {
      pending.emplace(p,
                      service_.writer().SubmitTransaction(
                          p, std::move(cmds),
                          eventlog::TransactionOffsets{consumer_.get(), topic_, {{p, next[p]}}}));
    }
    bool failed = false;
    absl::Status transient;
    for (auto& [p, f] : pending) {
      const auto outcomes = f.get();
      bool transaction_failed = false;
      for (const auto& o : outcomes) {
        if (o.result.ok()) {
          ++recorded_;
        } else if (o.dead_lettered) {
          ++dead_lettered_;
        } else if (!writer::IsRejection(o.result.status())) {
          transaction_failed = true;
          transient = o.result.status();
        }
      }
      if (transaction_failed) {
        failed = true;
      }
    }
    if (failed) {
      // Nothing of the failed partitions' batches is committed (offsets included): read
      // them again from the committed offsets after a pause.
      ++retries_;
      base::Log(base::StrCat("ingester: will retry after: ", transient.message()));
      std::this_thread::sleep_for(options_.retry_backoff);
      (void)consumer_->AssignCommitted(topic_, partitions_);
    }
  }
}

}  // namespace kam::services
