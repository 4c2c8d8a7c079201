#include "domain/events.h"

namespace kam::domain {

std::string_view EventName(const v1::Event& event) {
  switch (event.kind_case()) {
    case v1::Event::kProgrammeChartered:
      return "ProgrammeChartered";
    case v1::Event::kAccountNominated:
      return "AccountNominated";
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return "Unknown";
}

std::optional<std::string> AccountOf(const v1::Event& event) {
  switch (event.kind_case()) {
    case v1::Event::kAccountNominated:
      return event.account_nominated().account_id();
    case v1::Event::kProgrammeChartered:
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

}  // namespace kam::domain
