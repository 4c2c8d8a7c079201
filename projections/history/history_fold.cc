#include "projections/history/history_fold.h"

#include <rocksdb/db.h>

#include "base/strings.h"
#include "domain/events.h"
#include "eventlog/codec.h"

namespace kam::projections {

using readmodel::DecodeU64;
using readmodel::EncodeU64;

std::string EventKey(std::string_view type, std::string_view id, uint64_t version) {
  return base::StrCat("h/evt/", type, std::string_view("\0", 1), id, std::string_view("\0", 1),
                      EncodeU64(version));
}

std::string AccountKeyPrefix(std::string_view programme_id, std::string_view account_id) {
  return base::StrCat("h/acct/", programme_id, std::string_view("\0", 1), account_id,
                      std::string_view("\0", 1));
}

absl::Status HistoryFold::Fold(const eventlog::ConsumedRecord& record,
                               readmodel::FoldContext& ctx) {
  const uint64_t count = DecodeU64(ctx.Get(kEventCountKey).value_or(std::string(8, '\0')));
  ctx.Put(kEventCountKey, EncodeU64(count + 1));
  const std::string position = base::StrCat(EncodeU64(static_cast<uint64_t>(record.partition)),
                                            EncodeU64(static_cast<uint64_t>(record.offset)));
  auto opened = eventlog::Open(record.value);
  if (!opened.ok()) {
    ctx.Put(base::StrCat("h/bad/", position),
            base::StrCat(opened.status().message(), std::string_view("\0", 1), record.value));
    return absl::OkStatus();
  }
  const v1::EventEnvelope& env = opened->envelope;
  ctx.Put(EventKey(env.aggregate_type(), env.aggregate_id(), env.aggregate_version()),
          base::StrCat(position, record.value));
  if (env.aggregate_type() == "programme") {
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

uint64_t FoldedCount(const readmodel::Store& store) {
  std::string v;
  if (!store.db()->Get(rocksdb::ReadOptions(), std::string(kEventCountKey), &v).ok()) return 0;
  return DecodeU64(v);
}

}  // namespace kam::projections
