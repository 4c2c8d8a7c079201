// The programme aggregate: one KAM programme and its portfolio of accounts.
//
// Every hard rule about the portfolio (bounds, unique nominations, and later the
// admission rules) is checked here, by the programme's single writer.
//
//   kam::domain::ProgrammeState state;
//   for (const auto& e : history) kam::domain::Evolve(state, e);
//   absl::StatusOr<kam::domain::Events> out = kam::domain::Decide(state, request, context);
//
// Decide and Evolve are pure: no I/O, no clock (the caller passes the time in the
// envelope), no randomness. Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kam/v1/events.pb.h"
#include "kam/v1/programme_service.pb.h"

namespace kam::domain {

inline constexpr std::string_view kProgrammeAggregateType = "programme";
inline constexpr uint32_t kDefaultMinKeyAccounts = 5;
inline constexpr uint32_t kDefaultMaxKeyAccounts = 25;
inline constexpr uint32_t kKeyAccountCeiling = 100;

using Events = std::vector<v1::Event>;

enum class AccountStage { kNominated };

struct AccountState {
  std::string name;
  std::string nominated_by;
  AccountStage stage = AccountStage::kNominated;
};

struct ProgrammeState {
  bool chartered = false;
  std::string programme_id;
  std::string name;
  uint32_t min_key_accounts = 0;
  uint32_t max_key_accounts = 0;
  std::map<std::string, AccountState> accounts;  // by account id
};

// Who asks. `actor` is the authenticated principal, never a field the caller fills in.
struct CommandContext {
  std::string actor;
};

absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::CharterProgrammeRequest& cmd,
                              const CommandContext& ctx);
absl::StatusOr<Events> Decide(const ProgrammeState& state, const v1::NominateAccountRequest& cmd,
                              const CommandContext& ctx);

// Folds one event of this programme into the state. Events of other kinds are ignored.
void Evolve(ProgrammeState& state, const v1::Event& event);

}  // namespace kam::domain
