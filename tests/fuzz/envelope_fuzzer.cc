// Fuzz target: stored events and checkpoints as a reader meets them (libs/eventlog codec,
// signing, checkpoints; the writer's hash-chain replay).
//
// Input: [mode byte][records separated by fixture.h's kSeparator, at most 16]. Mode bits:
//   bit 0  0: the records are events of one aggregate; 1: checkpoints
//   bit 1  reseal: each record is parsed leniently and sealed again (signed by the test key
//          unless bit 2), so that the fuzzer reaches the checks behind a valid hash
//   bit 2  reseal unsigned
//   bit 3  reseal as a chain: versions 1..n and each previous_hash the hash before
//
// Checks, besides no crash and no sanitizer report:
//   - Parse and Open agree on what decodes; a record is authentic only if its hash matches;
//     AuthenticityProblem is empty exactly for an authentic event of the aggregate;
//   - a resealed event opens with a valid hash and, when signed, a valid signature;
//   - the chain (writer::Replay) advances only over authentic records that continue it, and
//     stays broken once broken;
//   - resealed checkpoints open under the keyring; an anchor survives EncodeAnchor /
//     DecodeAnchor unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/strings.h"
#include "eventlog/checkpoints.h"
#include "eventlog/codec.h"
#include "fuzz/fixture.h"
#include "writer/envelopes.h"

namespace kam::fuzz {
namespace {

constexpr uint8_t kCheckpoints = 1;
constexpr uint8_t kReseal = 2;
constexpr uint8_t kUnsigned = 4;
constexpr uint8_t kAsChain = 8;

void Events(uint8_t mode, const std::vector<std::string_view>& records) {
  const eventlog::Keyring& keyring = TestKeyring();
  writer::Chain chain;
  std::string previous;
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::string stored(records[i]);
    if (mode & kReseal) {
      v1::EventEnvelope env;
      if (!env.ParseFromString(stored)) continue;
      if (mode & kAsChain) {
        env.set_aggregate_version(i + 1);
        env.set_previous_hash(previous);
      }
      const bool sign = !(mode & kUnsigned);
      stored = eventlog::Seal(env, sign ? &TestSigner() : nullptr);
      previous = env.hash();
      auto reopened = eventlog::Open(stored, &keyring);
      KAM_FUZZ_CHECK(reopened.ok(), "a sealed envelope does not open");
      KAM_FUZZ_CHECK(reopened->hash_ok, "a sealed envelope's hash does not match");
      KAM_FUZZ_CHECK(reopened->envelope.hash() == env.hash(), "the opened hash differs");
      KAM_FUZZ_CHECK(reopened->signature == (sign ? eventlog::SignatureCheck::kValid
                                                  : eventlog::SignatureCheck::kMissing),
                     "a sealed envelope's signature check is wrong");
    }
    auto parsed = eventlog::Parse(stored);
    auto plain = eventlog::Open(stored);
    auto checked = eventlog::Open(stored, &keyring);
    KAM_FUZZ_CHECK(parsed.ok() == plain.ok() && plain.ok() == checked.ok(),
                   "Parse and Open disagree on whether a record decodes");
    if (!checked.ok()) {
      KAM_FUZZ_CHECK(checked.status().code() == absl::StatusCode::kDataLoss &&
                         !checked.status().message().empty(),
                     "an undecodable record is not DATA_LOSS with a message");
    } else {
      KAM_FUZZ_CHECK(plain->hash_ok == checked->hash_ok, "the keyring changes the hash check");
      KAM_FUZZ_CHECK(plain->signature == eventlog::SignatureCheck::kNotChecked,
                     "a signature is checked without a keyring");
      if (checked->signature != eventlog::SignatureCheck::kValid) {
        (void)eventlog::SignatureProblem(checked->signature, checked->envelope);
      }
    }
    const std::string key = checked.ok() ? checked->envelope.aggregate_id() : kProgramme;
    const std::string problem = eventlog::AuthenticityProblem(checked, key, "");
    KAM_FUZZ_CHECK(problem.empty() == (checked.ok() && checked->authentic()),
                   base::StrCat("AuthenticityProblem disagrees with authentic(): '", problem, "'"));
    if (!checked.ok()) continue;
    const bool was_broken = !chain.broken.empty();
    const uint64_t version = chain.version;
    v1::LogPosition position;
    position.set_topic("kam.programme.v1");
    position.set_offset(static_cast<int64_t>(i));
    const absl::Status replayed =
        writer::Replay(chain, checked->envelope, checked->authentic(), position);
    if (replayed.ok()) {
      KAM_FUZZ_CHECK(!was_broken && checked->authentic(), "a broken chain or a forgery replayed");
      KAM_FUZZ_CHECK(checked->envelope.aggregate_version() == version + 1 &&
                         chain.version == version + 1 &&
                         chain.last_hash == checked->envelope.hash(),
                     "the chain advanced over a record that does not continue it");
    } else {
      KAM_FUZZ_CHECK(replayed.code() == absl::StatusCode::kDataLoss && !chain.broken.empty() &&
                         chain.version == version,
                     "a refused replay is not DATA_LOSS with the chain marked broken");
    }
  }
}

bool SameAnchor(const eventlog::Anchor& a, const eventlog::Anchor& b) {
  return a.version == b.version && a.hash == b.hash && a.taken_at == b.taken_at &&
         a.writer == b.writer && a.topic == b.topic && a.partition == b.partition &&
         a.next_offset == b.next_offset && a.where == b.where;
}

void Checkpoints(uint8_t mode, const std::vector<std::string_view>& records) {
  const eventlog::Keyring& keyring = TestKeyring();
  eventlog::Anchors anchors;
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::vector<std::string> stored = {std::string(records[i])};
    if (mode & kReseal) {
      v1::Checkpoint c;
      if (!c.ParseFromString(stored[0])) continue;
      std::vector<v1::AggregateTip> tips(c.tips().begin(), c.tips().end());
      const bool sign = !(mode & kUnsigned);
      stored = eventlog::SealCheckpoint(c, tips, sign ? &TestSigner() : nullptr, 1 + i % 3);
      for (const std::string& part : stored) {
        auto opened = eventlog::OpenCheckpoint(part, &keyring);
        KAM_FUZZ_CHECK(opened.ok() == (sign && !c.topic().empty()),
                       "a sealed checkpoint's check is wrong");
      }
    }
    (void)eventlog::DecodeAnchor(records[i]);
    for (const std::string& part : stored) {
      auto plain = eventlog::OpenCheckpoint(part, nullptr);
      auto checked = eventlog::OpenCheckpoint(part, &keyring);
      KAM_FUZZ_CHECK(plain.ok() || !checked.ok(), "a checkpoint verifies but does not decode");
      if (!checked.ok()) {
        KAM_FUZZ_CHECK(!checked.status().message().empty(), "a refusal without a message");
      }
      if (plain.ok()) anchors.Add(*plain, base::StrCat("kam.checkpoints.v1/0@", i));
    }
  }
  for (const auto& [id, anchor] : anchors.all()) {
    KAM_FUZZ_CHECK(anchors.Find(id.first, id.second) == &anchor, "an anchor is not found");
    auto decoded = eventlog::DecodeAnchor(eventlog::EncodeAnchor(anchor));
    KAM_FUZZ_CHECK(decoded && SameAnchor(*decoded, anchor), "an anchor does not round-trip");
    KAM_FUZZ_CHECK(eventlog::AnchorProblem(anchor, anchor.version, anchor.hash).empty(),
                   "a log that reaches its anchor with the anchored hash has a problem");
    KAM_FUZZ_CHECK(anchor.version == 0 ||
                       !eventlog::AnchorProblem(anchor, anchor.version - 1, anchor.hash).empty(),
                   "a log that ends before its anchor has no problem");
    (void)eventlog::AnchorProblem(anchor, anchor.version, std::nullopt);
    (void)eventlog::AnchorProblem(anchor, anchor.version + 1, anchor.hash + "x");
  }
}

}  // namespace
}  // namespace kam::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const auto records =
      kam::fuzz::Split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 16);
  if (mode & kam::fuzz::kCheckpoints) {
    kam::fuzz::Checkpoints(mode, records);
  } else {
    kam::fuzz::Events(mode, records);
  }
  return 0;
}
