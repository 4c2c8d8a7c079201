// Whole-file reads and atomic writes, for snapshots.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kam::writer {

// NOT_FOUND if the file does not exist; INTERNAL on an I/O error.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path` and
// syncs the directory: a reader sees the old file or the new one, never a torn one, and
// after a crash the new one if the call returned OK. Creates the directory.
absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace kam::writer
