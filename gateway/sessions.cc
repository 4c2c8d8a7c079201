#include "gateway/sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "absl/strings/escaping.h"
#include "eventlog/codec.h"

namespace kam::gateway {
namespace {

std::string Key(std::string_view id) { return eventlog::Sha256(id); }

}  // namespace

std::string RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");  // no entropy: not recoverable
  }
  return absl::BytesToHexString(raw);
}

SessionStore::SessionStore(Options options, std::function<absl::Time()> now)
    : options_(options), now_(std::move(now)) {}

bool SessionStore::Expired(const Session& s, absl::Time now) const {
  return now - s.last_used > options_.idle || now - s.created > options_.max_age;
}

void SessionStore::DropExpiredLocked(absl::Time now) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = Expired(it->second, now) ? by_hash_.erase(it) : std::next(it);
  }
}

absl::StatusOr<std::string> SessionStore::Open(Session session) {
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  if (by_hash_.size() >= options_.max_sessions) DropExpiredLocked(now);
  if (by_hash_.size() >= options_.max_sessions) {
    return absl::ResourceExhaustedError("too many open sessions; try again later");
  }
  std::string id = RandomHex(32);
  session.csrf_token = RandomHex(32);
  session.created = now;
  session.last_used = now;
  by_hash_[Key(id)] = std::move(session);
  return id;
}

std::optional<Session> SessionStore::Find(std::string_view id) {
  if (id.empty() || id.size() > 128) return std::nullopt;
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(Key(id));
  if (it == by_hash_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void SessionStore::Close(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_.erase(Key(id));
}

bool SessionStore::CheckCsrf(const Session& session, std::string_view token) {
  return !session.csrf_token.empty() && token.size() == session.csrf_token.size() &&
         CRYPTO_memcmp(token.data(), session.csrf_token.data(), token.size()) == 0;
}

std::size_t SessionStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

LoginThrottle::LoginThrottle(int max_failures, absl::Duration window,
                             std::function<absl::Time()> now)
    : max_failures_(max_failures), window_(window), now_(std::move(now)) {}

bool LoginThrottle::Allowed(const std::string& address) {
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return true;
  auto& times = it->second;
  std::erase_if(times, [&](absl::Time t) { return now - t > window_; });
  if (times.empty()) {
    failures_.erase(it);
    return true;
  }
  return static_cast<int>(times.size()) < max_failures_;
}

void LoginThrottle::Failed(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood
  failures_[address].push_back(now_());
}

}  // namespace kam::gateway
