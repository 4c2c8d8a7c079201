// Structured logging: one JSON object per line on stderr,
//
//   {"ts":"2026-03-01T09:30:00.123Z","level":"info","program":"kam-programme-service",
//    "msg":"serving ProgrammeCommandService on port 50051 (plaintext)","port":50051}
//
// with the line's own fields after "msg", then the fields of the thread's log context (a
// call's correlation and request ids). Thread-safe: one write per line.
//
//   kam::base::Log("stopped");                                        // level info
//   kam::base::Log(kam::base::LogLevel::kWarning, "snapshot failed", {{"partition", 2}});
//   {
//     kam::base::ScopedLogContext call({{"correlation_id", id}, {"request_id", rid}});
//     ... every line this thread logs in here carries both ...
//   }
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace kam::base {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
std::string_view LevelName(LogLevel level);  // "debug", "info", "warning", "error"

// One key and its value, held as JSON: a string, a number or a boolean.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value);
  LogField(std::string_view key, const char* value) : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, const std::string& value)
      : LogField(key, std::string_view(value)) {}
  template <std::integral T>
  LogField(std::string_view key, T value) : key_(key) {
    if constexpr (std::same_as<T, bool>) {
      json_ = value ? "true" : "false";
    } else {
      json_ = std::to_string(value);
    }
  }
  LogField(std::string_view key, double value);

  const std::string& key() const { return key_; }
  const std::string& json() const { return json_; }

 private:
  std::string key_;
  std::string json_;
};

void Log(std::string_view msg);
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
void Log(LogLevel level, std::string_view msg, std::span<const LogField> fields);

// Fields added to every line the calling thread logs while this object lives (nested
// contexts add to the outer ones; a line's own field wins over a context field of the
// same key). Create and destroy on the same thread.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(std::initializer_list<LogField> fields);
  explicit ScopedLogContext(std::vector<LogField> fields);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  std::size_t added_ = 0;
};

// The line Log writes (without the newline), from its parts: what the tests pin down.
std::string FormatLogLine(absl::Time time, LogLevel level, std::string_view program,
                          std::string_view msg, std::span<const LogField> fields,
                          std::span<const LogField> context = {});

// Appends `s` as a JSON string (quoted; control characters escaped, bytes that are not
// UTF-8 replaced by U+FFFD), so every line is valid JSON whatever a message holds.
void AppendJsonString(std::string& out, std::string_view s);

// Sends lines (without the newline) to `sink` instead of stderr; an empty function restores
// stderr. For tests that read what is logged.
void SetLogSinkForTesting(std::function<void(std::string_view line)> sink);

}  // namespace kam::base
