#include "server/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/strings.h"
#include "server/roles.h"

namespace kam::server {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kRs256 = "RS256";
constexpr std::string_view kEs256 = "ES256";
constexpr std::size_t kMaxJwksBytes = 1 << 20;
constexpr int kMinRsaBits = 2048;

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;

absl::Status Refused(std::string_view why) {
  return absl::UnauthenticatedError(base::StrCat("OIDC token refused: ", why));
}

bool IsBase64Url(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Unpadded base64url (RFC 7515 section 2), nothing else.
std::optional<std::string> DecodeBase64Url(std::string_view s) {
  if (!IsBase64Url(s) || s.size() % 4 == 1) return std::nullopt;
  std::string out;
  if (!absl::WebSafeBase64Unescape(absl::string_view(s.data(), s.size()), &out)) {
    return std::nullopt;
  }
  return out;
}

// A JSON object, or nullopt (never an exception) for anything else.
std::optional<Json> ParseObject(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A claim or header value as a message may show it: at most 80 characters.
std::string Shown(const Json& v) {
  std::string s =
      v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 80) s = base::StrCat(s.substr(0, 80), "...");
  return s;
}

std::string ShownTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string ShownSkew(absl::Duration skew) {
  return base::StrCat("clock skew ", absl::ToInt64Seconds(skew), " s");
}

// A NumericDate claim (seconds since the epoch), or nullopt if absent; an error if present
// and not a number in a sane range.
absl::StatusOr<std::optional<absl::Time>> TimeClaim(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number()) return Refused(base::StrCat("claim '", name, "' is not a number"));
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e11) {
    return Refused(base::StrCat("claim '", name, "' is not a time"));
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
}

absl::StatusOr<std::string> StringMember(const Json& jwk, const char* name,
                                         const std::string& where) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string() || it->get<std::string>().empty()) {
    return absl::InvalidArgumentError(base::StrCat(where, ": no string \"", name, "\""));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> BytesMember(const Json& jwk, const char* name,
                                        const std::string& where) {
  auto text = StringMember(jwk, name, where);
  if (!text.ok()) return text.status();
  auto bytes = DecodeBase64Url(*text);
  if (!bytes || bytes->empty()) {
    return absl::InvalidArgumentError(
        base::StrCat(where, ": \"", name, "\" is not unpadded base64url"));
  }
  return *bytes;
}

absl::StatusOr<PkeyPtr> FromParams(const char* type, ParamBldPtr bld, const std::string& where) {
  ParamsPtr params(bld ? OSSL_PARAM_BLD_to_param(bld.get()) : nullptr);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError(base::StrCat(where, ": not a valid ", type, " public key"));
  }
  PkeyPtr key(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return absl::InvalidArgumentError(base::StrCat(where, ": not a valid ", type, " public key"));
  }
  return key;
}

absl::StatusOr<PkeyPtr> RsaKey(const Json& jwk, const std::string& where) {
  auto n = BytesMember(jwk, "n", where);
  if (!n.ok()) return n.status();
  auto e = BytesMember(jwk, "e", where);
  if (!e.ok()) return e.status();
  auto bn = [](const std::string& b) {
    return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()),
                           static_cast<int>(b.size()), nullptr));
  };
  BnPtr bn_n = bn(*n);
  BnPtr bn_e = bn(*e);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return absl::InvalidArgumentError(base::StrCat(where, ": not a valid RSA public key"));
  }
  auto key = FromParams("RSA", std::move(bld), where);
  if (!key.ok()) return key.status();
  if (EVP_PKEY_get_bits(key->get()) < kMinRsaBits) {
    return absl::InvalidArgumentError(base::StrCat(where, ": an RSA key of ",
                                                   EVP_PKEY_get_bits(key->get()),
                                                   " bits (at least ", kMinRsaBits, " needed)"));
  }
  return key;
}

absl::StatusOr<PkeyPtr> P256Key(const Json& jwk, const std::string& where) {
  auto x = BytesMember(jwk, "x", where);
  if (!x.ok()) return x.status();
  auto y = BytesMember(jwk, "y", where);
  if (!y.ok()) return y.status();
  if (x->size() != 32 || y->size() != 32) {
    return absl::InvalidArgumentError(
        base::StrCat(where, ": \"x\" and \"y\" of a P-256 key are 32 bytes each"));
  }
  const std::string point = base::StrCat(std::string(1, '\x04'), *x, *y);  // uncompressed
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::InvalidArgumentError(base::StrCat(where, ": not a valid P-256 public key"));
  }
  return FromParams("EC", std::move(bld), where);
}

// JOSE's ES256 signature is r || s, 32 bytes each; OpenSSL verifies DER ECDSA-Sig-Value.
std::optional<std::string> EcdsaDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

bool VerifySha256(EVP_PKEY* key, std::string_view message, std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx != nullptr &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::FromJwksFile(const OidcOptions& options) {
  std::ifstream in(options.jwks_file);
  if (!in) {
    return absl::InvalidArgumentError(
        base::StrCat("--oidc-jwks: cannot read '", options.jwks_file, "'"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return FromJwks(text.str(), options, base::StrCat("--oidc-jwks ", options.jwks_file));
}

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::FromJwks(std::string_view jwks,
                                                                   const OidcOptions& options,
                                                                   const std::string& origin) {
  if (options.issuer.empty() || options.audience.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat(origin, ": an issuer and an audience are needed to accept its tokens"));
  }
  if (jwks.size() > kMaxJwksBytes) {
    return absl::InvalidArgumentError(base::StrCat(origin, ": larger than 1 MiB"));
  }
  auto doc = ParseObject(jwks);
  if (!doc || !doc->contains("keys") || !(*doc)["keys"].is_array()) {
    return absl::InvalidArgumentError(
        base::StrCat(origin, ": not a JWKS (a JSON object with a \"keys\" array)"));
  }
  std::unique_ptr<JwtVerifier> self(new JwtVerifier(options));
  int index = 0;
  for (const Json& jwk : (*doc)["keys"]) {
    const std::string at = base::StrCat(origin, ": keys[", index++, "]");
    if (!jwk.is_object()) return absl::InvalidArgumentError(base::StrCat(at, ": not an object"));
    auto kty = StringMember(jwk, "kty", at);
    if (!kty.ok()) return kty.status();
    // Keys for encryption, or for algorithms this server does not verify, are not ours.
    if (jwk.contains("use") && jwk["use"] != "sig") continue;
    const std::string alg = jwk.value("alg", std::string());
    const std::string crv = jwk.value("crv", std::string());
    const bool rsa = *kty == "RSA" && (alg.empty() || alg == kRs256);
    const bool p256 = *kty == "EC" && crv == "P-256" && (alg.empty() || alg == kEs256);
    if (!rsa && !p256) continue;
    auto kid = StringMember(jwk, "kid", at);
    if (!kid.ok()) return kid.status();
    const std::string where = base::StrCat(origin, ": key '", *kid, "'");
    auto key = rsa ? RsaKey(jwk, where) : P256Key(jwk, where);
    if (!key.ok()) return key.status();
    Key entry{.alg = std::string(rsa ? kRs256 : kEs256), .pkey = key->get()};
    if (!self->keys_.emplace(*kid, entry).second) {
      return absl::InvalidArgumentError(base::StrCat(where, ": the kid is used twice"));
    }
    key->release();  // owned by keys_ from here on
  }
  if (self->keys_.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat(origin, ": holds no RS256 (RSA) or ES256 (EC P-256) signing key"));
  }
  return self;
}

JwtVerifier::~JwtVerifier() {
  for (auto& [kid, key] : keys_) EVP_PKEY_free(key.pkey);
}

std::vector<std::string> JwtVerifier::key_ids() const {
  std::vector<std::string> out;
  for (const auto& [kid, key] : keys_) out.push_back(kid);
  return out;
}

bool JwtVerifier::LooksLikeJwt(std::string_view bearer) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(bearer.data(), bearer.size()), '.');
  return parts.size() == 3 && !parts[0].empty() && !parts[1].empty() &&
         IsBase64Url({parts[0].data(), parts[0].size()}) &&
         IsBase64Url({parts[1].data(), parts[1].size()}) &&
         IsBase64Url({parts[2].data(), parts[2].size()});
}

absl::StatusOr<Principal> JwtVerifier::Verify(std::string_view token, absl::Time now) const {
  if (token.size() > kMaxBearerBytes) {
    return Refused(base::StrCat("longer than ", kMaxBearerBytes, " bytes"));
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  if (parts.size() != 3) return Refused("not three dot-separated base64url parts");
  const std::string_view header_b64(parts[0].data(), parts[0].size());
  const std::string_view payload_b64(parts[1].data(), parts[1].size());
  const std::string_view signature_b64(parts[2].data(), parts[2].size());

  // The header: which key, which algorithm. Nothing in it is trusted beyond choosing a key.
  auto header_json = DecodeBase64Url(header_b64);
  if (!header_json) return Refused("the header is not base64url");
  auto header = ParseObject(*header_json);
  if (!header) return Refused("the header is not a JSON object");
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return Refused("the header has no alg");
  const std::string alg = alg_it->get<std::string>();
  if (alg == "none") return Refused("alg 'none': an unsigned token is never accepted");
  if (alg != kRs256 && alg != kEs256) {
    return Refused(
        base::StrCat("alg '", Shown(*alg_it), "' is not accepted (only RS256 and ES256)"));
  }
  if (header->contains("crit")) {
    return Refused("the header has 'crit' extensions this server does not understand");
  }
  auto kid_it = header->find("kid");
  if (kid_it == header->end() || !kid_it->is_string()) return Refused("the header has no kid");
  auto key = keys_.find(kid_it->get<std::string>());
  if (key == keys_.end()) {
    return Refused(
        base::StrCat("kid '", Shown(*kid_it), "' is not in the JWKS (", options_.jwks_file, ")"));
  }
  if (key->second.alg != alg) {
    return Refused(base::StrCat("alg '", alg, "' does not match key '", key->first, "', an ",
                                key->second.alg, " key"));
  }

  // The signature over "header.payload".
  auto signature = DecodeBase64Url(signature_b64);
  if (!signature || signature->empty()) return Refused("the signature is not base64url");
  if (alg == kEs256) {
    signature = EcdsaDer(*signature);
    if (!signature) return Refused("an ES256 signature is 64 bytes (r || s)");
  }
  const std::string_view signed_part = token.substr(0, header_b64.size() + 1 + payload_b64.size());
  if (!VerifySha256(key->second.pkey, signed_part, *signature)) {
    return Refused(base::StrCat("the signature does not verify with key '", key->first, "'"));
  }

  // The claims, now that they are the identity provider's.
  auto payload_json = DecodeBase64Url(payload_b64);
  if (!payload_json) return Refused("the payload is not base64url");
  auto claims = ParseObject(*payload_json);
  if (!claims) return Refused("the payload is not a JSON object");

  auto iss = claims->find("iss");
  if (iss == claims->end()) return Refused("no issuer (iss)");
  if (!iss->is_string() || iss->get<std::string>() != options_.issuer) {
    return Refused(base::StrCat("issuer (iss) '", Shown(*iss), "' is not '", options_.issuer, "'"));
  }
  auto aud = claims->find("aud");
  if (aud == claims->end()) return Refused("no audience (aud)");
  bool for_us = aud->is_string() && aud->get<std::string>() == options_.audience;
  if (aud->is_array()) {
    for (const Json& a : *aud) for_us = for_us || (a.is_string() && a == options_.audience);
  }
  if (!for_us) {
    return Refused(base::StrCat("audience (aud) ", Shown(*aud), " does not include '",
                                options_.audience, "'"));
  }

  const absl::Duration skew = options_.clock_skew;
  auto exp = TimeClaim(*claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Refused("no expiry (exp)");
  if (now > **exp + skew) {
    return Refused(base::StrCat("expired at ", ShownTime(**exp), " (", ShownSkew(skew), ")"));
  }
  auto nbf = TimeClaim(*claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + skew < **nbf) {
    return Refused(
        base::StrCat("not valid before ", ShownTime(**nbf), " (nbf, ", ShownSkew(skew), ")"));
  }
  auto iat = TimeClaim(*claims, "iat");
  if (!iat.ok()) return iat.status();
  if (iat->has_value() && now + skew < **iat) {
    return Refused(base::StrCat("issued in the future, at ", ShownTime(**iat), " (iat, ",
                                ShownSkew(skew), ")"));
  }

  Principal who;
  auto name = claims->find(options_.principal_claim);
  if (name == claims->end() || !name->is_string() || name->get<std::string>().empty()) {
    return Refused(
        base::StrCat("no string claim '", options_.principal_claim, "' to name the principal"));
  }
  who.name = name->get<std::string>();
  if (IsInboundPrincipal(who.name)) {
    return Refused(base::StrCat("the principal '", who.name.substr(0, 80), "' (claim '",
                                options_.principal_claim, "') is in the '", kInboundPrincipalPrefix,
                                "' namespace, which is for inbound publishers only"));
  }
  auto add_role = [&](std::string_view role) {
    // Roles of other applications are not ours: ignored, never an error.
    if (auto known = roles::All().find(std::string(role)); known != roles::All().end()) {
      who.roles.insert(*known);
    }
  };
  if (auto r = claims->find(options_.roles_claim); r != claims->end()) {
    if (r->is_string()) {
      const std::string text = r->get<std::string>();
      for (absl::string_view role : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
        add_role({role.data(), role.size()});
      }
    } else if (r->is_array()) {
      for (const Json& role : *r) {
        if (role.is_string()) add_role(role.get<std::string>());
      }
    }
  }
  return who;
}

}  // namespace kam::server
