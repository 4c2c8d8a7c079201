#include "base/log.h"

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kam::base {

void Log(std::string_view line) {
  std::string out = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  out += ' ';
  out += program_invocation_short_name;
  out += ": ";
  out.append(line.data(), line.size());
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace kam::base
