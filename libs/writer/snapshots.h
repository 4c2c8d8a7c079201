// Writer snapshots: a partition's aggregates (state, version, hash tip, results by request
// id) in a local file "<dir>/<topic>.p<N>.snapshot" (kam.v1.WriterSnapshot), so a restart
// replays only the log after it. Written atomically (temporary file, fsync, rename, fsync
// of the directory). A snapshot that does not decode, or whose aggregates do not continue
// the log, is discarded by the writer: the log is the truth.
//
//   kam::writer::SnapshotStore<State> snapshots({.dir = d, .topic = t, ...}, codec);
//   std::optional<int64_t> next = snapshots.Load(0, partition);   // offset to replay from
//   KAM_RETURN_IF_ERROR(snapshots.Write(0, partition));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "base/log.h"
#include "base/strings.h"
#include "kam/v1/snapshot.pb.h"
#include "writer/files.h"
#include "writer/pipeline.h"

namespace kam::writer {

// How an aggregate type's state becomes snapshot bytes and back (both pure).
template <typename State>
struct SnapshotCodec {
  std::string (*encode)(const State&) = nullptr;
  absl::StatusOr<State> (*decode)(std::string_view) = nullptr;
};

struct SnapshotOptions {
  std::string dir;
  std::string topic;
  std::string aggregate_type;
  uint64_t every_events = 100000;
  DedupWindow dedup;  // as the writer's: a loaded snapshot keeps what the window keeps
};

template <typename State>
class SnapshotStore {
 public:
  SnapshotStore(SnapshotOptions options, SnapshotCodec<State> codec)
      : options_(std::move(options)), codec_(codec) {}

  uint64_t every_events() const { return options_.every_events; }
  std::string Path(int32_t p) const {
    return base::StrCat(options_.dir, "/", options_.topic, ".p", p, ".snapshot");
  }

  absl::Status Write(int32_t p, const Partition<State>& part) const {
    v1::WriterSnapshot snap;
    snap.set_topic(options_.topic);
    snap.set_partition(p);
    snap.set_next_offset(part.next_offset);
    snap.set_aggregate_type(options_.aggregate_type);
    for (const auto& [id, a] : part.aggregates) {
      auto* out = snap.add_aggregates();
      out->set_aggregate_id(id);
      out->set_version(a.chain.version);
      out->set_last_hash(a.chain.last_hash);
      out->set_broken(a.chain.broken);
      out->set_state(codec_.encode(a.state));
      for (const auto& [recorded_at, request_id] : a.chain.remembered) {  // oldest first
        auto* r = out->add_results();
        r->set_client_request_id(request_id);
        *r->mutable_result() = a.chain.results.at(request_id);
        if (auto fp = a.chain.fingerprints.find(request_id); fp != a.chain.fingerprints.end()) {
          r->set_fingerprint(fp->second);
        }
        r->set_recorded_at_micros(absl::ToUnixMicros(recorded_at));
      }
    }
    return WriteFileAtomically(Path(p), snap.SerializeAsString());
  }

  // Loads partition `p`'s snapshot into `into`; the offset to replay the log from, or
  // nullopt (logged) when there is no usable snapshot.
  std::optional<int64_t> Load(int32_t p, Partition<State>& into) const {
    auto bytes = ReadFile(Path(p));
    if (!bytes.ok()) return std::nullopt;  // none yet
    v1::WriterSnapshot snap;
    if (!snap.ParseFromString(*bytes) || snap.topic() != options_.topic || snap.partition() != p ||
        snap.aggregate_type() != options_.aggregate_type) {
      base::Log(base::StrCat("snapshot ", Path(p), " is unusable; replaying the log"));
      return std::nullopt;
    }
    for (auto& in : *snap.mutable_aggregates()) {
      auto state = codec_.decode(in.state());
      if (!state.ok()) {
        base::Log(base::StrCat("snapshot ", Path(p), ": ", state.status().message(),
                               "; replaying the log"));
        into.aggregates.clear();
        return std::nullopt;
      }
      auto& a = into.aggregates[in.aggregate_id()];
      a.state = *std::move(state);
      a.chain.version = in.version();
      a.chain.last_hash = in.last_hash();
      a.chain.broken = in.broken();
      // Oldest first; a snapshot from before recorded times keeps its results one more window.
      const absl::Time loaded = absl::Now();
      for (auto& r : *in.mutable_results()) {
        a.chain.Remember(
            r.client_request_id(), r.result(), r.fingerprint(),
            r.recorded_at_micros() > 0 ? absl::FromUnixMicros(r.recorded_at_micros()) : loaded,
            options_.dedup);
      }
    }
    into.next_offset = snap.next_offset();
    return snap.next_offset();
  }

 private:
  SnapshotOptions options_;
  SnapshotCodec<State> codec_;
};

}  // namespace kam::writer
