// Who makes a call: a name and the platform's coarse roles (server/roles.h). Built by the
// Authenticator from a tokens-file line or from a verified OIDC access token.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace kam::server {

// Inbound records act as "publisher:<key id>" (eventlog::InboundPublisher); no caller of
// the gRPC services may take a name in that namespace, so a token or an identity provider
// cannot make a caller the person an inbound publisher is registered as.
inline constexpr std::string_view kInboundPrincipalPrefix = "publisher:";
inline bool IsInboundPrincipal(std::string_view name) {
  return name.substr(0, kInboundPrincipalPrefix.size()) == kInboundPrincipalPrefix;
}

struct Principal {
  std::string name;
  std::set<std::string> roles;
  bool Has(const std::string& role) const { return roles.contains(role); }
};

}  // namespace kam::server
