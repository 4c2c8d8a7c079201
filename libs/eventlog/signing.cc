#include "eventlog/signing.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "eventlog/codec.h"

namespace kam::eventlog {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(base::StrCat(path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> RawPublic(EVP_PKEY* key, const std::string& source) {
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(base::StrCat(source, ": not an Ed25519 key"));
  }
  std::string raw(32, '\0');
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != 32) {
    return absl::InvalidArgumentError(base::StrCat(source, ": no raw Ed25519 public key"));
  }
  return raw;
}

}  // namespace

std::string KeyIdOf(std::string_view raw_public_key) {
  return absl::BytesToHexString(Sha256(raw_public_key).substr(0, 8));
}

absl::StatusOr<std::unique_ptr<Signer>> Signer::FromPemFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(base::StrCat("signing key ", path, ": cannot be read"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(
        base::StrCat("signing key ", path, " can be read by other users; chmod 600 ", path));
  }
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    return absl::InvalidArgumentError(base::StrCat(
        "signing key ", path,
        ": not a PEM private key (make one with: openssl genpkey -algorithm ed25519)"));
  }
  std::unique_ptr<Signer> out(new Signer());
  out->key_ = key;
  auto raw = RawPublic(key, base::StrCat("signing key ", path));
  if (!raw.ok()) return raw.status();
  out->key_id_ = KeyIdOf(*raw);
  return out;
}

Signer::~Signer() { EVP_PKEY_free(key_); }

std::string Signer::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

std::string Signer::Sign(std::string_view message) const {
  std::string sig(kSignatureSize, '\0');
  std::size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != kSignatureSize) throw std::runtime_error("Ed25519 signing failed");
  return sig;
}

absl::StatusOr<std::unique_ptr<Keyring>> Keyring::FromPemFile(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok())
    return absl::InvalidArgumentError(base::StrCat("keyring ", path, ": cannot be read"));
  return FromPem(*pem, base::StrCat("keyring ", path));
}

absl::StatusOr<std::unique_ptr<Keyring>> Keyring::FromPem(std::string_view pem,
                                                          const std::string& source) {
  std::unique_ptr<Keyring> out(new Keyring());
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  for (;;) {
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    if (key == nullptr) break;
    auto raw = RawPublic(key, source);
    if (!raw.ok()) {
      EVP_PKEY_free(key);
      BIO_free(bio);
      return raw.status();
    }
    const std::string id = KeyIdOf(*raw);
    if (!out->keys_.emplace(id, key).second) EVP_PKEY_free(key);
  }
  BIO_free(bio);
  if (out->keys_.empty()) {
    return absl::InvalidArgumentError(base::StrCat(
        source, ": holds no PEM public key (add one with: openssl pkey -in KEY.pem -pubout)"));
  }
  return out;
}

Keyring::~Keyring() {
  for (auto& [id, key] : keys_) EVP_PKEY_free(key);
}

std::vector<std::string> Keyring::key_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, key] : keys_) out.push_back(id);
  return out;
}

bool Keyring::Verify(const std::string& key_id, std::string_view message,
                     std::string_view signature) const {
  auto it = keys_.find(key_id);
  if (it == keys_.end() || signature.size() != kSignatureSize) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, it->second) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

absl::StatusOr<Integrity> LoadIntegrity(const std::string& signing_key_file,
                                        const std::string& keyring_file) {
  Integrity out;
  if (!signing_key_file.empty()) {
    auto signer = Signer::FromPemFile(signing_key_file);
    if (!signer.ok()) {
      return absl::InvalidArgumentError(base::StrCat("--signing-key: ", signer.status().message()));
    }
    out.signer = std::move(*signer);
  }
  if (!keyring_file.empty()) {
    auto keyring = Keyring::FromPemFile(keyring_file);
    if (!keyring.ok()) {
      return absl::InvalidArgumentError(base::StrCat("--keyring: ", keyring.status().message()));
    }
    out.keyring = std::move(*keyring);
  }
  return out;
}

}  // namespace kam::eventlog
