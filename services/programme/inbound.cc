#include "services/programme/inbound.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/topics.h"
#include "kam/v1/inbound.pb.h"

namespace kam::services {
namespace {

using State = domain::ProgrammeState;

// The key id that signed the record being translated (eventlog::VerifyInbound), or none
// when publishers are unauthenticated.
using SignedBy = std::optional<std::string>;

// The command an inbound record carries: `request` for its programme, as the publisher
// (the signing key's id, or the `claimed` field when unsigned), decided like a command over
// gRPC by the principal "publisher:<name>".
template <typename Request>
writer::Command<State> CommandOf(const eventlog::ConsumedRecord& r, const SignedBy& signed_by,
                                 const std::string& claimed, const Request& request,
                                 std::string_view what) {
  auto publisher_or = eventlog::InboundPublisher(signed_by, claimed);
  if (!publisher_or.ok()) return writer::Refused<State>(r, publisher_or.status());
  const std::string& publisher = *publisher_or;
  if (auto s = base::ValidateId(base::StrCat(what, ".programme_id"), request.programme_id());
      !s.ok()) {
    return writer::Refused<State>(r, s);
  }
  if (r.key != request.programme_id()) {
    return writer::Refused<State>(
        r, base::InvalidField("key",
                              base::StrCat("'", r.key.substr(0, 80), "' must be the programme id '",
                                           request.programme_id(), "'")));
  }
  writer::Command<State> c;
  c.aggregate_id = request.programme_id();
  c.metadata = request.metadata();
  if (c.metadata.client_request_id().empty()) {
    // A re-published record is the same command: its bytes name it.
    c.metadata.set_client_request_id(
        base::StrCat("inbound:", absl::BytesToHexString(eventlog::Sha256(r.value).substr(0, 8))));
  }
  c.metadata.set_dry_run(false);
  c.actor = base::StrCat("publisher:", publisher);
  auto shared = std::make_shared<Request>(request);
  c.decide = [shared, actor = c.actor](const State& state, absl::Time now) {
    // As a command over gRPC: the publisher acts through its membership of the programme
    // (a person whose principal is "publisher:<name>"), at an honest business time.
    return domain::Handle(state, *shared, domain::CommandContext{.actor = actor, .now = now});
  };
  return writer::DeadLettering(std::move(c), r);
}

template <typename Message>
bool Parse(const eventlog::ConsumedRecord& r, Message& m) {
  return m.ParseFromString(r.value);
}

absl::Status NotA(std::string_view type) {
  return base::InvalidField("value", base::StrCat("is not a serialised ", type));
}

writer::Command<State> Training(const eventlog::ConsumedRecord& r, const SignedBy& signed_by) {
  v1::InboundTraining in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundTraining"));
  switch (in.training_case()) {
    case v1::InboundTraining::kManager:
      return CommandOf(r, signed_by, in.publisher(), in.manager(), "manager");
    case v1::InboundTraining::kStaff:
      return CommandOf(r, signed_by, in.publisher(), in.staff(), "staff");
    default:
      return writer::Refused<State>(
          r, base::InvalidField("training", "one of manager or staff is required"));
  }
}

writer::Command<State> Person(const eventlog::ConsumedRecord& r, const SignedBy& signed_by) {
  v1::InboundPerson in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundPerson"));
  if (!in.has_person())
    return writer::Refused<State>(r, base::InvalidField("person", "is required"));
  return CommandOf(r, signed_by, in.publisher(), in.person(), "person");
}

writer::Command<State> Visit(const eventlog::ConsumedRecord& r, const SignedBy& signed_by) {
  v1::InboundSponsorVisit in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundSponsorVisit"));
  if (!in.has_visit()) return writer::Refused<State>(r, base::InvalidField("visit", "is required"));
  return CommandOf(r, signed_by, in.publisher(), in.visit(), "visit");
}

writer::Command<State> Commitment(const eventlog::ConsumedRecord& r, const SignedBy& signed_by) {
  v1::InboundCommitmentOutcome in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundCommitmentOutcome"));
  switch (in.outcome_case()) {
    case v1::InboundCommitmentOutcome::kFulfilled:
      return CommandOf(r, signed_by, in.publisher(), in.fulfilled(), "fulfilled");
    case v1::InboundCommitmentOutcome::kBreached:
      return CommandOf(r, signed_by, in.publisher(), in.breached(), "breached");
    default:
      return writer::Refused<State>(
          r, base::InvalidField("outcome", "one of fulfilled or breached is required"));
  }
}

}  // namespace

ProgrammeIngesters::ProgrammeIngesters(eventlog::KafkaOptions kafka, ProgrammeService& service,
                                       ProgrammeIngesterOptions options) {
  using Translation = writer::Command<State> (*)(const eventlog::ConsumedRecord&, const SignedBy&);
  const std::pair<std::string_view, Translation> kinds[] = {{"trainings", &Training},
                                                            {"people", &Person},
                                                            {"visits", &Visit},
                                                            {"commitments", &Commitment}};
  authenticated_ = options.publishers != nullptr;
  for (const auto& [kind, translation] : kinds) {
    // With a keyring, only a record a publisher signed for this topic is read at all.
    Ingester::Translate translate = [kind = std::string(kind), translation,
                                     publishers =
                                         options.publishers](const eventlog::ConsumedRecord& r) {
      if (publishers == nullptr) return translation(r, std::nullopt);
      auto signed_by = eventlog::VerifyInbound(*publishers, kind, r);
      if (!signed_by.ok()) return writer::Refused<State>(r, signed_by.status());
      return translation(r, *signed_by);
    };
    ingesters_.push_back(std::make_unique<Ingester>(
        kafka, service.writer(),
        Ingester::Options{.topic = eventlog::InboundTopic(options.topic_prefix, kind),
                          .group_id = options.group_id,
                          .max_batch = options.max_batch,
                          .retry_backoff = options.retry_backoff},
        std::move(translate)));
  }
}

absl::Status ProgrammeIngesters::Start() {
  if (!authenticated_) {
    base::Log(
        base::LogLevel::kWarning,
        "inbound publishers are UNAUTHENTICATED (no --inbound-keyring): the trainings, people, "
        "visits and commitments topics act as whatever publisher a record's field names; "
        "development only");
  }
  for (auto& i : ingesters_) KAM_RETURN_IF_ERROR(i->Start());
  return absl::OkStatus();
}

void ProgrammeIngesters::Stop() {
  for (auto& i : ingesters_) i->Stop();
}

ProgrammeIngesters::Ingester::Stats ProgrammeIngesters::stats() const {
  Ingester::Stats sum;
  for (const auto& i : ingesters_) {
    const auto s = i->stats();
    sum.recorded += s.recorded;
    sum.dead_lettered += s.dead_lettered;
    sum.retries += s.retries;
  }
  return sum;
}

std::vector<std::string> ProgrammeIngesters::topics() const {
  std::vector<std::string> out;
  for (const auto& i : ingesters_) out.push_back(i->topic());
  return out;
}

}  // namespace kam::services
