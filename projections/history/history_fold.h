// The history fold: every stored event of the programme and account-metrics topics into
// the history read model (layout in history_keys.h, reads through HistoryIndex).
//
//   kam::projections::HistoryFold fold;
//   kam::readmodel::ProjectionRuntime runtime(kafka, store, fold, {.topic = topic});
//
// One store folds several topics, each by its own runtime and its own fold object (a fold
// keeps per-aggregate tips in memory and is not shared between threads). An unreadable
// record is kept (h/bad), a second record claiming a stored version is kept beside the
// first (h/dup): verification reports both. The per-topic record count makes a double fold
// visible (the exactly-once tests compare it).
//
// Cost per record: one parse (no hash: verification re-hashes the stored bytes when asked)
// and two or three puts into a plain WriteBatch (the count goes once per batch); no read of
// the store, except once per aggregate after a start, to learn which versions are stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "readmodel/projection_runtime.h"

namespace kam::eventlog {
class Keyring;
}  // namespace kam::eventlog

namespace kam::projections {

class HistoryFold final : public readmodel::Projection {
 public:
  absl::Status Fold(const eventlog::ConsumedRecord& record, readmodel::FoldContext& ctx) override;
  absl::Status FinishBatch(readmodel::FoldContext& ctx) override;
  void Reset() override;
  // Fold only events signed by one of `keyring`'s keys (null: check the hash alone).
  void UseKeyring(const eventlog::Keyring* keyring) { keyring_ = keyring; }

 private:
  const eventlog::Keyring* keyring_ = nullptr;
  // Which versions of an aggregate are stored: 1..max, except the holes (ranges of versions
  // skipped by a record that arrived early, e.g. a forged one).
  struct Tip {
    uint64_t max = 0;
    std::vector<std::pair<uint64_t, uint64_t>> holes;  // inclusive ranges
    // Whether `version` is stored; if not, records it as stored.
    bool StoreIfNew(uint64_t version);
  };
  Tip& TipOf(const std::string& type, const std::string& id, readmodel::FoldContext& ctx);

  std::unordered_map<std::string, Tip> tips_;  // by aggregate key prefix
  std::optional<uint64_t> count_;              // records folded from this fold's topic
  std::string count_topic_;                    // (written once per batch)
};

// The checkpoints topic (eventlog/checkpoints.h) into the newest checkpointed tip per
// aggregate (h/anchor), which VerifyHistory holds the log against. A record that is not a
// checkpoint signed by a keyring key is kept out (h/badcp, with the reason).
class CheckpointFold final : public readmodel::Projection {
 public:
  absl::Status Fold(const eventlog::ConsumedRecord& record, readmodel::FoldContext& ctx) override;
  void Reset() override { versions_.clear(); }
  void UseKeyring(const eventlog::Keyring* keyring) { keyring_ = keyring; }

 private:
  const eventlog::Keyring* keyring_ = nullptr;
  std::unordered_map<std::string, uint64_t> versions_;  // anchored version by anchor key
};

}  // namespace kam::projections
