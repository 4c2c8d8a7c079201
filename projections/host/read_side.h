// The read side as one object: the RocksDB store, the history fold of the programme and
// account-metrics topics and the fold of the writers' checkpoints (one runtime each), the
// history index, the query services over them and the scope both read through (who reads
// which programme: read_scope.h). The kam-history-projection binary, the HTTP
// gateway's tests and the end-to-end tests all start the read side through Create(), so its wiring
// exists once.
//
//   auto read = kam::projections::ReadSide::Create(
//       {.kafka = kafka, .topic_prefix = "", .data_dir = "/var/lib/kam/history"}, auth);
//   server.Add each of (*read)->services();                // History + Governance queries
//   (*read)->WaitCaughtUp(std::chrono::seconds(30));
//
// Thread-safe; the services answer while the read model catches up (a query that names a
// position waits for it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"
#include "eventlog/signing.h"
#include "projections/governance/cache.h"
#include "projections/governance/governance_service.h"
#include "projections/governance/membership.h"
#include "projections/history/history_fold.h"
#include "projections/history/history_index.h"
#include "projections/history/history_service.h"
#include "projections/history/read_scope.h"
#include "readmodel/projection_runtime.h"
#include "readmodel/store.h"
#include "server/auth.h"
#include "server/stream_deadlines.h"

namespace kam::projections {

struct ReadSideConfig {
  eventlog::KafkaOptions kafka;
  std::string topic_prefix;
  // The RocksDB directory (created if missing).
  std::string data_dir;
  readmodel::StoreOptions store;
  // Delete data_dir first and fold both topics again from offset zero.
  bool rebuild = false;
  // With a keyring, only events signed by one of its keys are folded; the rest are
  // quarantined and reported by VerifyHistory (null: the hash alone is checked).
  std::shared_ptr<const eventlog::Keyring> keyring;
  // Subscribe streams open at once (each holds a server thread); more are refused.
  int max_subscriptions = 32;
  // Idle and total deadlines of a Subscribe stream (server::StreamDeadlines).
  server::StreamLimits stream_limits;
  // The persons' data keys (personal/keys.h): with them, the views fold personal fields
  // opened, members (and `personal-data` holders) read them opened, the platform admin
  // reads them withheld or sealed, and LookupPersonalDataKeys answers. Null: none of that;
  // sealed values show as the log holds them.
  std::shared_ptr<personal::KeyStore> keys;
};

// What a checkpoint of the read side holds (ReadSide::Checkpoint).
struct StoreCheckpoint {
  std::string path;
  // Records of the programme and metrics topics folded into the copy.
  uint64_t records_folded = 0;
  // The next offset of each partition of each folded topic, as stored in the copy.
  std::map<std::string, std::map<int32_t, int64_t>> next_offsets;
  uint64_t bytes = 0;                 // of its files
  uint64_t linked_bytes = 0;          // of those shared with the live store by a hard link
  std::chrono::milliseconds took{0};  // to make it (not to inspect it)
};

class ReadSide {
 public:
  // INTERNAL if the store cannot be opened (or deleted for a rebuild); UNAVAILABLE if Kafka
  // does not answer.
  static absl::StatusOr<std::unique_ptr<ReadSide>> Create(const ReadSideConfig& config,
                                                          const server::Authenticator& auth);
  ~ReadSide();
  ReadSide(const ReadSide&) = delete;
  ReadSide& operator=(const ReadSide&) = delete;

  // The gRPC services (HistoryQueryService, GovernanceQueryService); owned by this object.
  std::vector<grpc::Service*> services();

  const HistoryIndex& index() const { return *index_; }
  const readmodel::Store& store() const { return *store_; }
  const readmodel::ProjectionRuntime& programmes() const { return *programmes_; }
  const readmodel::ProjectionRuntime& metrics() const { return *metrics_; }
  const readmodel::ProjectionRuntime& checkpoints() const { return *checkpoints_; }
  // Every runtime: programme, metrics, checkpoints.
  std::vector<const readmodel::ProjectionRuntime*> runtimes() const {
    return {programmes_.get(), metrics_.get(), checkpoints_.get()};
  }

  // The runtimes' progress added up (the first error and the first stall win; the next
  // offsets are the programme topic's).
  readmodel::ProjectionRuntime::Progress progress() const;
  // OK once every topic is folded to the end of the committed log.
  absl::Status WaitCaughtUp(std::chrono::milliseconds timeout) const;
  // Logs progress every two seconds until caught up (true), a fold error (false) or
  // `stopping` turns true (true).
  bool LogProgressUntilCaughtUp(const std::atomic<bool>& stopping) const;

  // Writes a consistent, openable copy of the store to `to` (which must not exist) while
  // folding and queries go on (Store::Checkpoint), then opens it read-only to report what it
  // holds. A kam-history-projection whose --data-dir is the copy, or a copy of it on another
  // machine, serves it at once and folds on from its offsets. Errors as Store::Checkpoint.
  absl::StatusOr<StoreCheckpoint> Checkpoint(const std::string& to) const;

  // Stops folding (the services then answer from what is stored). Idempotent.
  void Stop();

 private:
  ReadSide() = default;

  std::unique_ptr<readmodel::Store> store_;
  std::shared_ptr<const eventlog::Keyring> keyring_;
  std::shared_ptr<personal::KeyStore> keys_;
  HistoryFold programme_fold_;  // one fold per runtime: a fold is not shared between threads
  HistoryFold metrics_fold_;
  CheckpointFold checkpoint_fold_;
  std::unique_ptr<HistoryIndex> index_;
  std::unique_ptr<readmodel::ProjectionRuntime> programmes_;
  std::unique_ptr<readmodel::ProjectionRuntime> metrics_;
  std::unique_ptr<readmodel::ProjectionRuntime> checkpoints_;
  // Who reads what (read_scope.h): membership from the governance cache's folded programmes,
  // one cache for the views and the checks alike.
  std::unique_ptr<GovernanceCache> cache_;
  std::unique_ptr<CacheMembership> membership_;
  std::unique_ptr<ReadScope> scope_;
  std::unique_ptr<HistoryService> history_service_;
  std::unique_ptr<GovernanceService> governance_service_;
};

}  // namespace kam::projections
