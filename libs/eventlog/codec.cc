#include "eventlog/codec.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "base/strings.h"
#include "eventlog/signing.h"

namespace kam::eventlog {
namespace {

constexpr char kHashTag = 0x7A;  // field 15, wire type 2 (length-delimited)
constexpr std::size_t kTrailerSize = 2 + kHashSize;

// Field 17 (signature), wire type 2, and its length: 0x8A 0x01 0x40.
constexpr char kSignatureTag[] = {static_cast<char>(0x8A), 0x01, 0x40};
constexpr std::size_t kSignatureFieldSize = sizeof kSignatureTag + kSignatureSize;

// `body` is the stored bytes before the hash field.
SignatureCheck CheckSignature(const v1::EventEnvelope& env, std::string_view body,
                              const Keyring& keyring) {
  if (env.signature().empty()) return SignatureCheck::kMissing;
  if (!keyring.Has(env.signing_key_id())) return SignatureCheck::kUnknownKey;
  if (body.size() < kSignatureFieldSize ||
      body.substr(body.size() - kSignatureFieldSize, sizeof kSignatureTag) !=
          std::string_view(kSignatureTag, sizeof kSignatureTag) ||
      body.substr(body.size() - kSignatureSize) != env.signature()) {
    return SignatureCheck::kInvalid;  // not where the contract puts it
  }
  const std::string_view message = body.substr(0, body.size() - kSignatureFieldSize);
  return keyring.Verify(env.signing_key_id(), message, env.signature()) ? SignatureCheck::kValid
                                                                        : SignatureCheck::kInvalid;
}

const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("SHA-256 unavailable");  // OpenSSL broken
  return md;
}
}  // namespace

std::string Sha256(std::string_view bytes) {
  // The algorithm fetched once and a context per thread: EVP_Digest fetches and allocates
  // on every call, twice the cost of the hash itself for an event-sized input.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  std::string out(kHashSize, '\0');
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kHashSize) {
    throw std::runtime_error("SHA-256 failed");  // OpenSSL broken: not recoverable
  }
  return out;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("SHA-256 failed");
  }
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
}

std::string Sha256Stream::Finish() {
  std::string out(kHashSize, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kHashSize || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

std::string Seal(v1::EventEnvelope& envelope, const Signer* signer) {
  envelope.clear_hash();
  envelope.clear_signature();
  envelope.clear_signing_key_id();
  if (signer != nullptr) envelope.set_signing_key_id(signer->key_id());
  std::string bytes;
  if (!envelope.SerializeToString(&bytes)) {
    throw std::logic_error("EventEnvelope does not serialise");  // programmer error
  }
  if (signer != nullptr) {
    std::string signature = signer->Sign(bytes);
    bytes.append(kSignatureTag, sizeof kSignatureTag);
    bytes.append(signature);
    envelope.set_signature(std::move(signature));
  }
  std::string hash = Sha256(bytes);
  bytes.push_back(kHashTag);
  bytes.push_back(static_cast<char>(kHashSize));
  bytes.append(hash);
  envelope.set_hash(std::move(hash));
  return bytes;
}

absl::StatusOr<v1::EventEnvelope> Parse(std::string_view bytes) {
  if (bytes.size() < kTrailerSize || bytes[bytes.size() - kTrailerSize] != kHashTag ||
      static_cast<std::size_t>(bytes[bytes.size() - kTrailerSize + 1]) != kHashSize) {
    return absl::DataLossError("stored event does not end in its 32-byte hash field");
  }
  v1::EventEnvelope out;
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored event is not a parseable EventEnvelope");
  }
  return out;
}

std::string SignatureProblem(SignatureCheck check, const v1::EventEnvelope& envelope) {
  switch (check) {
    case SignatureCheck::kMissing:
      return "it is not signed";
    case SignatureCheck::kUnknownKey:
      return base::StrCat("it is signed by key ", envelope.signing_key_id(),
                          ", which the keyring does not hold");
    case SignatureCheck::kInvalid:
      return base::StrCat("its signature by key ", envelope.signing_key_id(),
                          " does not verify over its stored bytes");
    default:
      return "";
  }
}

absl::StatusOr<Opened> Open(std::string_view bytes, const Keyring* keyring) {
  if (bytes.size() < kTrailerSize || bytes[bytes.size() - kTrailerSize] != kHashTag ||
      static_cast<std::size_t>(bytes[bytes.size() - kTrailerSize + 1]) != kHashSize) {
    return absl::DataLossError("stored event does not end in its 32-byte hash field");
  }
  Opened out;
  if (!out.envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored event is not a parseable EventEnvelope");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kTrailerSize);
  std::string_view stored = bytes.substr(bytes.size() - kHashSize);
  out.hash_ok = Sha256(body) == stored && out.envelope.hash() == stored;
  if (keyring != nullptr) out.signature = CheckSignature(out.envelope, body, *keyring);
  return out;
}

std::string AuthenticityProblem(const absl::StatusOr<Opened>& opened, std::string_view key,
                                std::string_view aggregate_type) {
  if (!opened.ok()) return base::StrCat("it does not decode: ", opened.status().message());
  if (!opened->hash_ok) return "its stored hash does not match its bytes";
  if (!opened->authentic()) return SignatureProblem(opened->signature, opened->envelope);
  const v1::EventEnvelope& env = opened->envelope;
  if (env.aggregate_id() != key ||
      (!aggregate_type.empty() && env.aggregate_type() != aggregate_type)) {
    return base::StrCat("it declares ", env.aggregate_type(), " '", env.aggregate_id(),
                        "' version ", env.aggregate_version(), " but sits under key '",
                        key.substr(0, 80), "'");
  }
  return "";
}

}  // namespace kam::eventlog
