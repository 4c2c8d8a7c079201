// Command-line flags for the binaries: --name=value or --name value; --help prints them.
//
//   kam::server::Flags flags("kam-programme-service", "Commands on programmes");
//   flags.Define("listen", "127.0.0.1:50051", "address to serve gRPC on");
//   if (auto s = flags.Parse(argc, argv); !s.ok()) { std::cerr << s; return 2; }
//   std::string listen = flags.Get("listen");
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kam::server {

class Flags {
 public:
  Flags(std::string program, std::string summary);
  void Define(const std::string& name, std::string default_value, std::string help);
  // INVALID_ARGUMENT naming an unknown flag or a flag without a value. --help sets help().
  absl::Status Parse(int argc, char** argv);
  const std::string& Get(const std::string& name) const;
  // INVALID_ARGUMENT naming the flag if its value is not an integer in [min, max].
  absl::Status GetInt(const std::string& name, long min, long max, long& out) const;
  // INVALID_ARGUMENT naming the flag unless its value is "true" or "false".
  absl::Status GetBool(const std::string& name, bool& out) const;
  // A comma-separated list of integers in [min, max] ("" is the empty list).
  absl::Status GetIntList(const std::string& name, long min, long max, std::vector<int>& out) const;
  bool help() const { return help_; }
  std::string Usage() const;

 private:
  struct Flag {
    std::string value;
    std::string help;
  };
  std::string program_;
  std::string summary_;
  std::map<std::string, Flag> flags_;
  bool help_ = false;
};

}  // namespace kam::server
