// Whole-file reads and atomic writes, for snapshots.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kam::writer {

// NOT_FOUND if the file does not exist; INTERNAL on an I/O error.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`:
// a reader sees the old file or the new one, never a torn one. Creates the directory.
absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace kam::writer
