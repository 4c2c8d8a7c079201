#include "gateway/board_server.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "gateway/change_feed.h"
#include "gateway/http_metrics.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "kam/v1/governance_service.grpc.pb.h"
#include "kam/v1/history_service.grpc.pb.h"
#include "server/metrics_endpoint.h"
#include "server/status.h"

namespace kam::gateway {
namespace {

constexpr char kCookie[] = "kam_session";
constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// Google's mapping of gRPC codes onto HTTP statuses (as grpc-gateway uses it).
int HttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:
      return 500;
  }
}

void SendError(httplib::Response& res, grpc::StatusCode code, const std::string& message,
               const v1::ErrorDetail& detail = {}) {
  nlohmann::json error = {
      {"code", server::CodeName(code)}, {"status", HttpStatus(code)}, {"message", message}};
  if (!detail.rule().empty()) error["rule"] = detail.rule();
  if (!detail.field().empty()) error["field"] = detail.field();
  res.status = HttpStatus(code);
  res.set_content(nlohmann::json{{"error", error}}.dump(), kJson);
}

void SendError(httplib::Response& res, const grpc::Status& status) {
  SendError(res, status.error_code(), status.error_message(), server::DetailOf(status));
}

void SendError(httplib::Response& res, const absl::Status& status) {
  SendError(res, server::ToGrpc(status));
}

void SendMessage(httplib::Response& res, const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  res.status = 200;
  res.set_content(json, kJson);
}

std::string CookieValue(const httplib::Request& req, std::string_view name) {
  const std::string header = req.get_header_value("Cookie");
  for (absl::string_view part : absl::StrSplit(header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.size() > name.size() &&
        part.substr(0, name.size()) == absl::string_view(name.data(), name.size()) &&
        part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

const std::map<std::string, std::string>& MimeTypes() {
  static const auto* types =
      new std::map<std::string, std::string>{{".html", "text/html; charset=utf-8"},
                                             {".js", "text/javascript; charset=utf-8"},
                                             {".css", "text/css; charset=utf-8"},
                                             {".svg", "image/svg+xml"},
                                             {".png", "image/png"},
                                             {".json", "application/json"},
                                             {".map", "application/json"},
                                             {".ico", "image/x-icon"},
                                             {".woff2", "font/woff2"},
                                             {".txt", "text/plain; charset=utf-8"}};
  return *types;
}

struct StaticFile {
  std::string content;
  std::string mime;
};

// Every file under `root` (a built page is small), by URL path. Nothing outside it is
// ever served: requests are looked up, not mapped onto the file system.
absl::StatusOr<std::map<std::string, StaticFile>> LoadWebRoot(const std::string& root) {
  std::map<std::string, StaticFile> out;
  if (root.empty()) return out;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::path(root) / "index.html", ec)) {
    return base::InvalidField("web_root", base::StrCat("'", root,
                                                       "' has no index.html; build "
                                                       "the page (deploy/setup.sh) or fix "
                                                       "--web-root"));
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file()) continue;
    auto mime = MimeTypes().find(entry.path().extension().string());
    if (mime == MimeTypes().end()) continue;  // only what a browser needs
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string rel = std::filesystem::relative(entry.path(), root).generic_string();
    out["/" + rel] = StaticFile{ss.str(), mime->second};
  }
  if (ec) return base::InvalidField("web_root", ec.message());
  out["/"] = out["/index.html"];
  return out;
}

// Query-parameter parsing; errors name the parameter.
absl::Status ParseUint(const httplib::Request& req, const std::string& name, uint32_t max,
                       uint32_t& out) {
  if (!req.has_param(name)) return absl::OkStatus();
  const std::string v = req.get_param_value(name);
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out > max) {
    return base::InvalidField(name, base::StrCat("must be an integer 0..", max));
  }
  return absl::OkStatus();
}

absl::Status ParseAsOf(const httplib::Request& req, v1::AsOf* as_of) {
  if (!req.has_param("asOf")) {
    if (req.has_param("axis")) return base::InvalidField("axis", "needs asOf");
    return absl::OkStatus();
  }
  if (!google::protobuf::util::TimeUtil::FromString(req.get_param_value("asOf"),
                                                    as_of->mutable_time())) {
    return base::InvalidField("asOf", "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z");
  }
  const std::string axis = req.has_param("axis") ? req.get_param_value("axis") : "recorded";
  if (axis == "recorded") {
    as_of->set_axis(v1::TIME_AXIS_RECORDED);
  } else if (axis == "effective") {
    as_of->set_axis(v1::TIME_AXIS_EFFECTIVE);
  } else {
    return base::InvalidField("axis", "must be recorded or effective");
  }
  return absl::OkStatus();
}

}  // namespace

struct BoardServer::Impl {
  explicit Impl(const BoardOptions& o)
      : sessions(o.sessions), throttle(o.max_login_failures, o.login_failure_window) {}

  std::shared_ptr<v1::HistoryQueryService::Stub> history;
  std::shared_ptr<v1::GovernanceQueryService::Stub> governance;
  std::map<std::string, StaticFile> files;
  SessionStore sessions;
  LoginThrottle throttle;
  std::atomic<bool> stopping{false};
  std::mutex feeds_mu;
  std::set<FeedRelay*> feeds;  // live relays, cancelled at Stop()
};

BoardServer::BoardServer(BoardOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

BoardServer::~BoardServer() { Stop(); }

absl::StatusOr<std::unique_ptr<BoardServer>> BoardServer::Create(BoardOptions options) {
  if (options.queries.empty()) return base::InvalidField("queries", "is required");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return base::InvalidField("tls_cert_file", "and tls_key_file go together");
  }
  if (options.max_feed_clients < 1 || options.threads < options.max_feed_clients + 4) {
    return base::InvalidField("max_feed_clients",
                              "must be at least 1 and leave 4 worker threads for other requests");
  }
  std::unique_ptr<BoardServer> self(new BoardServer(std::move(options)));
  const BoardOptions& o = self->options_;
  self->feed_gauge_ = base::Metrics().GaugeCallback(
      "kam_board_feed_clients", "Live feeds (Server-Sent Events) open", {},
      [raw = self.get()](base::GaugeSamples& out) {
        out.push_back({{}, static_cast<double>(raw->feed_clients_.load())});
      });
  auto files = LoadWebRoot(o.web_root);
  if (!files.ok()) return files.status();
  self->impl_->files = std::move(*files);

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!o.queries_tls_ca.empty()) {
    std::ifstream in(o.queries_tls_ca);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return base::InvalidField("queries_tls_ca",
                                base::StrCat("cannot read '", o.queries_tls_ca, "'"));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(o.queries, credentials);
  self->impl_->history = v1::HistoryQueryService::NewStub(channel);
  self->impl_->governance = v1::GovernanceQueryService::NewStub(channel);

  if (!o.tls_cert_file.empty()) {
    self->http_ =
        std::make_unique<httplib::SSLServer>(o.tls_cert_file.c_str(), o.tls_key_file.c_str());
    if (!self->http_->is_valid()) {
      return base::InvalidField("tls_cert_file", "the certificate or key cannot be loaded");
    }
  } else {
    self->http_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *self->http_;
  Impl& impl = *self->impl_;
  const bool secure = !o.tls_cert_file.empty();
  const int threads = o.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server::BindExclusively(http);
  http.set_payload_max_length(o.max_body_bytes);
  http.set_read_timeout(o.read_timeout);
  http.set_write_timeout(o.write_timeout);
  http.set_keep_alive_timeout(2);
  http.set_keep_alive_max_count(100);
  httplib::Headers headers = {{"Content-Security-Policy", kCsp},
                              {"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"},
                              {"X-Frame-Options", "DENY"},
                              {"Cross-Origin-Opener-Policy", "same-origin"},
                              {"Cross-Origin-Resource-Policy", "same-origin"},
                              {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
                              {"Cache-Control", "no-store"}};
  if (secure) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  http.set_default_headers(headers);
  // Every request counted by route and status (http_metrics.h).
  CountRequests(http);
  auto get = [&http](std::string_view route, const std::string& pattern,
                     httplib::Server::Handler handler) {
    http.Get(pattern, Measured(base::StrCat("GET ", route), std::move(handler)));
  };
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 413:
        SendError(res, grpc::StatusCode::RESOURCE_EXHAUSTED, "request body is too large");
        res.status = 413;
        return;
      case 404:
        SendError(res, grpc::StatusCode::NOT_FOUND, "no such resource");
        return;
      case 405:
        SendError(res, grpc::StatusCode::UNIMPLEMENTED, "method not allowed here");
        res.status = 405;
        return;
      default:
        SendError(res, grpc::StatusCode::INVALID_ARGUMENT, "the request is malformed");
        res.status = res.status >= 400 ? res.status : 400;
    }
  });
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        base::Log(base::LogLevel::kError,
                  base::StrCat("board: ", req.method, " ", req.path, " failed: ", what),
                  {{"method", req.method}, {"path", req.path}});
        SendError(res, grpc::StatusCode::INTERNAL, "the gateway failed; see its log");
      });

  // The session of a request, or an error already written to `res`. Anything but GET must
  // come from this origin and carry the session's CSRF token.
  auto session = [&impl](const httplib::Request& req,
                         httplib::Response& res) -> std::optional<Session> {
    std::optional<Session> s = impl.sessions.Find(CookieValue(req, kCookie));
    if (!s) {
      SendError(res, grpc::StatusCode::UNAUTHENTICATED, "log in first (POST /api/session)");
      return std::nullopt;
    }
    if (req.method != "GET" && !SessionStore::CheckCsrf(*s, req.get_header_value("X-CSRF-Token"))) {
      SendError(res, grpc::StatusCode::PERMISSION_DENIED,
                "X-CSRF-Token: is missing or not this session's token");
      return std::nullopt;
    }
    return s;
  };
  // A same-origin check for state-changing requests: the Origin a browser sends must be
  // this server's. (Cookies are SameSite=Strict too; this also stops login CSRF.)
  http.set_pre_routing_handler([secure](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string origin = req.get_header_value("Origin");
    const std::string expected =
        base::StrCat(secure ? "https://" : "http://", req.get_header_value("Host"));
    if (origin.empty() || origin != expected) {
      SendError(res, grpc::StatusCode::PERMISSION_DENIED,
                base::StrCat("Origin: '", origin.substr(0, 100), "' is not this site (", expected,
                             "); requests that change something must come from the dashboard"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // A unary query with the session's credential; the reply as JSON.
  const auto rpc_timeout = o.rpc_timeout;
  auto call = [rpc_timeout](const Session& s, auto& stub, auto method, const auto& request,
                            auto& reply, httplib::Response& res) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + s.credential);
    ctx.set_deadline(std::chrono::system_clock::now() + rpc_timeout);
    const grpc::Status status = (stub.*method)(&ctx, request, &reply);
    if (!status.ok()) {
      SendError(res, status);
      return false;
    }
    return true;
  };
  // --- The session ---------------------------------------------------------------------
  http.Post("/api/session",
            Measured("POST /api/session", [&impl, secure, rpc_timeout](const httplib::Request& req,
                                                                       httplib::Response& res) {
              if (!impl.throttle.Allowed(req.remote_addr)) {
                SendError(res, grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many failed logins from this address; wait a minute");
                res.set_header("Retry-After", "60");
                return;
              }
              if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
                SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                          "Content-Type: must be application/json", [] {
                            v1::ErrorDetail d;
                            d.set_field("Content-Type");
                            return d;
                          }());
                return;
              }
              const nlohmann::json body =
                  nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
              if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
                  body["token"].get<std::string>().empty() ||
                  body["token"].get<std::string>().size() > 8192) {
                SendError(res, base::InvalidField("token", "is required: {\"token\": \"...\"}"));
                return;
              }
              const std::string token = body["token"].get<std::string>();
              // The query services decide whether the credential is valid: ask who it is.
              grpc::ClientContext ctx;
              ctx.AddMetadata("authorization", "Bearer " + token);
              ctx.set_deadline(std::chrono::system_clock::now() + rpc_timeout);
              v1::ListProgrammesResponse who;
              const grpc::Status status = impl.governance->ListProgrammes(&ctx, {}, &who);
              if (!status.ok()) {
                if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
                  impl.throttle.Failed(req.remote_addr);
                }
                SendError(res, status);
                return;
              }
              Session s;
              s.credential = token;
              s.principal = who.principal();
              s.roles.assign(who.roles().begin(), who.roles().end());
              auto id = impl.sessions.Open(s);
              if (!id.ok()) {
                SendError(res, id.status());
                return;
              }
              const Session opened = *impl.sessions.Find(*id);
              res.set_header("Set-Cookie",
                             base::StrCat(kCookie, "=", *id, "; Path=/; HttpOnly; SameSite=Strict",
                                          secure ? "; Secure" : ""));
              res.set_content(nlohmann::json{{"authenticated", true},
                                             {"principal", opened.principal},
                                             {"roles", opened.roles},
                                             {"csrfToken", opened.csrf_token}}
                                  .dump(),
                              kJson);
            }));
  // Whether the browser has a session: a page asks this first, so "no" is an answer, not
  // an error.
  get("/api/session", "/api/session", [&impl](const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = impl.sessions.Find(CookieValue(req, kCookie));
    if (!s) {
      res.set_content(nlohmann::json{{"authenticated", false}}.dump(), kJson);
      return;
    }
    res.set_content(nlohmann::json{{"authenticated", true},
                                   {"principal", s->principal},
                                   {"roles", s->roles},
                                   {"csrfToken", s->csrf_token}}
                        .dump(),
                    kJson);
  });
  http.Delete("/api/session",
              Measured("DELETE /api/session", [&impl, session, secure](const httplib::Request& req,
                                                                       httplib::Response& res) {
                if (!session(req, res)) return;
                impl.sessions.Close(CookieValue(req, kCookie));
                res.set_header(
                    "Set-Cookie",
                    base::StrCat(kCookie, "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                                 secure ? "; Secure" : ""));
                res.status = 204;
              }));

  // --- Queries -----------------------------------------------------------------------------
  // Every handler: the session, the parameters (errors name them), one query, its JSON.
  get("/api/programmes", "/api/programmes",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::ListProgrammesResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::ListProgrammes,
                 v1::ListProgrammesRequest{}, reply, res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63}))",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetProgrammeRequest q;
        q.set_programme_id(req.matches[1]);
        if (auto st = ParseAsOf(req, q.mutable_as_of()); !st.ok()) return SendError(res, st);
        v1::GetProgrammeResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::GetProgramme, q, reply,
                 res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/scorecard", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/scorecard)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetScorecardRequest q;
        q.set_programme_id(req.matches[1]);
        if (auto st = ParseAsOf(req, q.mutable_as_of()); !st.ok()) return SendError(res, st);
        v1::GetScorecardResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::GetScorecard, q, reply,
                 res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/register", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/register)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetRegisterRequest q;
        q.set_programme_id(req.matches[1]);
        v1::GetRegisterResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::GetRegister, q, reply,
                 res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/verification",
      R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/verification)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::VerifyHistoryRequest q;
        q.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
        q.set_aggregate_id(req.matches[1]);
        v1::VerifyHistoryResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::VerifyHistory, q, reply,
                 res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/accounts/{a}/economics",
      R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/accounts/([a-z0-9][a-z0-9._-]{0,63})/economics)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetEconomicsRequest q;
        q.set_programme_id(req.matches[1]);
        q.set_account_id(req.matches[2]);
        v1::GetEconomicsResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::GetEconomics, q, reply,
                 res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/economics", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/economics)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetPortfolioEconomicsRequest q;
        q.set_programme_id(req.matches[1]);
        v1::GetPortfolioEconomicsResponse reply;
        if (call(*s, *impl.governance, &v1::GovernanceQueryService::Stub::GetPortfolioEconomics, q,
                 reply, res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/programmes/{p}/history", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/history)",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetHistoryRequest q;
        q.set_programme_id(req.matches[1]);
        if (req.has_param("account")) q.set_account_id(req.get_param_value("account"));
        if (req.has_param("person")) q.set_person_id(req.get_param_value("person"));
        uint32_t size = 0;
        if (auto st = ParseUint(req, "pageSize", 1000, size); !st.ok()) {
          return SendError(res, st);
        }
        q.set_page_size(size);
        if (req.has_param("pageToken")) {
          const std::string token = req.get_param_value("pageToken");
          if (token.size() > 64)
            return SendError(res, base::InvalidField("pageToken", "is too long"));
          q.set_page_token(token);
        }
        if (req.has_param("types")) {
          for (absl::string_view t :
               absl::StrSplit(req.get_param_value("types"), ',', absl::SkipEmpty())) {
            if (q.event_types_size() >= 100 || t.size() > 64) {
              return SendError(res, base::InvalidField("types", "at most 100 event type names"));
            }
            q.add_event_types(std::string(t));
          }
        }
        v1::GetHistoryResponse reply;
        if (call(*s, *impl.history, &v1::HistoryQueryService::Stub::GetHistory, q, reply, res)) {
          SendMessage(res, reply);
        }
      });
  get("/api/status", "/api/status",
      [&impl, session, call](const httplib::Request& req, httplib::Response& res) {
        auto s = session(req, res);
        if (!s) return;
        v1::GetProjectionStatusResponse reply;
        if (call(*s, *impl.history, &v1::HistoryQueryService::Stub::GetProjectionStatus,
                 v1::GetProjectionStatusRequest{}, reply, res)) {
          SendMessage(res, reply);
        }
      });

  // --- The live feed -------------------------------------------------------------------------
  BoardServer* raw = self.get();
  get("/api/programmes/{p}/feed", R"(/api/programmes/([a-z0-9][a-z0-9._-]{0,63})/feed)",
      [raw, session, call](const httplib::Request& req, httplib::Response& res) {
        Impl& im = *raw->impl_;
        auto s = session(req, res);
        if (!s) return;
        // A reconnecting EventSource sends Last-Event-ID; a page that opens a new one
        // after the feed ended passes the last cursor it saw as ?after=.
        auto cursor =
            ParseCursor(req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                        : req.get_param_value("after"));
        if (!cursor.ok()) return SendError(res, cursor.status());
        // The topic's name and, for a first connection, the read model's current end.
        v1::GetProjectionStatusResponse status;
        if (!call(*s, *im.history, &v1::HistoryQueryService::Stub::GetProjectionStatus,
                  v1::GetProjectionStatusRequest{}, status, res)) {
          return;
        }
        if (cursor->empty()) {
          for (const auto& p : status.partitions()) {
            if (p.topic() == status.topic()) (*cursor)[p.partition()] = p.next_offset() - 1;
          }
        }
        if (raw->feed_clients_.fetch_add(1) >= raw->options_.max_feed_clients) {
          raw->feed_clients_.fetch_sub(1);
          SendError(res, grpc::StatusCode::UNAVAILABLE,
                    "too many live feeds are open; try again shortly");
          res.set_header("Retry-After", "5");
          return;
        }
        v1::SubscribeRequest subscribe;
        subscribe.set_aggregate_id(req.matches[1]);
        for (const auto& [partition, offset] : *cursor) {
          if (offset < 0) continue;  // nothing seen yet: from the partition's beginning
          auto* after = subscribe.add_after();
          after->set_topic(status.topic());
          after->set_partition(partition);
          after->set_offset(offset);
        }
        auto relay = std::make_shared<FeedRelay>(im.history, s->credential, std::move(subscribe),
                                                 *std::move(cursor));
        {
          std::lock_guard<std::mutex> lock(im.feeds_mu);
          im.feeds.insert(relay.get());
        }
        relay->Start();
        res.set_header("X-Accel-Buffering", "no");
        const auto keep_alive = raw->options_.feed_keep_alive;
        res.set_chunked_content_provider(
            "text/event-stream",
            [relay, keep_alive, &im](size_t offset, httplib::DataSink& sink) {
              if (offset == 0) {
                // At once: the browser's reconnect delay, and a sign that the feed is open
                // (its cursor is fixed already, so nothing written from now on can be missed).
                const std::string hello = "retry: 3000\n: connected\n\n";
                return sink.write(hello.data(), hello.size());
              }
              std::string chunk;
              const bool more = !im.stopping && relay->Next(chunk, keep_alive);
              if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) return false;
              if (!more) sink.done();
              return true;
            },
            [relay, raw](bool /*success*/) {
              relay->Cancel();
              {
                std::lock_guard<std::mutex> lock(raw->impl_->feeds_mu);
                raw->impl_->feeds.erase(relay.get());
              }
              raw->feed_clients_.fetch_sub(1);
            });
      });

  // --- The page ----------------------------------------------------------------------------
  get("/{page}", R"(/(|[A-Za-z0-9._/-]{1,200}))",
      [&impl](const httplib::Request& req, httplib::Response& res) {
        auto it = impl.files.find(req.path);
        if (it == impl.files.end() || req.path.find("..") != std::string::npos) {
          SendError(res, grpc::StatusCode::NOT_FOUND, base::StrCat("no page at ", req.path));
          return;
        }
        res.set_content(it->second.content, it->second.mime);
      });

  return self;
}

absl::Status BoardServer::Start() {
  auto address = server::SplitHostPort(options_.listen, "listen");
  if (!address.ok()) return address.status();
  const auto& [host, port] = *address;
  if (port == 0) {
    port_ = http_->bind_to_any_port(host);
  } else {
    port_ = http_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(base::StrCat("cannot listen on ", options_.listen));
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return absl::OkStatus();
}

void BoardServer::Stop() {
  if (!http_) return;
  impl_->stopping = true;
  {
    std::lock_guard<std::mutex> lock(impl_->feeds_mu);
    for (FeedRelay* relay : impl_->feeds) relay->Cancel();
  }
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kam::gateway
