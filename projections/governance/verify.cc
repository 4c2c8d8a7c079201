#include "projections/governance/verify.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "base/strings.h"
#include "domain/rules.h"

namespace kam::projections {

void ChainVerifier::Fail(uint64_t version, const v1::LogPosition& at, std::string what) {
  if (!v_.intact) return;
  v_.intact = false;
  v_.first_break_version = version;
  v_.first_break_position = at;
  v_.first_break = version == 0 ? std::move(what)
                                : base::StrCat("version ", version, " at ", at.topic(), "/",
                                               at.partition(), "@", at.offset(), ": ", what);
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

namespace {

// "<topic>/<partition>@<offset>" as a position (empty if it is not one).
v1::LogPosition PositionOf(std::string_view place) {
  v1::LogPosition out;
  const std::size_t slash = place.rfind('/');
  const std::size_t at = place.rfind('@');
  int32_t partition = 0;
  int64_t offset = 0;
  if (slash == std::string_view::npos || at == std::string_view::npos || at < slash ||
      !absl::SimpleAtoi(absl::string_view(place.data() + slash + 1, at - slash - 1), &partition) ||
      !absl::SimpleAtoi(absl::string_view(place.data() + at + 1, place.size() - at - 1), &offset)) {
    return out;
  }
  out.set_topic(std::string(place.substr(0, slash)));
  out.set_partition(partition);
  out.set_offset(offset);
  return out;
}

}  // namespace

Verification ChainVerifier::Result(const AggregateHistory& h,
                                   const std::set<std::string>& acknowledged) const {
  ChainVerifier out = *this;
  for (const StoredEvent& d : h.duplicates) {
    out.Fail(d.envelope.aggregate_version(), d.position,
             "a second record claims this version (a forged or diverging history)");
  }
  for (const std::string& entry : h.unreadable) {
    // "<topic>/<partition>@<offset>: <problem>" (HistoryFold), or a problem alone.
    QuarantinedRecord q;
    const std::size_t colon = entry.find(": ");
    if (colon != std::string::npos && entry.find('@') < colon) {
      q.place = entry.substr(0, colon);
      q.problem = entry.substr(colon + 2);
    } else {
      q.problem = entry;
    }
    q.acknowledged = !q.place.empty() && acknowledged.contains(q.place);
    if (!q.acknowledged) {
      out.Fail(0, PositionOf(q.place),
               base::StrCat("a record in its partition is not a valid event of it: ", entry));
    }
    out.v_.quarantined.push_back(std::move(q));
  }
  return out.v_;
}

Verification Verify(const AggregateHistory& h, const std::set<std::string>& acknowledged) {
  ChainVerifier verifier;
  for (const StoredEvent& e : h.events) verifier.Add(e);
  return verifier.Result(h, acknowledged);
}

std::set<std::string> AcknowledgedPlaces(const domain::ProgrammeState& state) {
  std::set<std::string> out;
  for (const auto& [place, ack] : state.quarantine_acks) {
    if (!ack.approved_by.empty()) out.insert(place);
  }
  return out;
}

domain::Flag BreakFinding(const Verification& v, std::string_view programme_id) {
  return domain::Flag{std::string(domain::rules::kHistoryIntact), 7,
                      base::StrCat("programme ", programme_id), v.first_break};
}

}  // namespace kam::projections
