#include "eventlog/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "base/log.h"
#include "base/strings.h"

namespace kam::eventlog {
namespace {

// librdkafka's own log lines (from its threads) go through the process's logger, their
// syslog level mapped onto ours.
// The last authentication or TLS failure librdkafka logged, per client name (bounded).
std::mutex refusals_mu;
std::map<std::string, std::string, std::less<>> refusals;

void NoteRefusal(const char* client, const char* line) {
  if (client == nullptr || line == nullptr) return;
  const std::string_view l(line);
  bool refused = false;
  for (std::string_view says :
       {"Authentication failed", "authentication error", "SSL handshake failed",
        "SSL routines::", "certificate verify failed"}) {
    refused = refused || l.find(says) != std::string_view::npos;
  }
  if (!refused) return;
  std::lock_guard<std::mutex> lock(refusals_mu);
  if (refusals.size() >= 256) refusals.clear();
  refusals[client] = line;
}

void LogFromLibrdkafka(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
  if (rk != nullptr) NoteRefusal(rd_kafka_name(rk), line);
  const base::LogLevel ours = level <= 3   ? base::LogLevel::kError
                              : level == 4 ? base::LogLevel::kWarning
                              : level <= 6 ? base::LogLevel::kInfo
                                           : base::LogLevel::kDebug;
  const char* client = rk != nullptr ? rd_kafka_name(rk) : "";
  base::Log(ours, line != nullptr ? line : "",
            {{"component", "librdkafka"},
             {"facility", facility != nullptr ? facility : ""},
             {"client", client != nullptr ? client : ""}});
}

absl::Status Set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(base::StrCat("kafka property ", name, ": ", err));
  }
  return absl::OkStatus();
}

// A C-API client handle for the admin calls the C++ API lacks.
struct CHandle {
  rd_kafka_t* rk = nullptr;
  ~CHandle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

// The effective configuration of `topic` (the broker's defaults included).
absl::StatusOr<std::map<std::string, std::string>> DescribeTopic(
    rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  char err[512];
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_AdminOptions_set_request_timeout(ao, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_DescribeConfigs(rk, &res, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 1000);
  absl::StatusOr<std::map<std::string, std::string>> out = std::map<std::string, std::string>();
  if (ev == nullptr) {
    out = absl::UnavailableError(base::StrCat("kafka did not answer DescribeConfigs(", topic,
                                              ") within ", timeout.count(), " ms"));
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = absl::UnavailableError(
        base::StrCat("DescribeConfigs(", topic, "): ", rd_kafka_event_error_string(ev)));
  } else {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** resources =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    for (size_t i = 0; i < n && out.ok(); ++i) {
      if (rd_kafka_ConfigResource_error(resources[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* msg = rd_kafka_ConfigResource_error_string(resources[i]);
        out = absl::UnavailableError(
            base::StrCat("DescribeConfigs(", topic, "): ", msg != nullptr ? msg : "error"));
        break;
      }
      size_t count = 0;
      const rd_kafka_ConfigEntry_t** entries =
          rd_kafka_ConfigResource_configs(resources[i], &count);
      for (size_t j = 0; j < count; ++j) {
        const char* value = rd_kafka_ConfigEntry_value(entries[j]);
        (*out)[rd_kafka_ConfigEntry_name(entries[j])] = value != nullptr ? value : "";
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_queue_destroy(q);
  return out;
}

// The fewest replicas of any partition of `topic`.
absl::StatusOr<int> FewestReplicas(rd_kafka_t* rk, const std::string& topic,
                                   std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  absl::StatusOr<int> out = absl::NotFoundError(base::StrCat("topic ", topic, " does not exist"));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = absl::UnavailableError(base::StrCat("metadata(", topic, "): ", rd_kafka_err2str(e)));
  } else {
    for (int t = 0; t < md->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& tm = md->topics[t];
      if (topic != tm.topic || tm.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      int fewest = 1 << 30;
      for (int p = 0; p < tm.partition_cnt; ++p)
        fewest = std::min(fewest, tm.partitions[p].replica_cnt);
      out = fewest;
    }
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return out;
}

// The event store's demands on a topic, checked on every start: one created by someone
// else, or altered since, could delete or compact events, or lose them with a broker.
// `buffer`: an inbound or dead-letter topic (EnsureBufferTopic), whose retention is finite.
absl::Status CheckTopic(rd_kafka_t* rk, const KafkaOptions& options, const std::string& topic,
                        std::chrono::milliseconds timeout, bool buffer) {
  auto configs = DescribeTopic(rk, topic, timeout);
  if (!configs.ok()) return configs.status();
  if (!configs->contains("retention.ms")) {
    return absl::UnavailableError(
        base::StrCat("DescribeConfigs(", topic, "): no configuration yet"));
  }
  auto value = [&](const std::string& name) {
    auto it = configs->find(name);
    return it == configs->end() ? std::string("(unset)") : it->second;
  };
  auto fix = [&](const std::string& setting) {
    return base::StrCat("; fix it with kafka-configs.sh --bootstrap-server ", options.brokers,
                        " --alter --entity-type topics --entity-name ", topic, " --add-config ",
                        setting);
  };
  auto refuse = [&](const std::string& name, const std::string& why, const std::string& want) {
    return absl::FailedPreconditionError(base::StrCat("topic ", topic, ": ", name, " is ",
                                                      value(name), ": ", why,
                                                      "; the event store needs ", want, fix(want)));
  };
  if (buffer) {
    if (value("retention.ms") == "-1") {
      base::Log(base::StrCat(
          "WARNING: topic ", topic,
          " keeps what publishers sent forever, personal data in the "
          "clear among it (docs/topics.md, \"Personal data\"); bound it",
          fix(base::StrCat("retention.ms=", std::chrono::milliseconds(kBufferRetention).count()))));
    }
  } else if (value("retention.ms") != "-1") {
    return refuse("retention.ms", "Kafka would delete events older than that", "retention.ms=-1");
  }
  if (value("retention.bytes") != "-1") {
    return refuse("retention.bytes", "Kafka would delete the oldest events past that size",
                  "retention.bytes=-1");
  }
  if (value("cleanup.policy") != "delete") {
    return refuse("cleanup.policy",
                  "compaction keeps only the newest record per key and deletes the rest of "
                  "each aggregate's history",
                  "cleanup.policy=delete");
  }
  if (value("unclean.leader.election.enable") == "true") {
    return refuse("unclean.leader.election.enable",
                  "an out-of-sync replica could become leader and drop acknowledged events",
                  "unclean.leader.election.enable=false");
  }
  if (options.replication_factor > 1) {
    auto replicas = FewestReplicas(rk, topic, timeout);
    if (!replicas.ok()) return replicas.status();
    if (*replicas < options.replication_factor) {
      return absl::FailedPreconditionError(
          base::StrCat("topic ", topic, ": a partition has ", *replicas,
                       " replicas, fewer than the ", options.replication_factor,
                       " asked for (--kafka-replication-factor); reassign its partitions "
                       "(kafka-reassign-partitions.sh) or recreate it"));
    }
    const int want_isr = options.replication_factor >= 3 ? 2 : 1;
    int isr = 0;
    const std::string configured = value("min.insync.replicas");
    if (!absl::SimpleAtoi(configured, &isr) || isr < want_isr) {
      return refuse("min.insync.replicas", "an acknowledged event could live on a single broker",
                    base::StrCat("min.insync.replicas=", want_isr));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int32_t PartitionFor(std::string_view key, int partitions) {
  // Kafka's Utils.murmur2 (seed 0x9747b28c) and Utils.toPositive.
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto length = static_cast<uint32_t>(key.size());
  uint32_t h = 0x9747b28c ^ length;
  const uint32_t blocks = length / 4;
  for (uint32_t i = 0; i < blocks; ++i) {
    uint32_t k = static_cast<uint32_t>(data[i * 4]) |
                 (static_cast<uint32_t>(data[i * 4 + 1]) << 8) |
                 (static_cast<uint32_t>(data[i * 4 + 2]) << 16) |
                 (static_cast<uint32_t>(data[i * 4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = blocks * 4;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[tail]);
      h *= m;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaOptions& options,
    const std::vector<std::pair<std::string, std::string>>& properties) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("brokers: is required");
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // On the C configuration, which the C++ clients copy: the C++ event callback would also
  // take over error reporting, which the consumers read from their messages.
  rd_kafka_conf_set_log_cb(conf->c_ptr_global(), &LogFromLibrdkafka);
  if (auto s = Set(*conf, "bootstrap.servers", options.brokers); !s.ok()) return s;
  if (auto s = Set(*conf, "reconnect.backoff.max.ms", "1000"); !s.ok()) return s;
  for (const auto& [k, v] : properties) {
    if (auto s = Set(*conf, k, v); !s.ok()) return s;
  }
  for (const auto& [k, v] : options.properties) {
    if (auto s = Set(*conf, k, v); !s.ok()) return s;
  }
  return conf;
}

std::string RefusalOf(std::string_view client_name) {
  std::lock_guard<std::mutex> lock(refusals_mu);
  auto it = refusals.find(client_name);
  return it == refusals.end() ? std::string() : it->second;
}

absl::Status ExplainRefusal(absl::Status status, std::string_view client_name) {
  if (status.ok()) return status;
  const std::string refusal = RefusalOf(client_name);
  if (refusal.empty()) return status;
  return absl::UnauthenticatedError(
      base::StrCat(status.message(), "; the broker refused this client: ", refusal,
                   " (check --kafka-security-protocol, --kafka-ssl-* and --kafka-sasl-*)"));
}

namespace {

absl::Status Ensure(const KafkaOptions& options, const std::string& topic, int partitions,
                    std::chrono::milliseconds timeout,
                    std::optional<std::chrono::milliseconds> retention) {
  if (topic.empty()) return absl::InvalidArgumentError("topic: is required");
  if (partitions < 1) return absl::InvalidArgumentError("partitions: must be at least 1");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &LogFromLibrdkafka);
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    return rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK;
  };
  bool ok = set("bootstrap.servers", options.brokers);
  for (const auto& [k, v] : options.properties) ok = ok && set(k, v);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(base::StrCat("kafka configuration: ", err));
  }
  CHandle h;
  h.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes conf on success
  if (h.rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(base::StrCat("kafka client: ", err));
  }
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, options.replication_factor, err, sizeof err);
  if (nt == nullptr) return absl::InvalidArgumentError(base::StrCat("topic ", topic, ": ", err));
  auto set_config = [&](const char* k, const std::string& v) {
    rd_kafka_NewTopic_set_config(nt, k, v.c_str());
  };
  set_config("retention.ms", retention ? std::to_string(retention->count()) : "-1");
  set_config("retention.bytes", "-1");
  set_config("cleanup.policy", "delete");
  if (options.replication_factor >= 3) set_config("min.insync.replicas", "2");

  rd_kafka_queue_t* q = rd_kafka_queue_new(h.rk);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(h.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(ao, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_CreateTopics(h.rk, &nt, 1, ao, q);
  // Polled in slices, so that a client the broker refuses (a wrong password, an unknown
  // CA) fails at once instead of after the whole timeout.
  const std::string client = rd_kafka_name(h.rk);
  rd_kafka_event_t* ev = nullptr;
  const auto answer_by = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
  while (ev == nullptr && std::chrono::steady_clock::now() < answer_by &&
         RefusalOf(client).empty()) {
    ev = rd_kafka_queue_poll(q, 200);
  }
  absl::Status status = absl::OkStatus();
  if (ev == nullptr) {
    status = absl::UnavailableError(base::StrCat("kafka did not answer CreateTopics(", topic,
                                                 ") within ", timeout.count(), " ms"));
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(
        base::StrCat("CreateTopics(", topic, "): ", rd_kafka_event_error_string(ev)));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        status = absl::FailedPreconditionError(base::StrCat(
            "cannot create ", topic, " with ", options.replication_factor,
            " replicas: ", msg != nullptr ? msg : rd_kafka_err2str(e),
            " (--kafka-replication-factor is ", options.replication_factor,
            "; give a cluster that many brokers, or 1 for a one-broker development cluster)"));
      } else if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        status = absl::UnavailableError(base::StrCat(
            "CreateTopics(", topic, "): ", msg != nullptr ? msg : rd_kafka_err2str(e)));
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  if (!status.ok()) return ExplainRefusal(status, client);
  // A topic just created may not be known to every broker yet: DescribeConfigs and metadata
  // answer "unknown topic" for a moment. Only a refusal (FAILED_PRECONDITION) is final.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    status = CheckTopic(h.rk, options, topic, timeout, retention.has_value());
    if (status.ok() || status.code() == absl::StatusCode::kFailedPrecondition ||
        std::chrono::steady_clock::now() >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

absl::Status EnsureTopic(const KafkaOptions& options, const std::string& topic, int partitions,
                         std::chrono::milliseconds timeout) {
  return Ensure(options, topic, partitions, timeout, std::nullopt);
}

absl::Status EnsureBufferTopic(const KafkaOptions& options, const std::string& topic,
                               int partitions, std::chrono::milliseconds retention,
                               std::chrono::milliseconds timeout) {
  if (retention.count() <= 0) return absl::InvalidArgumentError("retention: must be positive");
  return Ensure(options, topic, partitions, timeout, retention);
}

absl::StatusOr<int> PartitionCount(const KafkaOptions& options, const std::string& topic,
                                   std::chrono::milliseconds timeout) {
  auto conf = MakeConf(options, {});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf->get(), err));
  if (!p) return absl::InternalError(base::StrCat("kafka client: ", err));
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(p.get(), topic, nullptr, err));
  if (!t) return absl::InvalidArgumentError(base::StrCat("topic ", topic, ": ", err));
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode ec = p->metadata(false, t.get(), &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (ec != RdKafka::ERR_NO_ERROR) {
    return ExplainRefusal(
        absl::UnavailableError(base::StrCat("metadata(", topic, "): ", RdKafka::err2str(ec))),
        p->name());
  }
  for (const RdKafka::TopicMetadata* tm : *md->topics()) {
    if (tm->topic() != topic) continue;
    if (tm->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
      return absl::NotFoundError(base::StrCat("topic ", topic, " does not exist"));
    }
    if (tm->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(
          base::StrCat("metadata(", topic, "): ", RdKafka::err2str(tm->err())));
    }
    return static_cast<int>(tm->partitions()->size());
  }
  return absl::NotFoundError(base::StrCat("topic ", topic, " does not exist"));
}

}  // namespace kam::eventlog
