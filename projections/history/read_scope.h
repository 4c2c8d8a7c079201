// Who reads what on the read side: every query of HistoryQueryService and
// GovernanceQueryService asks the one ReadScope of its read side.
//
//   absl::StatusOr<Reader> reader = scope.Authorize(*context, "read history");
//   KAM_RETURN_IF_ERROR(scope.MayRead(*reader, request->programme_id()));
//
// The rules (docs/architecture.md, "Scoped reads"):
//   - a caller whose token roles are only `publisher` (an enterprise system) reads nothing:
//     PERMISSION_DENIED on every read RPC (rule reads.publishers_read_outcomes_only);
//   - a caller with the platform's `admin` role reads every programme (the operator:
//     verification, audit, the demo loader's "is it loaded?");
//   - anyone else reads a programme only as a member of it: a registered person of that
//     programme (by principal or another principal of theirs) with a function other than
//     publisher (rule membership.required). The answer for a programme that does not exist is
//     the same PERMISSION_DENIED, word for word, so a refusal does not reveal existence.
// Membership is the programme's folded domain state (ProgrammeState.people), supplied
// through `Membership` by the read side's host; it is as fresh as the store.
//
// Thread-safe (a StreamFilter belongs to one stream).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "domain/programme.h"
#include "kam/v1/envelope.pb.h"
#include "server/auth.h"

namespace grpc {
class ServerContext;
}  // namespace grpc

namespace kam::projections {

// A publisher token reads nothing through the query services (it sees its ingestion outcomes in
// the answers to its own commands and on the dead-letter topic).
inline constexpr std::string_view kPublishersReadOutcomesOnly =
    "reads.publishers_read_outcomes_only";

// Only a token with the `personal-data` role looks up the keys of personal data
// (LookupPersonalDataKeys), member of the programme or not.
inline constexpr std::string_view kPersonalDataKeyLookup = "personal_data.key_lookup";

// Whether `principal` reads the programme whose folded state is `state`: a registered person
// of it with a function other than publisher.
bool ReadsProgramme(const domain::ProgrammeState& state, std::string_view principal);

// Where membership comes from (the governance cache's folded ProgrammeState in the host).
class Membership {
 public:
  virtual ~Membership() = default;
  struct Answer {
    bool reads = false;    // ReadsProgramme of the programme as stored now
    uint64_t version = 0;  // the programme version the answer was taken at (0: no programme)
  };
  virtual Answer Of(std::string_view programme_id, std::string_view principal) const = 0;
};

// An authenticated caller allowed to read at all.
struct Reader {
  server::Principal who;
  bool reads_everything = false;  // the platform admin
};

class ReadScope {
 public:
  // Both must outlive the scope.
  ReadScope(const server::Authenticator& auth, const Membership& membership)
      : auth_(auth), membership_(membership) {}

  // UNAUTHENTICATED without a known token; PERMISSION_DENIED for a publisher-only token.
  absl::StatusOr<Reader> Authorize(const grpc::ServerContext& context, std::string_view what) const;

  // PERMISSION_DENIED (rule membership.required) unless `reader` reads `programme_id`.
  absl::Status MayRead(const Reader& reader, std::string_view programme_id) const;

  // Whether `reader` sees the programme's personal data opened (docs/architecture.md,
  // "Personal data"): a member of it, or a holder of the `personal-data` role. The platform
  // admin reads every programme, its personal fields still sealed.
  bool SeesPersonalData(const Reader& reader, std::string_view programme_id) const;

  // Which events of the programme topic a change stream delivers to `reader`: those of the
  // programmes it reads, membership taken when each event is delivered (so the event that
  // registers the reader, and every later one, pass). An answer is reused for every event up
  // to the version it was taken at, so the check costs one lookup per programme and batch.
  class StreamFilter {
   public:
    bool Passes(const v1::EventEnvelope& envelope);
    // Whether the event goes with its personal fields opened (SeesPersonalData).
    bool Reveals(const v1::EventEnvelope& envelope);

   private:
    const Membership::Answer& MemberOf(const v1::EventEnvelope& envelope);
    friend class ReadScope;
    StreamFilter(const ReadScope& scope, Reader reader)
        : scope_(scope), reader_(std::move(reader)) {}
    const ReadScope& scope_;
    Reader reader_;
    std::map<std::string, Membership::Answer, std::less<>> answers_;  // by programme
  };
  StreamFilter Filter(Reader reader) const { return StreamFilter(*this, std::move(reader)); }

 private:
  const server::Authenticator& auth_;
  const Membership& membership_;
};

}  // namespace kam::projections
