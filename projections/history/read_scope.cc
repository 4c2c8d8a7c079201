#include "projections/history/read_scope.h"

#include "base/errors.h"
#include "base/strings.h"
#include "domain/rules.h"
#include "server/roles.h"

namespace kam::projections {

bool ReadsProgramme(const domain::ProgrammeState& state, std::string_view principal) {
  for (const auto& [id, person] : state.people) {
    if (!person.Authenticates(principal)) continue;
    for (v1::PersonFunction f : person.functions) {
      if (f != v1::PERSON_FUNCTION_PUBLISHER) return true;
    }
  }
  return false;
}

absl::StatusOr<Reader> ReadScope::Authorize(const grpc::ServerContext& context,
                                            std::string_view what) const {
  auto who = auth_.Authenticate(context);
  if (!who.ok()) return who.status();
  Reader reader{.who = std::move(*who)};
  reader.reads_everything = reader.who.Has(server::roles::kAdmin);
  bool reads = false;
  for (const std::string& role : reader.who.roles)
    reads = reads || role != server::roles::kPublisher;
  if (!reads) {
    return base::RuleViolated(
        absl::StatusCode::kPermissionDenied, kPublishersReadOutcomesOnly,
        base::StrCat(reader.who.name, " may not ", what,
                     ": publishers read only their ingestion outcomes (the results of their "
                     "own commands and the dead-letter topic)"));
  }
  return reader;
}

absl::Status ReadScope::MayRead(const Reader& reader, std::string_view programme_id) const {
  if (reader.reads_everything) return absl::OkStatus();
  if (membership_.Of(programme_id, reader.who.name).reads) return absl::OkStatus();
  // The same words whether or not the programme exists.
  return base::RuleViolated(
      absl::StatusCode::kPermissionDenied, domain::rules::kMembershipRequired,
      base::StrCat(reader.who.name, " is not a member of programme '", programme_id,
                   "' (reads need a registered person of the programme, of any function but "
                   "publisher)"));
}

bool ReadScope::SeesPersonalData(const Reader& reader, std::string_view programme_id) const {
  // Membership first: its fold meets the programme's erasures and destroys their keys.
  const bool member = membership_.Of(programme_id, reader.who.name).reads;
  return member || reader.who.Has(server::roles::kPersonalData);
}

bool ReadScope::StreamFilter::Passes(const v1::EventEnvelope& envelope) {
  if (reader_.reads_everything) return true;
  return MemberOf(envelope).reads;
}

bool ReadScope::StreamFilter::Reveals(const v1::EventEnvelope& envelope) {
  const bool member = MemberOf(envelope).reads;
  return member || reader_.who.Has(server::roles::kPersonalData);
}

const Membership::Answer& ReadScope::StreamFilter::MemberOf(const v1::EventEnvelope& envelope) {
  const std::string& programme = envelope.aggregate_id();
  auto it = answers_.find(programme);
  if (it == answers_.end() || envelope.aggregate_version() > it->second.version) {
    // The store holds this event (the stream reads it from there), so a fresh answer is
    // taken at its version or later.
    const Membership::Answer fresh = scope_.membership_.Of(programme, reader_.who.name);
    it = answers_.insert_or_assign(programme, fresh).first;
  }
  return it->second;
}

}  // namespace kam::projections
