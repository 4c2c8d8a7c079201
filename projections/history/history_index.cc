#include "projections/history/history_index.h"

#include <rocksdb/db.h>

#include "domain/metrics.h"
#include "domain/programme.h"
#include "eventlog/codec.h"
#include "projections/history/history_keys.h"

namespace kam::projections {
namespace {

using readmodel::DecodeU64;

// A value stored under an event key: position (16 bytes) + the stored record. Not
// re-hashed: a history page shows what is stored; verification is what checks it.
absl::StatusOr<v1::HistoryEntry> DecodeEntry(std::string_view topic, std::string_view value) {
  if (value.size() < 16) return absl::DataLossError("history entry too short");
  auto parsed = eventlog::Parse(value.substr(16));
  if (!parsed.ok()) return parsed.status();
  v1::HistoryEntry entry;
  *entry.mutable_envelope() = *std::move(parsed);
  auto* pos = entry.mutable_position();
  pos->set_topic(std::string(topic));
  pos->set_partition(static_cast<int32_t>(DecodeU64(value.substr(0, 8))));
  pos->set_offset(static_cast<int64_t>(DecodeU64(value.substr(8, 8))));
  return entry;
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

HistoryIndex::HistoryIndex(const readmodel::Store& store, std::string programme_topic,
                           std::string metrics_topic)
    : store_(store),
      programme_topic_(std::move(programme_topic)),
      metrics_topic_(std::move(metrics_topic)) {}

std::optional<eventlog::Anchor> HistoryIndex::Anchor(std::string_view type,
                                                     std::string_view id) const {
  std::string value;
  if (!store_.db()->Get(rocksdb::ReadOptions(), keys::Anchor(type, id), &value).ok()) {
    return std::nullopt;
  }
  return eventlog::DecodeAnchor(value);
}

std::optional<std::string> HistoryIndex::HashAt(std::string_view type, std::string_view id,
                                                uint64_t version) const {
  std::string value;
  if (!store_.db()->Get(rocksdb::ReadOptions(), keys::Event(type, id, version), &value).ok() ||
      value.size() < 16) {
    return std::nullopt;
  }
  auto opened = eventlog::Open(std::string_view(value).substr(16));
  if (!opened.ok()) return std::nullopt;
  return opened->envelope.hash();
}

AggregateHistory HistoryIndex::Programme(std::string_view programme_id) const {
  return Load(domain::kProgrammeAggregateType, programme_id);
}

AggregateHistory HistoryIndex::Metrics(std::string_view programme_id,
                                       std::string_view account_id) const {
  return Load(domain::kMetricsAggregateType, domain::MetricsAggregateId(programme_id, account_id));
}

AggregateHistory HistoryIndex::Load(std::string_view type, std::string_view id,
                                    uint64_t after_version) const {
  const std::string_view topic =
      type == domain::kMetricsAggregateType ? metrics_topic_ : programme_topic_;
  AggregateHistory out;
  auto scan = [&](const std::string& prefix, std::vector<StoredEvent>& into, std::string from) {
    std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(from); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string_view value = View(it->value());
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
  const std::string events = keys::Aggregate(type, id);
  scan(events, out.events, base::StrCat(events, readmodel::EncodeU64(after_version + 1)));
  scan(keys::Duplicates(type, id), out.duplicates, keys::Duplicates(type, id));
  const std::string misfiled = keys::Misfiled(type, id);
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(misfiled); it->Valid() && it->key().starts_with(misfiled); it->Next()) {
    out.unreadable.emplace_back(View(it->value()));
  }
  return out;
}

absl::Status HistoryIndex::Page(const PageQuery& q,
                                google::protobuf::RepeatedPtrField<v1::HistoryEntry>* entries,
                                std::string* next_page_token) const {
  const std::string events = keys::Aggregate(domain::kProgrammeAggregateType, q.programme_id);
  std::string prefix = events;
  if (q.scope == Scope::kAccount) prefix = keys::Account(q.programme_id, q.subject_id);
  if (q.scope == Scope::kPerson) prefix = keys::Person(q.programme_id, q.subject_id);
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  it->Seek(base::StrCat(prefix, readmodel::EncodeU64(q.after_version + 1)));
  // Reads the index in chunks: the versions, then their events in one MultiGet.
  uint64_t last = 0;
  while (it->Valid() && it->key().starts_with(prefix)) {
    std::vector<uint64_t> versions;
    std::vector<std::string> values;
    for (; it->Valid() && it->key().starts_with(prefix) && versions.size() < q.size + 1;
         it->Next()) {
      versions.push_back(DecodeU64(View(it->key()).substr(prefix.size())));
      if (q.scope == Scope::kProgramme) values.push_back(it->value().ToString());
    }
    if (q.scope != Scope::kProgramme) {
      std::vector<std::string> event_keys;
      event_keys.reserve(versions.size());
      for (uint64_t v : versions)
        event_keys.push_back(base::StrCat(events, readmodel::EncodeU64(v)));
      std::vector<rocksdb::Slice> slices(event_keys.begin(), event_keys.end());
      std::vector<rocksdb::PinnableSlice> pinned(event_keys.size());
      std::vector<rocksdb::Status> statuses(event_keys.size());
      store_.db()->MultiGet(rocksdb::ReadOptions(), store_.db()->DefaultColumnFamily(),
                            slices.size(), slices.data(), pinned.data(), statuses.data(),
                            /*sorted_input=*/true);
      for (std::size_t i = 0; i < statuses.size(); ++i) {
        if (!statuses[i].ok()) {
          return absl::InternalError(
              base::StrCat("history index is dangling: ", statuses[i].ToString()));
        }
        values.push_back(pinned[i].ToString());
      }
    }
    for (std::size_t i = 0; i < versions.size(); ++i) {
      if (entries->size() == static_cast<int>(q.size)) {  // full, and there is more
        *next_page_token = std::to_string(last);
        return absl::OkStatus();
      }
      auto entry = DecodeEntry(programme_topic_, values[i]);
      if (!entry.ok()) return entry.status();
      last = versions[i];
      if (!q.keep || q.keep(entry->envelope())) *entries->Add() = *std::move(entry);
    }
  }
  return absl::OkStatus();
}

bool HistoryIndex::ScanLog(std::map<int32_t, int64_t>& next,
                           const std::function<bool(v1::HistoryEntry)>& each) const {
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  const std::string log_prefix = keys::Log(programme_topic_);
  for (it->Seek(log_prefix); it->Valid() && it->key().starts_with(log_prefix);) {
    const std::string_view rest = View(it->key()).substr(log_prefix.size());
    const auto partition = static_cast<int32_t>(DecodeU64(rest.substr(0, 8)));
    const auto offset = static_cast<int64_t>(DecodeU64(rest.substr(8, 8)));
    const int64_t from = next.contains(partition) ? next[partition] : 0;
    if (offset < from) {  // skip to this partition's cursor
      it->Seek(keys::LogEntry(programme_topic_, partition, from));
      continue;
    }
    std::string value;
    if (store_.db()->Get(rocksdb::ReadOptions(), it->value(), &value).ok()) {
      if (auto entry = DecodeEntry(programme_topic_, value); entry.ok()) {
        if (!each(*std::move(entry))) {
          next[partition] = offset + 1;
          return false;
        }
      }
    }
    next[partition] = offset + 1;
    it->Next();
  }
  return true;
}

std::vector<std::string> HistoryIndex::ProgrammeIds() const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(keys::kProgrammePrefix));
       it->Valid() && it->key().starts_with(keys::kProgrammePrefix); it->Next()) {
    out.emplace_back(View(it->key()).substr(keys::kProgrammePrefix.size()));
  }
  return out;
}

uint64_t HistoryIndex::FoldedCount() const {
  uint64_t total = 0;
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(keys::kEventCountPrefix));
       it->Valid() && it->key().starts_with(keys::kEventCountPrefix); it->Next()) {
    total += DecodeU64(View(it->value()));
  }
  return total;
}

}  // namespace kam::projections
