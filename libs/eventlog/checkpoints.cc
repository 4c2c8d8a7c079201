#include "eventlog/checkpoints.h"

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "base/strings.h"
#include "eventlog/signing.h"

namespace kam::eventlog {

std::vector<std::string> SealCheckpoint(const v1::Checkpoint& checkpoint,
                                        const std::vector<v1::AggregateTip>& tips,
                                        const Signer* signer, std::size_t per_part) {
  if (per_part == 0) per_part = kTipsPerCheckpointPart;
  const std::size_t parts = tips.empty() ? 1 : (tips.size() + per_part - 1) / per_part;
  std::vector<std::string> out;
  out.reserve(parts);
  for (std::size_t part = 0; part < parts; ++part) {
    v1::Checkpoint c = checkpoint;
    c.clear_tips();
    c.set_part(static_cast<uint32_t>(part + 1));
    c.set_parts(static_cast<uint32_t>(parts));
    for (std::size_t i = part * per_part; i < tips.size() && i < (part + 1) * per_part; ++i) {
      *c.add_tips() = tips[i];
    }
    v1::SignedCheckpoint signed_checkpoint;
    signed_checkpoint.set_checkpoint(c.SerializeAsString());
    if (signer != nullptr) {
      signed_checkpoint.set_signing_key_id(signer->key_id());
      signed_checkpoint.set_signature(signer->Sign(signed_checkpoint.checkpoint()));
    }
    out.push_back(signed_checkpoint.SerializeAsString());
  }
  return out;
}

absl::StatusOr<v1::Checkpoint> OpenCheckpoint(std::string_view bytes, const Keyring* keyring) {
  v1::SignedCheckpoint signed_checkpoint;
  v1::Checkpoint c;
  if (!signed_checkpoint.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !c.ParseFromString(signed_checkpoint.checkpoint()) || c.topic().empty()) {
    return absl::DataLossError("it is not a signed checkpoint (kam.v1.SignedCheckpoint)");
  }
  if (keyring != nullptr) {
    if (signed_checkpoint.signature().empty()) {
      return absl::DataLossError("the checkpoint is not signed");
    }
    if (!keyring->Has(signed_checkpoint.signing_key_id())) {
      return absl::DataLossError(base::StrCat("the checkpoint is signed with key '",
                                              signed_checkpoint.signing_key_id(),
                                              "', which the keyring does not hold"));
    }
    if (!keyring->Verify(signed_checkpoint.signing_key_id(), signed_checkpoint.checkpoint(),
                         signed_checkpoint.signature())) {
      return absl::DataLossError("the checkpoint's signature does not verify");
    }
  }
  return c;
}

void Anchors::Add(const v1::Checkpoint& c, const std::string& where) {
  ++checkpoints_;
  for (const v1::AggregateTip& tip : c.tips()) {
    Anchor& a = anchors_[{tip.aggregate_type(), tip.aggregate_id()}];
    if (tip.version() < a.version) continue;  // an older statement than one already held
    a.version = tip.version();
    a.hash = tip.hash();
    a.taken_at = absl::FormatTime(
        absl::RFC3339_sec,
        absl::FromUnixSeconds(c.taken_at().seconds()) + absl::Nanoseconds(c.taken_at().nanos()),
        absl::UTCTimeZone());
    a.writer = c.writer();
    a.topic = c.topic();
    a.partition = c.partition();
    a.next_offset = c.next_offset();
    a.where = where;
  }
}

const Anchor* Anchors::Find(std::string_view aggregate_type, std::string_view aggregate_id) const {
  auto it = anchors_.find({std::string(aggregate_type), std::string(aggregate_id)});
  return it == anchors_.end() ? nullptr : &it->second;
}

std::string EncodeAnchor(const Anchor& a) {
  v1::Checkpoint c;
  c.set_topic(a.topic);
  c.set_partition(a.partition);
  c.set_next_offset(a.next_offset);
  c.set_writer(a.writer);
  v1::AggregateTip* tip = c.add_tips();
  tip->set_version(a.version);
  tip->set_hash(a.hash);
  return base::StrCat(a.where, std::string_view("\0", 1), a.taken_at, std::string_view("\0", 1),
                      c.SerializeAsString());
}

std::optional<Anchor> DecodeAnchor(std::string_view bytes) {
  const std::size_t first = bytes.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = bytes.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  v1::Checkpoint c;
  const std::string_view rest = bytes.substr(second + 1);
  if (!c.ParseFromArray(rest.data(), static_cast<int>(rest.size())) || c.tips_size() != 1) {
    return std::nullopt;
  }
  Anchor a;
  a.where = std::string(bytes.substr(0, first));
  a.taken_at = std::string(bytes.substr(first + 1, second - first - 1));
  a.topic = c.topic();
  a.partition = c.partition();
  a.next_offset = c.next_offset();
  a.writer = c.writer();
  a.version = c.tips(0).version();
  a.hash = c.tips(0).hash();
  return a;
}

std::string AnchorProblem(const Anchor& a, uint64_t tip_version,
                          const std::optional<std::string>& hash_at_anchor) {
  // The facts first (a table may cut the end), then where the checkpoint came from.
  const std::string stated =
      base::StrCat("the checkpoint of ", a.taken_at, " by ", a.writer, " (", a.where, ", ", a.topic,
                   "/", a.partition, " before offset ", a.next_offset, ")");
  if (tip_version < a.version) {
    return base::StrCat("missing tail: the log ends at version ", tip_version, ", version ",
                        a.version, " (hash ", absl::BytesToHexString(a.hash).substr(0, 16),
                        ") was anchored by ", stated,
                        ": checkpointed events were deleted or truncated");
  }
  if (!hash_at_anchor) {
    return base::StrCat("missing: version ", a.version, " is not in the log, but was anchored by ",
                        stated);
  }
  if (*hash_at_anchor != a.hash) {
    return base::StrCat("rewritten: version ", a.version, " has hash ",
                        absl::BytesToHexString(*hash_at_anchor).substr(0, 16), ", not ",
                        absl::BytesToHexString(a.hash).substr(0, 16), " as anchored by ", stated);
  }
  return {};
}

}  // namespace kam::eventlog
