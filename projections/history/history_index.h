// Reading the history read model: an aggregate's stored events, pages of a programme's,
// an account's or a person's history, the log in order (for change streams), the list
// of programmes and the fold's record count. It owns the read side of the key layout
// (history_keys.h): no query handler touches RocksDB keys itself.
//
//   kam::projections::HistoryIndex index(store, programme_topic, metrics_topic);
//   kam::projections::AggregateHistory h = index.Programme("emea-kam");
//   for (const auto& e : h.events) ... e.envelope, e.position, e.hash_ok
//
// Thread-safe (reads only; RocksDB is).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "eventlog/checkpoints.h"
#include "kam/v1/history_service.pb.h"
#include "readmodel/store.h"

namespace kam::projections {

// One stored event of an aggregate, as verification sees it.
struct StoredEvent {
  v1::EventEnvelope envelope;
  v1::LogPosition position;
  bool hash_ok = false;
};

// Every stored event of an aggregate in version order, and the records that claimed an
// already stored version (forgeries or replays of a different history).
struct AggregateHistory {
  std::vector<StoredEvent> events;
  std::vector<StoredEvent> duplicates;
  std::vector<std::string> unreadable;  // stored entries that do not decode at all
};

class HistoryIndex {
 public:
  HistoryIndex(const readmodel::Store& store, std::string programme_topic,
               std::string metrics_topic);

  const std::string& programme_topic() const { return programme_topic_; }
  const std::string& metrics_topic() const { return metrics_topic_; }

  // The stored history of a programme, of an account's metrics stream, or of an
  // aggregate given by type ("programme" or "account-metrics") and id.
  AggregateHistory Programme(std::string_view programme_id) const;
  AggregateHistory Metrics(std::string_view programme_id, std::string_view account_id) const;
  // With `after_version`, only the events of later versions (duplicates and unreadable
  // entries are always all listed).
  AggregateHistory Load(std::string_view aggregate_type, std::string_view aggregate_id,
                        uint64_t after_version = 0) const;

  // One page of a programme's events in version order, after `after_version`: all of
  // them, or those about one account or one person. `keep` filters; the page holds at
  // most `size` entries and next_page_token is the version to continue after (empty at
  // the end). INTERNAL if the index is inconsistent.
  enum class Scope { kProgramme, kAccount, kPerson };
  struct PageQuery {
    std::string programme_id;
    Scope scope = Scope::kProgramme;
    std::string subject_id;  // the account or person id
    uint64_t after_version = 0;
    uint32_t size = 100;
    std::function<bool(const v1::EventEnvelope&)> keep;
  };
  absl::Status Page(const PageQuery& query,
                    google::protobuf::RepeatedPtrField<v1::HistoryEntry>* entries,
                    std::string* next_page_token) const;

  // Walks the programme topic in log order per partition from `next` (the next offset to
  // visit per partition; absent: 0), advancing it past every record visited, and calls
  // `each` for every stored event. Stops early when `each` returns false (then returns
  // false); returns true at the end of what is stored.
  bool ScanLog(std::map<int32_t, int64_t>& next,
               const std::function<bool(v1::HistoryEntry)>& each) const;

  // The ids of every chartered programme, sorted.
  std::vector<std::string> ProgrammeIds() const;

  // The newest checkpointed tip of an aggregate (CheckpointFold), if any.
  std::optional<eventlog::Anchor> Anchor(std::string_view aggregate_type,
                                         std::string_view aggregate_id) const;
  // The stored hash of one version of an aggregate, if that version is stored.
  std::optional<std::string> HashAt(std::string_view aggregate_type, std::string_view aggregate_id,
                                    uint64_t version) const;

  // The number of records folded so far, over every topic (0 for an empty store).
  uint64_t FoldedCount() const;

 private:
  const readmodel::Store& store_;
  std::string programme_topic_;
  std::string metrics_topic_;
};

}  // namespace kam::projections
