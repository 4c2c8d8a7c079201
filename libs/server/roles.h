// The roles a principal may hold, defined once: the tokens file, every service's role
// sets and the tests name them through these constants.
//
//   if (who.Has(kam::server::roles::kChampion)) ...
//   auth.Authorize(ctx, kam::server::roles::Readers(), "read history");
#pragma once

#include <set>
#include <string>

namespace kam::server::roles {

inline const std::string kAdmin = "admin";          // operates the platform
inline const std::string kBoard = "board";          // governance board: reads, never commands
inline const std::string kChampion = "champion";    // the programme's champion
inline const std::string kSponsor = "sponsor";      // an executive sponsor (or steering board)
inline const std::string kKam = "kam";              // a key account manager
inline const std::string kPublisher = "publisher";  // an enterprise system (CRM, ERP, LMS)
// Opens personal data outside a programme's membership: LookupPersonalDataKeys (a data
// warehouse that consumes the topics), and plaintext in the change stream and the history
// of programmes the holder reads without being a member (the platform admin does not see
// personal data without it).
inline const std::string kPersonalData = "personal-data";

// Every role a token may carry.
const std::set<std::string>& All();
// The roles that may read the read side's queries (every role).
const std::set<std::string>& Readers();

}  // namespace kam::server::roles
