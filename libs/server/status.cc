#include "server/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "base/errors.h"

namespace kam::server {
namespace {

constexpr char kDetailType[] = "type.googleapis.com/kam.v1.ErrorDetail";

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  v1::ErrorDetail detail;
  detail.set_rule(base::RuleOf(status));
  detail.set_field(base::FieldOf(status));
  detail.set_reason(base::ReasonOf(status));
  detail.set_owner(base::OwnerOf(status));
  if (detail.rule().empty() && detail.field().empty() && detail.reason().empty()) {
    return grpc::Status(code, message);
  }
  v1::RpcStatus rpc;
  rpc.set_code(static_cast<int32_t>(code));
  rpc.set_message(message);
  auto* any = rpc.add_details();
  any->set_type_url(kDetailType);
  any->set_value(detail.SerializeAsString());
  return grpc::Status(code, message, rpc.SerializeAsString());
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  const v1::ErrorDetail detail = DetailOf(status);
  if (!detail.rule().empty())
    out.SetPayload(absl::string_view(base::kRulePayload.data(), base::kRulePayload.size()),
                   absl::Cord(detail.rule()));
  if (!detail.field().empty())
    out.SetPayload(absl::string_view(base::kFieldPayload.data(), base::kFieldPayload.size()),
                   absl::Cord(detail.field()));
  if (!detail.reason().empty()) out = base::WithReason(std::move(out), detail.reason());
  if (!detail.owner().empty()) out = base::WithOwner(std::move(out), detail.owner());
  return out;
}

v1::ErrorDetail DetailOf(const grpc::Status& status) {
  v1::ErrorDetail out;
  v1::RpcStatus rpc;
  if (status.error_details().empty() || !rpc.ParseFromString(status.error_details())) return out;
  for (const auto& any : rpc.details()) {
    if (any.type_url() == kDetailType && out.ParseFromString(any.value())) break;
  }
  return out;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

}  // namespace kam::server
