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

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace kam::eventlog {

inline constexpr std::size_t kHashSize = 32;

// SHA-256 of `bytes` (32 raw bytes).
std::string Sha256(std::string_view bytes);

// SHA-256 over pieces given one at a time (no copy of them into one string).
//   Sha256Stream h; h.Update(a); h.Update(b); std::string digest = h.Finish();
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  // The 32 raw bytes of the digest; the stream starts afresh.
  std::string Finish();

 private:
  ::evp_md_ctx_st* ctx_;
};

class Signer;
class Keyring;

// Signs `envelope` with `signer` (if any: its key id, then the signature over the bytes so
// far), computes the hash over everything, stores both in the envelope, and returns the
// bytes to append to the log: [fields 1-14, 16][field 17: signature][field 15: hash].
std::string Seal(v1::EventEnvelope& envelope, const Signer* signer = nullptr);

enum class SignatureCheck {
  kNotChecked,  // no keyring given
  kValid,
  kMissing,     // a keyring is given, the event is unsigned
  kUnknownKey,  // signed with a key the keyring does not hold
  kInvalid,     // the signature does not verify over the stored bytes
};
// "signed by key 3f..." style text for a failed check; empty for kValid / kNotChecked.
std::string SignatureProblem(SignatureCheck check, const v1::EventEnvelope& envelope);

struct Opened {
  v1::EventEnvelope envelope;
  bool hash_ok = false;  // false: the stored hash does not match the stored bytes
  SignatureCheck signature = SignatureCheck::kNotChecked;
  // Hash and (when checked) signature both hold.
  bool authentic() const {
    return hash_ok &&
           (signature == SignatureCheck::kNotChecked || signature == SignatureCheck::kValid);
  }
};

// Parses stored bytes without checking the hash (for readers that verify elsewhere, or
// not at all, e.g. a fold building an index). DATA_LOSS if they are not a sealed envelope.
absl::StatusOr<v1::EventEnvelope> Parse(std::string_view bytes);

// Parses stored bytes. DATA_LOSS if they are not a
// sealed envelope at all; a parsed envelope whose hash does not match has hash_ok == false,
// so a verifier can report it instead of skipping it.
// With a keyring, the signature is checked too: every event must be signed by one of its
// keys.
absl::StatusOr<Opened> Open(std::string_view bytes, const Keyring* keyring = nullptr);

// Why `opened` (a record read under `key` from a topic of `aggregate_type`) is not an
// authentic event of the aggregate its place names - it does not decode, its hash or (when
// checked) its signature fails, or it declares another aggregate - or empty if it is. An
// empty `aggregate_type` skips the type check. The one rule of quarantine, shared by the
// writer's replay, the read model and `kamctl audit`.
std::string AuthenticityProblem(const absl::StatusOr<Opened>& opened, std::string_view key,
                                std::string_view aggregate_type);

}  // namespace kam::eventlog
