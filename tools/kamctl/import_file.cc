#include "tools/kamctl/import_file.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "kam/v1/commands.pb.h"
#include "kam/v1/metrics_service.pb.h"
#include "kam/v1/programme_service.pb.h"
#include "tools/kamctl/fields.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// What one kind imports through: its method and the request's leaves, by the key a row
// picks it with (the kind, or manager / staff for trainings).
struct Target {
  const MethodDescriptor* method = nullptr;
  std::vector<Leaf> leaves;
};
using Targets = std::map<std::string, Target>;

const MethodDescriptor* Method(const std::string& name) {
  (void)v1::RegisterPersonRequest::descriptor();  // loads the services' files into the pool
  (void)v1::RecordMetricRequest::descriptor();
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> MethodsOf(
    const std::string& kind) {
  if (kind == "people") return {{{"people", "kam.v1.ProgrammeCommandService.RegisterPerson"}}};
  if (kind == "accounts") {
    return {{{"accounts", "kam.v1.ProgrammeCommandService.NominateAccount"}}};
  }
  if (kind == "metrics") return {{{"metrics", "kam.v1.MetricsCommandService.RecordMetric"}}};
  if (kind == "trainings") {
    return {{{"manager", "kam.v1.ProgrammeCommandService.RecordManagerTraining"},
             {"staff", "kam.v1.ProgrammeCommandService.RecordStaffTraining"}}};
  }
  return absl::InvalidArgumentError(
      base::StrCat("import: '", kind, "' is not people, accounts, metrics or trainings"));
}

absl::StatusOr<Targets> TargetsOf(const std::string& kind) {
  auto methods = MethodsOf(kind);
  if (!methods.ok()) return methods.status();
  Targets targets;
  for (const auto& [key, name] : *methods) {
    Target t;
    t.method = Method(name);
    t.leaves = LeavesOf(t.method->input_type());
    targets[key] = std::move(t);
  }
  return targets;
}

std::string JsonCell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : v) items.push_back(JsonCell(item));
    return Join(items, ";");
  }
  return v.dump();
}

// Builds the request of one row (the training kind picks its method by a "type" column).
absl::StatusOr<ImportRequest> Build(const ImportOptions& o, const ImportRow& row,
                                    const Targets& targets, LineError& error) {
  const Target* target = nullptr;
  std::vector<std::pair<std::string, std::string>> cells = row.cells;
  if (o.kind == "trainings") {
    std::string type;
    bool has_skill = false;
    for (auto it = cells.begin(); it != cells.end();) {
      const std::string col = Lower(it->first);
      if (col == "type" || col == "training") {
        type = Lower(Trim(it->second));
        it = cells.erase(it);
        continue;
      }
      if (col == "skill" && !Trim(it->second).empty()) has_skill = true;
      ++it;
    }
    if (type.empty()) type = has_skill ? "manager" : "staff";
    if (type != "manager" && type != "staff") {
      error = {row.line, "USAGE", "", "type", "type must be manager or staff"};
      return absl::InvalidArgumentError("type");
    }
    target = &targets.at(type);
  } else {
    target = &targets.begin()->second;
  }
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(target->method->input_type())
                                       ->New());
  for (const auto& [column, value] : cells) {
    if (Trim(value).empty()) continue;
    absl::Status s = SetPath(*request, target->leaves, column, value);
    if (absl::IsNotFound(s)) {
      std::vector<std::string> known;
      for (const Leaf& l : target->leaves)
        known.push_back(l.aliases.empty() ? l.path : l.aliases[0]);
      error = {
          row.line, "USAGE", "", column,
          base::StrCat("column '", column, "' is not a field (known: ", Join(known, ", "), ")")};
      return s;
    }
    if (!s.ok()) {
      error = {row.line, "USAGE", "", column, std::string(s.message())};
      return s;
    }
  }
  // --programme fills the programme where the line names none.
  if (!o.programme.empty()) {
    for (const Leaf& l : target->leaves) {
      if (l.chain.back()->name() != "programme_id") continue;
      const Message* m = request.get();
      for (std::size_t i = 0; i + 1 < l.chain.size(); ++i) {
        m = &m->GetReflection()->GetMessage(*m, l.chain[i]);
      }
      if (m->GetReflection()->GetString(*m, l.chain.back()).empty()) {
        (void)SetLeaf(*request, l, {o.programme});
      }
    }
  }
  const std::string id = ImportRequestId(o.kind, o.source, *request);
  const auto* meta_field = request->GetDescriptor()->FindFieldByName("metadata");
  auto* meta = static_cast<v1::CommandMetadata*>(
      request->GetReflection()->MutableMessage(request.get(), meta_field));
  meta->set_client_request_id(id);
  meta->set_correlation_id(base::StrCat("import:", o.source));
  meta->set_dry_run(o.dry_run);
  return ImportRequest{row.line, target->method, std::move(request)};
}

}  // namespace

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  std::vector<CsvRecord> out;
  CsvRecord record{1, {}};
  std::string field;
  bool quoted = false;
  bool field_started = false;
  int line = 1;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.fields.push_back(std::move(field));
      field.clear();
      field_started = false;
      out.push_back(std::move(record));
      ++line;
      record = CsvRecord{line, {}};
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError(
        base::StrCat("line ", record.line, ": a quoted field is not closed"));
  }
  if (field_started || !record.fields.empty()) {
    record.fields.push_back(std::move(field));
    out.push_back(std::move(record));
  }
  return out;
}

absl::StatusOr<ImportRows> ReadImportRows(std::string_view text, std::string_view format) {
  ImportRows out;
  if (format == "jsonl") {
    int line = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line;
      std::string_view l = Trim(text.substr(start, end - start));
      start = end + 1;
      if (l.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        out.unreadable.push_back({line, "USAGE", "", "", "is not a JSON object on one line"});
        continue;
      }
      ImportRow row{line, {}};
      for (const auto& [k, v] : j.items()) {
        if (v.is_null()) continue;
        row.cells.emplace_back(k, JsonCell(v));
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }
  if (format != "csv") {
    return absl::InvalidArgumentError(base::StrCat("--format: '", format, "' is not csv or jsonl"));
  }
  auto records = ParseCsv(text);
  if (!records.ok()) return records.status();
  if (records->empty()) return out;
  const std::vector<std::string>& header = (*records)[0].fields;
  for (std::size_t i = 1; i < records->size(); ++i) {
    const CsvRecord& r = (*records)[i];
    if (r.fields.size() == 1 && r.fields[0].empty()) continue;  // a blank line
    if (r.fields.size() != header.size()) {
      out.unreadable.push_back(
          {r.line, "USAGE", "", "",
           base::StrCat("has ", r.fields.size(), " fields; the header has ", header.size())});
      continue;
    }
    ImportRow row{r.line, {}};
    for (std::size_t c = 0; c < header.size(); ++c) {
      row.cells.emplace_back(std::string(Trim(header[c])), r.fields[c]);
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

absl::StatusOr<std::vector<const MethodDescriptor*>> ImportMethods(const std::string& kind) {
  auto methods = MethodsOf(kind);
  if (!methods.ok()) return methods.status();
  std::vector<const MethodDescriptor*> out;
  for (const auto& [key, name] : *methods) out.push_back(Method(name));
  return out;
}

absl::StatusOr<ImportPlan> PlanImport(std::string_view text, const ImportOptions& options) {
  auto targets = TargetsOf(options.kind);
  if (!targets.ok()) return targets.status();
  auto rows = ReadImportRows(text, options.format);
  if (!rows.ok()) return rows.status();
  ImportPlan plan;
  plan.lines = static_cast<int>(rows->rows.size() + rows->unreadable.size());
  plan.rejected = std::move(rows->unreadable);
  for (const ImportRow& row : rows->rows) {
    LineError e;
    auto built = Build(options, row, *targets, e);
    if (!built.ok()) {
      plan.rejected.push_back(std::move(e));
      continue;
    }
    plan.requests.push_back(std::move(*built));
  }
  std::stable_sort(plan.rejected.begin(), plan.rejected.end(),
                   [](const LineError& a, const LineError& b) { return a.line < b.line; });
  return plan;
}

std::string ImportRequestId(const std::string& kind, const std::string& source,
                            const Message& request) {
  std::unique_ptr<Message> copy(request.New());
  copy->CopyFrom(request);
  if (const auto* meta = copy->GetDescriptor()->FindFieldByName("metadata")) {
    copy->GetReflection()->ClearField(copy.get(), meta);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  const std::string input = base::StrCat(source, "\n", kind, "\n", bytes);
  const std::string hex = absl::BytesToHexString(eventlog::Sha256(input).substr(0, 16));
  return base::StrCat("import:", kind, ":", hex);
}

}  // namespace kam::kamctl
