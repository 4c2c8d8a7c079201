#include "projections/history/history_fold.h"

#include "domain/events.h"
#include "domain/programme.h"
#include "eventlog/checkpoints.h"
#include "eventlog/codec.h"
#include "projections/history/history_keys.h"

namespace kam::projections {

using readmodel::DecodeU64;
using readmodel::EncodeU64;

namespace {

// "account-metrics" of "<prefix>kam.account-metrics.v1"; empty for a topic not named so.
std::string_view TypeOfTopic(std::string_view topic) {
  const std::size_t at = topic.rfind("kam.");
  if (at == std::string_view::npos || !topic.ends_with(".v1")) return {};
  const std::size_t from = at + 4;
  if (topic.size() < from + 3) return {};
  return topic.substr(from, topic.size() - from - 3);
}

}  // namespace

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
  // The aggregate the record's place names: the topic's type and the record's key. The
  // envelope is trusted only where it agrees with them.
  const std::string_view topic_type = TypeOfTopic(record.topic);
  auto misfiled = [&](std::string_view problem) {
    ctx.Put(keys::Bad(record.topic, record.partition, record.offset),
            base::StrCat(problem, keys::kNul, record.value));
    if (!topic_type.empty()) {
      ctx.Put(base::StrCat(keys::Misfiled(topic_type, record.key), position),
              base::StrCat(record.topic, "/", record.partition, "@", record.offset, ": ", problem));
    }
  };
  auto opened = eventlog::Open(record.value, keyring_);
  if (std::string problem = eventlog::AuthenticityProblem(opened, record.key, topic_type);
      !problem.empty()) {
    misfiled(problem);
    return absl::OkStatus();
  }
  const v1::EventEnvelope& env = opened->envelope;
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

absl::Status CheckpointFold::Fold(const eventlog::ConsumedRecord& record,
                                  readmodel::FoldContext& ctx) {
  auto checkpoint = eventlog::OpenCheckpoint(record.value, keyring_);
  if (!checkpoint.ok()) {
    ctx.Put(keys::BadCheckpoint(record.partition, record.offset),
            std::string(checkpoint.status().message()));
    return absl::OkStatus();
  }
  eventlog::Anchors anchors;
  anchors.Add(*checkpoint, base::StrCat(record.topic, "/", record.partition, "@", record.offset));
  for (const auto& [aggregate, anchor] : anchors.all()) {
    const std::string key = keys::Anchor(aggregate.first, aggregate.second);
    auto [known, fresh] = versions_.try_emplace(key, 0);
    if (fresh) {
      if (auto stored = ctx.GetCommitted(key)) {
        if (auto decoded = eventlog::DecodeAnchor(*stored)) known->second = decoded->version;
      }
    }
    if (anchor.version < known->second) continue;  // an older statement
    known->second = anchor.version;
    ctx.Put(key, eventlog::EncodeAnchor(anchor));
  }
  return absl::OkStatus();
}

}  // namespace kam::projections
