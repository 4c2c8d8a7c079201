// The envelope codec: seals an envelope into the exact bytes stored in Kafka and
// opens stored bytes again, checking the envelope's own hash.
//
//   std::string bytes = kam::eventlog::Seal(envelope);     // sets envelope.hash as a side effect
//   absl::StatusOr<kam::eventlog::Opened> o = kam::eventlog::Open(bytes);
//
// Hashing contract (see proto/kam/v1/envelope.proto): hash = SHA-256 over the
// serialised envelope without its `hash` field; the stored value is those bytes
// followed by field 15 (tag 0x7A, length 32, the hash). Verification hashes the
// stored prefix; nothing is re-serialised, so the check is over the stored bytes.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kam/v1/envelope.pb.h"

namespace kam::eventlog {

inline constexpr std::size_t kHashSize = 32;

// SHA-256 of `bytes` (32 raw bytes).
std::string Sha256(std::string_view bytes);

// Computes the hash of `envelope` (its `hash` field must be empty), stores it in
// envelope.hash, and returns the bytes to append to the log.
std::string Seal(v1::EventEnvelope& envelope);

struct Opened {
  v1::EventEnvelope envelope;
  bool hash_ok = false;  // false: the stored hash does not match the stored bytes
};

// Parses stored bytes without checking the hash (for readers that verify elsewhere, or
// not at all, e.g. a fold building an index). DATA_LOSS if they are not a sealed envelope.
absl::StatusOr<v1::EventEnvelope> Parse(std::string_view bytes);

// Parses stored bytes. DATA_LOSS if they are not a
// sealed envelope at all; a parsed envelope whose hash does not match has hash_ok == false,
// so a verifier can report it instead of skipping it.
absl::StatusOr<Opened> Open(std::string_view bytes);

}  // namespace kam::eventlog
