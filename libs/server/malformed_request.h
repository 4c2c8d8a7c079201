// A request body that does not parse as its RPC's message is the caller's fault: this
// interceptor (server.h installs it on every GrpcServer, ahead of rpc_telemetry.h) answers
// it INVALID_ARGUMENT, naming the message type and, where protobuf says why, the reason:
//
//   INVALID_ARGUMENT "the request is not a valid kam.v1.NominateAccountRequest: String field
//   'kam.v1.NominateAccountRequest.account_id' contains invalid UTF-8 data ..."
//
// instead of the synchronous gRPC server's INTERNAL with an empty message.
//
// Contract and limits:
// - Unary and server-streaming methods only. Their single request is parsed before the
//   handler runs, and a failed parse leaves the interceptors a null message and sends
//   gRPC's own INTERNAL: only that status is rewritten, so a handler's INTERNAL (which runs
//   only on a parsed request) is never touched.
// - Client-streaming and bidirectional methods are left alone: there the handler's Read()
//   returns false on a body that does not parse, exactly as on the client's half-close, and
//   the handler's own status is sent. gRPC's synchronous API gives no way to tell the two,
//   so such a handler reads raw bodies (grpc::ByteBuffer) and parses each with ParseBody,
//   which answers with the same message (StreamMetrics does).
// - The reason comes from protobuf's error log of the parse (invalid UTF-8 in a string
//   field), caught on the parsing thread by a log handler installed once; protobuf's lines
//   still reach the previous handler. Garbage bytes log nothing: the message then says
//   only that the body does not parse.
//
//   interceptors.push_back(MakeMalformedRequestRefusal());  // before MakeRpcTelemetry()
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/status/status.h"

namespace kam::server {

// Parses one streamed request body into `into`: OK, or INVALID_ARGUMENT "the request is not a
// valid <type>: <why>" as the interceptor says it. Call it on the thread that read the body.
absl::Status ParseBody(const grpc::ByteBuffer& body, google::protobuf::Message& into);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMalformedRequestRefusal();

}  // namespace kam::server
