// Checkpoints (proto/kam/v1/checkpoint.proto): a writer's signed statement of its
// partition's chain tips at a log position, and how a verifier uses them.
//
//   std::vector<std::string> records = kam::eventlog::SealCheckpoint(checkpoint, tips, signer);
//   absl::StatusOr<kam::v1::Checkpoint> c = kam::eventlog::OpenCheckpoint(bytes, keyring);
//   kam::eventlog::Anchors anchors;  anchors.Add(*c, "kam.checkpoints.v1/0@12");
//   std::string problem = kam::eventlog::AnchorProblem(*anchors.Find("programme", "emea-kam"),
//                                                      tip_version, hash_at_anchored_version);
//
// A verifier compares what it found in the log with the newest checkpointed tip of each
// aggregate: a log whose chain ends before that version has lost its tail; one whose event
// at that version has another hash was rewritten. Shared by the read model's VerifyHistory
// and `kamctl audit`, so both say the same thing in the same words.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kam/v1/checkpoint.pb.h"

namespace kam::eventlog {

class Signer;
class Keyring;

// At most this many tips per stored record (a part), so a record stays far below Kafka's
// message size limit (a tip is about 100 bytes).
inline constexpr std::size_t kTipsPerCheckpointPart = 4000;

// `checkpoint` (without tips or parts) with `tips`, split into parts of at most `per_part`
// tips, each serialised as a SignedCheckpoint signed by `signer` (unsigned when null).
std::vector<std::string> SealCheckpoint(const v1::Checkpoint& checkpoint,
                                        const std::vector<v1::AggregateTip>& tips,
                                        const Signer* signer,
                                        std::size_t per_part = kTipsPerCheckpointPart);

// The checkpoint in stored bytes. With a keyring, DATA_LOSS unless it is signed by one of
// its keys; DATA_LOSS if the bytes are not a SignedCheckpoint. The message names the
// problem ("not signed", "signed with key X, which the keyring does not hold", ...).
absl::StatusOr<v1::Checkpoint> OpenCheckpoint(std::string_view bytes, const Keyring* keyring);

// The newest checkpointed tip of one aggregate and where it was stated.
struct Anchor {
  uint64_t version = 0;
  std::string hash;      // raw bytes
  std::string taken_at;  // RFC 3339
  std::string writer;
  // The partition the checkpoint covered, up to (excluding) this offset.
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  std::string where;  // the checkpoint record's own position, or the file it came from
};

// Every aggregate's newest anchor over the checkpoints added.
class Anchors {
 public:
  void Add(const v1::Checkpoint& checkpoint, const std::string& where);
  const Anchor* Find(std::string_view aggregate_type, std::string_view aggregate_id) const;
  const std::map<std::pair<std::string, std::string>, Anchor>& all() const { return anchors_; }
  std::size_t checkpoints() const { return checkpoints_; }

 private:
  std::map<std::pair<std::string, std::string>, Anchor> anchors_;
  std::size_t checkpoints_ = 0;
};

// The anchor as one stored value and back (the read model keeps one per aggregate).
std::string EncodeAnchor(const Anchor& anchor);
std::optional<Anchor> DecodeAnchor(std::string_view bytes);

// Why a log whose chain of the aggregate ends at `tip_version`, and whose event at the
// anchored version has `hash_at_anchor` (nullopt: the log has no such version), contradicts
// `anchor`; empty if it does not.
std::string AnchorProblem(const Anchor& anchor, uint64_t tip_version,
                          const std::optional<std::string>& hash_at_anchor);

}  // namespace kam::eventlog
