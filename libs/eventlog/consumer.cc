#include "eventlog/consumer.h"

#include <librdkafka/rdkafkacpp.h>

#include <optional>

#include "base/ids.h"
#include "base/strings.h"

namespace kam::eventlog {

RdKafka::ConsumerGroupMetadata* ConsumerAccess::GroupMetadata(const Consumer& consumer) {
  return consumer.consumer_->groupMetadata();
}

Consumer::~Consumer() {
  if (consumer_) consumer_->close();
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const KafkaOptions& options) {
  // group.id is required by librdkafka's KafkaConsumer; partitions are assigned
  // manually and nothing is ever committed to this throw-away group.
  return Make(options, "kam-reader-" + base::NewEventId());
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::CreateInGroup(const KafkaOptions& options,
                                                                  const std::string& group_id) {
  if (group_id.empty()) return absl::InvalidArgumentError("group_id: is required");
  return Make(options, group_id);
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Make(const KafkaOptions& options,
                                                         const std::string& group_id) {
  auto conf = MakeConf(options, {{"group.id", group_id},
                                 {"isolation.level", "read_committed"},
                                 {"enable.auto.commit", "false"},
                                 {"enable.auto.offset.store", "false"},
                                 {"enable.partition.eof", "true"},
                                 {"auto.offset.reset", "earliest"},
                                 {"fetch.wait.max.ms", "50"},
                                 // Bounded memory: at most 16 MiB fetched ahead (default 64).
                                 {"queued.max.messages.kbytes", "16384"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<Consumer> self(new Consumer());
  self->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!self->consumer_) return absl::InternalError(base::StrCat("kafka consumer: ", err));
  return self;
}

absl::Status Consumer::Assign(const std::string& topic, int partitions,
                              const std::map<int32_t, int64_t>& start) {
  std::map<int32_t, int64_t> all;
  for (int32_t p = 0; p < partitions; ++p) {
    auto it = start.find(p);
    all[p] = it == start.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second;
  }
  return AssignExactly(topic, all);
}

absl::Status Consumer::AssignCommitted(const std::string& topic,
                                       const std::vector<int32_t>& partitions) {
  std::map<int32_t, int64_t> start;
  for (int32_t p : partitions) start[p] = RdKafka::Topic::OFFSET_STORED;
  return AssignExactly(topic, start);
}

absl::Status Consumer::Commit(const std::string& topic, const std::map<int32_t, int64_t>& next) {
  if (next.empty()) return absl::OkStatus();
  std::vector<RdKafka::TopicPartition*> tps;
  for (const auto& [p, offset] : next)
    tps.push_back(RdKafka::TopicPartition::create(topic, p, offset));
  RdKafka::ErrorCode ec = consumer_->commitSync(tps);
  RdKafka::TopicPartition::destroy(tps);
  if (ec != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        base::StrCat("kafka commit(", topic, "): ", RdKafka::err2str(ec)));
  }
  return absl::OkStatus();
}

absl::Status Consumer::AssignExactly(const std::string& topic,
                                     const std::map<int32_t, int64_t>& start) {
  std::vector<RdKafka::TopicPartition*> tps;
  for (const auto& [p, offset] : start)
    tps.push_back(RdKafka::TopicPartition::create(topic, p, offset));
  RdKafka::ErrorCode ec = consumer_->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  reached_end_.clear();
  assigned_.clear();
  if (ec != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        base::StrCat("kafka assign(", topic, "): ", RdKafka::err2str(ec)));
  }
  for (const auto& [p, offset] : start) assigned_.insert(p);  // what EndOffsets() reports
  return absl::OkStatus();
}

std::map<int32_t, int64_t> Consumer::EndOffsets(const std::string& topic) const {
  std::map<int32_t, int64_t> out;
  for (int32_t p : assigned_) {
    int64_t low = -1;
    int64_t high = -1;
    if (consumer_->get_watermark_offsets(topic, p, &low, &high) == RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      out[p] = high;
    }
  }
  return out;
}

std::map<int32_t, int64_t> Consumer::QueryEndOffsets(const std::string& topic,
                                                     std::chrono::milliseconds timeout) const {
  std::map<int32_t, int64_t> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int32_t p : assigned_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int64_t low = -1;
    int64_t high = -1;
    if (consumer_->query_watermark_offsets(topic, p, &low, &high, static_cast<int>(left.count())) ==
            RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      out[p] = high;
    }
  }
  return out;
}

absl::StatusOr<std::vector<ConsumedRecord>> Consumer::Poll(std::size_t max,
                                                           std::chrono::milliseconds timeout) {
  std::vector<ConsumedRecord> out;
  int wait = static_cast<int>(timeout.count());
  while (out.size() < max) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait));
    wait = 0;  // only the first message is waited for
    switch (m->err()) {
      case RdKafka::ERR_NO_ERROR: {
        ConsumedRecord r;
        r.topic = m->topic_name();
        r.partition = m->partition();
        r.offset = m->offset();
        if (m->key() != nullptr) r.key = *m->key();
        r.value.assign(static_cast<const char*>(m->payload()), m->len());
        if (RdKafka::Headers* h = m->headers(); h != nullptr) {
          for (const RdKafka::Headers::Header& header : h->get_all()) {
            r.headers.emplace_back(
                header.key(),
                std::string(static_cast<const char*>(header.value()), header.value_size()));
          }
        }
        reached_end_.erase(r.partition);
        out.push_back(std::move(r));
        break;
      }
      case RdKafka::ERR__PARTITION_EOF:
        reached_end_.insert(m->partition());
        break;
      case RdKafka::ERR__TIMED_OUT:
        return out;
      default:
        if (!out.empty()) return out;  // report the error on the next call
        return absl::UnavailableError(base::StrCat("kafka consume: ", m->errstr()));
    }
  }
  return out;
}

absl::Status ReadAll(const KafkaOptions& options, const std::string& topic,
                     const std::function<absl::Status(const ConsumedRecord&)>& each,
                     std::chrono::milliseconds timeout) {
  auto partitions = PartitionCount(options, topic);
  if (!partitions.ok()) return partitions.status();
  std::map<int32_t, int64_t> start;
  for (int32_t p = 0; p < *partitions; ++p) start[p] = RdKafka::Topic::OFFSET_BEGINNING;
  return ReadPartitions(options, topic, start, each, timeout);
}

absl::Status ReadPartitions(const KafkaOptions& options, const std::string& topic,
                            const std::map<int32_t, int64_t>& start,
                            const std::function<absl::Status(const ConsumedRecord&)>& each,
                            std::chrono::milliseconds timeout) {
  if (start.empty()) return absl::OkStatus();
  auto consumer = Consumer::Create(options);
  if (!consumer.ok()) return consumer.status();
  if (auto s = (*consumer)->AssignExactly(topic, start); !s.ok()) return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while ((*consumer)->reached_end().size() < start.size()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError(base::StrCat("kafka: could not read ", topic,
                                                 " to its end within ", timeout.count(), " ms"));
    }
    auto batch = (*consumer)->Poll(1000, std::chrono::milliseconds(200));
    if (!batch.ok()) return batch.status();
    for (const ConsumedRecord& r : *batch) {
      if (auto s = each(r); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ConsumedRecord> ReadRecord(const KafkaOptions& options, const std::string& topic,
                                          int32_t partition, int64_t offset,
                                          std::chrono::milliseconds timeout) {
  std::optional<ConsumedRecord> found;
  absl::Status read = ReadPartitions(
      options, topic, {{partition, offset}},
      [&](const ConsumedRecord& r) {
        if (r.offset == offset) found = r;
        return absl::CancelledError();  // the first record read is the one, or there is none
      },
      timeout);
  if (!read.ok() && !absl::IsCancelled(read)) return read;
  if (!found) {
    return absl::NotFoundError(
        base::StrCat("no committed record at ", topic, "/", partition, "@", offset));
  }
  return *std::move(found);
}

}  // namespace kam::eventlog
