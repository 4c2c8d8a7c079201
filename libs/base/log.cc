#include "base/log.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"

namespace kam::base {
namespace {

// The thread's log context: the fields of its live ScopedLogContexts, outermost first.
thread_local std::vector<LogField> context_fields;

struct Output {
  std::mutex mu;
  std::function<void(std::string_view)> sink;
};

Output& TheOutput() {
  static auto* out = new Output();  // never destroyed: threads may log during exit
  return *out;
}

// The length of the well-formed UTF-8 sequence at s[i], or 0.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

void AppendField(std::string& out, const LogField& f) {
  out += ',';
  AppendJsonString(out, f.key());
  out += ':';
  out += f.json();
}

}  // namespace

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

LogField::LogField(std::string_view key, std::string_view value) : key_(key) {
  AppendJsonString(json_, value);
}

LogField::LogField(std::string_view key, double value) : key_(key) {
  if (!std::isfinite(value)) {
    json_ = "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general);
  json_.assign(buf, end);
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else if (c < 0x80) {
          out += static_cast<char>(c);
        } else if (const std::size_t n = Utf8Length(s, i); n > 0) {
          out.append(s.data() + i, n);
          i += n;
          continue;
        } else {
          out += "\\ufffd";
        }
    }
    ++i;
  }
  out += '"';
}

std::string FormatLogLine(absl::Time time, LogLevel level, std::string_view program,
                          std::string_view msg, std::span<const LogField> fields,
                          std::span<const LogField> context) {
  std::string out;
  out.reserve(96 + msg.size());
  out += "{\"ts\":\"";
  out += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  out += "\",\"level\":\"";
  out += LevelName(level);
  out += "\",\"program\":";
  AppendJsonString(out, program);
  out += ",\"msg\":";
  AppendJsonString(out, msg);
  auto reserved = [&](const std::string& key) {
    return key == "ts" || key == "level" || key == "program" || key == "msg";
  };
  for (const LogField& f : fields) {
    if (!reserved(f.key())) AppendField(out, f);
  }
  for (std::size_t i = 0; i < context.size(); ++i) {
    const LogField& f = context[i];
    bool shadowed = reserved(f.key());
    for (const LogField& own : fields) shadowed = shadowed || own.key() == f.key();
    // An inner context's field wins over an outer one's of the same key.
    for (std::size_t j = i + 1; j < context.size(); ++j) {
      shadowed = shadowed || context[j].key() == f.key();
    }
    if (!shadowed) AppendField(out, f);
  }
  out += '}';
  return out;
}

void Log(std::string_view msg) { Log(LogLevel::kInfo, msg, std::span<const LogField>()); }

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  Log(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}

void Log(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
  std::string line =
      FormatLogLine(absl::Now(), level, program_invocation_short_name, msg, fields, context_fields);
  Output& o = TheOutput();
  std::lock_guard<std::mutex> lock(o.mu);
  if (o.sink) {
    o.sink(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

ScopedLogContext::ScopedLogContext(std::initializer_list<LogField> fields)
    : ScopedLogContext(std::vector<LogField>(fields)) {}

ScopedLogContext::ScopedLogContext(std::vector<LogField> fields) : added_(fields.size()) {
  for (auto& f : fields) context_fields.push_back(std::move(f));
}

ScopedLogContext::~ScopedLogContext() {
  context_fields.erase(context_fields.end() - static_cast<std::ptrdiff_t>(added_),
                       context_fields.end());
}

void SetLogSinkForTesting(std::function<void(std::string_view line)> sink) {
  Output& o = TheOutput();
  std::lock_guard<std::mutex> lock(o.mu);
  o.sink = std::move(sink);
}

}  // namespace kam::base
