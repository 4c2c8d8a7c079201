#include "personal/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "openssl/rand.h"

namespace kam::personal {
namespace {

// The file: "KPD1", then 'K' and the 32-byte key, or 'X' and the person's number (4 bytes,
// big-endian) padded with zeros to the same length.
constexpr std::string_view kMagic = "KPD1";
constexpr std::size_t kFileBytes = 4 + 1 + kKeyBytes;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(
      base::StrCat("key store: ", what, " ", path, ": ", std::strerror(errno)));
}

absl::Status CheckKeyId(std::string_view key_id) {
  const auto slash = key_id.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        base::StrCat("key id '", key_id, "' is not <programme id>/<person id>"));
  }
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", key_id.substr(0, slash)));
  return base::ValidateId("person_id", key_id.substr(slash + 1));
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

// Writes `bytes` to a new file beside `path` and syncs it; returns the temporary's name.
absl::StatusOr<std::string> WriteTemp(const std::string& path, std::string_view bytes) {
  std::string tmp = base::StrCat(path, ".tmp.", ::getpid(), ".", base::NewEventId());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  absl::Status s = WriteAll(fd, bytes, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", tmp);
  ::close(fd);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return tmp;
}

class FileKeyStore final : public KeyStore {
 public:
  explicit FileKeyStore(std::string dir) : dir_(std::move(dir)) {}

  absl::StatusOr<std::string> KeyFor(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Only checked ids are cached: a cached key needs no second check (the common case).
    if (const KeyLookup* cached = Cached(key_id);
        cached != nullptr && cached->state == KeyLookup::State::kKey) {
      return cached->key;
    }
    KAM_RETURN_IF_ERROR(CheckKeyId(key_id));
    auto known = LookupLocked(key_id);
    if (!known.ok()) return known.status();
    if (known->state == KeyLookup::State::kErased) {
      return absl::FailedPreconditionError(
          base::StrCat("the personal data of '", key_id, "' was erased: nothing is sealed for it"));
    }
    if (known->state == KeyLookup::State::kKey) return known->key;
    std::string key(kKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) !=
        1) {
      return absl::InternalError("key store: no random bytes for a new key");
    }
    const std::string path = PathOf(key_id);
    auto tmp = WriteTemp(path, base::StrCat(kMagic, "K", key));
    if (!tmp.ok()) return tmp.status();
    // link(2) fails if another process made the key first: then theirs is the key.
    const int linked = ::link(tmp->c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp->c_str());
    if (linked != 0 && link_errno != EEXIST) {
      errno = link_errno;
      return Errno("link", path);
    }
    KAM_RETURN_IF_ERROR(SyncDir());
    cache_.erase(std::string(key_id));
    auto now = LookupLocked(key_id);
    if (!now.ok()) return now.status();
    if (now->state != KeyLookup::State::kKey) {
      return absl::FailedPreconditionError(
          base::StrCat("the personal data of '", key_id, "' was erased: nothing is sealed for it"));
    }
    return now->key;
  }

  absl::StatusOr<KeyLookup> Lookup(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (const KeyLookup* cached = Cached(key_id); cached != nullptr) return *cached;
    KAM_RETURN_IF_ERROR(CheckKeyId(key_id));
    return LookupLocked(key_id);
  }

  absl::Status Destroy(std::string_view key_id, uint32_t number) override {
    KAM_RETURN_IF_ERROR(CheckKeyId(key_id));
    std::lock_guard<std::mutex> lock(mu_);
    if (const KeyLookup* cached = Cached(key_id);
        cached != nullptr && cached->state == KeyLookup::State::kErased) {
      return absl::OkStatus();
    }
    const std::string path = PathOf(key_id);
    // The key's bytes are overwritten where they are before the file is replaced, so they
    // do not linger in a freed block of this filesystem.
    if (const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC); fd >= 0) {
      absl::Status s = WriteAll(fd, std::string(kFileBytes, '\0'), path);
      if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", path);
      ::close(fd);
      KAM_RETURN_IF_ERROR(s);
    } else if (errno != ENOENT) {
      return Errno("open", path);
    }
    std::string tombstone = base::StrCat(kMagic, "X");
    for (int shift = 24; shift >= 0; shift -= 8)
      tombstone.push_back(static_cast<char>((number >> shift) & 0xff));
    tombstone.resize(kFileBytes, '\0');
    auto tmp = WriteTemp(path, tombstone);
    if (!tmp.ok()) return tmp.status();
    if (::rename(tmp->c_str(), path.c_str()) != 0) {
      const absl::Status s = Errno("rename", path);
      ::unlink(tmp->c_str());
      return s;
    }
    KAM_RETURN_IF_ERROR(SyncDir());
    KeyLookup erased;
    erased.state = KeyLookup::State::kErased;
    erased.number = number;
    cache_[std::string(key_id)] = erased;
    return absl::OkStatus();
  }

 private:
  std::string PathOf(std::string_view key_id) const {
    // Ids are [a-z0-9._-]; the slash becomes a '+', which no id holds.
    std::string name(key_id);
    for (char& c : name) {
      if (c == '/') c = '+';
    }
    return base::StrCat(dir_, "/", name, ".key");
  }

  absl::Status SyncDir() {
    const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open", dir_);
    const int r = ::fsync(fd);
    ::close(fd);
    return r == 0 ? absl::OkStatus() : Errno("fsync", dir_);
  }

  absl::StatusOr<KeyLookup> LookupLocked(std::string_view key_id) {
    if (const KeyLookup* cached = Cached(key_id); cached != nullptr) return *cached;
    const std::string path = PathOf(key_id);
    KeyLookup out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return out;  // unknown (not cached: another process may make it)
      return Errno("open", path);
    }
    std::string bytes(kFileBytes + 1, '\0');
    const ssize_t n = ::read(fd, bytes.data(), bytes.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(kFileBytes) || bytes.compare(0, kMagic.size(), kMagic) != 0 ||
        (bytes[4] != 'K' && bytes[4] != 'X')) {
      return absl::DataLossError(base::StrCat("key store: ", path, " is not a key file"));
    }
    if (bytes[4] == 'K') {
      out.state = KeyLookup::State::kKey;
      out.key = bytes.substr(5, kKeyBytes);
    } else {
      out.state = KeyLookup::State::kErased;
      for (int i = 0; i < 4; ++i)
        out.number = (out.number << 8) | static_cast<uint8_t>(bytes[5 + i]);
    }
    cache_[std::string(key_id)] = out;
    return out;
  }

  const std::string dir_;
  std::mutex mu_;
  const KeyLookup* Cached(std::string_view key_id) const {
    auto it = cache_.find(absl::string_view(key_id.data(), key_id.size()));
    return it == cache_.end() ? nullptr : &it->second;
  }

  absl::flat_hash_map<std::string, KeyLookup> cache_;  // checked ids only
};

}  // namespace

std::string KeyId(std::string_view programme_id, std::string_view person_id) {
  return base::StrCat(programme_id, "/", person_id);
}

absl::StatusOr<std::unique_ptr<KeyStore>> OpenFileKeyStore(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("key store: no directory given");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Errno("stat", dir);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(base::StrCat("key store: ", dir, " is not a directory"));
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) return Errno("chmod", dir);
  return std::unique_ptr<KeyStore>(new FileKeyStore(dir));
}

}  // namespace kam::personal
