// The programme's rules by name. A rejection's message starts with "rule <name>:",
// so a rule found in an error message is one search away from its code.
#pragma once

#include <string_view>

namespace kam::domain::rules {

// A command on a programme needs the programme to be chartered first.
inline constexpr std::string_view kProgrammeMustExist = "programme.must_exist";
// A programme id is chartered once.
inline constexpr std::string_view kProgrammeUnique = "programme.unique";
// Bounds on active key accounts: 1 <= min <= max <= 100 (default 5..25).
inline constexpr std::string_view kPortfolioBounds = "portfolio.bounds";
// An account is nominated at most once while its nomination or membership is open.
inline constexpr std::string_view kNominationUnique = "nomination.unique";

}  // namespace kam::domain::rules
