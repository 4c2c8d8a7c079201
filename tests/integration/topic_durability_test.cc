// The event store refuses a topic that would lose events: one pre-created (or altered) with a
// finite retention, compaction or unclean leader election, on the real broker, through
// EnsureTopic and through a service binary that must not start on it.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "eventlog/kafka.h"
#include "eventlog/topics.h"
#include "support/kafka_broker.h"
#include "support/run_binary.h"

namespace kam {
namespace {

// A scratch directory holding a tokens file (chmod 600) for a service binary; removed with it.
struct ServiceDir {
  explicit ServiceDir(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / name), tokens((dir / "tokens").string()) {
    std::filesystem::create_directories(dir);
    std::ofstream(tokens) << "tok-admin admin@example admin\n";
    ::chmod(tokens.c_str(), 0600);
  }
  ~ServiceDir() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  std::string tokens;
};

// kam-programme-service with the shared broker, `prefix` and `extra` flags, run until it
// exits (at most 60 s).
testing::RunResult RunService(const ServiceDir& d, const std::string& prefix,
                              const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"60",
                                   std::string(KAM_BINARY_DIR) + "/kam-programme-service",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--metrics-listen",
                                   "",
                                   "--brokers",
                                   testing::SharedKafka().brokers,
                                   "--tokens",
                                   d.tokens,
                                   "--topic-prefix",
                                   prefix,
                                   "--inbound",
                                   "false"};
  args.insert(args.end(), extra.begin(), extra.end());
  return testing::RunBinary("/usr/bin/timeout", args);
}

// Creates `topic` with `configs` through the admin API, as an operator (or an attacker with
// admin rights) would have before the platform first started.
void CreateTopicAs(const std::string& topic, const std::map<std::string, std::string>& configs) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", testing::SharedKafka().brokers.c_str(),
                              err, sizeof err),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), 3, 1, err, sizeof err);
  for (const auto& [k, v] : configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  ASSERT_NE(ev, nullptr);
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(results[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(results[0]);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
}

TEST(TopicDurability, ANewTopicKeepsEventsForever) {
  const std::string topic = testing::UniqueTopicPrefix() + "fresh";
  auto created = eventlog::EnsureTopic(testing::SharedKafka(), topic, 3);
  EXPECT_TRUE(created.ok()) << created;
  // And again: an existing topic that keeps events is accepted as it is.
  auto found = eventlog::EnsureTopic(testing::SharedKafka(), topic, 3);
  EXPECT_TRUE(found.ok()) << found;
}

TEST(TopicDurability, AnInboundBufferKeepsWhatPublishersSentForABoundedTimeOnly) {
  // Inbound topics hold personal data in the clear as publishers sent it: a new one is made
  // with a finite retention (the event store's own check refuses it for exactly that).
  const std::string topic = eventlog::InboundTopic(testing::UniqueTopicPrefix(), "people");
  ASSERT_TRUE(eventlog::EnsureBufferTopic(testing::SharedKafka(), topic, 3).ok());
  ASSERT_TRUE(eventlog::EnsureBufferTopic(testing::SharedKafka(), topic, 3).ok());
  const absl::Status as_store = eventlog::EnsureTopic(testing::SharedKafka(), topic, 3);
  EXPECT_EQ(as_store.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(as_store.message().find("retention.ms is 1209600000"), std::string::npos) << as_store;
  // One created before (kept forever) is still accepted, with a warning naming the fix.
  const std::string old = eventlog::InboundTopic(testing::UniqueTopicPrefix(), "people");
  CreateTopicAs(old, {{"retention.ms", "-1"}});
  EXPECT_TRUE(eventlog::EnsureBufferTopic(testing::SharedKafka(), old, 3).ok());
}

TEST(TopicDurability, ATopicThatWouldDeleteOrCompactEventsIsRefusedNamingTheSettingAndTheFix) {
  const std::string prefix = testing::UniqueTopicPrefix();
  struct Case {
    std::string name;
    std::map<std::string, std::string> configs;
    std::string says;
  } cases[] = {
      {"week", {{"retention.ms", "604800000"}}, "retention.ms is 604800000"},
      {"sized",
       {{"retention.ms", "-1"}, {"retention.bytes", "1073741824"}},
       "retention.bytes is 1073741824"},
      {"compacted",
       {{"retention.ms", "-1"}, {"cleanup.policy", "compact"}},
       "cleanup.policy is compact"},
      {"unclean",
       {{"retention.ms", "-1"}, {"unclean.leader.election.enable", "true"}},
       "unclean.leader.election.enable is true"},
  };
  for (const auto& c : cases) {
    const std::string topic = prefix + c.name;
    CreateTopicAs(topic, c.configs);
    auto s = eventlog::EnsureTopic(testing::SharedKafka(), topic, 3);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s;
    EXPECT_NE(s.message().find("kafka-configs.sh"), std::string::npos) << s;
  }
}

TEST(TopicDurability, MoreReplicasThanTheTopicHasAreRefused) {
  const std::string topic = testing::UniqueTopicPrefix() + "single";
  ASSERT_TRUE(eventlog::EnsureTopic(testing::SharedKafka(), topic, 3).ok());
  eventlog::KafkaOptions three = testing::SharedKafka();
  three.replication_factor = 3;
  auto s = eventlog::EnsureTopic(three, topic, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("a partition has 1 replicas, fewer than the 3"), std::string::npos)
      << s;
}

// A service does not start on a store that would lose its events: it exits, saying why.
TEST(TopicDurability, AServiceRefusesToStartOnATopicWithAWeeksRetention) {
  const std::string prefix = testing::UniqueTopicPrefix();
  CreateTopicAs(eventlog::AggregateTopic(prefix, "programme"), {{"retention.ms", "604800000"}});
  const ServiceDir d(prefix + "durability");
  auto r = RunService(d, prefix, {"--kafka-replication-factor", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("retention.ms is 604800000: Kafka would delete events older than that"),
            std::string::npos)
      << r.err;
}

// The services' default is three replicas per topic: on a one-broker cluster a service
// refuses to start, saying so and how to run it there.
TEST(TopicDurability, TheDefaultOfThreeReplicasIsRefusedByAOneBrokerClusterNamingTheFlag) {
  const std::string prefix = testing::UniqueTopicPrefix();
  const ServiceDir d(prefix + "replicas");
  auto r = RunService(d, prefix, {});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("with 3 replicas"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--kafka-replication-factor is 3"), std::string::npos) << r.err;
}

// Kafka security flags are checked before anything connects, naming the flag.
TEST(TopicDurability, KafkaSecurityFlagsAreCheckedNamingTheFlag) {
  const ServiceDir d(testing::UniqueTopicPrefix() + "sasl");
  const std::string& tokens = d.tokens;
  const std::string password = (d.dir / "password").string();
  std::ofstream(password) << "secret\n";
  ::chmod(password.c_str(), 0644);
  const std::string binary = std::string(KAM_BINARY_DIR) + "/kam-programme-service";
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--metrics-listen", "",
                                     "--tokens", tokens,        "--brokers",        "127.0.0.1:1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunBinary(binary, args);
  };
  auto r = run({"--kafka-security-protocol", "tls"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kafka-security-protocol must be plaintext, ssl, sasl_plaintext or "
                       "sasl_ssl, got 'tls'"),
            std::string::npos)
      << r.err;
  r = run({"--kafka-security-protocol", "sasl_ssl", "--kafka-sasl-username", "kam"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs --kafka-sasl-username and --kafka-sasl-password-file"),
            std::string::npos)
      << r.err;
  r = run({"--kafka-security-protocol", "sasl_ssl", "--kafka-sasl-username", "kam",
           "--kafka-sasl-password-file", password});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("can be read by other users; chmod 600"), std::string::npos) << r.err;
  r = run({"--kafka-ssl-ca", password});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kafka-ssl-ca needs --kafka-security-protocol ssl or sasl_ssl"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kam
