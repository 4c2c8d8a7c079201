// Bearer-token authentication: a tokens file maps each token to a principal and roles, and,
// when configured, OIDC access tokens (JWTs, server/jwt.h) from an identity provider are
// verified against its published keys.
//
//   # tokens file (chmod 600): one "token principal role[,role...]" per line; '#' comments
//   s3cr3t-ana   ana@supplier.example   champion
//
//   auto auth = kam::server::Authenticator::FromFile("/etc/kam/tokens");
//   auto both = kam::server::Authenticator::Create("/etc/kam/tokens", std::move(verifier));
//   absl::StatusOr<kam::server::Principal> who = (*auth)->Authenticate(context);
//
// A bearer value that looks like a JWT (three dot-separated base64url parts) is verified as
// one when OIDC is configured; any other is looked up in the tokens file. Only the SHA-256 of
// each file token is held, and a lookup compares the presented token's hash with every one
// (CRYPTO_memcmp, no early exit), so neither memory nor timing gives a token away.
//
// Roles: board (read only), champion, sponsor, kam (key account manager), publisher
// (enterprise system), admin. Thread-safe after construction.
#pragma once

#include <array>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/jwt.h"
#include "server/principal.h"

namespace grpc {
class ServerContext;
}  // namespace grpc

namespace kam::server {

class Authenticator {
 public:
  // INVALID_ARGUMENT naming the file and line on a malformed entry or unknown role, or naming
  // the file if group or others can read it (chmod 600).
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromText(
      const std::string& text, const std::string& origin,
      std::unique_ptr<const JwtVerifier> oidc = nullptr);
  // The tokens of `tokens_file` (empty: no tokens file) and the JWTs `oidc` verifies (null:
  // none). INVALID_ARGUMENT if there is neither.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      const std::string& tokens_file, std::unique_ptr<const JwtVerifier> oidc);

  // UNAUTHENTICATED if the call carries no "authorization: Bearer <token>", an unknown
  // token, or a JWT that does not verify (the message says why, never the token).
  absl::StatusOr<Principal> Authenticate(const grpc::ServerContext& context) const;
  // The same for the value of an authorization header ("Bearer <token>") at `now`.
  absl::StatusOr<Principal> AuthenticateHeader(std::string_view authorization,
                                               absl::Time now) const;

  // Authenticate, then Require: the principal if it may `what`.
  absl::StatusOr<Principal> Authorize(const grpc::ServerContext& context,
                                      const std::set<std::string>& roles,
                                      const std::string& what) const;

  // PERMISSION_DENIED unless the principal has one of `roles`.
  static absl::Status Require(const Principal& who, const std::set<std::string>& roles,
                              const std::string& what);

 private:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  struct Entry {
    Digest token_hash;
    Principal principal;
  };
  std::vector<Entry> tokens_;
  std::unique_ptr<const JwtVerifier> oidc_;
};

}  // namespace kam::server
