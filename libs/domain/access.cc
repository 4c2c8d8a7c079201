// Who may act in a programme, and when (rules membership.*, platform.*, time.*): the checks
// every programme command passes before its own Decide.
#include "domain/checks.h"

namespace kam::domain {
namespace {

using Code = absl::StatusCode;

// What a command needs of its actor.
enum class Access {
  kPlatform,  // the platform admin role; no membership (the programme may not exist yet)
  kGrant,     // an approver of the programme; the platform admin until its first champion
  kApprover,  // an active champion or a steering-board member of the programme
  kRecorder,  // a commanding member, or a member with the publisher function (an LMS, a CRM)
  kMember,    // a commanding member: a function other than board observer or publisher
  kRegister,  // as kGrant, or a publisher registering a person who cannot sign in (HR)
};

Access AccessOf(std::string_view command) {
  if (command == "CharterProgrammeRequest" || command == "RequestQuarantineAcknowledgementRequest")
    return Access::kPlatform;
  if (command == "RegisterPersonRequest") return Access::kRegister;
  if (command == "AppointChampionRequest") return Access::kGrant;
  if (command == "StandDownChampionRequest" || command == "ChangeMembershipRequest" ||
      command == "ErasePersonalDataRequest")
    return Access::kApprover;
  if (command == "RecordManagerTrainingRequest" || command == "RecordStaffTrainingRequest" ||
      command == "LogSponsorVisitRequest" || command == "FulfilCommitmentRequest" ||
      command == "BreachCommitmentRequest")
    return Access::kRecorder;
  return Access::kMember;
}

bool IsApprover(const ProgrammeState& state, const std::string& person_id) {
  return state.champions.contains(person_id) ||
         state.people.at(person_id).Has(v1::PERSON_FUNCTION_STEERING_BOARD);
}

absl::Status CheckAccess(const ProgrammeState& state, Access access, std::string_view command,
                         bool gives_principal, const CommandContext& ctx) {
  const std::string_view what =
      command.substr(0, command.size() - std::string_view("Request").size());
  if (access == Access::kPlatform) {
    if (ctx.platform_admin) return absl::OkStatus();
    return base::RuleViolated(
        Code::kPermissionDenied, rules::kPlatformAdminOnly,
        base::StrCat(ctx.actor, " may not ", what, ": only a platform admin does"));
  }
  const auto person = state.PersonByPrincipal(ctx.actor);
  const bool grants = access == Access::kGrant || access == Access::kRegister;
  if (grants && ctx.platform_admin && !state.had_champion &&
      (!person || !IsApprover(state, *person))) {
    return absl::OkStatus();  // setting up a programme before its first champion
  }
  if (!person) {
    return base::RuleViolated(
        Code::kPermissionDenied, rules::kMembershipRequired,
        base::StrCat(ctx.actor, " may not ", what, " in programme '", state.programme_id,
                     "': it is not the principal of a registered person of that programme",
                     ctx.platform_admin && grants
                         ? " (a platform admin registers people only until the programme's "
                           "first champion is appointed)"
                         : ""));
  }
  const Person& p = state.people.at(*person);
  switch (access) {
    case Access::kRegister:
      if (IsApprover(state, *person)) return absl::OkStatus();
      if (!p.Has(v1::PERSON_FUNCTION_PUBLISHER)) break;
      if (!gives_principal) return absl::OkStatus();
      return base::RuleViolated(
          Code::kPermissionDenied, rules::kMembershipPublisherGivesNoPrincipal,
          base::StrCat("person '", *person, "' (", ctx.actor, ") is a publisher of programme '",
                       state.programme_id,
                       "': it registers people without a principal or other principals; an "
                       "active champion or a steering-board member gives them one "
                       "(ChangeMembership principal)"));
    case Access::kGrant:
    case Access::kApprover:
      if (IsApprover(state, *person)) return absl::OkStatus();
      return base::RuleViolated(
          Code::kPermissionDenied, rules::kMembershipGrantedByApprover,
          base::StrCat("person '", *person, "' (", ctx.actor, ") may not ", what,
                       ": only an active champion or a steering-board member of programme '",
                       state.programme_id, "' does"));
    case Access::kRecorder:
      if (p.Commands() || p.Has(v1::PERSON_FUNCTION_PUBLISHER)) return absl::OkStatus();
      break;
    case Access::kMember:
      if (p.Commands()) return absl::OkStatus();
      break;
    case Access::kPlatform:
      break;
  }
  if (access == Access::kRegister && p.Commands()) {
    return base::RuleViolated(
        Code::kPermissionDenied, rules::kMembershipGrantedByApprover,
        base::StrCat("person '", *person, "' (", ctx.actor, ") may not ", what,
                     ": only an active champion or a steering-board member of programme '",
                     state.programme_id, "' does"));
  }
  return base::RuleViolated(
      Code::kPermissionDenied, rules::kMembershipObserversReadOnly,
      base::StrCat("person '", *person, "' (", ctx.actor, ") is a ",
                   p.Has(v1::PERSON_FUNCTION_PUBLISHER) ? "publisher" : "board observer",
                   " of programme '", state.programme_id, "' and may not ", what));
}

std::string Timestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Status CheckBusinessTime(const ProgrammeState& state, const v1::CommandMetadata& metadata,
                               const CommandContext& ctx) {
  if (!state.chartered) return absl::OkStatus();  // a charter may be dated in the past
  KAM_RETURN_IF_ERROR(
      internal::OptionalText("metadata.late_reason", metadata.late_reason(), base::kMaxTextLength));
  if (ctx.now < state.chartered_at) {
    return base::RuleViolated(
        Code::kInvalidArgument, rules::kTimeNotBeforeCharter,
        base::StrCat("metadata.occurred_at ", Timestamp(ctx.now), " is before programme '",
                     state.programme_id, "' was chartered (", Timestamp(state.chartered_at), ")"));
  }
  if (ctx.now < state.business_time && metadata.late_reason().empty()) {
    return base::RuleViolated(
        Code::kInvalidArgument, rules::kTimeInOrder,
        base::StrCat("metadata.occurred_at ", Timestamp(ctx.now),
                     " is before the programme's business time ", Timestamp(state.business_time),
                     ": a fact that reaches the platform late is entered with "
                     "metadata.late_reason, and takes effect now"));
  }
  if (!metadata.late_reason().empty() && ctx.now >= state.business_time) {
    return base::InvalidField("metadata.late_reason",
                              "is only for a fact whose occurred_at precedes the programme's "
                              "business time; this one does not");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Admissible(const ProgrammeState& state, std::string_view command,
                        const v1::CommandMetadata& metadata, const CommandContext& ctx,
                        bool gives_principal) {
  const Access access = AccessOf(command);
  // Of a programme not chartered yet, Decide answers that it does not exist; only the
  // charter is decided.
  if (!state.chartered && access != Access::kPlatform) return absl::OkStatus();
  KAM_RETURN_IF_ERROR(CheckAccess(state, access, command, gives_principal, ctx));
  return CheckBusinessTime(state, metadata, ctx);
}

absl::Status MayRecord(const ProgrammeState& state, std::string_view field,
                       std::string_view programme_id, std::string_view command,
                       const CommandContext& ctx) {
  if (!state.chartered) {
    return base::InvalidField(field,
                              base::StrCat("programme '", programme_id, "' is not chartered (rule ",
                                           rules::kProgrammeMustExist, ")"));
  }
  return CheckAccess(state, Access::kRecorder, command, false, ctx);
}

}  // namespace kam::domain
