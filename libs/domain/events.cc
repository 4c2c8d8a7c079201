#include "domain/events.h"

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace kam::domain {
namespace {

// The message inside the Event's oneof, or nullptr.
const google::protobuf::Message* Inner(const v1::Event& event) {
  const auto* oneof = event.GetDescriptor()->FindOneofByName("kind");
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? nullptr : &event.GetReflection()->GetMessage(event, field);
}

std::optional<std::string> StringField(const v1::Event& event, const char* name) {
  const google::protobuf::Message* inner = Inner(event);
  if (inner == nullptr) return std::nullopt;
  const auto* f = inner->GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return std::nullopt;
  }
  std::string value = inner->GetReflection()->GetString(*inner, f);
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string_view EventName(const v1::Event& event) {
  const google::protobuf::Message* inner = Inner(event);
  return inner == nullptr ? std::string_view("Unknown")
                          : std::string_view(inner->GetDescriptor()->name());
}

std::optional<std::string> AccountOf(const v1::Event& event) {
  return StringField(event, "account_id");
}

std::optional<std::string> PersonOf(const v1::Event& event) {
  if (auto p = StringField(event, "person_id")) return p;
  return StringField(event, "owner_person_id");
}

}  // namespace kam::domain
