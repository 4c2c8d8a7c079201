#include "support/kafka_broker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

#include "base/ids.h"
#include "base/strings.h"

namespace kam::testing {

bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

namespace {

// A free run of `count` ports: the broker needs PORT and PORT+1 (controller), and the
// secure listeners PORT+2..PORT+4. Probes until every one is free.
//
// A run of two starts at a port the kernel hands out. A longer run starts below the range the
// kernel takes client ports from (ip_local_port_range): inside it, a port of the run that is
// free now can be taken by an outgoing connection before the broker binds it.
int FreePorts(int count) {
  int ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  const bool below = count > 2 && ephemeral_low - count > 20000;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> base(20000, ephemeral_low - count);
  for (int attempt = 0; attempt < 50; ++attempt) {
    int port = 0;
    if (below) {
      port = base(random);
      if (!Bindable(port)) continue;
    } else {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = 0;
      socklen_t len = sizeof addr;
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
      close(fd);
    }
    if (port <= 0 || port + count - 1 >= 65535) continue;
    bool ok = true;
    for (int i = 1; i < count && ok; ++i) ok = Bindable(port + i);
    if (ok) return port;
  }
  throw std::runtime_error(base::StrCat("no free run of ", count, " ports for a test broker"));
}

std::string Script() { return std::string(KAM_SOURCE_DIR) + "/deploy/kafka/broker.sh"; }

}  // namespace

PrivateBroker::PrivateBroker(Options options) : secure_(options.secure), proxied_(options.proxied) {
  if (secure_ && proxied_) throw std::logic_error("a broker both secure and proxied");
  char tmpl[] = "/tmp/kam-test-broker-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = FreePorts(secure_ ? 5 : proxied_ ? 3 : 2);
  brokers_ = base::StrCat("127.0.0.1:", port_);
  advertised_port_ = port_ + 2;
}

std::string PrivateBroker::proxied_listener() const {
  if (!proxied_) throw std::logic_error("the proxied listener of a broker started without it");
  return base::StrCat("127.0.0.1:", port_ + 2);
}

void PrivateBroker::AdvertiseProxiedAs(int port) {
  if (!proxied_) throw std::logic_error("the proxied listener of a broker started without it");
  advertised_port_ = port;
}

SecureListeners PrivateBroker::secure_listeners() const {
  if (!secure_) throw std::logic_error("the secured listeners of a broker started without them");
  auto at = [&](int offset) { return base::StrCat("127.0.0.1:", port_ + offset); };
  return SecureListeners{.plaintext = brokers_,
                         .sasl_plaintext = at(2),
                         .ssl = at(3),
                         .sasl_ssl = at(4),
                         .ca_file = tls_dir() + "/ca.pem",
                         .client_cert_file = tls_dir() + "/client.pem",
                         .client_key_file = tls_dir() + "/client.key",
                         .sasl_username = "kam",
                         .sasl_password_file = tls_dir() + "/sasl-password"};
}

PrivateBroker::~PrivateBroker() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PrivateBroker::Start() {
  const std::string cmd = base::StrCat(
      Script(), " start --dir ", dir_, " --port ", port_, secure_ ? " --secure" : "",
      proxied_ ? base::StrCat(" --advertise-port ", advertised_port_) : "", " >/dev/null");
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error(base::StrCat("test broker did not start: ", cmd, " (see ", dir_, ")"));
  }
}

void PrivateBroker::Stop() {
  const std::string cmd = base::StrCat(Script(), " stop --dir ", dir_);
  (void)std::system(cmd.c_str());
}

const std::string& SharedBroker() {
  static const std::string brokers = [] {
    if (const char* env = std::getenv("KAM_KAFKA_BROKERS"); env != nullptr && *env != '\0') {
      return std::string(env);
    }
    static auto* broker = new PrivateBroker();  // stopped by the atexit hook below
    broker->Start();
    std::atexit([] { broker->Stop(); });
    return broker->brokers();
  }();
  return brokers;
}

eventlog::KafkaOptions SharedKafka() {
  eventlog::KafkaOptions o;
  o.brokers = SharedBroker();
  return o;
}

const SecureListeners& SharedSecureBroker() {
  static const SecureListeners listeners = [] {
    if (const char* env = std::getenv("KAM_KAFKA_SECURE_DIR"); env != nullptr && *env != '\0') {
      const std::string path = std::string(env) + "/tls/listeners.env";
      std::ifstream in(path);
      std::map<std::string, std::string> vars;
      for (std::string line; std::getline(in, line);) {
        if (auto eq = line.find('='); eq != std::string::npos) {
          vars[line.substr(0, eq)] = line.substr(eq + 1);
        }
      }
      auto var = [&](const std::string& name) {
        auto it = vars.find(name);
        if (it == vars.end() || it->second.empty()) {
          throw std::runtime_error(base::StrCat("KAM_KAFKA_SECURE_DIR: ", path, " has no ", name,
                                                "; start the broker with broker.sh --secure"));
        }
        return it->second;
      };
      return SecureListeners{.plaintext = var("KAFKA_PLAINTEXT"),
                             .sasl_plaintext = var("KAFKA_SASL_PLAINTEXT"),
                             .ssl = var("KAFKA_SSL"),
                             .sasl_ssl = var("KAFKA_SASL_SSL"),
                             .ca_file = var("KAFKA_SSL_CA"),
                             .client_cert_file = var("KAFKA_SSL_CERT"),
                             .client_key_file = var("KAFKA_SSL_KEY"),
                             .sasl_username = var("KAFKA_SASL_USERNAME"),
                             .sasl_password_file = var("KAFKA_SASL_PASSWORD_FILE")};
    }
    static PrivateBroker* started = nullptr;  // stopped and removed at exit
    auto broker = std::make_unique<PrivateBroker>(/*secure=*/true);
    broker->Start();  // if it throws, `broker` is stopped and removed here
    started = broker.release();
    std::atexit([] { delete started; });
    return started->secure_listeners();
  }();
  return listeners;
}

std::string UniqueTopicPrefix() {
  // Random per process as well: a shared broker outlives processes, and pids are reused.
  static const std::string run = base::NewEventId().substr(0, 8);
  static std::atomic<int> n{0};
  return base::StrCat("t", run, "-", n++, "-");
}

}  // namespace kam::testing
