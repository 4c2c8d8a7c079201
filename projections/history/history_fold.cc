#include "projections/history/history_fold.h"

#include <rocksdb/db.h>

#include "base/strings.h"
#include "domain/events.h"
#include "eventlog/codec.h"

namespace kam::projections {

using readmodel::DecodeU64;
using readmodel::EncodeU64;

std::string AggregateKeyPrefix(std::string_view type, std::string_view id) {
  return base::StrCat("h/evt/", type, std::string_view("\0", 1), id, std::string_view("\0", 1));
}

std::string LogPrefix(std::string_view topic) {
  return base::StrCat("h/log/", topic, std::string_view("\0", 1));
}

std::string LogKey(std::string_view topic, int32_t partition, int64_t offset) {
  return base::StrCat(LogPrefix(topic), EncodeU64(static_cast<uint64_t>(partition)),
                      EncodeU64(static_cast<uint64_t>(offset)));
}

std::string EventKey(std::string_view type, std::string_view id, uint64_t version) {
  return base::StrCat(AggregateKeyPrefix(type, id), EncodeU64(version));
}

std::string DuplicateKeyPrefix(std::string_view type, std::string_view id) {
  return base::StrCat("h/dup/", type, std::string_view("\0", 1), id, std::string_view("\0", 1));
}

std::string PersonKeyPrefix(std::string_view programme_id, std::string_view person_id) {
  return base::StrCat("h/person/", programme_id, std::string_view("\0", 1), person_id,
                      std::string_view("\0", 1));
}

std::string AccountKeyPrefix(std::string_view programme_id, std::string_view account_id) {
  return base::StrCat("h/acct/", programme_id, std::string_view("\0", 1), account_id,
                      std::string_view("\0", 1));
}

absl::Status HistoryFold::Fold(const eventlog::ConsumedRecord& record,
                               readmodel::FoldContext& ctx) {
  const std::string count_key = base::StrCat(kEventCountPrefix, record.topic);
  const uint64_t count = DecodeU64(ctx.Get(count_key).value_or(std::string(8, '\0')));
  ctx.Put(count_key, EncodeU64(count + 1));
  const std::string position = base::StrCat(EncodeU64(static_cast<uint64_t>(record.partition)),
                                            EncodeU64(static_cast<uint64_t>(record.offset)));
  auto opened = eventlog::Open(record.value);
  if (!opened.ok()) {
    ctx.Put(base::StrCat("h/bad/", record.topic, std::string_view("\0", 1), position),
            base::StrCat(opened.status().message(), std::string_view("\0", 1), record.value));
    return absl::OkStatus();
  }
  const v1::EventEnvelope& env = opened->envelope;
  const std::string key =
      EventKey(env.aggregate_type(), env.aggregate_id(), env.aggregate_version());
  if (ctx.Get(key).has_value()) {
    // A second record claims a stored version: keep both, verification reports it.
    const std::string dup =
        base::StrCat(DuplicateKeyPrefix(env.aggregate_type(), env.aggregate_id()),
                     EncodeU64(env.aggregate_version()), position);
    ctx.Put(dup, base::StrCat(position, record.value));
    ctx.Put(LogKey(record.topic, record.partition, record.offset), dup);
    return absl::OkStatus();
  }
  ctx.Put(key, base::StrCat(position, record.value));
  ctx.Put(LogKey(record.topic, record.partition, record.offset), key);
  if (env.aggregate_type() == "programme") {
    if (auto person = domain::PersonOf(env.event())) {
      ctx.Put(base::StrCat(PersonKeyPrefix(env.aggregate_id(), *person),
                           EncodeU64(env.aggregate_version())),
              "");
    }
    if (auto account = domain::AccountOf(env.event())) {
      ctx.Put(base::StrCat(AccountKeyPrefix(env.aggregate_id(), *account),
                           EncodeU64(env.aggregate_version())),
              "");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::HistoryEntry> DecodeEntry(std::string_view topic, std::string_view value) {
  if (value.size() < 16) return absl::DataLossError("history entry too short");
  v1::HistoryEntry entry;
  auto opened = eventlog::Open(value.substr(16));
  if (!opened.ok()) return opened.status();
  *entry.mutable_envelope() = std::move(opened->envelope);
  auto* pos = entry.mutable_position();
  pos->set_topic(std::string(topic));
  pos->set_partition(static_cast<int32_t>(DecodeU64(value.substr(0, 8))));
  pos->set_offset(static_cast<int64_t>(DecodeU64(value.substr(8, 8))));
  return entry;
}

AggregateHistory LoadAggregate(const readmodel::Store& store, std::string_view topic,
                               std::string_view type, std::string_view id) {
  AggregateHistory out;
  auto scan = [&](const std::string& prefix, std::vector<StoredEvent>& into) {
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view value(it->value().data(), it->value().size());
      if (value.size() < 16) {
        out.unreadable.push_back("a stored entry is too short");
        continue;
      }
      auto opened = eventlog::Open(value.substr(16));
      if (!opened.ok()) {
        out.unreadable.push_back(std::string(opened.status().message()));
        continue;
      }
      StoredEvent e;
      e.envelope = std::move(opened->envelope);
      e.hash_ok = opened->hash_ok;
      e.position.set_topic(std::string(topic));
      e.position.set_partition(static_cast<int32_t>(DecodeU64(value.substr(0, 8))));
      e.position.set_offset(static_cast<int64_t>(DecodeU64(value.substr(8, 8))));
      into.push_back(std::move(e));
    }
  };
  scan(AggregateKeyPrefix(type, id), out.events);
  scan(DuplicateKeyPrefix(type, id), out.duplicates);
  return out;
}

uint64_t FoldedCount(const readmodel::Store& store) {
  uint64_t total = 0;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(kEventCountPrefix));
       it->Valid() && it->key().starts_with(kEventCountPrefix); it->Next()) {
    total += DecodeU64(std::string_view(it->value().data(), it->value().size()));
  }
  return total;
}

}  // namespace kam::projections
