#include "server/auth.h"

#include <grpcpp/server_context.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/strings.h"
#include "server/roles.h"

namespace kam::server {
namespace {

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromFile(const std::string& path) {
  return Create(path, nullptr);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    const std::string& tokens_file, std::unique_ptr<const JwtVerifier> oidc) {
  if (tokens_file.empty()) {
    if (oidc == nullptr) {
      return absl::InvalidArgumentError(
          "--tokens or --oidc-jwks is required: every call is made by an authenticated "
          "principal");
    }
    return FromText("", "", std::move(oidc));
  }
  struct stat st {};
  if (::stat(tokens_file.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(base::StrCat("--tokens: cannot read '", tokens_file, "'"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(base::StrCat(
        "--tokens: ", tokens_file, " can be read by other users; chmod 600 ", tokens_file));
  }
  std::ifstream in(tokens_file);
  if (!in) {
    return absl::InvalidArgumentError(base::StrCat("--tokens: cannot read '", tokens_file, "'"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return FromText(ss.str(), tokens_file, std::move(oidc));
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromText(
    const std::string& text, const std::string& origin, std::unique_ptr<const JwtVerifier> oidc) {
  auto self = std::make_unique<Authenticator>();
  self->oidc_ = std::move(oidc);
  std::set<Digest> seen;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto where = base::StrCat(origin, ":", line_no);
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(
          base::StrCat(where, ": expected 'token principal role[,role...]'"));
    }
    if (parts[0].size() < 8) {
      return absl::InvalidArgumentError(
          base::StrCat(where, ": token must be at least 8 characters"));
    }
    if (IsInboundPrincipal(parts[1])) {
      return absl::InvalidArgumentError(base::StrCat(where, ": principal '", parts[1],
                                                     "': the prefix '", kInboundPrincipalPrefix,
                                                     "' is for inbound publishers only"));
    }
    Principal p{parts[1], {}};
    for (const std::string& role :
         std::vector<std::string>(absl::StrSplit(parts[2], ',', absl::SkipEmpty()))) {
      if (!roles::All().contains(role)) {
        return absl::InvalidArgumentError(base::StrCat(
            where, ": unknown role '", role, "' (known: ", absl::StrJoin(roles::All(), ", "), ")"));
      }
      p.roles.insert(role);
    }
    const Digest hash = Sha256(parts[0]);
    if (!seen.insert(hash).second) {
      return absl::InvalidArgumentError(base::StrCat(where, ": duplicate token"));
    }
    self->tokens_.push_back(Entry{hash, std::move(p)});
  }
  return self;
}

absl::StatusOr<Principal> Authenticator::Authenticate(const grpc::ServerContext& context) const {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  return AuthenticateHeader(std::string_view(it->second.data(), it->second.size()), absl::Now());
}

absl::StatusOr<Principal> Authenticator::AuthenticateHeader(std::string_view value,
                                                            absl::Time now) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (value.substr(0, kBearer.size()) != kBearer) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <token>'");
  }
  const std::string_view token = value.substr(kBearer.size());
  if (token.size() > kMaxBearerBytes) {
    return absl::UnauthenticatedError(
        base::StrCat("bearer token longer than ", kMaxBearerBytes, " bytes"));
  }
  if (oidc_ != nullptr && JwtVerifier::LooksLikeJwt(token)) return oidc_->Verify(token, now);
  // Every entry is compared, in constant time, whichever matches.
  const Digest hash = Sha256(token);
  const Entry* found = nullptr;
  for (const Entry& e : tokens_) {
    if (CRYPTO_memcmp(e.token_hash.data(), hash.data(), hash.size()) == 0) found = &e;
  }
  if (found == nullptr) {
    return absl::UnauthenticatedError(oidc_ != nullptr
                                          ? "unknown bearer token (neither a tokens-file token "
                                            "nor a JWT)"
                                          : "unknown bearer token");
  }
  return found->principal;
}

absl::StatusOr<Principal> Authenticator::Authorize(const grpc::ServerContext& context,
                                                   const std::set<std::string>& roles,
                                                   const std::string& what) const {
  auto who = Authenticate(context);
  if (!who.ok()) return who.status();
  if (auto s = Require(*who, roles, what); !s.ok()) return s;
  return who;
}

absl::Status Authenticator::Require(const Principal& who, const std::set<std::string>& roles,
                                    const std::string& what) {
  for (const auto& r : roles) {
    if (who.Has(r)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(base::StrCat(
      who.name, " may not ", what, " (needs one of: ", absl::StrJoin(roles, ", "), ")"));
}

}  // namespace kam::server
