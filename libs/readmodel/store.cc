#include "readmodel/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/codec.h"

namespace kam::readmodel {
namespace {
constexpr std::string_view kOffsetPrefix = "~offset/";
constexpr std::string_view kDigestPrefix = "~digest/";
}  // namespace

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeU64(std::string_view bytes) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}

namespace {

// The read model's keys mostly end in an 8-byte big-endian counter (a version, an offset)
// under a prefix that names the aggregate, scope or partition, and a fold appends each
// prefix's keys in increasing order. RocksDB then inserts into the memtable next to the
// previous key of the same prefix instead of searching the skip list from its head
// (measured on a rebuild: the search was a third of the fold's CPU).
class AllButLastEight final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "kam.AllButLastEight"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

// RocksDB's info log, <dir>/LOG (the previous run's in LOG.old), one write(2) per line. RocksDB's
// own file logger stops for good at its first failed write and Debian's build asserts on the
// next line, which aborted the process when the disk was full; this one drops the lines a full
// disk cannot take and writes again once it can.
class InfoLog final : public rocksdb::Logger {
 public:
  explicit InfoLog(const std::string& dir) {
    std::error_code ec;
    std::filesystem::rename(dir + "/LOG", dir + "/LOG.old", ec);  // absent the first time
    fd_ = open((dir + "/LOG").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  }
  ~InfoLog() override {
    if (fd_ >= 0) close(fd_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (fd_ < 0) return;
    char line[4096];
    const std::string time =
        absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", absl::Now(), absl::LocalTimeZone());
    int n = std::snprintf(line, sizeof line, "%s%" PRIx64 " ", time.c_str(),
                          static_cast<uint64_t>(pthread_self()));
    if (n < 0) return;
    const int body =
        std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, format, ap);
    if (body < 0) return;
    n = std::min<int>(n + body, static_cast<int>(sizeof line) - 2);
    line[n++] = '\n';
    const ssize_t written = write(fd_, line, static_cast<std::size_t>(n));
    (void)written;  // a line the disk cannot take is dropped
  }

 private:
  int fd_ = -1;
};

}  // namespace

Store::~Store() = default;

namespace {

// The options of every store, read-write or read-only; `cache` is the block cache to use.
rocksdb::Options OptionsOf(const StoreOptions& options, std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = options.write_buffer_bytes;
  o.max_write_buffer_number = options.max_write_buffers;
  o.max_background_jobs = 2;
  o.max_open_files = 512;
  o.level_compaction_dynamic_level_bytes = true;
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kLZ4Compression;
  o.memtable_insert_with_hint_prefix_extractor = std::make_shared<AllButLastEight>();
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = std::move(cache);
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.block_size = 16 * 1024;
  // Point lookups (a verification's stored entry, a dangling-index check) mostly ask for
  // keys that exist; range scans dominate. A bloom filter still saves reads of files that
  // cannot hold a key.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// Four shards, not RocksDB's default 64: with 64 shards of 1.5 MiB an index block of a
// large file does not fit its shard, and every lookup read it again (measured: a history
// page went from ~15 ms to under 1 ms). Index and filter blocks are charged to the cache
// at high priority and pinned for level-0 files, so data blocks cannot evict them.
std::shared_ptr<rocksdb::Cache> CacheOf(const StoreOptions& options) {
  rocksdb::LRUCacheOptions cache;
  cache.capacity = options.block_cache_bytes;
  cache.num_shard_bits = 2;
  cache.high_pri_pool_ratio = 0.5;
  return rocksdb::NewLRUCache(cache);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::InternalError(base::StrCat("cannot create ", path, ": ", ec.message()));
  std::unique_ptr<Store> self(new Store());
  self->path_ = path;
  self->min_free_bytes_ =
      static_cast<uint64_t>(options.max_write_buffers + 2) * options.write_buffer_bytes;
  self->cache_ = CacheOf(options);
  rocksdb::Options o = OptionsOf(options, self->cache_);
  o.info_log = std::make_shared<InfoLog>(path);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) return absl::InternalError(base::StrCat("rocksdb open ", path, ": ", s.ToString()));
  self->db_.reset(raw);
  self->RegisterGauges(path);
  return self;
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenReadOnly(const std::string& path,
                                                           const StoreOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    return absl::NotFoundError(base::StrCat("no read model at ", path));
  }
  std::unique_ptr<Store> self(new Store());
  self->path_ = path;
  self->cache_ = CacheOf(options);
  rocksdb::Options o = OptionsOf(options, self->cache_);
  o.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(o, path, &raw);
  if (!s.ok()) {
    return absl::InternalError(base::StrCat("rocksdb open (read-only) ", path, ": ", s.ToString()));
  }
  self->db_.reset(raw);
  return self;
}

absl::Status Store::Write(rocksdb::WriteBatch& batch) {
  // Kept from running RocksDB out of space: a write-ahead log append it cannot make leaves
  // RocksDB 7.8's WAL writer broken for good when the memtable is empty (Resume() skips the
  // flush that would replace the log, and Debian's build, assertions on, aborts at the next
  // write). A write may switch memtables, so it needs room for the new log's preallocation and
  // the flushes behind it; the log's appends then land in space it already holds.
  struct statvfs fs {};
  if (statvfs(path_.c_str(), &fs) == 0) {
    const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free < min_free_bytes_) {
      return Refused(base::StrCat(std::strerror(ENOSPC), ": ", free,
                                  " bytes free on its filesystem, ", min_free_bytes_,
                                  " needed to write"));
    }
  }
  if (unwritable_.load()) {
    // After a refused write, flush or compaction RocksDB takes no writes until Resume(), which
    // retries the flush (a no-op without a background error; BUSY while RocksDB's own
    // recovery runs, which ends the error by itself once there is space).
    if (rocksdb::Status resumed = db_->Resume(); !resumed.ok()) {
      return Refused(resumed.ToString());
    }
  }
  if (rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch); !s.ok()) {
    return Refused(s.ToString());
  }
  if (unwritable_.load()) Accepted();
  return absl::OkStatus();
}

absl::Status Store::Refused(const std::string& reason) {
  std::lock_guard<std::mutex> lock(unwritable_mu_);
  ++refused_writes_;
  if (!unwritable_.load()) {
    unwritable_since_ = std::chrono::steady_clock::now();
    unwritable_cause_ = reason;
    unwritable_ = true;
    base::Log(
        base::LogLevel::kError,
        base::StrCat("read model ", path_,
                     " cannot be written; folding is paused and retried until it can: ", reason),
        {{"path", path_}, {"cause", reason}});
  }
  // The cause that started the episode (a later attempt may only say that RocksDB is busy).
  return absl::UnavailableError(
      base::StrCat("read model ", path_, " cannot be written: ", unwritable_cause_));
}

void Store::Accepted() {
  std::lock_guard<std::mutex> lock(unwritable_mu_);
  if (!unwritable_.load()) return;
  unwritable_ = false;
  const double seconds =
      std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - unwritable_since_)
                     .count() *
                 10) /
      10;
  base::Log(base::LogLevel::kInfo,
            base::StrCat("read model ", path_, " is writable again after ", seconds, " s and ",
                         refused_writes_, " refused writes; folding resumed"),
            {{"path", path_}, {"seconds", seconds}, {"refused_writes", refused_writes_}});
  refused_writes_ = 0;
}

absl::Status Store::Checkpoint(const std::string& to) const {
  std::error_code ec;
  // RocksDB wants an absolute path without a trailing slash (it appends ".tmp" to it).
  const std::filesystem::path target = std::filesystem::absolute(to, ec).lexically_normal();
  if (ec) return absl::InternalError(base::StrCat("checkpoint ", to, ": ", ec.message()));
  std::string dir = target.string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(base::StrCat("checkpoint ", dir, ": already exists"));
  }
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  if (ec) return absl::InternalError(base::StrCat("checkpoint ", dir, ": ", ec.message()));
  // An interrupted checkpoint's staging directory would make RocksDB refuse the name.
  std::filesystem::remove_all(dir + ".tmp", ec);
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) return absl::InternalError(base::StrCat("checkpoint ", dir, ": ", s.ToString()));
  return absl::OkStatus();
}

void Store::RegisterGauges(const std::string& path) {
  struct Property {
    const char* metric;
    const char* help;
    const char* rocksdb;
  };
  static constexpr Property kProperties[] = {
      {"kam_rocksdb_estimated_keys", "RocksDB's estimate of the keys in a read model's store",
       "rocksdb.estimate-num-keys"},
      {"kam_rocksdb_sst_files_bytes", "Bytes of every SST file of a read model's store",
       "rocksdb.total-sst-files-size"},
      {"kam_rocksdb_block_cache_usage_bytes", "Bytes held in a read model's block cache",
       "rocksdb.block-cache-usage"},
      {"kam_rocksdb_memtables_bytes", "Bytes of a read model's memtables (active and immutable)",
       "rocksdb.cur-size-all-mem-tables"},
  };
  gauges_.push_back(base::Metrics().GaugeCallback(
      "kam_rocksdb_unwritable",
      "1 while a read model's store refuses writes (e.g. its disk is full) and its projections "
      "wait to retry, else 0",
      {"path"}, [this, path](base::GaugeSamples& out) {
        out.push_back({{path}, unwritable_.load() ? 1.0 : 0.0});
      }));
  for (const Property& p : kProperties) {
    gauges_.push_back(base::Metrics().GaugeCallback(
        p.metric, p.help, {"path"}, [this, path, property = p.rocksdb](base::GaugeSamples& out) {
          uint64_t value = 0;
          if (db_->GetIntProperty(property, &value)) {
            out.push_back({{path}, static_cast<double>(value)});
          }
        }));
  }
}

std::string Store::OffsetKey(std::string_view topic, int32_t partition) {
  return base::StrCat(kOffsetPrefix, topic, "/", EncodeU64(static_cast<uint64_t>(partition)));
}

std::string Store::FoldDigestKey(std::string_view topic, int32_t partition) {
  return base::StrCat(kDigestPrefix, topic, "/", EncodeU64(static_cast<uint64_t>(partition)));
}

namespace {

// The values under "<prefix><topic>/<partition>", by partition.
std::map<int32_t, std::string> PerPartition(rocksdb::DB& db, std::string_view kind,
                                            const std::string& topic) {
  std::map<int32_t, std::string> out;
  const std::string prefix = base::StrCat(kind, topic, "/");
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view rest(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    out[static_cast<int32_t>(DecodeU64(rest))] = it->value().ToString();
  }
  return out;
}

}  // namespace

std::map<int32_t, int64_t> Store::Offsets(const std::string& topic) const {
  std::map<int32_t, int64_t> out;
  for (const auto& [p, value] : PerPartition(*db_, kOffsetPrefix, topic)) {
    out[p] = static_cast<int64_t>(DecodeU64(value));
  }
  return out;
}

std::map<int32_t, std::string> Store::FoldDigests(const std::string& topic) const {
  return PerPartition(*db_, kDigestPrefix, topic);
}

std::string Store::Digest() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string chain;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    chain =
        eventlog::Sha256(base::StrCat(chain, EncodeU64(it->key().size()), it->key().ToStringView(),
                                      EncodeU64(it->value().size()), it->value().ToStringView()));
  }
  return absl::BytesToHexString(chain);
}

}  // namespace kam::readmodel
