// The record itself: acknowledging a quarantined record, four-eyes (rules quarantine.*).
// Which records are quarantined is the log's business (eventlog::AuthenticityProblem); the
// service reads the record and CheckQuarantined decides whether it may be acknowledged.
#include "domain/checks.h"

namespace kam::domain {
namespace {

using internal::FailedRule;
using internal::One;

// The record's place, checked: a topic name, a partition and an offset.
absl::StatusOr<std::string> PlaceOf(const v1::LogPosition& record) {
  if (record.topic().empty()) return base::InvalidField("record.topic", "is required");
  if (record.topic().size() > 249) {
    return base::InvalidField("record.topic", "is longer than Kafka's 249 characters");
  }
  for (char c : record.topic()) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return base::InvalidField("record.topic", "is not a Kafka topic name ([a-zA-Z0-9._-])");
    }
  }
  if (record.partition() < 0) return base::InvalidField("record.partition", "must be >= 0");
  if (record.offset() < 0) return base::InvalidField("record.offset", "must be >= 0");
  return RecordPlace(record.topic(), record.partition(), record.offset());
}

}  // namespace

std::string RecordPlace(std::string_view topic, int64_t partition, int64_t offset) {
  return base::StrCat(topic, "/", partition, "@", offset);
}

absl::Status CheckQuarantined(std::string_view programme_id, std::string_view place,
                              std::string_view key, std::string_view problem) {
  if (key != programme_id && !key.starts_with(base::StrCat(programme_id, ":"))) {
    return FailedRule(rules::kQuarantineMustBeQuarantined,
                      base::StrCat("the record at ", place, " is kept under '", key,
                                   "', not in programme '", programme_id, "'"));
  }
  if (problem.empty()) {
    return FailedRule(rules::kQuarantineMustBeQuarantined,
                      base::StrCat("the record at ", place,
                                   " is an authentic event; only a quarantined record is "
                                   "acknowledged"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::RequestQuarantineAcknowledgementRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto place = PlaceOf(cmd.record());
  if (!place.ok()) return place.status();
  if (cmd.reason().empty()) {
    return base::InvalidField("reason", "is required: what was found and what was done about it");
  }
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  if (auto it = state.quarantine_acks.find(*place); it != state.quarantine_acks.end()) {
    return FailedRule(rules::kQuarantineOnce,
                      base::StrCat("the record at ", *place, " was already ",
                                   it->second.approved_by.empty() ? "requested" : "acknowledged",
                                   " (by ", it->second.requested_by, ")"));
  }
  v1::Event event;
  auto* e = event.mutable_quarantine_acknowledgement_requested();
  e->set_programme_id(cmd.programme_id());
  e->set_record_topic(cmd.record().topic());
  e->set_record_partition(cmd.record().partition());
  e->set_record_offset(cmd.record().offset());
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::ApproveQuarantineAcknowledgementRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  auto place = PlaceOf(cmd.record());
  if (!place.ok()) return place.status();
  auto it = state.quarantine_acks.find(*place);
  if (it == state.quarantine_acks.end()) {
    return FailedRule(rules::kQuarantineMustBeRequested,
                      base::StrCat("no acknowledgement of the record at ", *place,
                                   " was requested in programme '", cmd.programme_id(), "'"));
  }
  if (!it->second.approved_by.empty()) {
    return FailedRule(
        rules::kQuarantineOnce,
        base::StrCat("the record at ", *place, " was already acknowledged (approved by ",
                     it->second.approved_by, ")"));
  }
  KAM_RETURN_IF_ERROR(
      internal::RequireApprover(state, ctx.actor, "approve acknowledging a quarantined record"));
  if (internal::SamePerson(state, ctx.actor, it->second.requested_by)) {
    return FailedRule(rules::kQuarantineFourEyes,
                      base::StrCat(ctx.actor, " requested the acknowledgement of ", *place,
                                   ctx.actor == it->second.requested_by
                                       ? ""
                                       : base::StrCat(" (as ", it->second.requested_by, ")"),
                                   " and cannot also approve it"));
  }
  v1::Event event;
  auto* e = event.mutable_quarantined_record_acknowledged();
  e->set_programme_id(cmd.programme_id());
  e->set_record_topic(cmd.record().topic());
  e->set_record_partition(cmd.record().partition());
  e->set_record_offset(cmd.record().offset());
  e->set_reason(it->second.reason);
  e->set_requested_by(it->second.requested_by);
  return One(std::move(event));
}

}  // namespace kam::domain
