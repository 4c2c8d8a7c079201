#include "projections/governance/verify.h"

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "domain/rules.h"

namespace kam::projections {

Verification Verify(const AggregateHistory& h) {
  Verification v;
  auto fail = [&](uint64_t version, const v1::LogPosition& at, std::string what) {
    if (!v.intact) return;
    v.intact = false;
    v.first_break_version = version;
    v.first_break_position = at;
    v.first_break = base::StrCat("version ", version, " at ", at.topic(), "/", at.partition(), "@",
                                 at.offset(), ": ", what);
  };
  std::string previous;
  uint64_t expected = 1;
  for (const StoredEvent& e : h.events) {
    ++v.events_checked;
    const uint64_t version = e.envelope.aggregate_version();
    if (!e.hash_ok) fail(version, e.position, "its stored bytes do not match its hash");
    if (version != expected) {
      fail(version, e.position, base::StrCat("expected version ", expected, " (a gap)"));
    }
    if (e.envelope.previous_hash() != previous) {
      fail(version, e.position,
           base::StrCat("previous_hash ", absl::BytesToHexString(e.envelope.previous_hash()),
                        " is not the hash of version ", version - 1, " (",
                        absl::BytesToHexString(previous), ")"));
    }
    previous = e.envelope.hash();
    expected = version + 1;
  }
  for (const StoredEvent& d : h.duplicates) {
    fail(d.envelope.aggregate_version(), d.position,
         "a second record claims this version (a forged or diverging history)");
  }
  if (!h.unreadable.empty()) {
    v1::LogPosition none;
    fail(0, none, base::StrCat("a stored record does not decode: ", h.unreadable.front()));
  }
  return v;
}

domain::Flag BreakFinding(const Verification& v, std::string_view programme_id) {
  return domain::Flag{std::string(domain::rules::kHistoryIntact), 7,
                      base::StrCat("programme ", programme_id), v.first_break};
}

}  // namespace kam::projections
