// Who makes a call: a name and the platform's coarse roles (server/roles.h). Built by the
// Authenticator from a tokens-file line or from a verified OIDC access token.
#pragma once

#include <set>
#include <string>

namespace kam::server {

struct Principal {
  std::string name;
  std::set<std::string> roles;
  bool Has(const std::string& role) const { return roles.contains(role); }
};

}  // namespace kam::server
