// Checkpoints of a running read side, kept in one directory, to add a replica or take a
// backup without stopping it or refolding the log (docs/architecture.md, "Read replicas").
// RocksDB admits one process per store, so only the process serving it can make a
// consistent copy: the operator asks the running kam-history-projection with SIGUSR1, or
// has it make one every `every`.
//
//   DIR/20261127T120000.123Z/   an openable RocksDB directory (ReadSide::Checkpoint)
//   DIR/latest -> 20261127T120000.123Z
//
//   kam::projections::BlockCheckpointSignal();        // first thing in main()
//   kam::projections::StoreCheckpoints keeper(read, {.dir = "/var/lib/kam/checkpoints"});
//   std::thread t([&] { keeper.Run(stopping); });     // on SIGUSR1 and every `every`
//
// A directory appears under its final name only complete (RocksDB stages it under
// "<name>.tmp"), and `latest` is replaced atomically, so a reader that resolves `latest`
// always finds a whole checkpoint. Not thread-safe: one thread makes them.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "projections/host/read_side.h"

namespace kam::projections {

struct StoreCheckpointsConfig {
  // Best on the store's filesystem, where a checkpoint hard-links the store's files instead
  // of copying them. Empty: none are made (a SIGUSR1 is logged and ignored).
  std::string dir;
  // The newest checkpoints kept; older ones are deleted once a new one is made.
  int keep = 2;
  // Between periodic checkpoints; 0: on SIGUSR1 only.
  std::chrono::seconds every{0};
};

// Blocks SIGUSR1 in the calling thread and every thread it starts later, so that it reaches
// StoreCheckpoints::Run instead of ending the process (its default action). Call first in
// main(), before any library starts a thread.
void BlockCheckpointSignal();

class StoreCheckpoints {
 public:
  StoreCheckpoints(const ReadSide& read, StoreCheckpointsConfig config);

  // Makes DIR/<UTC time>, points DIR/latest at it, then deletes all but the newest `keep`
  // and whatever an interrupted checkpoint left. FAILED_PRECONDITION without a dir; otherwise
  // as ReadSide::Checkpoint.
  absl::StatusOr<StoreCheckpoint> Make();

  // Until `stopping` turns true (noticed within 200 ms): a checkpoint on each SIGUSR1 and
  // every `every`, each logged ("store checkpoint made": path, records_folded, bytes,
  // linked_bytes, ms, offsets) or its error logged; an error does not stop the loop.
  void Run(const std::atomic<bool>& stopping);

 private:
  const ReadSide& read_;
  StoreCheckpointsConfig config_;
};

}  // namespace kam::projections
