// A read model's RocksDB database with bounded memory, and the key layout shared by
// every projection: offsets live under "~offset/", each projection's data under its own
// prefix.
//
//   auto store = kam::readmodel::Store::Open("/var/lib/kam/history", {});
//   std::map<int32_t, int64_t> next = (*store)->Offsets("kam.programme.v1");
//
// Thread-safe (RocksDB is); the projection runtime is the only writer. While open, a store
// reports RocksDB's key and memory figures as gauges labelled with its path:
// kam_rocksdb_estimated_keys, kam_rocksdb_sst_files_bytes, kam_rocksdb_block_cache_usage_bytes,
// kam_rocksdb_memtables_bytes, and kam_rocksdb_unwritable (1 while it refuses writes: Write).
//
// A copy of a live store, for a new replica or a backup (read replicas, docs/architecture.md):
//
//   KAM_RETURN_IF_ERROR(store->Checkpoint("/var/lib/kam/checkpoints/20261127T120000.000Z"));
//   auto copy = kam::readmodel::Store::OpenReadOnly("/var/lib/kam/checkpoints/...", {});
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/metrics.h"

namespace rocksdb {
class DB;
class Cache;
class WriteBatch;
}  // namespace rocksdb

namespace kam::readmodel {

// Memory: the block cache (index and filter blocks included, so a growing store cannot
// push them out and re-read them on every lookup) plus up to max_write_buffers memtables.
struct StoreOptions {
  std::size_t block_cache_bytes = 96ull << 20;
  std::size_t write_buffer_bytes = 32ull << 20;
  int max_write_buffers = 2;
};

class Store {
 public:
  // Opens (creating it and its parent directories if missing) the database at `path`. INTERNAL with
  // RocksDB's reason.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options);
  // Opens the database at `path` without writing to it and without taking its lock (to read
  // a checkpoint; never a store another process writes). NOT_FOUND if there is none there.
  static absl::StatusOr<std::unique_ptr<Store>> OpenReadOnly(const std::string& path,
                                                             const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }

  // Writes `batch` whole or not at all, once the filesystem has room for what RocksDB may
  // allocate for it: (max_write_buffers + 2) x write_buffer_bytes free (a new write-ahead log
  // and the flushes behind it; 128 MiB with the defaults). When there is less, or RocksDB
  // refuses the write (an I/O error; RocksDB then takes no writes until Resume()), the store
  // is unwritable: UNAVAILABLE naming the directory and the cause ("No space left on device:
  // ..."), ONE error log line for the whole episode (not one per attempt), and the gauge
  // kam_rocksdb_unwritable{path} reads 1. Every later Write checks the room again and asks
  // RocksDB to Resume(); the first that succeeds logs that the store is writable again (after
  // how long, how many writes were refused). Reads go on meanwhile. Thread-safe.
  absl::Status Write(rocksdb::WriteBatch& batch);

  // The next offset to read per partition of `topic`, as stored with the read model.
  std::map<int32_t, int64_t> Offsets(const std::string& topic) const;

  // The key under which the next offset of (topic, partition) is stored.
  static std::string OffsetKey(std::string_view topic, int32_t partition);

  // The running digest (32 raw bytes) of what was folded from each partition of `topic`
  // up to its stored offset (projection_runtime.h), and the key it is stored under.
  std::map<int32_t, std::string> FoldDigests(const std::string& topic) const;
  static std::string FoldDigestKey(std::string_view topic, int32_t partition);

  // A digest (SHA-256, hex) of every key and value, offsets included: two stores with
  // the same digest hold the same read model.
  std::string Digest() const;

  // Writes an openable copy of the store to `to` while it is in use, with RocksDB's
  // Checkpoint: the memtables are flushed, SST files are hard-linked when `to` is on the same
  // filesystem (copied otherwise), MANIFEST and WAL are copied. A WriteBatch is in the copy
  // whole or not at all, and every runtime writes its offsets and fold digests in the batch
  // of the read-model change they belong to, so the copy is a read model at some offsets: a
  // store opened on it resumes folding from them, exactly once. RocksDB builds it under
  // "<to>.tmp" and renames it, so `to` exists only complete. ALREADY_EXISTS if `to` exists;
  // INTERNAL with RocksDB's reason (a leftover "<to>.tmp" is deleted first).
  absl::Status Checkpoint(const std::string& to) const;

 private:
  Store() = default;
  void RegisterGauges(const std::string& path);
  absl::Status Refused(const std::string& reason);
  void Accepted();

  std::string path_;
  uint64_t min_free_bytes_ = 0;  // on path_'s filesystem, for a write to go ahead
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // While a write was refused and none has succeeded since (Write).
  std::atomic<bool> unwritable_{false};
  std::mutex unwritable_mu_;  // guards the three below and the episode's log lines
  std::chrono::steady_clock::time_point unwritable_since_;
  std::string unwritable_cause_;
  uint64_t refused_writes_ = 0;
  // Last: unregistered before the database closes.
  std::vector<base::CallbackRegistration> gauges_;
};

// Fixed-width big-endian encodings, so that keys sort numerically.
std::string EncodeU64(uint64_t v);
uint64_t DecodeU64(std::string_view bytes);

}  // namespace kam::readmodel
