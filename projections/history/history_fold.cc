#include "projections/history/history_fold.h"

#include "domain/events.h"
#include "domain/programme.h"
#include "eventlog/codec.h"
#include "projections/history/history_keys.h"

namespace kam::projections {

using readmodel::DecodeU64;
using readmodel::EncodeU64;

bool HistoryFold::Tip::StoreIfNew(uint64_t version) {
  if (version > max) {
    if (version > max + 1) holes.emplace_back(max + 1, version - 1);
    max = version;
    return true;
  }
  for (auto it = holes.begin(); it != holes.end(); ++it) {
    auto [from, to] = *it;
    if (version < from || version > to) continue;
    holes.erase(it);
    if (from < version) holes.emplace_back(from, version - 1);
    if (version < to) holes.emplace_back(version + 1, to);
    return true;
  }
  return false;
}

void HistoryFold::Reset() {
  tips_.clear();
  count_.reset();
}

HistoryFold::Tip& HistoryFold::TipOf(const std::string& type, const std::string& id,
                                     readmodel::FoldContext& ctx) {
  const std::string prefix = keys::Aggregate(type, id);
  auto [it, fresh] = tips_.try_emplace(prefix);
  if (fresh) {
    // What is stored already (after a restart): the versions under the aggregate's prefix.
    ctx.ScanCommitted(prefix, [&](std::string_view key, std::string_view) {
      it->second.StoreIfNew(DecodeU64(key.substr(prefix.size())));
      return true;
    });
  }
  return it->second;
}

absl::Status HistoryFold::Fold(const eventlog::ConsumedRecord& record,
                               readmodel::FoldContext& ctx) {
  if (!count_) {
    count_ =
        DecodeU64(ctx.GetCommitted(keys::EventCount(record.topic)).value_or(std::string(8, '\0')));
  }
  ++*count_;
  count_topic_ = record.topic;
  const std::string position = keys::Position(record.partition, record.offset);
  auto parsed = eventlog::Parse(record.value);
  if (!parsed.ok()) {
    ctx.Put(keys::Bad(record.topic, record.partition, record.offset),
            base::StrCat(parsed.status().message(), keys::kNul, record.value));
    return absl::OkStatus();
  }
  const v1::EventEnvelope& env = *parsed;
  const std::string log_key = keys::LogEntry(record.topic, record.partition, record.offset);
  if (!TipOf(env.aggregate_type(), env.aggregate_id(), ctx).StoreIfNew(env.aggregate_version())) {
    // A second record claims a stored version: keep both, verification reports it.
    const std::string dup = base::StrCat(keys::Duplicates(env.aggregate_type(), env.aggregate_id()),
                                         EncodeU64(env.aggregate_version()), position);
    ctx.Put(dup, base::StrCat(position, record.value));
    ctx.Put(log_key, dup);
    return absl::OkStatus();
  }
  const std::string key =
      keys::Event(env.aggregate_type(), env.aggregate_id(), env.aggregate_version());
  ctx.Put(key, base::StrCat(position, record.value));
  ctx.Put(log_key, key);
  if (env.aggregate_type() == domain::kProgrammeAggregateType) {
    const std::string version = EncodeU64(env.aggregate_version());
    if (env.event().has_programme_chartered()) ctx.Put(keys::Programme(env.aggregate_id()), "");
    if (auto person = domain::PersonOf(env.event())) {
      ctx.Put(base::StrCat(keys::Person(env.aggregate_id(), *person), version), "");
    }
    if (auto account = domain::AccountOf(env.event())) {
      ctx.Put(base::StrCat(keys::Account(env.aggregate_id(), *account), version), "");
    }
  }
  return absl::OkStatus();
}

absl::Status HistoryFold::FinishBatch(readmodel::FoldContext& ctx) {
  if (count_ && !count_topic_.empty()) ctx.Put(keys::EventCount(count_topic_), EncodeU64(*count_));
  return absl::OkStatus();
}

}  // namespace kam::projections
