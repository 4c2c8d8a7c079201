// absl::Status <-> grpc::Status, one code to one code, message unchanged.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace kam::server {

grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace kam::server
