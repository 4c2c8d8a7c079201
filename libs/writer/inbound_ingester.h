// An inbound topic turned into commands of an aggregate writer, exactly once: what every
// enterprise feed of the platform shares (metrics, trainings, people, visits, commitment
// outcomes; docs/topics.md).
//
//   kam::writer::InboundIngester<State> in(kafka, writer,
//       {.topic = "kam.inbound.trainings.v1", .dead_letter_topic = "kam.inbound.trainings.v1.dlq",
//        .group_id = "kam.programme-ingester"},
//       [&](const kam::eventlog::ConsumedRecord& r) { return CommandFor(r); });
//   KAM_RETURN_IF_ERROR(in.Start());
//
// The inbound topic has as many partitions as the aggregate topic, and a record's key is
// its aggregate id: an inbound partition feeds the writer partition of the same number, so
// the ingester reads only the partitions its writer owns (following them as they move
// between instances of a writer group). Each polled batch of a partition
// is ONE transaction of that partition's writer holding the batch's events, its dead
// letters and the consumer group's offsets: a crash at any point neither loses nor repeats
// an inbound record. A record the translator cannot turn into a command (it does not
// parse, names no aggregate, sits in the wrong partition) and a command the rules reject
// are written to the dead-letter topic in that transaction, with the reason, the origin
// and the inbound topic as headers (kam-dlq-*), so `kamctl dlq redrive` can send it back
// after a fix. A transient failure rewinds to the committed offsets after a back-off.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/consumer.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/kafka.h"
#include "eventlog/topics.h"
#include "writer/aggregate_writer.h"

namespace kam::writer {

// A dead letter: the refused record's key and value, and why, for `inbound_topic`'s
// dead-letter topic. `origin` names where it came from ("topic/partition@offset", or the
// call that carried it).
inline eventlog::Record DeadLetter(std::string key, std::string value,
                                   const std::string& inbound_topic, std::string_view reason,
                                   std::string_view origin) {
  eventlog::Record r{
      std::move(key), std::move(value), eventlog::DeadLetterTopic(inbound_topic), -1, {}};
  r.headers.emplace_back(eventlog::kDlqReasonHeader, std::string(reason));
  r.headers.emplace_back(eventlog::kDlqOriginHeader, std::string(origin));
  r.headers.emplace_back(eventlog::kDlqTopicHeader, inbound_topic);
  return r;
}

inline std::string ReasonText(const absl::Status& s) {
  return base::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

inline std::string OriginOf(const eventlog::ConsumedRecord& r) {
  return base::StrCat(r.topic, "/", r.partition, "@", r.offset);
}

// Makes `c` dead-letter `r` (as it came) when the rules reject it.
template <typename State>
Command<State> DeadLettering(Command<State> c, const eventlog::ConsumedRecord& r) {
  c.dead_letter = [r](const absl::Status& why) -> std::optional<eventlog::Record> {
    auto letter = DeadLetter(r.key, r.value, r.topic, ReasonText(why), OriginOf(r));
    // A re-driven record refused again says which dead letter it was; a signed one keeps
    // its publisher's signature, so that a re-drive is still signed by that publisher.
    for (const auto& [name, value] : r.headers) {
      if (name == eventlog::kRedrivenFromHeader || name == eventlog::kPublisherHeader ||
          name == eventlog::kSignatureHeader) {
        letter.headers.emplace_back(name, value);
      }
    }
    return letter;
  };
  return c;
}

// The command for a record that cannot become one: its decision is the refusal, which
// goes to the dead-letter topic in the batch's transaction.
template <typename State>
Command<State> Refused(const eventlog::ConsumedRecord& r, absl::Status why) {
  Command<State> c;
  c.aggregate_id = r.key;
  c.metadata.set_client_request_id(base::StrCat("inbound/", OriginOf(r)));
  c.decide = [why](const State&, absl::Time) -> absl::StatusOr<domain::Events> { return why; };
  return DeadLettering(std::move(c), r);
}

template <typename State>
class InboundIngester {
 public:
  using Translate = std::function<Command<State>(const eventlog::ConsumedRecord&)>;
  struct Options {
    std::string topic;
    std::string group_id;
    std::size_t max_batch = 1000;  // records per poll (and so per transaction and partition)
    std::chrono::milliseconds retry_backoff{500};
  };
  struct Stats {
    uint64_t recorded = 0;       // new events, or replays of already recorded records
    uint64_t dead_lettered = 0;  // refused, with the reason, to the dead-letter topic
    uint64_t retries = 0;        // transient failures retried from the committed offsets
  };

  InboundIngester(eventlog::KafkaOptions kafka, AggregateWriter<State>& writer, Options options,
                  Translate translate)
      : kafka_(std::move(kafka)),
        writer_(writer),
        options_(std::move(options)),
        translate_(std::move(translate)) {}
  ~InboundIngester() { Stop(); }
  InboundIngester(const InboundIngester&) = delete;
  InboundIngester& operator=(const InboundIngester&) = delete;

  // Creates the inbound and dead-letter topics if needed and starts reading.
  // FAILED_PRECONDITION if the inbound topic's partitions do not match the writer's.
  absl::Status Start() {
    const int count = writer_.partition_count();
    KAM_RETURN_IF_ERROR(eventlog::EnsureBufferTopic(kafka_, options_.topic, count));
    KAM_RETURN_IF_ERROR(
        eventlog::EnsureBufferTopic(kafka_, eventlog::DeadLetterTopic(options_.topic), 1));
    auto inbound = eventlog::PartitionCount(kafka_, options_.topic);
    if (!inbound.ok()) return inbound.status();
    if (*inbound != count) {
      return absl::FailedPreconditionError(base::StrCat(
          options_.topic, " has ", *inbound, " partitions but the aggregate topic has ", count,
          ": they must match so that an inbound record reaches the writer owning its aggregate"));
    }
    auto consumer = eventlog::Consumer::CreateInGroup(kafka_, options_.group_id);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(*consumer);
    KAM_RETURN_IF_ERROR(FollowOwnership());
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    consumer_.reset();
  }

  Stats stats() const { return Stats{recorded_.load(), dead_lettered_.load(), retries_.load()}; }
  const std::string& topic() const { return options_.topic; }

  // The record's partition must be the one its key belongs in, or no writer will ever own
  // it here: a refusal naming the partitioner otherwise.
  absl::Status CheckPartition(const eventlog::ConsumedRecord& r) const {
    const int32_t want = writer_.PartitionOf(r.key);
    if (want == r.partition) return absl::OkStatus();
    return base::InvalidField("partition",
                              base::StrCat("the record is in partition ", r.partition, " but '",
                                           r.key.substr(0, 80), "' belongs in partition ", want,
                                           "; produce with Kafka's default (murmur2) partitioner"));
  }

 private:
  // Reads the partitions the writer owns now, from their committed offsets. A partition
  // the writer has just acquired was fenced from its last owner first, so its committed
  // offsets are final: the last owner's transaction committed them with its events, or
  // was aborted with them.
  absl::Status FollowOwnership() {
    epoch_ = writer_.ownership_epoch();
    partitions_ = writer_.owned_partitions();
    return consumer_->AssignCommitted(options_.topic, partitions_);
  }

  void Run() {
    while (!stop_) {
      if (writer_.ownership_epoch() != epoch_) {
        if (auto s = FollowOwnership(); !s.ok()) {
          base::Log(base::LogLevel::kWarning,
                    base::StrCat("ingester of ", options_.topic,
                                 ": cannot follow the writer's partitions: ", s.message()));
          std::this_thread::sleep_for(options_.retry_backoff);
          epoch_ = ~uint64_t{0};  // try again next time round
          continue;
        }
      }
      auto batch = consumer_->Poll(options_.max_batch, std::chrono::milliseconds(200));
      if (!batch.ok()) {
        std::this_thread::sleep_for(options_.retry_backoff);
        continue;
      }
      if (batch->empty()) continue;
      // One transaction per partition: its events, its dead letters and its offsets.
      std::map<int32_t, std::vector<Command<State>>> commands;
      std::map<int32_t, int64_t> next;
      for (const auto& r : *batch) {
        if (auto s = CheckPartition(r); !s.ok()) {
          commands[r.partition].push_back(Refused<State>(r, s));
        } else {
          commands[r.partition].push_back(translate_(r));
        }
        next[r.partition] = r.offset + 1;
      }
      std::map<int32_t, std::future<std::vector<Outcome>>> pending;
      for (auto& [p, cmds] : commands) {
        pending.emplace(
            p, writer_.SubmitTransaction(
                   p, std::move(cmds),
                   eventlog::TransactionOffsets{consumer_.get(), options_.topic, {{p, next[p]}}}));
      }
      bool failed = false;
      absl::Status transient;
      for (auto& [p, f] : pending) {
        for (const auto& o : f.get()) {
          if (o.result.ok()) {
            ++recorded_;
          } else if (o.dead_lettered) {
            ++dead_lettered_;
          } else if (!IsRejection(o.result.status())) {
            failed = true;
            transient = o.result.status();
          }
        }
      }
      if (failed) {
        // Nothing of the failed partitions' batches is committed (offsets included): read
        // them again from the committed offsets after a pause.
        ++retries_;
        base::Log(base::StrCat("ingester of ", options_.topic,
                               ": will retry after: ", transient.message()));
        std::this_thread::sleep_for(options_.retry_backoff);
        (void)FollowOwnership();
      }
    }
  }

  eventlog::KafkaOptions kafka_;
  AggregateWriter<State>& writer_;
  Options options_;
  Translate translate_;
  std::vector<int32_t> partitions_;
  uint64_t epoch_ = 0;  // the writer's ownership_epoch() that partitions_ follows
  std::unique_ptr<eventlog::Consumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> retries_{0};
};

}  // namespace kam::writer
