// Golden-string rendering for rule tests: a decision reads like the behaviour.
//   Render(events) == "AccountNominated{programme_id: \"p1\" account_id: \"acme\" ...}"
//   Render(status) == "ALREADY_EXISTS: rule nomination.unique: ..."
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "domain/events.h"
#include "domain/programme.h"

namespace kam::testing {

inline std::string Render(const v1::Event& e) {
  const google::protobuf::Message* inner = nullptr;
  const auto* oneof = e.GetDescriptor()->FindOneofByName("kind");
  if (const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof)) {
    inner = &e.GetReflection()->GetMessage(e, field);
  }
  std::string out(domain::EventName(e));
  out += "{";
  if (inner != nullptr) out += inner->ShortDebugString();
  out += "}";
  return out;
}

inline std::string Render(const absl::Status& s) {
  return std::string(absl::StatusCodeToString(s.code())) + ": " + std::string(s.message());
}

inline std::string Render(const absl::StatusOr<domain::Events>& r) {
  if (!r.ok()) return Render(r.status());
  std::string out;
  for (const auto& e : *r) {
    if (!out.empty()) out += '\n';
    out += Render(e);
  }
  return out;
}

}  // namespace kam::testing
