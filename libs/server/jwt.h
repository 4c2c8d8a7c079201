// OIDC access tokens: JWTs (RFC 7519) signed RS256 or ES256 by an identity provider whose
// public keys are a JWKS file (RFC 7517), mapped to a Principal.
//
//   OidcOptions o{.jwks_file = "/etc/kam/jwks.json",
//                 .issuer = "https://login.example.com/",
//                 .audience = "kam-platform",
//                 .principal_claim = "email"};
//   auto verifier = kam::server::JwtVerifier::FromJwksFile(o);
//   absl::StatusOr<Principal> who = (*verifier)->Verify(token, absl::Now());
//
// A token is accepted only if: its header names alg RS256 or ES256 (never none or HS*) and a
// kid of the JWKS whose key is of that alg, it carries no "crit" header; its signature
// verifies; `iss` is the issuer; `aud` (a string or an array) holds the audience; `exp` is
// present and not past, `nbf` and `iat` (if present) not in the future, each within the
// clock skew. The principal is the string claim `principal_claim`; the roles are the known
// roles (server/roles.h) named by `roles_claim`, a JSON array of strings or one
// space-separated string. Roles the platform does not know are ignored (an identity
// provider's token carries the roles of other applications too); a token with no known role
// yields a principal with none, whom every RPC refuses. Every refusal is UNAUTHENTICATED
// with a message that says why and never holds the token.
//
// The JWKS is read once at start-up: a rotated identity-provider key needs the file updated
// and the binary restarted. Thread-safe after construction.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/principal.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace kam::server {

// The largest bearer value looked at: a JWT beyond it is refused unparsed.
inline constexpr std::size_t kMaxBearerBytes = 16 * 1024;

struct OidcOptions {
  std::string jwks_file;                          // --oidc-jwks
  std::string issuer;                             // --oidc-issuer: `iss` must equal it
  std::string audience;                           // --oidc-audience: `aud` must hold it
  std::string principal_claim = "sub";            // --oidc-principal-claim
  std::string roles_claim = "kam_roles";          // --oidc-roles-claim
  absl::Duration clock_skew = absl::Seconds(60);  // --oidc-clock-skew-s
};

class JwtVerifier {
 public:
  // INVALID_ARGUMENT naming the file (and the key's kid) if it cannot be read, is not a JWKS,
  // holds a malformed key or an RSA key under 2048 bits, or holds no RS256 / ES256 signing
  // key. Keys for other uses or algorithms ("use": "enc", RS384, P-384) are skipped.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> FromJwksFile(const OidcOptions& options);
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> FromJwks(std::string_view jwks,
                                                               const OidcOptions& options,
                                                               const std::string& origin);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // Three dot-separated base64url parts (the third may be empty, as in an unsigned token):
  // what the Authenticator hands to Verify rather than to the tokens file.
  static bool LooksLikeJwt(std::string_view bearer);

  // The principal of `token` at time `now`, or UNAUTHENTICATED saying why.
  absl::StatusOr<Principal> Verify(std::string_view token, absl::Time now) const;

  // The kids of the keys in use, sorted.
  std::vector<std::string> key_ids() const;

 private:
  struct Key {
    std::string alg;  // RS256 or ES256
    EVP_PKEY* pkey = nullptr;
  };
  explicit JwtVerifier(OidcOptions options) : options_(std::move(options)) {}
  OidcOptions options_;
  std::map<std::string, Key> keys_;  // by kid
};

}  // namespace kam::server
