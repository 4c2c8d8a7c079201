// Every gRPC call a GrpcServer answers, measured and logged (server.h installs this on each):
//   kam_grpc_requests_total{method,code}        calls by full method name and status code
//                                               ("OK", "INVALID_ARGUMENT", ...)
//   kam_grpc_request_duration_seconds{method}   from the call's arrival to its status
// The call's ids - the x-correlation-id and x-request-id headers, else a command's
// metadata.correlation_id and metadata.client_request_id - are the log context
// (base/log.h) of the handler while it runs, as "correlation_id" and "request_id"; a call
// that ends INTERNAL, UNKNOWN or DATA_LOSS (a fault of the server, not of the caller) is
// logged at error level with them.
//
//   builder.experimental().SetInterceptorCreators(...MakeRpcTelemetry()...);
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string_view>

namespace kam::server {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcTelemetry();

// A method whose handler reads its bodies raw (grpc::ByteBuffer, not its message type), such
// as "/kam.v1.MetricsCommandService/StreamMetrics": its ids come from the headers only. Call
// before the server takes calls.
void MarkRawMethod(std::string_view path);

}  // namespace kam::server
