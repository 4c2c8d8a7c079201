// The history read model: every stored event, per aggregate and per account.
//
// Keys (ids are [a-z0-9._-], terminated by '\0' so that prefixes are exact):
//   h/evt/<type>\0<id>\0<version:8>         -> position (partition:8, offset:8) + stored bytes
//   h/acct/<programme>\0<account>\0<version:8> -> "" (the programme event of that version)
//   h/person/<programme>\0<person>\0<version:8> -> "" (likewise, for events about a person)
//   h/bad/<topic>\0<partition:8><offset:8>   -> reason \0 stored bytes (unreadable records)
//   h/dup/<type>\0<id>\0<version:8>          -> position + stored bytes of a second record
//                                              claiming an already stored version
//   h/log/<topic>\0<partition:8><offset:8>   -> the EventKey (or duplicate key) stored for it
//   h/stat/events/<topic>                    -> number of records folded from the topic (u64)
// One store may fold several topics (programme and account metrics), each by its own
// runtime: no key is written by two of them.
// The record count makes a double fold visible: the exactly-once tests compare it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kam/v1/history_service.pb.h"
#include "readmodel/projection_runtime.h"
#include "readmodel/store.h"

namespace kam::projections {

class HistoryFold final : public readmodel::Projection {
 public:
  absl::Status Fold(const eventlog::ConsumedRecord& record, readmodel::FoldContext& ctx) override;
};

std::string EventKey(std::string_view type, std::string_view id, uint64_t version);
std::string AccountKeyPrefix(std::string_view programme_id, std::string_view account_id);
std::string PersonKeyPrefix(std::string_view programme_id, std::string_view person_id);
inline constexpr std::string_view kEventCountPrefix = "h/stat/events/";

std::string AggregateKeyPrefix(std::string_view type, std::string_view id);
std::string LogKey(std::string_view topic, int32_t partition, int64_t offset);
std::string LogPrefix(std::string_view topic);
std::string DuplicateKeyPrefix(std::string_view type, std::string_view id);

// Decodes a value stored under an EventKey.
absl::StatusOr<v1::HistoryEntry> DecodeEntry(std::string_view topic, std::string_view value);

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
  std::vector<std::string> unreadable;  // stored records that do not decode at all
};
AggregateHistory LoadAggregate(const readmodel::Store& store, std::string_view topic,
                               std::string_view type, std::string_view id);

// The number of records folded so far, over every topic (0 for an empty store).
uint64_t FoldedCount(const readmodel::Store& store);

}  // namespace kam::projections
