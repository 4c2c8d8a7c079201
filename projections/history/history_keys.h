// The key layout of the history read model (internal to projections/history: HistoryFold
// writes these keys and HistoryIndex reads them; nothing else spells them out).
//
// Ids are [a-z0-9._-] (or "<programme>:<account>"), terminated by '\0' so that prefixes are exact:
//   h/evt/<type>\0<id>\0<version:8>           -> position (partition:8, offset:8) + stored bytes
//   h/acct/<programme>\0<account>\0<version:8> -> "" (the programme event of that version)
//   h/person/<programme>\0<person>\0<version:8> -> "" (likewise, for events about a person)
//   h/prog/<programme>                       -> "" (a chartered programme)
//   h/bad/<topic>\0<partition:8><offset:8>    -> reason \0 stored bytes (unreadable records)
//   h/dup/<type>\0<id>\0<version:8><position> -> position + stored bytes of a second record
//                                               claiming an already stored version
//   h/log/<topic>\0<partition:8><offset:8>    -> the event (or duplicate) key stored for it
//   h/stat/events/<topic>                    -> number of records folded from the topic (u64)
//   h/anchor/<type>\0<id>                     -> the newest checkpointed tip of the aggregate
//                                               (eventlog::EncodeAnchor)
//   h/badcp/<partition:8><offset:8>           -> why a checkpoint record was not taken
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "readmodel/store.h"

namespace kam::projections::keys {

inline constexpr std::string_view kNul("\0", 1);
inline constexpr std::string_view kEventCountPrefix = "h/stat/events/";
inline constexpr std::string_view kProgrammePrefix = "h/prog/";

inline std::string Aggregate(std::string_view type, std::string_view id) {
  return base::StrCat("h/evt/", type, kNul, id, kNul);
}
inline std::string Event(std::string_view type, std::string_view id, uint64_t version) {
  return base::StrCat(Aggregate(type, id), readmodel::EncodeU64(version));
}
inline std::string Duplicates(std::string_view type, std::string_view id) {
  return base::StrCat("h/dup/", type, kNul, id, kNul);
}
// Records of an aggregate's partition (its topic, its key) that are not valid events of it:
// undecodable, or declaring another aggregate. Verification of the aggregate reports them.
inline std::string Misfiled(std::string_view type, std::string_view id) {
  return base::StrCat("h/misfiled/", type, kNul, id, kNul);
}
inline std::string Account(std::string_view programme_id, std::string_view account_id) {
  return base::StrCat("h/acct/", programme_id, kNul, account_id, kNul);
}
inline std::string Person(std::string_view programme_id, std::string_view person_id) {
  return base::StrCat("h/person/", programme_id, kNul, person_id, kNul);
}
inline std::string Programme(std::string_view programme_id) {
  return base::StrCat(kProgrammePrefix, programme_id);
}
inline std::string Log(std::string_view topic) { return base::StrCat("h/log/", topic, kNul); }
// The position of a record: partition and offset, big-endian (sorts in log order).
inline std::string Position(int32_t partition, int64_t offset) {
  return base::StrCat(readmodel::EncodeU64(static_cast<uint64_t>(partition)),
                      readmodel::EncodeU64(static_cast<uint64_t>(offset)));
}
inline std::string LogEntry(std::string_view topic, int32_t partition, int64_t offset) {
  return base::StrCat(Log(topic), Position(partition, offset));
}
inline std::string Bad(std::string_view topic, int32_t partition, int64_t offset) {
  return base::StrCat("h/bad/", topic, kNul, Position(partition, offset));
}
inline std::string Anchor(std::string_view type, std::string_view id) {
  return base::StrCat("h/anchor/", type, kNul, id);
}
inline std::string BadCheckpoint(int32_t partition, int64_t offset) {
  return base::StrCat("h/badcp/", Position(partition, offset));
}
inline std::string EventCount(std::string_view topic) {
  return base::StrCat(kEventCountPrefix, topic);
}

}  // namespace kam::projections::keys
