#include "writer/envelopes.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"

namespace kam::writer {
namespace {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

}  // namespace

SealedCommand SealCommand(const Chain& chain, const CommandInfo& info, const domain::Events& events,
                          const eventlog::Signer* signer) {
  auto sealed = SealCommand(chain, info, events, signer, nullptr);
  return *std::move(sealed);  // without a SealFn nothing fails
}

absl::StatusOr<SealedCommand> SealCommand(const Chain& chain, const CommandInfo& info,
                                          const domain::Events& events,
                                          const eventlog::Signer* signer, const SealFn& seal) {
  SealedCommand out;
  std::string previous = chain.last_hash;
  const auto recorded = ToProto(info.recorded_at);
  const uint32_t count = static_cast<uint32_t>(events.size());
  for (uint32_t i = 0; i < count; ++i) {
    v1::EventEnvelope env;
    env.set_event_id(base::NewEventId());
    env.set_aggregate_type(info.aggregate_type);
    env.set_aggregate_id(info.aggregate_id);
    env.set_aggregate_version(chain.version + i + 1);
    *env.mutable_occurred_at() =
        info.metadata.has_occurred_at() ? info.metadata.occurred_at() : recorded;
    *env.mutable_recorded_at() = recorded;
    env.set_actor(info.actor);
    env.set_client_request_id(info.metadata.client_request_id());
    env.set_correlation_id(info.metadata.correlation_id().empty()
                               ? info.metadata.client_request_id()
                               : info.metadata.correlation_id());
    env.set_previous_hash(previous);
    env.set_late_reason(info.metadata.late_reason());
    env.set_schema_version(1);
    *env.mutable_event() = events[i];
    env.set_command_event_index(i);
    env.set_command_event_count(count);
    if (i + 1 == count && !info.fingerprint.empty()) env.set_request_fingerprint(info.fingerprint);
    if (seal) {
      v1::EventEnvelope stored = env;
      if (auto s = seal(stored); !s.ok()) return s;
      out.bytes.push_back(eventlog::Seal(stored, signer));
      env.set_hash(stored.hash());
      env.set_signing_key_id(stored.signing_key_id());
      env.set_signature(stored.signature());
    } else {
      out.bytes.push_back(eventlog::Seal(env, signer));
    }
    previous = env.hash();
    out.envelopes.push_back(std::move(env));
  }
  return out;
}

v1::CommandResult Advance(Chain& chain, const SealedCommand& sealed,
                          const std::vector<v1::LogPosition>& positions) {
  v1::CommandResult result;
  result.set_aggregate_version(chain.version);
  if (sealed.envelopes.empty()) return result;
  const auto& last = sealed.envelopes.back();
  chain.version = last.aggregate_version();
  chain.last_hash = last.hash();
  for (const auto& env : sealed.envelopes) result.add_event_ids(env.event_id());
  result.set_aggregate_id(last.aggregate_id());
  result.set_aggregate_version(chain.version);
  if (!positions.empty()) *result.mutable_position() = positions.back();
  chain.Remember(last.client_request_id(), result, last.request_fingerprint(),
                 absl::FromUnixSeconds(last.recorded_at().seconds()) +
                     absl::Nanoseconds(last.recorded_at().nanos()));
  return result;
}

void Chain::Remember(const std::string& request_id, const v1::CommandResult& result,
                     const std::string& fingerprint, absl::Time recorded_at,
                     const DedupWindow& window) {
  auto [it, fresh] = results.insert_or_assign(request_id, result);
  (void)it;
  if (!fingerprint.empty()) fingerprints[request_id] = fingerprint;
  if (fresh) remembered.emplace_back(recorded_at, request_id);
  const absl::Time newest = std::max(recorded_at, remembered.back().first);
  while (!remembered.empty() &&
         (remembered.size() > window.max || remembered.front().first < newest - window.age)) {
    results.erase(remembered.front().second);
    fingerprints.erase(remembered.front().second);
    remembered.pop_front();
  }
}

absl::Status Replay(Chain& chain, const v1::EventEnvelope& env, bool hash_ok,
                    const v1::LogPosition& position, const DedupWindow& window) {
  if (!chain.broken.empty()) return absl::DataLossError(chain.broken);
  std::string problem;
  if (!hash_ok) {
    problem = "its stored hash does not match its bytes";
  } else if (env.aggregate_version() != chain.version + 1) {
    problem = base::StrCat("expected version ", chain.version + 1);
  } else if (env.previous_hash() != chain.last_hash) {
    problem = base::StrCat("previous_hash ", absl::BytesToHexString(env.previous_hash()),
                           " does not match the hash of version ", chain.version, " (",
                           absl::BytesToHexString(chain.last_hash), ")");
  }
  if (!problem.empty()) {
    chain.broken =
        base::StrCat("history of ", env.aggregate_type(), " '", env.aggregate_id(),
                     "' is broken at version ", env.aggregate_version(), " (", position.topic(),
                     "/", position.partition(), "@", position.offset(), "): ", problem);
    return absl::DataLossError(chain.broken);
  }
  chain.version = env.aggregate_version();
  chain.last_hash = env.hash();
  // A command's events share its request id: the result gathers them.
  v1::CommandResult r;
  if (auto known = chain.results.find(env.client_request_id()); known != chain.results.end()) {
    r = known->second;
  }
  r.set_aggregate_id(env.aggregate_id());
  r.add_event_ids(env.event_id());
  r.set_aggregate_version(env.aggregate_version());
  *r.mutable_position() = position;
  chain.Remember(env.client_request_id(), r, env.request_fingerprint(),
                 absl::FromUnixSeconds(env.recorded_at().seconds()) +
                     absl::Nanoseconds(env.recorded_at().nanos()),
                 window);
  return absl::OkStatus();
}

std::string RequestFingerprint(const google::protobuf::Message& request, std::string_view actor) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  if (const auto* metadata = copy->GetDescriptor()->FindFieldByName("metadata")) {
    copy->GetReflection()->ClearField(copy.get(), metadata);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&out);
  }
  return eventlog::Sha256(base::StrCat(copy->GetDescriptor()->full_name(),
                                       std::string_view("\0", 1), actor, std::string_view("\0", 1),
                                       bytes))
      .substr(0, 16);
}

}  // namespace kam::writer
