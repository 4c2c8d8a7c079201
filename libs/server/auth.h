// Bearer-token authentication: a tokens file maps each token to a principal and roles.
//
//   # tokens file: one "token principal role[,role...]" per line; '#' starts a comment
//   s3cr3t-ana   ana@supplier.example   champion
//
//   auto auth = kam::server::Authenticator::FromFile("/etc/kam/tokens");
//   absl::StatusOr<kam::server::Principal> who = (*auth)->Authenticate(context);
//
// Roles: board (read only), champion, sponsor, kam (key account manager), publisher
// (enterprise system), admin. Thread-safe after construction.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ServerContext;
}  // namespace grpc

namespace kam::server {

struct Principal {
  std::string name;
  std::set<std::string> roles;
  bool Has(const std::string& role) const { return roles.contains(role); }
};

class Authenticator {
 public:
  // INVALID_ARGUMENT naming the file and line on a malformed entry or unknown role.
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromText(const std::string& text,
                                                                 const std::string& origin);

  // UNAUTHENTICATED if the call carries no "authorization: Bearer <token>" or an unknown token.
  absl::StatusOr<Principal> Authenticate(const grpc::ServerContext& context) const;

  // Authenticate, then Require: the principal if it may `what`.
  absl::StatusOr<Principal> Authorize(const grpc::ServerContext& context,
                                      const std::set<std::string>& roles,
                                      const std::string& what) const;

  // PERMISSION_DENIED unless the principal has one of `roles`.
  static absl::Status Require(const Principal& who, const std::set<std::string>& roles,
                              const std::string& what);

 private:
  std::map<std::string, Principal> by_token_;
};

}  // namespace kam::server
