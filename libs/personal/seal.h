// Personal fields sealed per person, and opened again (docs/topics.md, "Personal data").
//
// The contract marks every field that can hold personal data ((kam.v1.personal), see
// proto/kam/v1/personal.proto). The writer seals those of each envelope before it is
// hashed and signed; every reader opens them before folding or answering:
//
//   kam::personal::Sealer sealer(keys);
//   KAM_RETURN_IF_ERROR(sealer.Seal(envelope, programme_id, whose));  // at the writer
//   kam::personal::Revealer revealer(keys);
//   revealer.Reveal(envelope);              // plaintext, or "erased person #7"
//
// A sealed value is the token "kam-pd1:<programme id>/<person id>:<base64>", the base64
// of a 12-byte nonce, the AES-256-GCM ciphertext and its 16-byte tag, with the key id and
// the field's full name as associated data (a token moved to another field or person does
// not open). An empty value stays empty. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "personal/keys.h"

namespace kam::personal {

inline constexpr std::string_view kTokenPrefix = "kam-pd1:";

// What a reader shows where the data of a sealed value cannot be read.
inline constexpr std::string_view kUnreadable = "(unreadable personal data)";

// Whether a message type (or anything it holds) has a personal field. Cached per type.
bool HasPersonalFields(const google::protobuf::Descriptor* type);

// Calls `fn` with every personal string value set in `message` (and in the messages it
// holds), the field, and the value of the field its (kam.v1.subject) names (empty without).
// `fn` may change the value.
void ForEachPersonalValue(
    google::protobuf::Message& message,
    const std::function<void(const google::protobuf::FieldDescriptor& field,
                             std::string_view subject, std::string& value)>& fn);

// Whose key seals a value (personal.proto): the person named by the field's subject, else
// `person_of(value)` (the person a principal belongs to), else `author`.
struct Whose {
  std::function<std::string(std::string_view principal)> person_of;
  std::string author;  // the person who issued the command; empty: none
};

class Sealer {
 public:
  explicit Sealer(KeyStore& keys) : keys_(keys) {}
  // Seals every personal value of `message` in `programme_id`. A value that already starts
  // with kTokenPrefix is refused (INVALID_ARGUMENT naming the field): nobody passes off a
  // token as their text. A value with no person to seal it for stays as it is.
  absl::Status Seal(google::protobuf::Message& message, std::string_view programme_id,
                    const Whose& whose);
  absl::StatusOr<std::string> SealValue(std::string_view key_id, std::string_view field_name,
                                        std::string_view plaintext);

 private:
  // An envelope's actor repeats in every event its person records (a metrics feed sends
  // thousands a second): its token is sealed once per person and principal and reused (at
  // most kActorTokens remembered). A repeated token tells only that the same principal
  // acted, which its key id (the person) nearly tells already; other values are sealed
  // afresh each time, so equal texts do not show as equal.
  static constexpr std::size_t kActorTokens = 4096;
  absl::StatusOr<std::string> ActorToken(const std::string& key_id, std::string_view field_name,
                                         std::string_view principal);

  KeyStore& keys_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::string> actor_tokens_;  // "<key id>\0<principal>"
};

class Revealer {
 public:
  explicit Revealer(KeyStore& keys) : keys_(keys) {}
  // Opens every token in the personal values of `message`: the plaintext, or
  // ErasedPersonName for an erased person, or kUnreadable. A PersonalDataErased in an
  // envelope destroys that person's key first (idempotent): whoever reads the erasure
  // makes sure of it, so a restored key backup is shredded again by the next reader.
  void Reveal(google::protobuf::Message& message);
  // One token (or any other text, returned as it is).
  std::string Open(std::string_view value, std::string_view field_name);
  // Destroys the key of the person a PersonalDataErased event names. Idempotent.
  absl::Status Erase(std::string_view programme_id, std::string_view person_id, uint32_t number);

 private:
  KeyStore& keys_;
};

// What a caller who may read a programme but not its personal data sees in their place.
inline constexpr std::string_view kWithheld = "(withheld)";

// Replaces every non-empty personal value of `message` by kWithheld.
void Withhold(google::protobuf::Message& message);

// Splits a token: its key id and sealed bytes. False for anything else.
bool ParseToken(std::string_view value, std::string* key_id, std::string* sealed);

}  // namespace kam::personal
