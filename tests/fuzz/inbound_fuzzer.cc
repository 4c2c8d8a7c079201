// Fuzz target: the inbound topics' records as the command services read them
// (services/programme/inbound.cc, services/metrics/inbound_ingester.cc). Their translations
// are private to the ingesters, which need Kafka, so this runs the public pieces in the same
// order: eventlog::VerifyInbound (the publisher's signature), the value's protobuf parse,
// eventlog::InboundPublisher, the key and id checks, and the decision (domain::Handle on the
// fixed programme as "publisher:<name>", or the metrics service's MayRecord + Decide).
//
// Input: [kind byte][flags byte][key, value and raw headers separated by kSeparator]; a raw
// header is "name=value". The kind byte picks metrics, trainings, people, visits or
// commitments. Flags:
//   bit 0  sign the record for its kind with the test key (replacing raw kam-* headers)
//   bit 1  ... but for another kind (a moved signature)
//   bit 2  development mode: no publishers' keyring, the publisher is the record's field
//   bit 3  change the value after signing
//
// Checks, besides no crash and no sanitizer report: a correctly signed record verifies as
// the test key, a moved signature or a changed value never does; every refusal is
// PERMISSION_DENIED (signature, claimed publisher) or a domain refusal (CheckRefusal), each
// with a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/topics.h"
#include "fuzz/fixture.h"
#include "kam/v1/inbound.pb.h"
#include "kam/v1/metrics_service.pb.h"

namespace kam::fuzz {
namespace {

constexpr uint8_t kSign = 1;
constexpr uint8_t kMovedSignature = 2;
constexpr uint8_t kDevelopment = 4;
constexpr uint8_t kChangedAfterSigning = 8;

constexpr std::string_view kKinds[] = {"metrics", "trainings", "people", "visits", "commitments"};

// The programme services' CommandOf: the publisher, the programme id and key, then Handle.
template <typename Request>
void Decide(const eventlog::ConsumedRecord& r, const std::optional<std::string>& signed_by,
            const std::string& claimed, Request request, std::string_view what) {
  auto publisher = eventlog::InboundPublisher(signed_by, claimed);
  if (!publisher.ok()) {
    KAM_FUZZ_CHECK(!publisher.status().message().empty(), "InboundPublisher: no message");
    return;
  }
  if (auto s = base::ValidateId(base::StrCat(what, ".programme_id"), request.programme_id());
      !s.ok()) {
    CheckRefusal(s, what);
    return;
  }
  if (r.key != request.programme_id()) return;  // refused naming the key
  if (request.metadata().client_request_id().empty()) {
    request.mutable_metadata()->set_client_request_id(
        base::StrCat("inbound:", absl::BytesToHexString(eventlog::Sha256(r.value).substr(0, 8))));
  }
  request.mutable_metadata()->set_dry_run(false);
  auto decided =
      HandleAsWriter(FixedProgramme(), request, Actor{base::StrCat("publisher:", *publisher)});
  Trace(Request::descriptor()->name(), decided.status());
  if (!decided.ok()) CheckRefusal(decided.status(), Request::descriptor()->name());
}

void Translate(std::string_view kind, const eventlog::ConsumedRecord& r,
               const std::optional<std::string>& signed_by) {
  if (kind == "metrics") {
    v1::InboundMetric in;
    if (!in.ParseFromString(r.value) || !in.has_metric()) return;
    auto publisher = eventlog::InboundPublisher(signed_by, in.publisher());
    if (!publisher.ok()) return;
    const auto& m = in.metric();
    if (r.key != domain::MetricsAggregateId(m.programme_id(), m.account_id())) return;
    v1::RecordMetricRequest request;
    request.mutable_metadata()->set_client_request_id(
        in.client_request_id().empty() ? base::StrCat(m.source_system(), "/", m.source_record_id())
                                       : in.client_request_id());
    *request.mutable_metric() = m;
    auto decided = RecordMetricAsService(FixedProgramme(), FixedMetrics(), request,
                                         base::StrCat("publisher:", *publisher));
    Trace("InboundMetric", decided.status());
    if (!decided.ok()) CheckRefusal(decided.status(), "InboundMetric");
  } else if (kind == "trainings") {
    v1::InboundTraining in;
    if (!in.ParseFromString(r.value)) return;
    if (in.has_manager()) Decide(r, signed_by, in.publisher(), in.manager(), "manager");
    if (in.has_staff()) Decide(r, signed_by, in.publisher(), in.staff(), "staff");
  } else if (kind == "people") {
    v1::InboundPerson in;
    if (in.ParseFromString(r.value) && in.has_person()) {
      Decide(r, signed_by, in.publisher(), in.person(), "person");
    }
  } else if (kind == "visits") {
    v1::InboundSponsorVisit in;
    if (in.ParseFromString(r.value) && in.has_visit()) {
      Decide(r, signed_by, in.publisher(), in.visit(), "visit");
    }
  } else {
    v1::InboundCommitmentOutcome in;
    if (!in.ParseFromString(r.value)) return;
    if (in.has_fulfilled()) Decide(r, signed_by, in.publisher(), in.fulfilled(), "fulfilled");
    if (in.has_breached()) Decide(r, signed_by, in.publisher(), in.breached(), "breached");
  }
}

}  // namespace
}  // namespace kam::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kam::fuzz;  // NOLINT
  namespace eventlog = kam::eventlog;
  if (size < 2) return 0;
  const std::size_t kinds = std::size(kKinds);
  const std::string_view kind = kKinds[data[0] % kinds];
  const uint8_t flags = data[1];
  const auto parts = Split(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), 8);
  eventlog::Record record;
  record.key = std::string(parts[0]);
  if (parts.size() > 1) record.value = std::string(parts[1]);
  for (std::size_t i = 2; i < parts.size(); ++i) {
    const std::size_t eq = parts[i].find('=');
    record.headers.emplace_back(
        std::string(parts[i].substr(0, eq)),
        eq == std::string_view::npos ? "" : std::string(parts[i].substr(eq + 1)));
  }
  const bool sign = flags & kSign;
  const bool moved = flags & kMovedSignature;
  const bool changed = flags & kChangedAfterSigning;
  if (sign) {
    eventlog::SignInbound(TestSigner(), moved ? kKinds[(data[0] + 1) % kinds] : kind, record);
    if (changed) record.value.push_back('!');
  }
  const eventlog::ConsumedRecord consumed{
      eventlog::InboundTopic("", kind), 0, 0, record.key, record.value, record.headers};
  std::optional<std::string> signed_by;
  if (!(flags & kDevelopment)) {
    auto by = eventlog::VerifyInbound(TestKeyring(), kind, consumed);
    if (sign && !moved && !changed) {
      KAM_FUZZ_CHECK(by.ok() && *by == TestSigner().key_id(),
                     "a correctly signed inbound record does not verify");
    }
    if (sign && (moved || changed)) {
      KAM_FUZZ_CHECK(!by.ok(), "a moved signature or a changed value verifies");
    }
    if (!by.ok()) {
      Trace("VerifyInbound", by.status());
      KAM_FUZZ_CHECK(by.status().code() == absl::StatusCode::kPermissionDenied &&
                         !by.status().message().empty(),
                     "an inbound refusal is not PERMISSION_DENIED with a message");
      return 0;
    }
    signed_by = *by;
  }
  Translate(kind, consumed, signed_by);
  return 0;
}
