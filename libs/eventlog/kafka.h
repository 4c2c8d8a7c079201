// Kafka plumbing shared by the producer and the consumers: configuration, topic
// set-up and error mapping. librdkafka types stay inside libs/eventlog.
//
//   kam::eventlog::KafkaOptions kafka{.brokers = "127.0.0.1:9092"};
//   KAM_RETURN_IF_ERROR(kam::eventlog::EnsureTopic(kafka, topic, /*partitions=*/3));
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/topics.h"

namespace RdKafka {
class Conf;
}  // namespace RdKafka

namespace kam::eventlog {

struct KafkaOptions {
  // Comma-separated host:port list.
  std::string brokers;
  // Extra librdkafka properties, applied last (e.g. security.protocol, ssl.*).
  std::map<std::string, std::string> properties;
  // Replication of topics this process creates: 1 locally, 3 in production (then
  // min.insync.replicas is set to 2).
  int replication_factor = 1;
};

// The partition of `key` among `partitions`: Kafka's default (murmur2) partitioner, so
// Java clients and this code agree. Writers pick partitions explicitly with it, because
// partition ownership decides which writer instance owns an aggregate.
int32_t PartitionFor(std::string_view key, int partitions);

// A global librdkafka configuration from `options` and `properties` (which win over
// the options' own properties only where noted by the caller). INVALID_ARGUMENT naming
// the property on a bad name or value. librdkafka's log lines from a client made with it go
// through base::Log ({"component":"librdkafka","facility":...,"client":...}).
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaOptions& options,
    const std::vector<std::pair<std::string, std::string>>& properties);

// Creates `topic` with `partitions` partitions and infinite retention if it does not
// exist, then checks that the topic (new or not) keeps events: retention.ms and
// retention.bytes -1, cleanup.policy delete, no unclean leader election and, when
// options.replication_factor > 1, that many replicas and min.insync.replicas of 2 (1 for a
// factor of 2). FAILED_PRECONDITION naming the setting and the kafka-configs.sh command that
// fixes it; UNAVAILABLE if the cluster does not answer. An existing topic is never altered.
absl::Status EnsureTopic(const KafkaOptions& options, const std::string& topic, int partitions,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// How long the inbound topics and their dead letters keep records. They are buffers that
// hold what publishers sent as they sent it, personal data in the clear among it: the event
// topics keep it sealed (docs/topics.md, "Personal data"), these only until it is ingested
// or re-driven.
inline constexpr std::chrono::hours kBufferRetention{24 * 14};

// EnsureTopic for such a buffer: created with `retention` (retention.bytes -1), and
// checked as the event topics are, except that its retention must be finite. An existing
// buffer kept forever is not refused (it was created so before): a warning names the
// kafka-configs.sh command that bounds it.
absl::Status EnsureBufferTopic(const KafkaOptions& options, const std::string& topic,
                               int partitions,
                               std::chrono::milliseconds retention = kBufferRetention,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The last authentication or TLS failure librdkafka logged for the client named
// `client_name` (rd_kafka_name: a wrong SASL password, a missing client certificate, a
// broker certificate no CA vouches for), or empty.
std::string RefusalOf(std::string_view client_name);

// `status` as UNAUTHENTICATED with that failure added, if the client was refused; else as is.
// Without it a refused client only sees its calls time out.
absl::Status ExplainRefusal(absl::Status status, std::string_view client_name);

// The number of partitions of `topic`. NOT_FOUND if it does not exist.
absl::StatusOr<int> PartitionCount(const KafkaOptions& options, const std::string& topic,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace kam::eventlog
