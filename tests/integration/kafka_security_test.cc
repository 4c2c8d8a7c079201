// Kafka's security settings against the real broker: one started with deploy/kafka/broker.sh
// --secure (SASL_PLAINTEXT and SASL_SSL with SCRAM and PLAIN, SSL with client certificates
// required; KAM_KAFKA_SECURE_DIR's, or a private one per test process), and clients configured
// exactly as the binaries configure them: from the common flags (server::ParseCommonFlags,
// server::KafkaOptionsOf). Topics, transactional appends and read_committed reads go through the
// secured listeners; a wrong password, a missing client certificate or a CA that did not sign the
// broker is refused within seconds, the error saying why (UNAUTHENTICATED; see Refused);
// and a service binary started with the flags comes up and writes over SASL_SSL.
//
// SCRAM: librdkafka before 2.6.1 (Debian 12 ships 2.0.2) sends a wrong nonce in its final
// SCRAM message, which Kafka 4 refuses as invalid credentials. With such a librdkafka the
// SCRAM test pins that (Kafka's own Java client authenticates with the same user and
// password, librdkafka is refused) and is reported as skipped; from 2.6.1 on it is the round
// trip.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "eventlog/producer.h"
#include "eventlog/topics.h"
#include "kam/v1/programme_service.grpc.pb.h"
#include "server/flags.h"
#include "server/process.h"
#include "server/writer_config.h"
#include "support/kafka_broker.h"
#include "support/run_binary.h"
#include "unit/scenario.h"

namespace kam {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// A refused client is given this long by each call, and must have said so within the bound.
constexpr auto kRefusalTimeout = seconds(4);
constexpr auto kRefusalBound = seconds(10);

// librdkafka 2.6.1: the first whose SCRAM Kafka 4 accepts.
constexpr int kScramFixedIn = 0x020601ff;

bool Eventually(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteSecret(const std::string& path, const std::string& text) {
  std::ofstream(path) << text << "\n";
  ::chmod(path.c_str(), 0600);
}

// What this process writes to stderr while it lives: its JSON log lines, librdkafka's among
// them, which is where a refused client says why. Written back to stderr when released.
class StderrCapture {
 public:
  explicit StderrCapture(std::string path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { Release(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Release() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, STDERR_FILENO);
      close(saved_);
      saved_ = -1;
      text_ = Slurp(path_);
      std::fwrite(text_.data(), 1, text_.size(), stderr);
    }
    return text_;
  }

 private:
  std::string path_;
  int saved_ = -1;
  std::string text_;
};

// The Kafka options a binary builds from `--brokers brokers` and `kafka_flags`, through the
// binaries' own parsing (`tokens`: the --tokens file every binary requires).
absl::StatusOr<eventlog::KafkaOptions> FromFlags(const std::string& tokens,
                                                 const std::string& brokers,
                                                 const std::vector<std::string>& kafka_flags) {
  server::Flags flags("kafka_security_test", "Kafka options from the common flags");
  server::DefineCommonFlags(flags, "127.0.0.1:0", "");
  std::vector<std::string> args = {
      "kafka_security_test",        "--brokers", brokers, "--tokens", tokens,
      "--kafka-replication-factor", "1"};
  args.insert(args.end(), kafka_flags.begin(), kafka_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto common = server::ParseCommonFlags(flags, static_cast<int>(argv.size()), argv.data());
  if (!common.ok()) return common.status();
  return server::KafkaOptionsOf(*common);
}

// Each flag turns into the librdkafka property it stands for, and librdkafka takes them all.
TEST(KafkaSecurityFlags, BecomeLibrdkafkaPropertiesThatLibrdkafkaAccepts) {
  const fs::path dir = fs::temp_directory_path() / (testing::UniqueTopicPrefix() + "flags");
  fs::create_directories(dir);
  const std::string tokens = (dir / "tokens").string();
  WriteSecret(tokens, "tok-admin admin@example admin");
  const std::string password = (dir / "password").string();
  WriteSecret(password, "s3cret");
  struct Case {
    std::vector<std::string> flags;
    std::map<std::string, std::string> properties;
  } cases[] = {
      {{}, {{"security.protocol", "plaintext"}}},
      {{"--kafka-security-protocol", "ssl", "--kafka-ssl-ca", "/ca.pem", "--kafka-ssl-cert",
        "/client.pem", "--kafka-ssl-key", "/client.key"},
       {{"security.protocol", "ssl"},
        {"ssl.ca.location", "/ca.pem"},
        {"ssl.certificate.location", "/client.pem"},
        {"ssl.key.location", "/client.key"}}},
      {{"--kafka-security-protocol", "sasl_plaintext", "--kafka-sasl-mechanism", "PLAIN",
        "--kafka-sasl-username", "kam", "--kafka-sasl-password-file", password},
       {{"security.protocol", "sasl_plaintext"},
        {"sasl.mechanism", "PLAIN"},
        {"sasl.username", "kam"},
        {"sasl.password", "s3cret"}}},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-ssl-ca=/ca.pem", "--kafka-sasl-username=kam",
        "--kafka-sasl-password-file=" + password},
       {{"security.protocol", "sasl_ssl"},
        {"ssl.ca.location", "/ca.pem"},
        {"sasl.mechanism", "SCRAM-SHA-512"},
        {"sasl.username", "kam"},
        {"sasl.password", "s3cret"}}},
  };
  for (const auto& c : cases) {
    auto kafka = FromFlags(tokens, "127.0.0.1:9092", c.flags);
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    EXPECT_EQ(kafka->brokers, "127.0.0.1:9092");
    EXPECT_EQ(kafka->properties, c.properties);
    auto conf = eventlog::MakeConf(*kafka, {});
    EXPECT_TRUE(conf.ok()) << conf.status();
  }
  fs::remove_all(dir);
}

class KafkaSecurity : public ::testing::Test {
 protected:
  // The shared secured broker: KAM_KAFKA_SECURE_DIR's, or one for this test process.
  static void SetUpTestSuite() {
    try {
      broker_ = &testing::SharedSecureBroker();
    } catch (const std::exception& e) {
      start_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = (fs::temp_directory_path() / ("kam-security-" + prefix_)).string();
    fs::create_directories(dir_);
    WriteSecret(dir_ + "/tokens", "tok-admin-000 admin@supplier.example admin");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  const testing::SecureListeners& broker() const { return *broker_; }

  absl::StatusOr<eventlog::KafkaOptions> FromFlags(const std::string& brokers,
                                                   const std::vector<std::string>& kafka_flags) {
    return kam::FromFlags(dir_ + "/tokens", brokers, kafka_flags);
  }

  std::vector<std::string> SaslFlags(const std::string& protocol, const std::string& mechanism,
                                     const std::string& password_file) const {
    std::vector<std::string> out = {"--kafka-security-protocol",  protocol,
                                    "--kafka-sasl-username",      broker().sasl_username,
                                    "--kafka-sasl-password-file", password_file};
    if (!mechanism.empty()) out.insert(out.end(), {"--kafka-sasl-mechanism", mechanism});
    if (protocol == "sasl_ssl") out.insert(out.end(), {"--kafka-ssl-ca", broker().ca_file});
    return out;
  }

  // A CA of its own, which signed nothing the broker presents.
  std::string OtherCa() const {
    const std::string ca = dir_ + "/other-ca.pem";
    const std::string cmd = base::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -keyout ", dir_,
                                         "/other-ca.key -out ", ca,
                                         " -days 1 -subj '/CN=someone else' >/dev/null 2>&1");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return ca;
  }

  // EnsureTopic, a transactional append of three records and a read_committed read of them,
  // all with `kafka`.
  void RoundTrip(const eventlog::KafkaOptions& kafka, const std::string& name) {
    SCOPED_TRACE(name);
    const std::string topic = prefix_ + name;
    auto ensured = eventlog::EnsureTopic(kafka, topic, 3, seconds(20));
    ASSERT_TRUE(ensured.ok()) << ensured;
    auto producer =
        eventlog::TransactionalProducer::Create(kafka, "kam.security-test." + topic, seconds(20));
    ASSERT_TRUE(producer.ok()) << producer.status();
    const std::vector<eventlog::Record> records = {
        {.key = "acme", .value = "chartered"},
        {.key = "globex", .value = "nominated"},
        {.key = "acme", .value = "admitted over " + name},
    };
    auto at = (*producer)->Append(topic, -1, records, seconds(20));
    ASSERT_TRUE(at.ok()) << at.status();
    ASSERT_EQ(at->size(), records.size());

    std::vector<std::pair<std::string, std::string>> read;
    auto s = eventlog::ReadAll(
        kafka, topic,
        [&](const eventlog::ConsumedRecord& r) {
          read.emplace_back(r.key, r.value);
          return absl::OkStatus();
        },
        seconds(20));
    ASSERT_TRUE(s.ok()) << s;
    std::vector<std::pair<std::string, std::string>> want;
    for (const auto& r : records) want.emplace_back(r.key, r.value);
    std::sort(read.begin(), read.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(read, want);
  }

  // With `kafka`, creating a topic and registering a transactional id fail, and a consumer
  // reads nothing, each within kRefusalBound; the log says `why`.
  //
  // EnsureTopic and TransactionalProducer::Create answer UNAUTHENTICATED with librdkafka's
  // reason (eventlog::ExplainRefusal; EnsureTopic at once); Consumer::Poll reports nothing
  // (librdkafka keeps retrying; the consumer just gets no records), so the consumer's outcome
  // here is the deadline's and its reason is in the log only.
  void Refused(const eventlog::KafkaOptions& kafka, const std::string& name,
               const std::string& why) {
    SCOPED_TRACE(name);
    const std::string topic = prefix_ + name;
    StderrCapture log(dir_ + "/" + name + ".stderr");
    auto timed = [](std::function<absl::Status()> call) {
      return std::async(std::launch::async, [call = std::move(call)] {
        const auto started = Clock::now();
        absl::Status s = call();
        return std::make_pair(s, Clock::now() - started);
      });
    };
    auto ensured = timed([&] { return eventlog::EnsureTopic(kafka, topic, 3, kRefusalTimeout); });
    auto registered = timed([&] {
      return eventlog::TransactionalProducer::Create(kafka, "kam.security-test." + topic,
                                                     kRefusalTimeout)
          .status();
    });
    auto consumed = timed([&]() -> absl::Status {
      auto consumer = eventlog::Consumer::Create(kafka);
      if (!consumer.ok()) return consumer.status();
      if (auto s = (*consumer)->Assign(topic, 3, {}); !s.ok()) return s;
      const auto deadline = Clock::now() + kRefusalTimeout;
      while (Clock::now() < deadline) {
        auto batch = (*consumer)->Poll(100, milliseconds(200));
        if (!batch.ok()) return batch.status();
        if (!batch->empty()) return absl::OkStatus();
      }
      return absl::DeadlineExceededError("the consumer read nothing");
    });
    std::vector<std::pair<std::string, std::pair<absl::Status, Clock::duration>>> outcomes = {
        {"EnsureTopic", ensured.get()},
        {"TransactionalProducer::Create", registered.get()},
        {"Consumer::Poll", consumed.get()}};
    const std::string logged = log.Release();
    for (const auto& [call, outcome] : outcomes) {
      const auto& [status, took] = outcome;
      EXPECT_FALSE(status.ok()) << call;
      EXPECT_FALSE(status.message().empty()) << call;
      EXPECT_LT(took, kRefusalBound) << call << ": " << status;
      if (call == "Consumer::Poll") continue;  // reads nothing; it has no error to return
      // The error says why, not just that a call timed out.
      EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << call << ": " << status;
      EXPECT_NE(status.message().find(why), std::string::npos) << call << ": " << status;
    }
    EXPECT_NE(logged.find(why), std::string::npos)
        << "the log does not say \"" << why << "\"; it is:\n"
        << logged;
  }

  static const testing::SecureListeners* broker_;
  static std::string* start_error_;
  std::string prefix_;
  std::string dir_;
};

const testing::SecureListeners* KafkaSecurity::broker_ = nullptr;
std::string* KafkaSecurity::start_error_ = nullptr;

// SASL with PLAIN, on SASL_PLAINTEXT and on SASL_SSL: topics, transactions and reads; and a
// wrong password is an authentication failure, said so within seconds, not a hang.
TEST_F(KafkaSecurity, SaslCreatesTopicsAppendsAndReadsAndAWrongPasswordIsRefused) {
  auto plaintext = FromFlags(broker().sasl_plaintext,
                             SaslFlags("sasl_plaintext", "PLAIN", broker().sasl_password_file));
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  RoundTrip(*plaintext, "sasl-plaintext");

  auto over_tls =
      FromFlags(broker().sasl_ssl, SaslFlags("sasl_ssl", "PLAIN", broker().sasl_password_file));
  ASSERT_TRUE(over_tls.ok()) << over_tls.status();
  RoundTrip(*over_tls, "sasl-ssl");

  WriteSecret(dir_ + "/wrong-password", "not-the-password");
  auto wrong = FromFlags(broker().sasl_plaintext,
                         SaslFlags("sasl_plaintext", "PLAIN", dir_ + "/wrong-password"));
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  Refused(*wrong, "wrong-password", "Authentication failed: Invalid username or password");
}

// SCRAM-SHA-256 and SCRAM-SHA-512 (the flags' default). The broker's half is checked with
// Kafka's own Java client; librdkafka's depends on its version (see the top of this file).
TEST_F(KafkaSecurity, SaslScramAuthenticatesWithAFixedLibrdkafka) {
  const std::string lib = std::string(KAM_SOURCE_DIR) + "/deploy/kafka/lib/*";
  std::string password = Slurp(broker().sasl_password_file);
  while (!password.empty() && password.back() == '\n') password.pop_back();
  ASSERT_FALSE(password.empty());
  struct Listener {
    std::string protocol, address, mechanism;
  } listeners[] = {{"sasl_plaintext", broker().sasl_plaintext, "SCRAM-SHA-256"},
                   {"sasl_ssl", broker().sasl_ssl, ""}};
  for (const auto& l : listeners) {
    const std::string mechanism = l.mechanism.empty() ? "SCRAM-SHA-512" : l.mechanism;
    const std::string props = dir_ + "/" + l.protocol + ".properties";
    std::ofstream(props) << "security.protocol=" << l.protocol << "\n"
                         << "sasl.mechanism=" << mechanism << "\n"
                         << "sasl.jaas.config=org.apache.kafka.common.security.scram."
                         << "ScramLoginModule required username=\"kam\" password=\"" << password
                         << "\";\n"
                         << "ssl.truststore.type=PEM\n"
                         << "ssl.truststore.location=" << broker().ca_file << "\n";
    auto java = testing::RunBinary(
        "/usr/bin/timeout", {"60", "java", "-cp", lib, "kafka.admin.ConfigCommand",
                             "--bootstrap-server", l.address, "--command-config", props,
                             "--describe", "--entity-type", "users", "--entity-name", "kam"});
    EXPECT_EQ(java.exit_code, 0) << java.out << java.err;
    for (const char* says : {"SCRAM credential configs for user-principal 'kam' are",
                             "SCRAM-SHA-256=iterations=4096", "SCRAM-SHA-512=iterations=4096"}) {
      EXPECT_NE(java.out.find(says), std::string::npos) << java.out << java.err;
    }
  }

  for (const auto& l : listeners) {
    auto kafka =
        FromFlags(l.address, SaslFlags(l.protocol, l.mechanism, broker().sasl_password_file));
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    if (rd_kafka_version() >= kScramFixedIn) {
      RoundTrip(*kafka, "scram-" + l.protocol);
    } else {
      Refused(*kafka, "scram-" + l.protocol,
              "Authentication failed during authentication due to invalid credentials with "
              "SASL mechanism SCRAM-SHA-");
    }
  }
  if (rd_kafka_version() < kScramFixedIn) {
    GTEST_SKIP() << "librdkafka " << rd_kafka_version_str()
                 << " cannot authenticate with SCRAM to Kafka 4 (fixed in librdkafka 2.6.1): "
                    "the broker accepts the user from Kafka's Java client and refuses it from "
                    "librdkafka; use PLAIN over SASL_SSL until librdkafka is upgraded";
  }
}

// SSL with the client's certificate; without one the SSL listener refuses the client, and a
// client trusting another CA refuses the broker.
TEST_F(KafkaSecurity, TlsWithAClientCertificateAppendsAndReadsWithoutOneOrAnotherCaIsRefused) {
  auto ssl =
      FromFlags(broker().ssl, {"--kafka-security-protocol", "ssl", "--kafka-ssl-ca",
                               broker().ca_file, "--kafka-ssl-cert", broker().client_cert_file,
                               "--kafka-ssl-key", broker().client_key_file});
  ASSERT_TRUE(ssl.ok()) << ssl.status();
  RoundTrip(*ssl, "ssl");

  auto anonymous = FromFlags(
      broker().ssl, {"--kafka-security-protocol", "ssl", "--kafka-ssl-ca", broker().ca_file});
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  Refused(*anonymous, "no-client-certificate", "sslv3 alert bad certificate");

  auto distrustful =
      FromFlags(broker().ssl, {"--kafka-security-protocol", "ssl", "--kafka-ssl-ca", OtherCa(),
                               "--kafka-ssl-cert", broker().client_cert_file, "--kafka-ssl-key",
                               broker().client_key_file});
  ASSERT_TRUE(distrustful.ok()) << distrustful.status();
  Refused(*distrustful, "another-ca", "certificate verify failed");
}

// A built service, started as an operator starts it with the SASL_SSL flags: it creates its
// topics over TLS and SASL, serves, and records a command through that listener.
TEST_F(KafkaSecurity, AServiceBinaryStartsAndWritesOverSaslSsl) {
  std::vector<std::string> args = {std::string(KAM_BINARY_DIR) + "/kam-programme-service",
                                   "--listen=127.0.0.1:0",
                                   "--metrics-listen=",
                                   "--brokers=" + broker().sasl_ssl,
                                   "--kafka-replication-factor=1",
                                   "--inbound=false",
                                   "--tokens=" + dir_ + "/tokens",
                                   "--topic-prefix=" + prefix_,
                                   "--kafka-security-protocol=sasl_ssl",
                                   "--kafka-ssl-ca=" + broker().ca_file,
                                   "--kafka-sasl-mechanism=PLAIN",
                                   "--kafka-sasl-username=" + broker().sasl_username,
                                   "--kafka-sasl-password-file=" + broker().sasl_password_file};
  const std::string log = dir_ + "/kam-programme-service.log";
  const pid_t pid = testing::SpawnBinary(args, log, /*append=*/false);
  ASSERT_GT(pid, 0);
  bool exited = false;
  auto stop = [&] {
    if (exited) return;
    kill(pid, SIGTERM);
    int status = 0;
    if (!Eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(20))) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    exited = true;
  };
  // Its gRPC port, from the "serving ..." line; or it exited.
  int port = -1;
  Eventually(
      [&] {
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);) {
          auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
          if (!j.is_discarded() && j.contains("port") && j["port"].is_number_integer()) {
            port = j["port"].get<int>();
            return true;
          }
        }
        int status = 0;
        exited = waitpid(pid, &status, WNOHANG) == pid;
        return exited;
      },
      seconds(45));
  if (port <= 0) stop();
  ASSERT_GT(port, 0) << "kam-programme-service did not serve; its log:\n" << Slurp(log);

  auto commands = v1::ProgrammeCommandService::NewStub(
      grpc::CreateChannel(base::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  auto charter = testing::Charter();
  charter.mutable_metadata()->set_client_request_id(base::NewEventId());
  v1::CharterProgrammeResponse chartered;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer tok-admin-000");  // only a platform admin charters
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  const grpc::Status charted = commands->CharterProgramme(&ctx, charter, &chartered);
  stop();
  ASSERT_TRUE(charted.ok()) << charted.error_message() << "\nits log:\n" << Slurp(log);

  // Its topic exists and holds the charter, read back over SASL_SSL.
  auto kafka =
      FromFlags(broker().sasl_ssl, SaslFlags("sasl_ssl", "PLAIN", broker().sasl_password_file));
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  const std::string topic = eventlog::AggregateTopic(prefix_, "programme");
  auto partitions = eventlog::PartitionCount(*kafka, topic);
  ASSERT_TRUE(partitions.ok()) << partitions.status();
  EXPECT_EQ(*partitions, 3);
  int events = 0;
  auto read = eventlog::ReadAll(
      *kafka, topic,
      [&](const eventlog::ConsumedRecord& r) {
        if (r.key == "emea-kam") ++events;
        return absl::OkStatus();
      },
      seconds(20));
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(events, 1);

  // kamctl reads the topics over SASL_SSL with the same settings (its own flags); the writer
  // stated its tip in a checkpoint when it stopped.
  const std::map<std::string, std::string> env = {{"HOME", dir_}};
  auto kamctl = [&](std::vector<std::string> argv, const std::string& mechanism = "PLAIN") {
    for (const std::string& a :
         {std::string("--brokers"), broker().sasl_ssl, std::string("--topic-prefix"), prefix_,
          std::string("--kafka-security-protocol"), std::string("sasl_ssl"),
          std::string("--kafka-ssl-ca"), broker().ca_file, std::string("--kafka-sasl-mechanism"),
          mechanism, std::string("--kafka-sasl-username"), broker().sasl_username,
          std::string("--kafka-sasl-password-file"), broker().sasl_password_file}) {
      argv.push_back(a);
    }
    return testing::RunBinary(std::string(KAM_BINARY_DIR) + "/kamctl", argv, env);
  };
  auto audit = kamctl({"audit", "-o", "json"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  auto report = nlohmann::json::parse(audit.out, nullptr, false);
  ASSERT_TRUE(report.is_array() && report.size() == 1) << audit.out << audit.err;
  EXPECT_EQ(report[0]["aggregate_id"], "emea-kam");
  EXPECT_EQ(report[0]["events"], 1);
  EXPECT_EQ(report[0]["anchored_version"], 1);
  // A wrong setting is named before anything is read.
  auto wrong = kamctl({"checkpoints"}, "GSSAPI");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("--kafka-sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
            std::string::npos)
      << wrong.err;
}

}  // namespace
}  // namespace kam
