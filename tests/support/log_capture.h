// Captures what base::Log writes, for tests: every line, parsed as JSON.
//
//   kam::testing::LogCapture logs;
//   ... code that logs ...
//   auto line = logs.Await([](const nlohmann::json& l) { return l["msg"] == "stopped"; });
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"

namespace kam::testing {

class LogCapture {
 public:
  LogCapture() {
    base::SetLogSinkForTesting([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
      cv_.notify_all();
    });
  }
  ~LogCapture() { base::SetLogSinkForTesting({}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

  // The first line (parsed; lines that are not JSON count as not matching) for which `match`
  // holds, waiting up to `timeout` for it.
  std::optional<nlohmann::json> Await(
      const std::function<bool(const nlohmann::json&)>& match,
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<nlohmann::json> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const std::string& line : lines_) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!j.is_discarded() && match(j)) {
          found = std::move(j);
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> lines_;
};

}  // namespace kam::testing
