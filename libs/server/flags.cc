#include "server/flags.h"

#include <charconv>
#include <stdexcept>

#include "base/strings.h"

namespace kam::server {

Flags::Flags(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void Flags::Define(const std::string& name, std::string default_value, std::string help) {
  flags_[name] = Flag{std::move(default_value), std::move(help)};
}

absl::Status Flags::Parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(base::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(base::StrCat("unknown flag --", name, "; see --help"));
    }
    if (!has_value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(base::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    it->second.value = value;
  }
  return absl::OkStatus();
}

const std::string& Flags::Get(const std::string& name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) throw std::logic_error("undefined flag --" + name);  // programmer error
  return it->second.value;
}

absl::Status Flags::GetInt(const std::string& name, long min, long max, long& out) const {
  const std::string& v = Get(name);
  long parsed = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
  if (ec != std::errc() || end != v.data() + v.size() || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        base::StrCat("--", name, " must be an integer in [", min, ", ", max, "], got '", v, "'"));
  }
  out = parsed;
  return absl::OkStatus();
}

absl::Status Flags::GetBool(const std::string& name, bool& out) const {
  const std::string& v = Get(name);
  if (v != "true" && v != "false") {
    return absl::InvalidArgumentError(
        base::StrCat("--", name, " must be true or false, got '", v, "'"));
  }
  out = v == "true";
  return absl::OkStatus();
}

absl::Status Flags::GetIntList(const std::string& name, long min, long max,
                               std::vector<int>& out) const {
  out.clear();
  const std::string& v = Get(name);
  std::size_t start = 0;
  while (start < v.size()) {
    std::size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    long parsed = 0;
    auto [ptr, ec] = std::from_chars(v.data() + start, v.data() + end, parsed);
    if (ec != std::errc() || ptr != v.data() + end || parsed < min || parsed > max) {
      return absl::InvalidArgumentError(base::StrCat("--", name,
                                                     " must be a comma-separated list of "
                                                     "integers in [",
                                                     min, ", ", max, "], got '", v, "'"));
    }
    out.push_back(static_cast<int>(parsed));
    start = end + 1;
  }
  return absl::OkStatus();
}

std::string Flags::Usage() const {
  std::string out = base::StrCat(program_, ": ", summary_, "\n\nflags:\n");
  for (const auto& [name, f] : flags_) {
    base::StrAppend(&out, "  --", name, " (default '", f.value, "')\n      ", f.help, "\n");
  }
  return out;
}

}  // namespace kam::server
