#include "support/kafka_broker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "base/ids.h"
#include "base/strings.h"

namespace kam::testing {
namespace {

int FreePortPair() {
  // The broker needs PORT and PORT+1 (controller); probe until both are free.
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    close(fd);
    if (port <= 0 || port >= 65535) continue;
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_port = htons(static_cast<uint16_t>(port + 1));
    const bool ok = bind(fd2, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd2);
    if (ok) return port;
  }
  throw std::runtime_error("no free port pair for a test broker");
}

std::string Script() { return std::string(KAM_SOURCE_DIR) + "/deploy/kafka/broker.sh"; }

}  // namespace

PrivateBroker::PrivateBroker() {
  char tmpl[] = "/tmp/kam-test-broker-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = FreePortPair();
  brokers_ = base::StrCat("127.0.0.1:", port_);
}

PrivateBroker::~PrivateBroker() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PrivateBroker::Start() {
  const std::string cmd =
      base::StrCat(Script(), " start --dir ", dir_, " --port ", port_, " >/dev/null");
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

std::string UniqueTopicPrefix() {
  // Random per process as well: a shared broker outlives processes, and pids are reused.
  static const std::string run = base::NewEventId().substr(0, 8);
  static std::atomic<int> n{0};
  return base::StrCat("t", run, "-", n++, "-");
}

}  // namespace kam::testing
