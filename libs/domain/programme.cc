#include "domain/programme.h"

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "domain/rules.h"

namespace kam::domain {
namespace {

using base::InvalidField;
using base::RuleViolated;

absl::Status RequireChartered(const ProgrammeState& state, std::string_view programme_id) {
  if (!state.chartered) {
    // The programme id names nothing: a field error, not a broken rule of an existing programme.
    return InvalidField("programme_id",
                        base::StrCat("programme '", programme_id, "' is not chartered (rule ",
                                     rules::kProgrammeMustExist, ")"));
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
  if (min < 1 || min > max || max > kKeyAccountCeiling) {
    return RuleViolated(absl::StatusCode::kInvalidArgument, rules::kPortfolioBounds,
                        base::StrCat("min_key_accounts and max_key_accounts must satisfy 1 <= min "
                                     "<= max <= ",
                                     kKeyAccountCeiling, "; got ", min, "..", max));
  }
  if (state.chartered) {
    return RuleViolated(absl::StatusCode::kAlreadyExists, rules::kProgrammeUnique,
                        base::StrCat("programme '", cmd.programme_id(), "' is already chartered"));
  }
  v1::Event event;
  auto* e = event.mutable_programme_chartered();
  e->set_programme_id(cmd.programme_id());
  e->set_name(cmd.name());
  e->set_min_key_accounts(min);
  e->set_max_key_accounts(max);
  e->set_rationale(cmd.rationale());
  return Events{std::move(event)};
}

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::NominateAccountRequest& cmd,
                              const CommandContext& ctx) {
  KAM_RETURN_IF_ERROR(base::ValidateId("programme_id", cmd.programme_id()));
  KAM_RETURN_IF_ERROR(base::ValidateId("account_id", cmd.account_id()));
  KAM_RETURN_IF_ERROR(base::ValidateText("account_name", cmd.account_name(), base::kMaxNameLength));
  KAM_RETURN_IF_ERROR(base::ValidateText("rationale", cmd.rationale(), base::kMaxTextLength));
  KAM_RETURN_IF_ERROR(RequireChartered(state, cmd.programme_id()));
  if (auto it = state.accounts.find(cmd.account_id()); it != state.accounts.end()) {
    return RuleViolated(
        absl::StatusCode::kAlreadyExists, rules::kNominationUnique,
        base::StrCat("account '", cmd.account_id(), "' is already nominated in programme '",
                     cmd.programme_id(), "' (by ", it->second.nominated_by, ")"));
  }
  v1::Event event;
  auto* e = event.mutable_account_nominated();
  e->set_programme_id(cmd.programme_id());
  e->set_account_id(cmd.account_id());
  e->set_account_name(cmd.account_name());
  e->set_rationale(cmd.rationale());
  e->set_nominated_by(ctx.actor);
  return Events{std::move(event)};
}

void Evolve(ProgrammeState& state, const v1::Event& event) {
  switch (event.kind_case()) {
    case v1::Event::kProgrammeChartered: {
      const auto& e = event.programme_chartered();
      state.chartered = true;
      state.programme_id = e.programme_id();
      state.name = e.name();
      state.min_key_accounts = e.min_key_accounts();
      state.max_key_accounts = e.max_key_accounts();
      break;
    }
    case v1::Event::kAccountNominated: {
      const auto& e = event.account_nominated();
      state.accounts[e.account_id()] =
          AccountState{e.account_name(), e.nominated_by(), AccountStage::kNominated};
      break;
    }
    case v1::Event::KIND_NOT_SET:
      break;
  }
}

}  // namespace kam::domain
