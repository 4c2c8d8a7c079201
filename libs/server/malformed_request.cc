#include "server/malformed_request.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/interceptor.h>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace kam::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// protobuf's first error line on this thread since the last Take(): the parser logs why a
// string field is refused (and returns only false).
thread_local std::string parse_complaint;
google::protobuf::LogHandler* previous_handler = nullptr;

void CatchParseComplaint(google::protobuf::LogLevel level, const char* filename, int line,
                         const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_ERROR && parse_complaint.empty()) {
    parse_complaint = message;
  }
  if (previous_handler != nullptr) previous_handler(level, filename, line, message);
}

std::string TakeComplaint() { return std::exchange(parse_complaint, {}); }

// "/kam.v1.ProgrammeCommandService/NominateAccount" -> "kam.v1.NominateAccountRequest", or
// "" for a method protobuf does not know.
std::string InputTypeOf(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string name(path);
  const std::size_t slash = name.rfind('/');
  if (slash == std::string::npos) return "";
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return method != nullptr ? method->input_type()->full_name() : "";
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

class MalformedRequestRefusal final : public grpc::experimental::Interceptor {
 public:
  // Created on the thread that then parses the request, before it does.
  explicit MalformedRequestRefusal(const char* method) : method_(method) { TakeComplaint(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      malformed_ = true;
      complaint_ = Trimmed(TakeComplaint());
    }
    if (malformed_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status sent = methods->GetSendStatus();
      // Anything else (RESOURCE_EXHAUSTED when the server has no thread for the call, a
      // cancellation) is not about the body.
      if (sent.error_code() == grpc::StatusCode::INTERNAL) {
        methods->ModifySendStatus(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, Explain(sent.error_message())));
      }
    }
    methods->Proceed();
  }

 private:
  std::string Explain(const std::string& grpc_says) const {
    const std::string type = InputTypeOf(method_);
    const std::string why = !complaint_.empty()  ? complaint_
                            : !grpc_says.empty() ? grpc_says
                                                 : "its bytes do not parse as that message";
    if (type.empty()) return base::StrCat("the request to ", method_, " is not valid: ", why);
    return base::StrCat("the request is not a valid ", type, ": ", why);
  }

  const char* const method_;  // the registered method's name: lives as long as the server
  bool malformed_ = false;
  std::string complaint_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    const ServerRpcInfo::Type type = info->type();
    if (type != ServerRpcInfo::Type::UNARY && type != ServerRpcInfo::Type::SERVER_STREAMING) {
      return nullptr;  // see the header: a streamed body that does not parse ends the reads
    }
    return new MalformedRequestRefusal(info->method() != nullptr ? info->method() : "");
  }
};

}  // namespace

absl::Status ParseBody(const grpc::ByteBuffer& body, google::protobuf::Message& into) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (body.Valid() && body.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  TakeComplaint();
  if (into.ParseFromString(bytes)) return absl::OkStatus();
  const std::string complaint = Trimmed(TakeComplaint());
  return absl::InvalidArgumentError(
      base::StrCat("the request is not a valid ", into.GetDescriptor()->full_name(), ": ",
                   complaint.empty() ? "its bytes do not parse as that message" : complaint));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMalformedRequestRefusal() {
  // protobuf's handler may be set only while no thread logs through it: the first server's
  // start, before any of its calls.
  static std::once_flag once;
  std::call_once(once,
                 [] { previous_handler = google::protobuf::SetLogHandler(&CatchParseComplaint); });
  return std::make_unique<Factory>();
}

}  // namespace kam::server
