// Building and replaying the envelopes of one aggregate: versions, hash chain and
// the command results that make retries idempotent. Pure; no Kafka here.
//
//   kam::writer::Chain chain;                        // an aggregate's tip
//   auto sealed = kam::writer::SealCommand(chain, meta, id, ...);   // envelopes + bytes
//   absl::Status s = kam::writer::Replay(chain, envelope, position); // on load
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/programme.h"
#include "google/protobuf/message.h"
#include "kam/v1/commands.pb.h"
#include "kam/v1/envelope.pb.h"

namespace kam::eventlog {
class Signer;
}  // namespace kam::eventlog

namespace kam::writer {

// The tip of one aggregate's history, as its writer knows it.
// How long an aggregate remembers a command's result for retries with its request id: for
// `age` of recorded time after the aggregate's newest command, and at most `max` of them.
// Older ones are forgotten (a retry that late executes as a new command), so memory and
// snapshots stay bounded. Measured on recorded time, so a replay forgets the same ones.
struct DedupWindow {
  absl::Duration age = absl::Hours(24 * 7);
  std::size_t max = 100000;
};

struct Chain {
  uint64_t version = 0;
  std::string last_hash;
  // Results of the commands already applied, by client request id, and the fingerprints
  // (EventEnvelope.request_fingerprint) of those that had one; within the DedupWindow.
  absl::flat_hash_map<std::string, v1::CommandResult> results;
  absl::flat_hash_map<std::string, std::string> fingerprints;
  // The remembered request ids, oldest first, with their recorded time.
  std::deque<std::pair<absl::Time, std::string>> remembered;

  // Remembers `result` (and `fingerprint`, if any) for `request_id`, recorded at
  // `recorded_at`, then forgets what falls out of `window`.
  void Remember(const std::string& request_id, const v1::CommandResult& result,
                const std::string& fingerprint, absl::Time recorded_at,
                const DedupWindow& window = {});
  // Set when the stored history does not continue the chain (a gap, a wrong previous
  // hash, or a record whose own hash is wrong): the writer refuses further commands.
  std::string broken;
};

struct CommandInfo {
  std::string aggregate_type;
  std::string aggregate_id;
  std::string actor;
  v1::CommandMetadata metadata;
  absl::Time recorded_at;
  std::string fingerprint;  // RequestFingerprint of the request, or empty
};

// What a command asks and who asks it, as 16 bytes: SHA-256 over the request's type name,
// the caller's principal and the request's deterministic serialisation without its
// `metadata` field (request id, times, dry run). A retry must come from the same caller:
// another principal reusing a request id is refused, never answered with the result (the
// result of a command is the business of who made it, and of the programme's members).
std::string RequestFingerprint(const google::protobuf::Message& request, std::string_view actor);

struct SealedCommand {
  std::vector<v1::EventEnvelope> envelopes;  // with versions, previous hashes and hashes
  std::vector<std::string> bytes;            // what goes to the log, one per envelope
};

// Wraps `events` (the decision of one command) into envelopes that continue `chain`.
// Does not change `chain`; call Advance() once the append has succeeded.
SealedCommand SealCommand(const Chain& chain, const CommandInfo& info, const domain::Events& events,
                          const eventlog::Signer* signer = nullptr);

// Seals the personal fields of an envelope about to be hashed (personal/seal.h).
using SealFn = std::function<absl::Status(v1::EventEnvelope&)>;

// SealCommand, with each envelope's personal fields sealed by `seal` before it is hashed
// and signed: the bytes hold the sealed values, the returned envelopes the plaintext (for
// the writer's own state) with the hash of the sealed bytes. Fails as `seal` does.
absl::StatusOr<SealedCommand> SealCommand(const Chain& chain, const CommandInfo& info,
                                          const domain::Events& events,
                                          const eventlog::Signer* signer, const SealFn& seal);

// Moves the tip past a successfully appended command and remembers its result.
v1::CommandResult Advance(Chain& chain, const SealedCommand& sealed,
                          const std::vector<v1::LogPosition>& positions);

// Checks that `envelope` (read back from the log, hash_ok from the codec) continues
// `chain` and advances it. A break is recorded in chain.broken and returned as
// DATA_LOSS; the caller decides whether that stops the load.
// `window`: how long results are remembered (DedupWindow).
absl::Status Replay(Chain& chain, const v1::EventEnvelope& envelope, bool hash_ok,
                    const v1::LogPosition& position, const DedupWindow& window = {});

}  // namespace kam::writer
