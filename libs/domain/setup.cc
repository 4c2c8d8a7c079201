// Steps 3 and 4 (set-up): the charter and its parameters, people, the champion and the
// selection criteria.
#include <algorithm>
#include <cctype>

#include "domain/checks.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace kam::domain {
namespace {

using internal::FailedRule;
using internal::One;

constexpr uint32_t kMaxCadenceDays = 3650;

// Fills zero fields of `p` from `base` and checks ranges.
absl::StatusOr<v1::ProgrammeParameters> MergeParameters(const v1::ProgrammeParameters& p,
                                                        const v1::ProgrammeParameters& base) {
  v1::ProgrammeParameters out = base;
  if (p.max_accounts_per_sponsor() != 0)
    out.set_max_accounts_per_sponsor(p.max_accounts_per_sponsor());
  if (p.sponsor_visit_cadence_days() != 0)
    out.set_sponsor_visit_cadence_days(p.sponsor_visit_cadence_days());
  if (p.sponsor_grace_days() != 0) out.set_sponsor_grace_days(p.sponsor_grace_days());
  if (p.min_tenure_days() != 0) out.set_min_tenure_days(p.min_tenure_days());
  if (p.review_cadence_days() != 0) out.set_review_cadence_days(p.review_cadence_days());
  if (p.benchmark_cadence_days() != 0) out.set_benchmark_cadence_days(p.benchmark_cadence_days());
  if (p.discount_rate() != 0) out.set_discount_rate(p.discount_rate());
  if (p.required_skills_size() != 0) *out.mutable_required_skills() = p.required_skills();

  auto invalid = [](std::string_view field, std::string_view problem) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kParametersValid,
                              base::StrCat("parameters.", field, " ", problem));
  };
  if (out.max_accounts_per_sponsor() > kKeyAccountCeiling) {
    return invalid("max_accounts_per_sponsor", "must be 1..100");
  }
  for (auto [name, v] : {std::pair<std::string_view, uint32_t>{"sponsor_visit_cadence_days",
                                                               out.sponsor_visit_cadence_days()},
                         {"sponsor_grace_days", out.sponsor_grace_days()},
                         {"min_tenure_days", out.min_tenure_days()},
                         {"review_cadence_days", out.review_cadence_days()},
                         {"benchmark_cadence_days", out.benchmark_cadence_days()}}) {
    if (v > kMaxCadenceDays) return invalid(name, "must be 1..3650 days");
  }
  if (!(out.discount_rate() >= 0 && out.discount_rate() < 1)) {
    return invalid("discount_rate", "must be in [0, 1)");
  }
  std::set<int> seen;
  for (int s : out.required_skills()) {
    if (s == v1::SKILL_UNSPECIFIED || !v1::Skill_IsValid(s)) {
      return invalid("required_skills", "must name known skills");
    }
    if (!seen.insert(s).second) return invalid("required_skills", "must not repeat a skill");
  }
  return out;
}

absl::Status CheckBounds(uint32_t min, uint32_t max) {
  if (min < 1 || min > max || max > kKeyAccountCeiling) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kPortfolioBounds,
                              base::StrCat("min_key_accounts and max_key_accounts must satisfy "
                                           "1 <= min <= max <= ",
                                           kKeyAccountCeiling, "; got ", min, "..", max));
  }
  return absl::OkStatus();
}

// The serialised value of one field of `m` (empty when unset).
std::string FieldBytes(const google::protobuf::Message& m,
                       const google::protobuf::FieldDescriptor* f) {
  std::unique_ptr<google::protobuf::Message> copy(m.New());
  copy->CopyFrom(m);
  std::unique_ptr<google::protobuf::Message> only(m.New());
  copy->GetReflection()->SwapFields(copy.get(), only.get(), {f});
  std::string out;
  only->SerializeToString(&out);
  return out;
}

std::vector<std::string> ChangedFields(const ProgrammeState& s, uint32_t min, uint32_t max,
                                       const v1::ProgrammeParameters& p) {
  std::vector<std::string> out;
  if (min != s.min_key_accounts) out.emplace_back("min_key_accounts");
  if (max != s.max_key_accounts) out.emplace_back("max_key_accounts");
  const auto* d = p.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (FieldBytes(s.parameters, d->field(i)) != FieldBytes(p, d->field(i))) {
      out.push_back("parameters." + d->field(i)->name());
    }
  }
  return out;
}

bool MentionsTenureOrRelationship(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* banned : {"tenure", "relationship", "years as customer", "loyalty"}) {
    if (text.find(banned) != std::string::npos) return true;
  }
  return false;
}

absl::Status CheckFunctions(const google::protobuf::RepeatedField<int>& functions) {
  for (int f : functions) {
    if (f == v1::PERSON_FUNCTION_UNSPECIFIED || !v1::PersonFunction_IsValid(f)) {
      return base::InvalidField("functions", base::StrCat("has an unknown function ", f));
    }
  }
  return absl::OkStatus();
}

// A person's principals: at most 4 others, well-formed, none repeated, none another
// person's.
absl::Status CheckPrincipals(const ProgrammeState& state, const std::string& person_id,
                             const std::string& principal,
                             const google::protobuf::RepeatedPtrField<std::string>& others) {
  if (others.size() > 4) return base::InvalidField("other_principals", "at most 4");
  std::set<std::string> principals;
  if (!principal.empty()) principals.insert(principal);
  for (int i = 0; i < others.size(); ++i) {
    const std::string field = base::StrCat("other_principals[", i, "]");
    KAM_RETURN_IF_ERROR(base::ValidateRequestId(field, others[i]));
    if (!principals.insert(others[i]).second) {
      return base::InvalidField(field, base::StrCat("repeats '", others[i], "'"));
    }
  }
  for (const std::string& p : principals) {
    if (auto other = state.PersonByPrincipal(p); other && *other != person_id) {
      return base::RuleViolated(
          absl::StatusCode::kAlreadyExists, rules::kPersonUnique,
          base::StrCat("principal '", p, "' already belongs to person '", *other, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::CharterProgrammeRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("name", cmd.name(), base::kMaxNameLength));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  uint32_t min = cmd.min_key_accounts();
  uint32_t max = cmd.max_key_accounts();
  if (min == 0 && max == 0) {
    min = kDefaultMinKeyAccounts;
    max = kDefaultMaxKeyAccounts;
  }
  KAM_RETURN_IF_ERROR(CheckBounds(min, max));
  auto parameters = MergeParameters(cmd.parameters(), DefaultParameters());
  if (!parameters.ok()) return parameters.status();
  absl::TimeZone zone;
  if (!cmd.time_zone().empty() &&
      (cmd.time_zone().size() > 64 || !absl::LoadTimeZone(cmd.time_zone(), &zone))) {
    return base::InvalidField(
        "time_zone", base::StrCat("'", cmd.time_zone().substr(0, 64),
                                  "' is not an IANA time zone (e.g. Europe/Stockholm, UTC)"));
  }
  if (state.chartered) {
    return base::RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kProgrammeUnique,
        base::StrCat("programme '", cmd.programme_id(), "' is already chartered"));
  }
  v1::Event event;
  auto* e = event.mutable_programme_chartered();
  e->set_programme_id(cmd.programme_id());
  e->set_name(cmd.name());
  e->set_min_key_accounts(min);
  e->set_max_key_accounts(max);
  e->set_rationale(cmd.rationale());
  *e->mutable_parameters() = *std::move(parameters);
  e->set_time_zone(cmd.time_zone().empty() ? "UTC" : cmd.time_zone());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::ChangeProgrammeParametersRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  const uint32_t min =
      cmd.min_key_accounts() != 0 ? cmd.min_key_accounts() : state.min_key_accounts;
  const uint32_t max =
      cmd.max_key_accounts() != 0 ? cmd.max_key_accounts() : state.max_key_accounts;
  KAM_RETURN_IF_ERROR(CheckBounds(min, max));
  auto parameters = MergeParameters(cmd.parameters(), state.parameters);
  if (!parameters.ok()) return parameters.status();
  KAM_RETURN_IF_ERROR(internal::RequireApprover(state, ctx.actor, "change programme parameters"));
  if (max < state.AdmittedCount()) {
    return FailedRule(
        rules::kParametersMaxBelowActive,
        base::StrCat("max_key_accounts ", max, " is below the ", state.AdmittedCount(),
                     " admitted key accounts; retire accounts first"));
  }
  for (const auto& [person_id, person] : state.people) {
    if (state.SponsorLoad(person_id) > parameters->max_accounts_per_sponsor()) {
      return FailedRule(
          rules::kParametersSponsorLoad,
          base::StrCat("sponsor '", person_id, "' holds ", state.SponsorLoad(person_id),
                       " accounts, more than the new maximum of ",
                       parameters->max_accounts_per_sponsor()));
    }
  }
  auto changed = ChangedFields(state, min, max, *parameters);
  if (changed.empty()) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kParametersValid,
                              "the request changes nothing");
  }
  v1::Event event;
  auto* e = event.mutable_programme_parameters_changed();
  e->set_programme_id(cmd.programme_id());
  e->set_min_key_accounts(min);
  e->set_max_key_accounts(max);
  *e->mutable_parameters() = *std::move(parameters);
  for (auto& f : changed) e->add_changed_fields(std::move(f));
  e->set_rationale(cmd.rationale());
  e->set_approved_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::RegisterPersonRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("person_id", cmd.person_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("name", cmd.name(), base::kMaxNameLength));
  if (!cmd.principal().empty()) {
    KAM_RETURN_IF_ERROR(base::ValidateRequestId("principal", cmd.principal()));
  }
  if (cmd.functions_size() == 0) return base::InvalidField("functions", "is required");
  KAM_RETURN_IF_ERROR(CheckFunctions(cmd.functions()));
  if (state.people.contains(cmd.person_id())) {
    return base::RuleViolated(absl::StatusCode::kAlreadyExists, rules::kPersonUnique,
                              base::StrCat("person '", cmd.person_id(), "' is already registered"));
  }
  if (!cmd.other_principals().empty() && cmd.principal().empty()) {
    return base::InvalidField("other_principals", "needs a principal first");
  }
  KAM_RETURN_IF_ERROR(
      CheckPrincipals(state, cmd.person_id(), cmd.principal(), cmd.other_principals()));
  v1::Event event;
  auto* e = event.mutable_person_registered();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_name(cmd.name());
  e->set_principal(cmd.principal());
  *e->mutable_functions() = cmd.functions();
  e->set_senior(cmd.senior());
  e->set_reports_to_top_management(cmd.reports_to_top_management());
  e->set_board_level(cmd.board_level());
  *e->mutable_other_principals() = cmd.other_principals();
  e->set_registered_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ErasePersonalDataRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  auto found = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!found.ok()) return found.status();
  const Person& person = **found;
  if (person.erased) {
    return FailedRule(rules::kErasureAlreadyErased,
                      base::StrCat("the personal data of '", cmd.person_id(),
                                   "' was erased already (", ErasedPersonName(person.number), ")"));
  }
  if (!person.ended) {
    return FailedRule(rules::kErasureMembershipActive,
                      base::StrCat("the membership of '", cmd.person_id(),
                                   "' has not ended: end it first (ChangeMembership end), so an "
                                   "erased person never acts or reads again"));
  }
  const auto approver = state.PersonByPrincipal(ctx.actor);
  v1::Event event;
  auto* e = event.mutable_personal_data_erased();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_person_number(person.number);
  e->set_reason(cmd.reason());
  e->set_approved_by(ctx.actor);
  if (approver) e->set_approved_by_person(*approver);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::ChangeMembershipRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  auto found = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!found.ok()) return found.status();
  const Person& person = **found;
  KAM_RETURN_IF_ERROR(CheckFunctions(cmd.functions()));
  if (!cmd.replace_other_principals() && !cmd.other_principals().empty()) {
    return base::InvalidField("other_principals", "needs replace_other_principals");
  }
  const auto change = [&](std::string_view problem) {
    return FailedRule(rules::kMembershipChange,
                      base::StrCat("membership of '", cmd.person_id(), "': ", problem));
  };
  if (person.ended) return change("it has ended");
  if (person.Authenticates(ctx.actor)) {
    return change("a person's own membership is changed by someone else");
  }
  if (!cmd.principal().empty()) {
    KAM_RETURN_IF_ERROR(base::ValidateRequestId("principal", cmd.principal()));
    if (cmd.principal() == person.principal) {
      return base::InvalidField("principal", "is the person's principal already");
    }
  }
  const std::string& principal = cmd.principal().empty() ? person.principal : cmd.principal();
  if (cmd.replace_other_principals() && !cmd.other_principals().empty() && principal.empty()) {
    return base::InvalidField("other_principals", "needs a principal first");
  }
  if (cmd.replace_other_principals() || !cmd.principal().empty()) {
    // The person's principals after the change, none of them anyone else's.
    google::protobuf::RepeatedPtrField<std::string> others;
    if (cmd.replace_other_principals()) {
      others = cmd.other_principals();
    } else {
      others.Add(person.other_principals.begin(), person.other_principals.end());
    }
    KAM_RETURN_IF_ERROR(CheckPrincipals(state, cmd.person_id(), principal, others));
  }
  if (cmd.end()) {
    if (state.champions.contains(cmd.person_id())) {
      return change("a champion stands down before their membership ends");
    }
    for (const auto& [id, a] : state.accounts) {
      if (a.active() && (a.sponsor == cmd.person_id() || a.manager == cmd.person_id())) {
        return change(
            base::StrCat("they are sponsor or manager of account '", id, "'; release them first"));
      }
    }
  } else if (cmd.functions().empty() && !cmd.replace_other_principals() &&
             cmd.principal().empty()) {
    return base::InvalidField("functions",
                              "the request changes nothing: give functions, a principal, "
                              "replace_other_principals or end");
  }
  v1::Event event;
  auto* e = event.mutable_membership_changed();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  if (!cmd.functions().empty()) {
    *e->mutable_functions() = cmd.functions();
  } else {
    for (v1::PersonFunction f : person.functions) e->add_functions(f);
  }
  if (cmd.replace_other_principals()) {
    *e->mutable_other_principals() = cmd.other_principals();
  } else {
    for (const auto& o : person.other_principals) e->add_other_principals(o);
  }
  e->set_principal(principal);
  e->set_ended(cmd.end());
  e->set_reason(cmd.reason());
  e->set_approved_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::AppointChampionRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  auto person = internal::FindPerson(state, "person_id", cmd.person_id());
  if (!person.ok()) return person.status();
  if (state.champions.contains(cmd.person_id())) {
    return FailedRule(rules::kChampionAlreadyActive,
                      base::StrCat("'", cmd.person_id(), "' is already an active champion"));
  }
  if (!(*person)->senior || !(*person)->reports_to_top_management) {
    return FailedRule(rules::kChampionSenior,
                      base::StrCat("'", cmd.person_id(),
                                   "' must be senior with a reporting line to top management"));
  }
  v1::Event event;
  auto* e = event.mutable_champion_appointed();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_rationale(cmd.rationale());
  e->set_appointed_by(ctx.actor);
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::StandDownChampionRequest& cmd,
                              const CommandContext& /*ctx*/) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("person_id", cmd.person_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("reason", cmd.reason(), base::kMaxTextLength));
  if (!state.champions.contains(cmd.person_id())) {
    return FailedRule(rules::kChampionMustBeActive,
                      base::StrCat("'", cmd.person_id(), "' is not an active champion"));
  }
  v1::Event event;
  auto* e = event.mutable_champion_stood_down();
  e->set_programme_id(cmd.programme_id());
  e->set_person_id(cmd.person_id());
  e->set_reason(cmd.reason());
  return One(std::move(event));
}

absl::StatusOr<Events> Decide(const ProgrammeState& state,
                              const v1::PublishSelectionCriteriaRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(internal::RequireProgramme(state, cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  auto invalid = [](std::string_view problem) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kCriteriaValid, problem);
  };
  if (cmd.criteria_size() == 0) return invalid("criteria: at least one criterion is required");
  if (cmd.criteria_size() > 50) return invalid("criteria: at most 50 criteria");
  std::set<std::string> ids;
  uint32_t total = 0;
  for (int i = 0; i < cmd.criteria_size(); ++i) {
    const auto& c = cmd.criteria(i);
    const std::string field = base::StrCat("criteria[", i, "]");
    KAM_RETURN_IF_ERROR(base::ValidateId(field + ".criterion_id", c.criterion_id()));
    KAM_RETURN_IF_ERROR(base::ValidateText(field + ".name", c.name(), base::kMaxNameLength));
    if (!ids.insert(c.criterion_id()).second) {
      return invalid(base::StrCat(field, ".criterion_id '", c.criterion_id(), "' is repeated"));
    }
    if (c.weight_percent() == 0 || c.weight_percent() > 100) {
      return invalid(base::StrCat(field, ".weight_percent must be 1..100"));
    }
    if (c.scale_min() >= c.scale_max()) {
      return invalid(base::StrCat(field, ": scale_min must be below scale_max"));
    }
    if (MentionsTenureOrRelationship(c.criterion_id() + " " + c.name())) {
      return base::RuleViolated(
          absl::StatusCode::kInvalidArgument, rules::kCriteriaNoTenure,
          base::StrCat(field, " '", c.name(),
                       "': tenure or a personal relationship is not a selection criterion"));
    }
    total += c.weight_percent();
  }
  if (total != 100) {
    return base::RuleViolated(absl::StatusCode::kInvalidArgument, rules::kCriteriaWeights,
                              base::StrCat("criteria weights add up to ", total, ", not 100"));
  }
  if (!(cmd.threshold() > 0 && cmd.threshold() <= 100)) {
    return invalid("threshold must be in (0, 100]");
  }
  KAM_RETURN_IF_ERROR(internal::RequireApprover(state, ctx.actor, "publish selection criteria"));
  v1::Event event;
  auto* e = event.mutable_selection_criteria_published();
  e->set_programme_id(cmd.programme_id());
  e->set_criteria_version(state.criteria ? state.criteria->version + 1 : 1);
  *e->mutable_criteria() = cmd.criteria();
  e->set_threshold(cmd.threshold());
  e->set_rationale(cmd.rationale());
  e->set_published_by(ctx.actor);
  return One(std::move(event));
}

}  // namespace kam::domain
