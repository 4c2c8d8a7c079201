#include "services/programme/inbound.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "eventlog/topics.h"
#include "kam/v1/inbound.pb.h"

namespace kam::services {
namespace {

using State = domain::ProgrammeState;

// The command an inbound record carries: `request` for its programme, as the publisher.
template <typename Request>
writer::Command<State> CommandOf(const eventlog::ConsumedRecord& r, const std::string& publisher,
                                 const Request& request, std::string_view what) {
  if (auto s = base::ValidateId("publisher", publisher); !s.ok()) {
    return writer::Refused<State>(r, s);
  }
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
    // Dates are the programme's days, as for commands over gRPC.
    return domain::Decide(
        state, *shared,
        domain::CommandContext{.actor = actor, .now = now, .today = state.Day(now)});
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

writer::Command<State> Training(const eventlog::ConsumedRecord& r) {
  v1::InboundTraining in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundTraining"));
  switch (in.training_case()) {
    case v1::InboundTraining::kManager:
      return CommandOf(r, in.publisher(), in.manager(), "manager");
    case v1::InboundTraining::kStaff:
      return CommandOf(r, in.publisher(), in.staff(), "staff");
    default:
      return writer::Refused<State>(
          r, base::InvalidField("training", "one of manager or staff is required"));
  }
}

writer::Command<State> Person(const eventlog::ConsumedRecord& r) {
  v1::InboundPerson in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundPerson"));
  if (!in.has_person())
    return writer::Refused<State>(r, base::InvalidField("person", "is required"));
  return CommandOf(r, in.publisher(), in.person(), "person");
}

writer::Command<State> Visit(const eventlog::ConsumedRecord& r) {
  v1::InboundSponsorVisit in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundSponsorVisit"));
  if (!in.has_visit()) return writer::Refused<State>(r, base::InvalidField("visit", "is required"));
  return CommandOf(r, in.publisher(), in.visit(), "visit");
}

writer::Command<State> Commitment(const eventlog::ConsumedRecord& r) {
  v1::InboundCommitmentOutcome in;
  if (!Parse(r, in)) return writer::Refused<State>(r, NotA("kam.v1.InboundCommitmentOutcome"));
  switch (in.outcome_case()) {
    case v1::InboundCommitmentOutcome::kFulfilled:
      return CommandOf(r, in.publisher(), in.fulfilled(), "fulfilled");
    case v1::InboundCommitmentOutcome::kBreached:
      return CommandOf(r, in.publisher(), in.breached(), "breached");
    default:
      return writer::Refused<State>(
          r, base::InvalidField("outcome", "one of fulfilled or breached is required"));
  }
}

}  // namespace

ProgrammeIngesters::ProgrammeIngesters(eventlog::KafkaOptions kafka, ProgrammeService& service,
                                       ProgrammeIngesterOptions options) {
  const std::pair<std::string_view, Ingester::Translate> kinds[] = {{"trainings", &Training},
                                                                    {"people", &Person},
                                                                    {"visits", &Visit},
                                                                    {"commitments", &Commitment}};
  for (const auto& [kind, translate] : kinds) {
    ingesters_.push_back(std::make_unique<Ingester>(
        kafka, service.writer(),
        Ingester::Options{.topic = eventlog::InboundTopic(options.topic_prefix, kind),
                          .group_id = options.group_id,
                          .max_batch = options.max_batch,
                          .retry_backoff = options.retry_backoff},
        translate));
  }
}

absl::Status ProgrammeIngesters::Start() {
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
