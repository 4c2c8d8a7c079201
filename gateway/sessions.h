// Browser sessions of the board gateway. A person logs in once with a bearer credential
// (a token of the platform's tokens file, or whatever identity the query services accept);
// the gateway keeps it server-side and hands the browser only an opaque session id, sent
// back as an HttpOnly, SameSite=Strict cookie, and a CSRF token for calls that change
// something. The credential never reaches a URL, a log or the page's script.
//
//   kam::gateway::SessionStore sessions({.idle = absl::Minutes(30)});
//   auto id = sessions.Open({.credential = token, .principal = "ana@..."});
//   std::optional<Session> s = sessions.Find(*id);       // touches it; nullopt when expired
//   if (!sessions.CheckCsrf(*s, header)) -> 403
//
// Ids are 256 random bits (OpenSSL); the store is keyed by their SHA-256, so neither a
// lookup's timing nor a memory dump gives an id away. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kam::gateway {

struct Session {
  std::string credential;  // what the gateway sends as "authorization: Bearer ..."
  std::string principal;
  std::vector<std::string> roles;
  std::string csrf_token;  // set by Open()
  absl::Time created;
  absl::Time last_used;
};

class SessionStore {
 public:
  struct Options {
    absl::Duration idle = absl::Minutes(30);   // closed after this long unused
    absl::Duration max_age = absl::Hours(12);  // and after this long in any case
    std::size_t max_sessions = 10000;
  };
  explicit SessionStore(Options options, std::function<absl::Time()> now = &absl::Now);

  // Opens a session and returns its id. RESOURCE_EXHAUSTED when max_sessions are open
  // (after dropping the expired ones).
  absl::StatusOr<std::string> Open(Session session);
  // The session with this id, if open and not expired (and marks it used now).
  std::optional<Session> Find(std::string_view id);
  void Close(std::string_view id);
  // Whether `token` is the session's CSRF token (constant-time comparison).
  static bool CheckCsrf(const Session& session, std::string_view token);
  std::size_t size() const;

 private:
  bool Expired(const Session& s, absl::Time now) const;
  void DropExpiredLocked(absl::Time now);

  const Options options_;
  const std::function<absl::Time()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Session> by_hash_;  // SHA-256(id) -> session
};

// Bounds failed logins per client address: at most `max_failures` within `window`, then
// refused until the oldest failure leaves the window. Thread-safe.
class LoginThrottle {
 public:
  LoginThrottle(int max_failures, absl::Duration window,
                std::function<absl::Time()> now = &absl::Now);
  bool Allowed(const std::string& address);
  void Failed(const std::string& address);

 private:
  const int max_failures_;
  const absl::Duration window_;
  const std::function<absl::Time()> now_;
  std::mutex mu_;
  std::map<std::string, std::vector<absl::Time>> failures_;
};

// 2 * bytes random bytes as lower-case hex (OpenSSL's CSPRNG).
std::string RandomHex(std::size_t bytes);

}  // namespace kam::gateway
