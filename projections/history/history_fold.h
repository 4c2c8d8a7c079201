// The history read model: every stored event, per aggregate and per account.
//
// Keys (ids are [a-z0-9._-], terminated by '\0' so that prefixes are exact):
//   h/evt/<type>\0<id>\0<version:8>         -> position (partition:8, offset:8) + stored bytes
//   h/acct/<programme>\0<account>\0<version:8> -> "" (the programme event of that version)
//   h/bad/<partition:8><offset:8>            -> reason \0 stored bytes (unreadable records)
//   h/stat/events                            -> number of records folded (u64)
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
inline constexpr std::string_view kEventCountKey = "h/stat/events";

// Decodes a value stored under an EventKey.
absl::StatusOr<v1::HistoryEntry> DecodeEntry(std::string_view topic, std::string_view value);

// The number of records folded so far (0 for an empty store).
uint64_t FoldedCount(const readmodel::Store& store);

}  // namespace kam::projections
