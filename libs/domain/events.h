// Facts about events that every layer needs, derived from the contract alone.
//
//   kam::domain::EventName(e)  -> "AccountNominated"
//   kam::domain::AccountOf(e)  -> "acme" for an event about account "acme"
//   kam::domain::PersonOf(e)   -> "p-1" for an event about person "p-1"
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kam/v1/events.pb.h"

namespace kam::domain {

// The event's type name as in the contract; "Unknown" for an empty Event.
std::string_view EventName(const v1::Event& event);

// The account an event is about, if it is about one (its `account_id` field).
std::optional<std::string> AccountOf(const v1::Event& event);

// The person an event is about, if any (its `person_id` or `owner_person_id` field).
std::optional<std::string> PersonOf(const v1::Event& event);

}  // namespace kam::domain
