#include "tools/bench/platform.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/status/statusor.h"
#include "base/ids.h"
#include "base/strings.h"

namespace kam::bench {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RandomToken() {
  std::string id = base::NewEventId();
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  return id;
}

}  // namespace

Platform::Platform(PlatformOptions options) : options_(std::move(options)) {
  prefix_ = options_.topic_prefix.empty() ? "bench" + RandomToken().substr(0, 8) + "-"
                                          : options_.topic_prefix;
  dir_ = options_.work_dir.empty()
             ? (std::filesystem::temp_directory_path() / ("kam-platform-" + prefix_)).string()
             : options_.work_dir;
  std::filesystem::create_directories(dir_);
  tokens_file_ = dir_ + "/tokens";
  std::ofstream out(tokens_file_);
  out << "# benchmark tokens\n";
  for (const char* role : {"admin", "champion", "kam", "sponsor", "board", "publisher"}) {
    tokens_[role] = RandomToken();
    const std::string principal = std::string(role) == "publisher"
                                      ? "erp@supplier.example"
                                      : base::StrCat(role, "@supplier.example");
    out << tokens_[role] << " " << principal << " " << role << "\n";
  }
  out.close();
  std::filesystem::permissions(
      tokens_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

Platform::~Platform() { Stop(); }

absl::StatusOr<int> Platform::StartBinary(const std::string& name, std::vector<std::string> args,
                                          const std::string& label) {
  const std::string binary = options_.bin_dir + "/" + name;
  const std::string log = dir_ + "/" + label + ".log";
  if (auto extra = options_.extra_flags.find(name); extra != options_.extra_flags.end()) {
    args.insert(args.end(), extra->second.begin(), extra->second.end());
  }
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // The platform dies with the benchmark, however the benchmark ends.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  pids_[label] = pid;
  order_.push_back(label);
  const std::regex serving(R"(serving.* on (?:port |https?://[0-9.]+:)(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string text = ReadAll(log);
    if (std::regex_search(text, m, serving)) {
      ports_[label] = std::stoi(m[1]);
      return ports_[label];
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pids_.erase(label);
      return absl::InternalError(
          base::StrCat(name, " exited during start-up; its log:\n",
                       text.substr(text.size() > 3000 ? text.size() - 3000 : 0)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::InternalError(base::StrCat(name, " did not start within 90 s; see ", log));
}

absl::Status Platform::Start() {
  const std::vector<std::string> common = {"--listen",
                                           "127.0.0.1:0",
                                           "--metrics-listen",
                                           "127.0.0.1:0",
                                           "--brokers",
                                           options_.brokers,
                                           "--tokens",
                                           tokens_file_,
                                           "--topic-prefix",
                                           prefix_,
                                           "--kafka-replication-factor",
                                           "1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto p = StartBinary("kam-programme-service", with({"--inbound", "false"}), "commands");
  if (!p.ok()) return p.status();
  // The ingestion benchmark publishes unsigned records as "erp" (a signature is measured in
  // the integrity section).
  auto m = StartBinary("kam-metrics-service",
                       options_.metrics_inbound
                           ? with({"--inbound", "true", "--inbound-unauthenticated", "true"})
                           : with({"--inbound", "false"}),
                       "metrics");
  if (!m.ok()) return m.status();
  auto q =
      StartBinary("kam-history-projection", with({"--data-dir", dir_ + "/history"}), "queries");
  if (!q.ok()) return q.status();
  return absl::OkStatus();
}

void Platform::Stop(int grace_ms) {
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    auto pid = pids_.find(*it);
    if (pid != pids_.end()) kill(pid->second, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  for (auto& [label, pid] : pids_) {
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  pids_.clear();
  order_.clear();
}

}  // namespace kam::bench
