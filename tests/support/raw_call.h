// One unary call whose request body is given as bytes, through gRPC's generic stub: what
// the typed stubs cannot send (an empty body, a body that does not parse, a request built
// from a descriptor), as a client would.
//
//   grpc::Status s = kam::testing::CallRaw(channel,
//   "/kam.v1.ProgrammeCommandService/NominateAccount",
//                                          "tok-kim-kam", bytes);
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kam::testing {

// `token` (if not empty) goes as "authorization: Bearer <token>"; the reply's bytes land in
// `response_bytes` when the call succeeds and it is given.
inline grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& method, const std::string& token,
                            const std::string& body, std::string* response_bytes = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::Slice slice(body);
  grpc::ByteBuffer response;
  auto call = stub.PrepareUnaryCall(&ctx, method, grpc::ByteBuffer(&slice, 1), &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (response_bytes != nullptr && status.ok()) {
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    response_bytes->clear();
    for (const auto& s : slices) {
      response_bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return status;
}

}  // namespace kam::testing
