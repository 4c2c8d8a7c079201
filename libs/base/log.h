// One log line to stderr: "<UTC time> <program>: <line>". Thread-safe (one write per line).
//
//   kam::base::Log(kam::base::StrCat("serving on port ", port));
#pragma once

#include <string_view>

namespace kam::base {

void Log(std::string_view line);

}  // namespace kam::base
