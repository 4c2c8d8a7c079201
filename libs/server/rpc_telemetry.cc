#include "server/rpc_telemetry.h"

#include <google/protobuf/message.h>
#include <grpcpp/support/interceptor.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "base/log.h"
#include "base/metrics.h"
#include "kam/v1/commands.pb.h"
#include "server/status.h"

namespace kam::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using Clock = std::chrono::steady_clock;

constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED

base::MetricFamily<base::Counter>& Requests() {
  static auto& family = base::Metrics().Counters("kam_grpc_requests_total",
                                                 "gRPC calls answered, by method and status code",
                                                 {"method", "code"});
  return family;
}

base::MetricFamily<base::Histogram>& Durations() {
  static auto& family = base::Metrics().Histograms("kam_grpc_request_duration_seconds",
                                                   "gRPC calls from arrival to status, by method",
                                                   {"method"}, base::LatencyBuckets());
  return family;
}

// MarkRawMethod's methods.
std::mutex raw_mu;
std::set<std::string, std::less<>>& RawMethods() {
  static auto* raw = new std::set<std::string, std::less<>>;
  return *raw;
}
bool IsRaw(std::string_view method) {
  std::lock_guard<std::mutex> lock(raw_mu);
  return RawMethods().contains(method);
}

// One method's children, looked up once per method (and per code on its first use).
struct MethodMetrics {
  explicit MethodMetrics(std::string method)
      : name(std::move(method)),
        is_ours(name.rfind("/kam.", 0) == 0 && !IsRaw(name)),
        duration(Durations().With({name})) {}

  base::Counter& Calls(grpc::StatusCode code) {
    const int i = static_cast<int>(code);
    if (i < 0 || i >= kCodes) return Requests().With({name, std::to_string(i)});
    base::Counter* c = by_code[static_cast<std::size_t>(i)].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &Requests().With({name, CodeName(code)});
      by_code[static_cast<std::size_t>(i)].store(c, std::memory_order_release);
    }
    return *c;
  }

  // The request's CommandMetadata field, if its message type has one (found once).
  const google::protobuf::FieldDescriptor* MetadataField(const google::protobuf::Message& m) {
    std::call_once(metadata_once, [&] {
      const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName("metadata");
      if (f != nullptr && !f->is_repeated() &&
          f->message_type() == v1::CommandMetadata::descriptor()) {
        metadata_field = f;
      }
    });
    return metadata_field;
  }

  const std::string name;
  // A method of this platform's services: its messages are generated protobuf messages
  // (the health and reflection services' need not be).
  const bool is_ours;
  base::Histogram& duration;
  std::array<std::atomic<base::Counter*>, kCodes> by_code{};
  std::once_flag metadata_once;
  const google::protobuf::FieldDescriptor* metadata_field = nullptr;
};

std::string Bounded(std::string_view s) {
  return std::string(s.substr(0, base::kMaxRequestIdLength));
}

class RpcTelemetry final : public grpc::experimental::Interceptor {
 public:
  explicit RpcTelemetry(MethodMetrics& method) : method_(method), started_(Clock::now()) {}

  ~RpcTelemetry() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED, "");  // no status was sent
    EndContext();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      if (const auto* md = methods->GetRecvInitialMetadata(); md != nullptr) {
        for (const auto& [key, value] : *md) {
          const std::string_view k(key.data(), key.size());
          const std::string_view v(value.data(), value.size());
          if (k == "x-correlation-id") correlation_id_ = Bounded(v);
          if (k == "x-request-id") request_id_ = Bounded(v);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      ReadIds(methods->GetRecvMessage());
      BeginContext();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      Record(status.error_code(), status.error_message());
      EndContext();
    }
    methods->Proceed();
  }

 private:
  // The ids of a command's metadata, unless the headers named them.
  void ReadIds(const void* message) {
    if (message == nullptr || !method_.is_ours || from_message_) return;
    from_message_ = true;  // a stream's first message names the call
    // A generated message of this platform's services (is_ours), whose only base is Message.
    const auto& m = *static_cast<const google::protobuf::Message*>(message);
    const google::protobuf::FieldDescriptor* f = method_.MetadataField(m);
    if (f == nullptr || !m.GetReflection()->HasField(m, f)) return;
    const auto& meta = static_cast<const v1::CommandMetadata&>(m.GetReflection()->GetMessage(m, f));
    if (correlation_id_.empty()) correlation_id_ = Bounded(meta.correlation_id());
    if (request_id_.empty()) request_id_ = Bounded(meta.client_request_id());
  }

  // The sync server runs a call's handler on the thread that receives its message and
  // sends its status, so the context covers the handler.
  void BeginContext() {
    if (context_ || (correlation_id_.empty() && request_id_.empty())) return;
    std::vector<base::LogField> fields;
    if (!correlation_id_.empty()) fields.emplace_back("correlation_id", correlation_id_);
    if (!request_id_.empty()) fields.emplace_back("request_id", request_id_);
    context_.emplace(std::move(fields));
    context_thread_ = std::this_thread::get_id();
  }

  void EndContext() {
    // A thread's context may be ended only by that thread (it is a thread_local stack).
    if (context_ && context_thread_ == std::this_thread::get_id()) context_.reset();
  }

  void Record(grpc::StatusCode code, const std::string& message) {
    if (recorded_) return;
    recorded_ = true;
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    method_.Calls(code).Inc();
    method_.duration.Observe(seconds);
    if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
        code == grpc::StatusCode::DATA_LOSS) {
      base::Log(base::LogLevel::kError, "call failed",
                {{"method", method_.name},
                 {"code", CodeName(code)},
                 {"error", message},
                 {"seconds", seconds}});
    }
  }

  MethodMetrics& method_;
  const Clock::time_point started_;
  bool recorded_ = false;
  bool from_message_ = false;
  std::string correlation_id_;
  std::string request_id_;
  std::optional<base::ScopedLogContext> context_;
  std::thread::id context_thread_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcTelemetry(MetricsOf(info->method() != nullptr ? info->method() : ""));
  }

 private:
  // By the method name's address (the generated code's constant), checked against the
  // name: one shared lock and one comparison per call.
  MethodMetrics& MetricsOf(const char* method) {
    {
      std::shared_lock lock(mu_);
      auto it = by_address_.find(method);
      if (it != by_address_.end() && it->second->name == method) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto& named = by_name_[method];
    if (!named) named = std::make_unique<MethodMetrics>(method);
    by_address_[method] = named.get();
    return *named;
  }

  std::shared_mutex mu_;
  std::unordered_map<const char*, MethodMetrics*> by_address_;
  std::map<std::string, std::unique_ptr<MethodMetrics>> by_name_;
};

}  // namespace

void MarkRawMethod(std::string_view path) {
  std::lock_guard<std::mutex> lock(raw_mu);
  RawMethods().emplace(path);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcTelemetry() {
  Requests();  // registered now, so that a scrape shows them before the first call
  Durations();
  return std::make_unique<Factory>();
}

}  // namespace kam::server
