// Ed25519 key files for tests: a private key (0600) and its public key, as
// `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` would write them.
//
//   auto key = kam::testing::NewSigningKey(dir, "writer");   // key.private_pem, key.public_pem
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace kam::testing {

struct KeyFiles {
  std::string private_pem;  // path
  std::string public_pem;   // path
};

inline KeyFiles NewSigningKey(const std::string& dir, const std::string& name) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) throw std::runtime_error("Ed25519 key generation failed");
  KeyFiles out{dir + "/" + name + ".pem", dir + "/" + name + ".pub.pem"};
  FILE* f = std::fopen(out.private_pem.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  ::chmod(out.private_pem.c_str(), 0600);
  f = std::fopen(out.public_pem.c_str(), "w");
  PEM_write_PUBKEY(f, key);
  std::fclose(f);
  EVP_PKEY_free(key);
  return out;
}

// A keyring file holding the public keys of `keys`.
inline std::string KeyringOf(const std::string& path, std::initializer_list<KeyFiles> keys) {
  std::ofstream out(path);
  for (const auto& k : keys) {
    std::ifstream in(k.public_pem);
    out << in.rdbuf();
  }
  return path;
}

}  // namespace kam::testing
