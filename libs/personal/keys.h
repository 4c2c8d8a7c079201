// Where the data keys of persons live: outside Kafka, so destroying one erases what it
// sealed in a log that is never rewritten (crypto-shredding; docs/architecture.md,
// "Personal data").
//
//   auto keys = kam::personal::OpenFileKeyStore("/var/lib/kam/keys");
//   absl::StatusOr<std::string> key = (*keys)->KeyFor("emea-kam/p-ana");   // made if new
//   KAM_RETURN_IF_ERROR((*keys)->Destroy("emea-kam/p-ana", 7));            // erased person #7
//
// A key id is "<programme id>/<person id>". A destroyed key leaves a tombstone with the
// person's number, so every reader shows the same "erased person #<n>", and a key is never
// made again for an erased person. KeyStore is the seam for a KMS: FileKeyStore is the one
// implementation here. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kam::personal {

inline constexpr std::size_t kKeyBytes = 32;  // AES-256

struct KeyLookup {
  enum class State { kKey, kErased, kUnknown };
  State state = State::kUnknown;
  std::string key;      // kKey: the 32 bytes
  uint32_t number = 0;  // kErased: the person's number in the programme
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // The key of `key_id`, made (from the system's random source) if it has none.
  // FAILED_PRECONDITION if it was destroyed: nothing of an erased person is sealed again.
  virtual absl::StatusOr<std::string> KeyFor(std::string_view key_id) = 0;
  // The key, the tombstone, or nothing.
  virtual absl::StatusOr<KeyLookup> Lookup(std::string_view key_id) = 0;
  // Destroys the key and leaves a tombstone with `number`. Idempotent.
  virtual absl::Status Destroy(std::string_view key_id, uint32_t number) = 0;
};

// A directory with one file per key (mode 0600, the directory 0700), written with
// fsync and link(2), so processes sharing the directory agree on one key per person.
// Destroy overwrites the key's bytes in place, syncs, then replaces the file by its
// tombstone. Keys are cached in memory; a process learns of a key another process
// destroyed through Destroy (every reader calls it when it meets the erasure event).
absl::StatusOr<std::unique_ptr<KeyStore>> OpenFileKeyStore(const std::string& dir);

// "<programme id>/<person id>"; both parts are ids (base::ValidateId), which the stores check.
std::string KeyId(std::string_view programme_id, std::string_view person_id);

}  // namespace kam::personal
