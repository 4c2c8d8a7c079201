// absl::Status <-> grpc::Status, one code to one code, message unchanged; the rule or
// field an error names (base/errors.h) travels as a kam.v1.ErrorDetail in the status
// details, so clients read it as data.
//
//   return kam::server::ToGrpc(status);                      // in a handler
//   kam::v1::ErrorDetail d = kam::server::DetailOf(grpc_status);   // in a client
//   if (d.rule() == "admission.four_eyes") ...
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "kam/v1/errors.pb.h"

namespace kam::server {

grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

// The rule and field a failed call names; empty fields when it names none.
v1::ErrorDetail DetailOf(const grpc::Status& status);

// The canonical name of a gRPC code ("INVALID_ARGUMENT").
const char* CodeName(grpc::StatusCode code);

}  // namespace kam::server
