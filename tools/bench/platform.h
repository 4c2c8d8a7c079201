// The platform's binaries as child processes, for benchmarks and fault tests: started
// exactly as deploy/local/run.sh starts them, on ephemeral ports, with a topic prefix,
// tokens and data directory of their own, against a broker that is already running.
//
//   kam::bench::Platform p({.bin_dir = "build/bin", .brokers = "127.0.0.1:9092"});
//   KAM_RETURN_IF_ERROR(p.Start());          // commands, metrics, queries
//   p.port("commands"); p.token("champion");
//   p.Stop();
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kam::bench {

struct PlatformOptions {
  std::string bin_dir;
  std::string brokers;
  std::string topic_prefix;  // empty: a random one
  std::string work_dir;      // empty: a fresh temporary directory
  // Extra flags per binary name, e.g. {"kam-metrics-service", {"--group-linger-us", "0"}}.
  std::map<std::string, std::vector<std::string>> extra_flags;
  bool metrics_inbound = true;
};

class Platform {
 public:
  explicit Platform(PlatformOptions options);
  ~Platform();
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  // Starts the programme and metrics services and the read side; each must log that it
  // serves within 90 s. INTERNAL naming the binary and quoting its log otherwise.
  absl::Status Start();
  // SIGTERM, then SIGKILL after `grace_ms`.
  void Stop(int grace_ms = 5000);

  // Starts one more binary (e.g. a second instance); returns its port.
  absl::StatusOr<int> StartBinary(const std::string& name, std::vector<std::string> args,
                                  const std::string& label);

  int port(const std::string& label) const { return ports_.at(label); }
  pid_t pid(const std::string& label) const { return pids_.at(label); }
  const std::string& token(const std::string& role) const { return tokens_.at(role); }
  const std::string& prefix() const { return prefix_; }
  const std::string& dir() const { return dir_; }
  const std::string& tokens_file() const { return tokens_file_; }

 private:
  PlatformOptions options_;
  std::string prefix_;
  std::string dir_;
  std::string tokens_file_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, int> ports_;
  std::map<std::string, pid_t> pids_;
  std::vector<std::string> order_;
};

}  // namespace kam::bench
