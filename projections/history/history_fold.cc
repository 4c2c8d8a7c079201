#include "projections/history/history_fold.h"

#include "domain/events.h"
#include "domain/programme.h"
#include "eventlog/codec.h"
#include "projections/history/history_keys.h"

namespace kam::projections {

using readmodel::DecodeU64;
using readmodel::EncodeU64;

absl::Status HistoryFold::Fold(const eventlog::ConsumedRecord& record,
                               readmodel::FoldContext& ctx) {
  const std::string count_key = keys::EventCount(record.topic);
  const uint64_t count = DecodeU64(ctx.Get(count_key).value_or(std::string(8, '\0')));
  ctx.Put(count_key, EncodeU64(count + 1));
  const std::string position = keys::Position(record.partition, record.offset);
  auto opened = eventlog::Open(record.value);
  if (!opened.ok()) {
    ctx.Put(keys::Bad(record.topic, record.partition, record.offset),
            base::StrCat(opened.status().message(), keys::kNul, record.value));
    return absl::OkStatus();
  }
  const v1::EventEnvelope& env = opened->envelope;
  const std::string key =
      keys::Event(env.aggregate_type(), env.aggregate_id(), env.aggregate_version());
  const std::string log_key = keys::LogEntry(record.topic, record.partition, record.offset);
  if (ctx.Get(key).has_value()) {
    // A second record claims a stored version: keep both, verification reports it.
    const std::string dup = base::StrCat(keys::Duplicates(env.aggregate_type(), env.aggregate_id()),
                                         EncodeU64(env.aggregate_version()), position);
    ctx.Put(dup, base::StrCat(position, record.value));
    ctx.Put(log_key, dup);
    return absl::OkStatus();
  }
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

}  // namespace kam::projections
