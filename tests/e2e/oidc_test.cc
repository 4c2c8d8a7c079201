// Enterprise identity over real gRPC against the real broker: the programme command service
// started with --tokens and --oidc-* (the binaries' own flag parsing) accepts OIDC access
// tokens signed RS256 or ES256 by a key of the JWKS, runs each call as the principal the
// configured claim names, and refuses every other token as UNAUTHENTICATED saying why. The
// tokens file: refused when others can read it, looked up by hash.
//
// The identity provider is played by the test: an RSA and a P-256 key made with OpenSSL,
// their public halves written as a JWKS, tokens signed here.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "base/ids.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "server/auth.h"
#include "server/flags.h"
#include "server/jwt.h"
#include "server/process.h"
#include "server/server.h"
#include "services/programme/programme_service.h"
#include "support/kafka_broker.h"

namespace kam {
namespace {

using Json = nlohmann::json;

constexpr char kIssuer[] = "https://login.supplier.example/oauth2/default";
constexpr char kAudience[] = "api://kam-platform";

std::string B64(std::string_view bytes) {
  return absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()));
}

std::string Bn(const EVP_PKEY* key, const char* param, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) throw std::runtime_error(param);
  std::string out(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

// A key pair of the test's identity provider, known by `kid`.
class IdpKey {
 public:
  static IdpKey Rsa(std::string kid) {
    return IdpKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)),
                  std::move(kid), "RS256");
  }
  static IdpKey P256(std::string kid) {
    return IdpKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), std::move(kid), "ES256");
  }
  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  // The public key as a JWK.
  Json Jwk() const {
    if (alg_ == "RS256") {
      return {{"kty", "RSA"},
              {"kid", kid_},
              {"alg", "RS256"},
              {"use", "sig"},
              {"n", B64(Bn(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0))},
              {"e", B64(Bn(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0))}};
    }
    return {{"kty", "EC"},
            {"kid", kid_},
            {"alg", "ES256"},
            {"crv", "P-256"},
            {"x", B64(Bn(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
            {"y", B64(Bn(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }

  // The JOSE signature (RS256: PKCS#1 v1.5; ES256: r || s) of `message` with SHA-256.
  std::string Sign(std::string_view message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(message.data());
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, data, message.size()) == 1) {
      sig.resize(len);
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data, message.size());
      sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    if (sig.empty()) throw std::runtime_error("signing failed");
    if (alg_ == "RS256") return sig;
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  IdpKey(EVP_PKEY* key, std::string kid, std::string alg)
      : key_(key, Free{}), kid_(std::move(kid)), alg_(std::move(alg)) {
    if (key == nullptr) throw std::runtime_error("key generation failed");
  }
  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
  std::string alg_;
};

// header.payload.signature, signed by `key`; `header` defaults to {alg, kid} of the key.
std::string Jwt(const IdpKey& key, const Json& claims, Json header = nullptr) {
  if (header.is_null()) header = {{"typ", "JWT"}, {"alg", key.alg()}, {"kid", key.kid()}};
  const std::string signed_part = B64(header.dump()) + "." + B64(claims.dump());
  return signed_part + "." + B64(key.Sign(signed_part));
}

// header_b64.payload_b64, signed by `key` as they are.
std::string SignedRaw(const IdpKey& key, const std::string& header_b64,
                      const std::string& payload_b64) {
  const std::string signed_part = header_b64 + "." + payload_b64;
  return signed_part + "." + B64(key.Sign(signed_part));
}

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

// The claims of a valid access token for `email` with `roles`.
Json Claims(const std::string& email, Json roles) {
  const int64_t now = Now();
  return {{"iss", kIssuer},
          {"aud", Json::array({"api://other-app", kAudience})},
          {"sub", "00u" + email.substr(0, email.find('@'))},
          {"email", email},
          {"kam_roles", std::move(roles)},
          {"iat", now},
          {"nbf", now},
          {"exp", now + 300}};
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// The Authenticator a service binary would build from `args` (after the program name).
absl::StatusOr<std::unique_ptr<server::Authenticator>> FromFlags(std::vector<std::string> args) {
  server::Flags flags("oidc_test", "");
  server::DefineCommonFlags(flags, "127.0.0.1:0", "");
  args.insert(args.begin(), "oidc_test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (auto s = flags.Parse(static_cast<int>(argv.size()), argv.data()); !s.ok()) return s;
  return server::AuthenticatorFromFlags(flags);
}

// Every event of `programme` in `topic`, in log order.
std::vector<v1::EventEnvelope> EventsOf(const std::string& topic, const std::string& programme) {
  std::vector<v1::EventEnvelope> out;
  auto s = eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
    if (r.key != programme) return absl::OkStatus();
    auto opened = eventlog::Open(r.value);
    if (opened.ok()) out.push_back(opened->envelope);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// The identity provider's keys, the files a deployment holds (tokens, JWKS), and the
// programme command service behind a real gRPC server, for the whole suite.
class Oidc : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new IdpKey(IdpKey::Rsa("rsa-2026-01"));
    ec_ = new IdpKey(IdpKey::P256("ec-2026-01"));
    prefix_ = new std::string(testing::UniqueTopicPrefix());
    dir_ = new std::string(std::filesystem::temp_directory_path() / ("kam-oidc-" + *prefix_));
    std::filesystem::create_directories(*dir_);
    const Json jwks = {
        {"keys",
         {rsa_->Jwk(),
          ec_->Jwk(),
          // An encryption key and an algorithm the platform does not verify: skipped.
          {{"kty", "RSA"}, {"kid", "enc-1"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}},
          {{"kty", "EC"}, {"kid", "p384"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}}}}};
    WriteFile(*dir_ + "/jwks.json", jwks.dump(2), 0644);  // public keys: anyone may read
    WriteFile(*dir_ + "/tokens", "tok-admin-000 admin@supplier.example admin\n");
    auto auth = FromFlags({"--tokens", *dir_ + "/tokens", "--oidc-jwks", *dir_ + "/jwks.json",
                           "--oidc-issuer", kIssuer, "--oidc-audience", kAudience,
                           "--oidc-principal-claim", "email"});
    if (!auth.ok()) throw std::runtime_error(auth.status().ToString());
    auth_ = auth->release();
    services::ProgrammeServiceConfig config;
    config.kafka = testing::SharedKafka();
    config.topic_prefix = *prefix_;
    config.transactional_id = *prefix_ + "programme-writer";
    auto service = services::ProgrammeService::Create(config, *auth_);
    if (!service.ok()) throw std::runtime_error(service.status().ToString());
    service_ = service->release();
    server_ = new server::GrpcServer(server::ServerOptions{});
    server_->Add(service_);
    if (auto s = server_->Start(); !s.ok()) throw std::runtime_error(s.ToString());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete service_;
    delete auth_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete prefix_;
    delete ec_;
    delete rsa_;
  }

  // CharterProgramme `programme` with "Bearer <token>".
  static grpc::Status Charter(const std::string& programme, const std::string& token) {
    auto stub = v1::ProgrammeCommandService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::CharterProgrammeRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    req.set_programme_id(programme);
    req.set_name("EMEA key accounts");
    req.set_rationale("Grow profitable strategic customers");
    v1::CharterProgrammeResponse resp;
    return stub->CharterProgramme(&ctx, req, &resp);
  }

  static inline IdpKey* rsa_ = nullptr;
  static inline IdpKey* ec_ = nullptr;
  static inline std::string* prefix_ = nullptr;
  static inline std::string* dir_ = nullptr;
  static inline server::Authenticator* auth_ = nullptr;
  static inline services::ProgrammeService* service_ = nullptr;
  static inline server::GrpcServer* server_ = nullptr;
};

TEST_F(Oidc, AnRs256TokenOfTheJwksRunsTheCallAsThePrincipalOfItsEmailClaim) {
  // "approver" is a role of another application: ignored.
  const std::string token = Jwt(*rsa_, Claims("ana@supplier.example", {"approver", "admin"}));
  auto s = Charter("emea-rsa", token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto events = EventsOf(service_->topic(), "emea-rsa");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor(), "ana@supplier.example");
}

TEST_F(Oidc, AnEs256TokenOfTheJwksIsAcceptedWithItsRolesAsOneSpaceSeparatedString) {
  const std::string token = Jwt(*ec_, Claims("eve@supplier.example", "other-app:read admin"));
  auto s = Charter("emea-ec", token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto events = EventsOf(service_->topic(), "emea-ec");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor(), "eve@supplier.example");
}

TEST_F(Oidc, ATokenWithNoKnownRoleIsAuthenticatedButMayDoNothing) {
  const std::string token = Jwt(*rsa_, Claims("kim@supplier.example", {"approver"}));
  auto s = Charter("emea-none", token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("kim@supplier.example may not"), std::string::npos)
      << s.error_message();
}

TEST_F(Oidc, TheTokensFileStillAuthenticatesBesideOidc) {
  auto s = Charter("emea-file", "tok-admin-000");
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto events = EventsOf(service_->topic(), "emea-file");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor(), "admin@supplier.example");
}

TEST_F(Oidc, RefusesEveryOtherTokenAsUnauthenticatedSayingWhy) {
  const int64_t now = Now();
  const IdpKey other = IdpKey::Rsa(rsa_->kid());  // the right kid, another key
  const IdpKey unknown = IdpKey::P256("not-in-jwks");
  auto with = [](Json claims, const char* name, Json value) {
    claims[name] = std::move(value);
    return claims;
  };
  auto without = [](Json claims, const char* name) {
    claims.erase(name);
    return claims;
  };
  const Json ok = Claims("ana@supplier.example", {"admin"});
  const std::string valid = Jwt(*rsa_, ok);
  const std::string signed_part = valid.substr(0, valid.rfind('.'));
  const std::string header_none = B64(Json{{"alg", "none"}, {"kid", rsa_->kid()}}.dump());
  const std::string header_hs = B64(Json{{"alg", "HS256"}, {"kid", rsa_->kid()}}.dump());
  const std::string payload = B64(ok.dump());
  const Json header_rs = {{"alg", "RS256"}, {"kid", rsa_->kid()}};
  struct Case {
    const char* what;
    std::string token;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"signed by another key", Jwt(other, ok), "the signature does not verify with key"},
      {"a signature of another token", signed_part + "." + B64(rsa_->Sign("x.y")),
       "the signature does not verify"},
      {"expired beyond the skew", Jwt(*rsa_, with(ok, "exp", now - 61)),
       "expired at 20"},  // an RFC 3339 time
      {"not yet valid", Jwt(*rsa_, with(ok, "nbf", now + 3600)), "not valid before"},
      {"issued in the future", Jwt(*rsa_, with(ok, "iat", now + 3600)), "issued in the future"},
      {"for another audience", Jwt(*rsa_, with(ok, "aud", "api://other-app")),
       "audience (aud) api://other-app does not include 'api://kam-platform'"},
      {"for no listed audience", Jwt(*rsa_, with(ok, "aud", Json::array({"a", "b"}))),
       "audience (aud)"},
      {"of another issuer", Jwt(*rsa_, with(ok, "iss", "https://evil.example")),
       "issuer (iss) 'https://evil.example' is not"},
      {"without exp", Jwt(*rsa_, without(ok, "exp")), "no expiry (exp)"},
      {"without the principal claim", Jwt(*rsa_, without(ok, "email")), "no string claim 'email'"},
      {"alg none", header_none + "." + payload + ".", "alg 'none'"},
      {"alg none, with a signature", header_none + "." + payload + "." + B64("sig"), "alg 'none'"},
      {"HS256", header_hs + "." + payload + "." + B64(std::string(32, 'k')),
       "alg 'HS256' is not accepted (only RS256 and ES256)"},
      {"an unknown kid", Jwt(unknown, ok), "kid 'not-in-jwks' is not in the JWKS"},
      {"ES256 claimed for the RSA key", Jwt(*ec_, ok, {{"alg", "ES256"}, {"kid", rsa_->kid()}}),
       "alg 'ES256' does not match key 'rsa-2026-01', an RS256 key"},
      {"a crit header", Jwt(*rsa_, ok, {{"alg", "RS256"}, {"kid", rsa_->kid()}, {"crit", {"b64"}}}),
       "'crit'"},
      {"a header that is not base64url", "abcde." + payload + "." + B64("sig"),
       "the header is not base64url"},
      {"a header that is not JSON", B64("{\"alg\":") + "." + payload + "." + B64("sig"),
       "the header is not a JSON object"},
      {"a payload that is not JSON", SignedRaw(*rsa_, B64(header_rs.dump()), B64("[1,2")),
       "the payload is not a JSON object"},
      {"a payload that is not base64url", SignedRaw(*rsa_, B64(header_rs.dump()), "abcde"),
       "the payload is not base64url"},
      {"a principal in the inbound publishers' namespace",
       Jwt(*rsa_, with(ok, "email", "publisher:hr")),
       "the principal 'publisher:hr' (claim 'email') is in the 'publisher:' namespace, which is "
       "for inbound publishers only"},
      {"an ES256 signature of the wrong size",
       B64(Json{{"alg", "ES256"}, {"kid", ec_->kid()}}.dump()) + "." + payload + "." + B64("s"),
       "an ES256 signature is 64 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto s = Charter("emea-refused", c.token);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_NE(s.error_message().find(c.reason), std::string::npos) << s.error_message();
    // Never the token, nor its signature.
    EXPECT_EQ(s.error_message().find(c.token), std::string::npos) << s.error_message();
    const std::string sig = c.token.substr(c.token.rfind('.') + 1);
    if (sig.size() > 8) {
      EXPECT_EQ(s.error_message().find(sig), std::string::npos) << s.error_message();
    }
  }
  // gRPC's own limit on metadata (8 KiB) refuses a huge token before the service sees it;
  // the verifier's limit (16 KiB, JwtVerifier.RefusesAnOversizedToken) is the next line.
  auto huge = Charter("emea-refused", Jwt(*rsa_, with(ok, "pad", std::string(20000, 'x'))));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << huge.error_message();
  EXPECT_TRUE(EventsOf(service_->topic(), "emea-refused").empty());
}

// The verifier alone, at chosen times: the clock skew both ways.
TEST(JwtVerifier, AcceptsWithinTheClockSkewAndRefusesBeyondIt) {
  const IdpKey key = IdpKey::P256("k1");
  auto verifier = server::JwtVerifier::FromJwks(
      Json{{"keys", {key.Jwk()}}}.dump(),
      server::OidcOptions{
          .issuer = kIssuer, .audience = kAudience, .clock_skew = absl::Seconds(60)},
      "test-jwks");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  Json claims = Claims("ana@supplier.example", {"board"});
  claims["exp"] = 1'800'000'000;
  claims["nbf"] = 1'799'999'000;
  claims.erase("iat");
  const std::string token = Jwt(key, claims);
  auto at = [&](int64_t t) { return (*verifier)->Verify(token, absl::FromUnixSeconds(t)); };
  auto who = at(1'800'000'059);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->name, "00uana");  // the default principal claim: sub
  EXPECT_EQ(who->roles, std::set<std::string>{"board"});
  EXPECT_TRUE(at(1'800'000'060).ok());
  EXPECT_EQ(at(1'800'000'061).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(at(1'799'998'940).ok());
  EXPECT_NE(at(1'799'998'939).status().message().find("not valid before 2027-01-15T07:43:20Z"),
            std::string::npos)
      << at(1'799'998'939).status();
}

TEST(JwtVerifier, RefusesAnOversizedTokenUnread) {
  const IdpKey key = IdpKey::P256("k1");
  auto verifier = server::JwtVerifier::FromJwks(
      Json{{"keys", {key.Jwk()}}}.dump(),
      server::OidcOptions{.issuer = kIssuer, .audience = kAudience}, "test-jwks");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  Json claims = Claims("ana@supplier.example", {"board"});
  claims["groups"] = std::string(11000, 'g');
  const std::string large = Jwt(key, claims);
  ASSERT_LT(large.size(), server::kMaxBearerBytes);
  EXPECT_TRUE((*verifier)->Verify(large, absl::Now()).ok());
  claims["groups"] = std::string(13000, 'g');
  auto refused = (*verifier)->Verify(Jwt(key, claims), absl::Now());
  EXPECT_EQ(refused.status().message(), "OIDC token refused: longer than 16384 bytes");
  auto auth = server::Authenticator::FromText("", "none", std::move(*verifier));
  EXPECT_EQ(
      (*auth)->AuthenticateHeader("Bearer " + Jwt(key, claims), absl::Now()).status().message(),
      "bearer token longer than 16384 bytes");
}

TEST(JwtVerifier, LooksLikeAJwtOnlyWithThreeBase64UrlParts) {
  EXPECT_TRUE(server::JwtVerifier::LooksLikeJwt("eyJh.eyJz.c2ln"));
  EXPECT_TRUE(server::JwtVerifier::LooksLikeJwt("eyJh.eyJz."));  // unsigned: refused later
  EXPECT_FALSE(server::JwtVerifier::LooksLikeJwt("tok-admin-000"));
  EXPECT_FALSE(server::JwtVerifier::LooksLikeJwt("a.b"));
  EXPECT_FALSE(server::JwtVerifier::LooksLikeJwt("a.b.c.d"));
  EXPECT_FALSE(server::JwtVerifier::LooksLikeJwt(".b.c"));
  EXPECT_FALSE(server::JwtVerifier::LooksLikeJwt("a+.b.c"));
}

TEST(JwtVerifier, RefusesAJwksWithoutAUsableKeyOrWithAWeakOne) {
  const server::OidcOptions o{.issuer = kIssuer, .audience = kAudience};
  auto none = server::JwtVerifier::FromJwks(R"({"keys": []})", o, "jwks.json");
  EXPECT_NE(none.status().message().find("jwks.json: holds no RS256 (RSA) or ES256"),
            std::string::npos)
      << none.status();
  auto junk = server::JwtVerifier::FromJwks(R"({"kty": "RSA"})", o, "jwks.json");
  EXPECT_NE(junk.status().message().find("not a JWKS"), std::string::npos) << junk.status();
  const IdpKey small(IdpKey::Rsa("small"));
  Json jwk = small.Jwk();
  jwk["n"] = B64(std::string(128, '\xff'));  // 1024 bits
  auto weak = server::JwtVerifier::FromJwks(Json{{"keys", {jwk}}}.dump(), o, "jwks.json");
  EXPECT_EQ(weak.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(weak.status().message().find("key 'small'"), std::string::npos) << weak.status();
  Json bad_point = IdpKey::P256("bad").Jwk();
  bad_point["y"] = bad_point["x"];  // not on the curve
  auto off = server::JwtVerifier::FromJwks(Json{{"keys", {bad_point}}}.dump(), o, "jwks.json");
  EXPECT_NE(off.status().message().find("key 'bad': not a valid EC public key"), std::string::npos)
      << off.status();
}

class AuthFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kam-authflags-" + base::NewEventId());
    std::filesystem::create_directories(dir_);
    WriteFile(dir_ + "/jwks.json", Json{{"keys", {IdpKey::P256("k1").Jwk()}}}.dump(), 0644);
    WriteFile(dir_ + "/tokens", "tok-admin-000 admin@supplier.example admin\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AuthFlags, TokensOrJwksIsRequiredAndJwksNeedsIssuerAndAudience) {
  auto neither = FromFlags({});
  EXPECT_NE(neither.status().message().find("--tokens or --oidc-jwks is required"),
            std::string::npos)
      << neither.status();
  auto no_issuer = FromFlags({"--oidc-jwks", dir_ + "/jwks.json", "--oidc-audience", kAudience});
  EXPECT_EQ(no_issuer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_issuer.status().message().find("--oidc-jwks needs --oidc-issuer"), std::string::npos)
      << no_issuer.status();
  auto no_audience = FromFlags({"--oidc-jwks", dir_ + "/jwks.json", "--oidc-issuer", kIssuer});
  EXPECT_NE(no_audience.status().message().find("--oidc-jwks needs --oidc-audience"),
            std::string::npos)
      << no_audience.status();
  auto stray = FromFlags({"--tokens", dir_ + "/tokens", "--oidc-issuer", kIssuer});
  EXPECT_NE(stray.status().message().find("--oidc-issuer needs --oidc-jwks"), std::string::npos)
      << stray.status();
  auto skew = FromFlags({"--oidc-jwks", dir_ + "/jwks.json", "--oidc-issuer", kIssuer,
                         "--oidc-audience", kAudience, "--oidc-clock-skew-s", "-5"});
  EXPECT_NE(skew.status().message().find("oidc-clock-skew-s"), std::string::npos) << skew.status();
  auto missing = FromFlags(
      {"--oidc-jwks", dir_ + "/nope.json", "--oidc-issuer", kIssuer, "--oidc-audience", kAudience});
  EXPECT_NE(missing.status().message().find("--oidc-jwks: cannot read"), std::string::npos)
      << missing.status();
  // OIDC alone, without a tokens file.
  auto oidc_only = FromFlags(
      {"--oidc-jwks", dir_ + "/jwks.json", "--oidc-issuer", kIssuer, "--oidc-audience", kAudience});
  ASSERT_TRUE(oidc_only.ok()) << oidc_only.status();
  EXPECT_EQ((*oidc_only)->AuthenticateHeader("Bearer tok-admin-000", absl::Now()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthFlags, ATokensFileOthersCanReadIsRefusedAtStartUp) {
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod((dir_ + "/tokens").c_str(), mode);
    auto auth = FromFlags({"--tokens", dir_ + "/tokens"});
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(
        auth.status().message(),
        "--tokens: " + dir_ + "/tokens can be read by other users; chmod 600 " + dir_ + "/tokens");
  }
  ::chmod((dir_ + "/tokens").c_str(), 0600);
  EXPECT_TRUE(FromFlags({"--tokens", dir_ + "/tokens"}).ok());
  ::chmod((dir_ + "/tokens").c_str(), 0400);
  EXPECT_TRUE(FromFlags({"--tokens", dir_ + "/tokens"}).ok());
}

TEST(TokensFile, LooksUpTokensByTheirHash) {
  auto auth = server::Authenticator::FromText(
      "tok-ana-champion ana@supplier.example champion\n"
      "tok-bob-board    bob@supplier.example board,sponsor\n"
      "a.b.c-looks-odd  odd@supplier.example kam\n",
      "test-tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  auto who = [&](const std::string& token) {
    auto p = (*auth)->AuthenticateHeader("Bearer " + token, absl::Now());
    return p.ok() ? p->name + " " + absl::StrJoin(p->roles, ",")
                  : std::string(absl::StatusCodeToString(p.status().code())) + ": " +
                        std::string(p.status().message());
  };
  EXPECT_EQ(who("tok-ana-champion"), "ana@supplier.example champion");
  EXPECT_EQ(who("tok-bob-board"), "bob@supplier.example board,sponsor");
  // Without OIDC, even a token with dots is a tokens-file token.
  EXPECT_EQ(who("a.b.c-looks-odd"), "odd@supplier.example kam");
  EXPECT_EQ(who("tok-ana-champioN"), "UNAUTHENTICATED: unknown bearer token");
  EXPECT_EQ(who("tok-ana-champion "), "UNAUTHENTICATED: unknown bearer token");
  EXPECT_EQ(who("tok-ana"), "UNAUTHENTICATED: unknown bearer token");
  EXPECT_EQ(who(""), "UNAUTHENTICATED: unknown bearer token");
  EXPECT_EQ(who(std::string(20000, 'x')), "UNAUTHENTICATED: bearer token longer than 16384 bytes");
  EXPECT_EQ(
      std::string((*auth)->AuthenticateHeader("Basic dG9rOng=", absl::Now()).status().message()),
      "authorization metadata must be 'Bearer <token>'");

  auto dup = server::Authenticator::FromText(
      "tok-ana-champion ana@x champion\ntok-ana-champion eve@x admin\n", "dup-tokens");
  EXPECT_EQ(dup.status().message(), "dup-tokens:2: duplicate token");
  // A caller never wears an inbound publisher's principal (and so never acts as its person).
  auto inbound = server::Authenticator::FromText("tok-sneaky-hr publisher:hr publisher\n", "t");
  EXPECT_EQ(inbound.status().message(),
            "t:1: principal 'publisher:hr': the prefix 'publisher:' is for inbound publishers "
            "only");
}

}  // namespace
}  // namespace kam
