#include "tools/kamctl/import.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/errors.h"
#include "base/strings.h"
#include "google/protobuf/dynamic_message.h"
#include "kam/v1/errors.pb.h"
#include "kam/v1/metrics_service.pb.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

v1::ErrorDetail DetailOf(const grpc::Status& status) {
  v1::ErrorDetail detail;
  v1::RpcStatus rpc;
  if (!status.error_details().empty() && rpc.ParseFromString(status.error_details())) {
    for (const auto& any : rpc.details()) {
      if (any.Is<v1::ErrorDetail>()) any.UnpackTo(&detail);
    }
  }
  return detail;
}

absl::StatusOr<std::string> ReadAll(const std::string& file) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return absl::NotFoundError(base::StrCat(file, ": ", ec.message()));
    if (size > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          base::StrCat(file, ": larger than 1 GiB; split it into several files"));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::NotFoundError(base::StrCat(file, ": cannot be opened"));
    text << in.rdbuf();
  }
  return text.str();
}

class Progress {
 public:
  Progress(bool on, std::string label, int total)
      : on_(on), label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()) {
    if (on_) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() { Finish(); }
  void Add(int n) { done_ += n; }
  void Finish() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    Draw();
    std::cerr << "\n";
  }

 private:
  void Loop() {
    while (!stop_) {
      Draw();
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
  }
  void Draw() {
    const int done = done_.load();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int width = 30;
    const int filled = total_ > 0 ? width * done / total_ : width;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar += std::string(static_cast<std::size_t>(width - filled), '.');
    std::cerr << "\r  " << label_ << "  [" << bar << "] "
              << (total_ > 0 ? 100 * done / total_ : 100) << "%  " << done << "/" << total_
              << " lines  " << static_cast<long>(secs > 0 ? done / secs : 0) << " lines/s   "
              << std::flush;
  }
  const bool on_;
  const std::string label_;
  const int total_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Calls with retries while the platform is unavailable (safe: request ids make a retry a
// no-op if the first attempt was written).
grpc::Status CallWithRetry(Client& client, const MethodDescriptor* method, const Message& request,
                           Message* response) {
  grpc::Status status;
  for (int attempt = 0; attempt < 5; ++attempt) {
    status = client.Unary(method, request, response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
  }
  return status;
}

}  // namespace

absl::StatusOr<ImportSummary> Import(Client& client, const ImportOptions& o_in) {
  ImportOptions o = o_in;
  auto methods = ImportMethods(o.kind);
  if (!methods.ok()) return methods.status();
  if (o.file == "-" && o.source.empty()) {
    return absl::InvalidArgumentError(
        "import: reading stdin needs --source NAME (it identifies the data in request ids)");
  }
  if (o.source.empty()) o.source = std::filesystem::path(o.file).filename().string();
  if (o.format.empty()) {
    const std::string ext = Lower(std::filesystem::path(o.file).extension().string());
    o.format = ext == ".jsonl" || ext == ".ndjson" || ext == ".json" ? "jsonl" : "csv";
  }
  if (o.format != "csv" && o.format != "jsonl") {
    return absl::InvalidArgumentError(
        base::StrCat("--format: '", o.format, "' is not csv or jsonl"));
  }
  o.parallel = std::clamp(o.parallel, 1, 64);
  o.batch = std::clamp<std::size_t>(o.batch, 1, 1000);

  auto text = ReadAll(o.file);
  if (!text.ok()) return text.status();
  ImportSummary summary;
  summary.kind = o.kind;
  summary.source = o.source;
  summary.dry_run = o.dry_run;
  // Requests for every readable line; a line kamctl cannot turn into a request is rejected
  // here with its column.
  auto plan = PlanImport(*text, o);
  if (!plan.ok()) return plan.status();
  summary.lines = plan->lines;
  std::vector<LineError> errors = std::move(plan->rejected);
  const std::vector<ImportRequest>& pending = plan->requests;
  for (const MethodDescriptor* m : *methods) (void)client.Channel(EndpointOf(m));

  const auto start = std::chrono::steady_clock::now();
  std::mutex mu;
  std::atomic<bool> fatal_set{false};
  grpc::Status fatal;
  std::atomic<int> accepted{0};
  std::atomic<int> duplicates{0};
  std::map<std::pair<std::string, int32_t>, int64_t> last;
  auto saw = [&](const v1::CommandResult& r) {
    if (!r.has_position()) return;
    std::lock_guard<std::mutex> lock(mu);
    int64_t& at = last[{r.position().topic(), r.position().partition()}];
    at = std::max(at, r.position().offset());
  };
  auto classify = [&](int line, int code, const std::string& message, const v1::ErrorDetail& d,
                      bool ok, bool deduplicated) {
    if (ok) {
      (deduplicated ? duplicates : accepted)++;
      return;
    }
    if (code == static_cast<int>(grpc::StatusCode::ALREADY_EXISTS)) {
      duplicates++;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back({line, CodeName(code), d.rule(), d.field(), message});
  };
  auto stop_with = [&](const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (!fatal_set.exchange(true)) fatal = s;
  };
  auto fatal_code = [](const grpc::Status& s) {
    const int e = ExitCodeOf(s);
    return e == kExitUnauthorised || e == kExitUnavailable || e == kExitFailed;
  };

  Progress progress(o.progress, base::StrCat(o.dry_run ? "checking " : "importing ", o.source),
                    static_cast<int>(pending.size()));
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  if (o.kind == "metrics") {
    const MethodDescriptor* batch_method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            "kam.v1.MetricsCommandService.RecordMetricBatch");
    const std::size_t batches = (pending.size() + o.batch - 1) / o.batch;
    for (int w = 0; w < o.parallel; ++w) {
      workers.emplace_back([&] {
        for (std::size_t b = next++; b < batches && !fatal_set; b = next++) {
          v1::RecordMetricBatchRequest request;
          const std::size_t from = b * o.batch;
          const std::size_t to = std::min(pending.size(), from + o.batch);
          for (std::size_t i = from; i < to; ++i) {
            request.add_items()->CopyFrom(*pending[i].request);
          }
          v1::RecordMetricBatchResponse response;
          const grpc::Status s = CallWithRetry(client, batch_method, request, &response);
          if (!s.ok()) {
            if (fatal_code(s)) {
              stop_with(s);
              return;
            }
            for (std::size_t i = from; i < to; ++i) {
              classify(pending[i].line, s.error_code(), s.error_message(), DetailOf(s), false,
                       false);
            }
          } else {
            for (const auto& out : response.outcomes()) {
              const std::size_t i = from + out.index();
              if (i >= to) continue;
              classify(pending[i].line, out.code(), out.error(), out.detail(), out.code() == 0,
                       out.result().deduplicated());
              saw(out.result());
            }
          }
          progress.Add(static_cast<int>(to - from));
        }
      });
    }
  } else {
    for (int w = 0; w < o.parallel; ++w) {
      workers.emplace_back([&] {
        for (std::size_t i = next++; i < pending.size() && !fatal_set; i = next++) {
          const ImportRequest& p = pending[i];
          std::unique_ptr<Message> response(google::protobuf::MessageFactory::generated_factory()
                                                ->GetPrototype(p.method->output_type())
                                                ->New());
          const grpc::Status s = CallWithRetry(client, p.method, *p.request, response.get());
          if (!s.ok() && fatal_code(s)) {
            stop_with(s);
            return;
          }
          bool dedup = false;
          if (s.ok()) {
            const auto* f = response->GetDescriptor()->FindFieldByName("result");
            const auto& r = static_cast<const v1::CommandResult&>(
                response->GetReflection()->GetMessage(*response, f));
            dedup = r.deduplicated();
            saw(r);
          }
          classify(p.line, s.error_code(), s.error_message(), DetailOf(s), s.ok(), dedup);
          progress.Add(1);
        }
      });
    }
  }
  for (auto& t : workers) t.join();
  progress.Finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (fatal_set) {
    // A refusal of the caller (not a member of the programme, a role that may not do this)
    // comes back the same on every run until someone grants it: say so rather than advise a
    // plain retry.
    const bool refused = ExitCodeOf(fatal) == kExitUnauthorised;
    std::string_view advice;
    if (o.dry_run) {
      advice = refused ? "; nothing was written (dry run), and the import would stop the same way "
                         "until the caller is allowed to do this"
                       : "; nothing was written (dry run): run it again to check every line";
    } else {
      advice = refused
                   ? "; once the caller is allowed to do this, run the same import again (lines "
                     "already imported are skipped)"
                   : "; run the same import again to finish it (lines already imported are "
                     "skipped)";
    }
    return absl::Status(static_cast<absl::StatusCode>(fatal.error_code()),
                        base::StrCat("import stopped: ", fatal.error_message(), advice));
  }
  for (const auto& [tp, offset] : last) {
    summary.positions.push_back(base::StrCat(tp.first, "/", tp.second, "@", offset));
  }
  summary.accepted = accepted;
  summary.duplicates = duplicates;
  std::sort(errors.begin(), errors.end(),
            [](const LineError& a, const LineError& b) { return a.line < b.line; });
  summary.rejected = std::move(errors);
  return summary;
}

std::string RenderSummary(const ImportSummary& s, const std::string& output, const Style& style) {
  if (output == "json" || output == "yaml") {
    nlohmann::json j = {{"kind", s.kind},
                        {"source", s.source},
                        {"dry_run", s.dry_run},
                        {"lines", s.lines},
                        {"accepted", s.accepted},
                        {"duplicates", s.duplicates},
                        {"rejected", s.rejected.size()},
                        {"seconds", s.seconds}};
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : s.rejected) {
      errors.push_back({{"line", e.line},
                        {"code", e.code},
                        {"rule", e.rule},
                        {"field", e.field},
                        {"message", e.message}});
    }
    j["errors"] = errors;
    j["positions"] = s.positions;
    return output == "json" ? j.dump(2) + "\n" : JsonToYaml(j.dump());
  }
  const char* red = style.colour ? "\033[31m" : "";
  const char* green = style.colour ? "\033[32m" : "";
  const char* reset = style.colour ? "\033[0m" : "";
  std::string out;
  if (!s.rejected.empty()) {
    Table t({"line", "rejected by", "why"});
    const std::size_t shown = std::min<std::size_t>(s.rejected.size(), 50);
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& e = s.rejected[i];
      const std::string by = !e.rule.empty()    ? "rule " + e.rule
                             : !e.field.empty() ? "field " + e.field
                                                : e.code;
      t.Row({std::to_string(e.line), by, e.message});
    }
    out += t.Render(style, 100);
    if (s.rejected.size() > shown) {
      base::StrAppend(&out, "... and ", s.rejected.size() - shown,
                      " more (--output json lists them all)\n");
    }
    out += "\n";
  }
  const double rate = s.seconds > 0 ? (s.accepted + s.duplicates) / s.seconds : 0;
  base::StrAppend(
      &out, s.dry_run ? "dry run of " : "imported ", s.source, " (", s.kind, "): ", s.lines,
      " lines: ", green, s.accepted, s.dry_run ? " would be accepted" : " accepted", reset, ", ",
      s.duplicates, " skipped as duplicates, ", s.rejected.empty() ? "" : red, s.rejected.size(),
      " rejected", s.rejected.empty() ? "" : reset, " in ",
      static_cast<long>(s.seconds * 1000) / 1000.0, " s (", static_cast<long>(rate), " lines/s)\n");
  if (!s.positions.empty()) {
    std::string flags;
    for (const auto& p : s.positions) base::StrAppend(&flags, " --consistency.at-least ", p);
    base::StrAppend(&out, style.colour ? "\033[2m" : "", "read what it wrote with:", flags,
                    style.colour ? "\033[0m" : "", "\n");
  }
  return out;
}

}  // namespace kam::kamctl
