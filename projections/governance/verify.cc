#include "projections/governance/verify.h"

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "domain/rules.h"

namespace kam::projections {

void ChainVerifier::Fail(uint64_t version, const v1::LogPosition& at, std::string what) {
  if (!v_.intact) return;
  v_.intact = false;
  v_.first_break_version = version;
  v_.first_break_position = at;
  v_.first_break = base::StrCat("version ", version, " at ", at.topic(), "/", at.partition(), "@",
                                at.offset(), ": ", what);
}

void ChainVerifier::Add(const StoredEvent& e) {
  ++v_.events_checked;
  const uint64_t version = e.envelope.aggregate_version();
  if (!e.hash_ok) Fail(version, e.position, "its stored bytes do not match its hash");
  if (version != expected_) {
    Fail(version, e.position, base::StrCat("expected version ", expected_, " (a gap)"));
  }
  if (e.envelope.previous_hash() != previous_) {
    Fail(version, e.position,
         base::StrCat("previous_hash ", absl::BytesToHexString(e.envelope.previous_hash()),
                      " is not the hash of version ", version - 1, " (",
                      absl::BytesToHexString(previous_), ")"));
  }
  previous_ = e.envelope.hash();
  expected_ = version + 1;
  v_.tip_version = version;
  v_.tip_hash = previous_;
}

void ChainVerifier::AddUnreadable(const std::string& problem) {
  Fail(0, v1::LogPosition(),
       base::StrCat("a record in its partition is not a valid event of it: ", problem));
}

Verification ChainVerifier::Result(const AggregateHistory& h) const {
  ChainVerifier out = *this;
  for (const StoredEvent& d : h.duplicates) {
    out.Fail(d.envelope.aggregate_version(), d.position,
             "a second record claims this version (a forged or diverging history)");
  }
  if (!h.unreadable.empty()) {
    v1::LogPosition none;
    out.Fail(0, none,
             base::StrCat("a record in its partition is not a valid event of it: ",
                          h.unreadable.front()));
  }
  return out.v_;
}

Verification Verify(const AggregateHistory& h) {
  ChainVerifier verifier;
  for (const StoredEvent& e : h.events) verifier.Add(e);
  return verifier.Result(h);
}

domain::Flag BreakFinding(const Verification& v, std::string_view programme_id) {
  return domain::Flag{std::string(domain::rules::kHistoryIntact), 7,
                      base::StrCat("programme ", programme_id), v.first_break};
}

}  // namespace kam::projections
