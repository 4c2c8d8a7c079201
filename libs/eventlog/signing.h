// Ed25519 signatures over stored events (docs/topics.md, "Signatures"): a writer signs
// with a private key only writers hold; every verifier holds only public keys, so it can
// check but never forge.
//
//   auto signer = kam::eventlog::Signer::FromPemFile("/etc/kam/writer-2026.pem");
//   auto keyring = kam::eventlog::Keyring::FromPemFile("/etc/kam/keyring.pem");
//   std::string sig = (*signer)->Sign(message);                      // 64 bytes
//   bool ok = (*keyring)->Verify((*signer)->key_id(), message, sig);
//
// A key's id is the first 8 bytes of the SHA-256 of its raw 32-byte public key, in hex:
// derived, never configured, so a keyring is just the public keys (PEM, one after the
// other, as `openssl pkey -pubout` prints them). Rotation: generate a new key
// (`openssl genpkey -algorithm ed25519`), append its public key to the keyring, give the
// writers the new private key; old events stay valid under the old public key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace kam::eventlog {

inline constexpr std::size_t kSignatureSize = 64;

class Signer {
 public:
  // A PEM Ed25519 private key; INVALID_ARGUMENT naming the file if it is not one, or if
  // group or others can read it.
  static absl::StatusOr<std::unique_ptr<Signer>> FromPemFile(const std::string& path);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  const std::string& key_id() const { return key_id_; }
  // The public key as PEM, for a keyring.
  std::string PublicPem() const;
  std::string Sign(std::string_view message) const;

 private:
  Signer() = default;
  EVP_PKEY* key_ = nullptr;
  std::string key_id_;
};

class Keyring {
 public:
  // Every PEM public key in the file; INVALID_ARGUMENT naming the file if it holds none or
  // one that is not Ed25519.
  static absl::StatusOr<std::unique_ptr<Keyring>> FromPemFile(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Keyring>> FromPem(std::string_view pem,
                                                          const std::string& source);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  bool Has(const std::string& key_id) const { return keys_.contains(key_id); }
  std::vector<std::string> key_ids() const;
  // False for an unknown key or a signature that does not verify.
  bool Verify(const std::string& key_id, std::string_view message,
              std::string_view signature) const;

 private:
  Keyring() = default;
  std::map<std::string, EVP_PKEY*> keys_;
};

// What a binary signs with and verifies against, from its flags (--signing-key,
// --keyring); either file may be empty (then that part is null).
struct Integrity {
  std::shared_ptr<const Signer> signer;
  std::shared_ptr<const Keyring> keyring;
};
absl::StatusOr<Integrity> LoadIntegrity(const std::string& signing_key_file,
                                        const std::string& keyring_file);

// The key id of a raw 32-byte Ed25519 public key.
std::string KeyIdOf(std::string_view raw_public_key);

}  // namespace kam::eventlog
