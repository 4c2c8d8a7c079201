#include "eventlog/codec.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace kam::eventlog {
namespace {

constexpr char kHashTag = 0x7A;  // field 15, wire type 2 (length-delimited)
constexpr std::size_t kTrailerSize = 2 + kHashSize;

}  // namespace

std::string Sha256(std::string_view bytes) {
  std::string out(kHashSize, '\0');
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1 ||
      len != kHashSize) {
    throw std::runtime_error("EVP_Digest(SHA-256) failed");  // OpenSSL broken: not recoverable
  }
  return out;
}

std::string Seal(v1::EventEnvelope& envelope) {
  envelope.clear_hash();
  std::string bytes;
  if (!envelope.SerializeToString(&bytes)) {
    throw std::logic_error("EventEnvelope does not serialise");  // programmer error
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

absl::StatusOr<Opened> Open(std::string_view bytes) {
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
  return out;
}

}  // namespace kam::eventlog
