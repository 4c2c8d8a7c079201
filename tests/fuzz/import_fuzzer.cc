// Fuzz target: kamctl's bulk-import parser (tools/kamctl/import.h, fields.h) - a CSV or
// JSON Lines file turned into requests, line by line, through the public pieces import.cc
// uses: ParseCsv, LeavesOf and SetPath (columns to fields: enums, numbers, money, booleans,
// repeated items, nested messages as key=value or JSON) and ImportRequestId. (Import()
// itself needs a platform to call; its row reading and request building are private.)
//
// Input: [kind byte][selector byte][file text]. The kind byte picks what is imported:
// people, accounts, metrics or trainings (the request type by a "type" column, as import
// does), or any request of the four services (the selector's high bits pick it), so that
// the same column parsing is reached for every field kind a flag can have (times, log
// positions). Selector bit 0: JSON Lines instead of CSV.
//
// Checks, besides no crash and no sanitizer report: a CSV refusal is INVALID_ARGUMENT with
// a message; the records ParseCsv returns parse again, the same, when written out quoted;
// every column refusal has a message; a request's id is deterministic and well-formed.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/strings.h"
#include "fuzz/fixture.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "kam/v1/metrics_service.pb.h"
#include "kam/v1/programme_service.pb.h"
#include "tools/kamctl/fields.h"
#include "tools/kamctl/import.h"
#include "tools/kamctl/text.h"

namespace kam::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;
using kamctl::Leaf;

struct Target {
  const Descriptor* request = nullptr;
  std::vector<Leaf> leaves;
};

Target TargetOf(const Descriptor* d) { return Target{d, kamctl::LeavesOf(d)}; }

// Every request type of the four services (fixture.h ServiceRequests).
const std::vector<Target>& AllRequests() {
  static const std::vector<Target> all = [] {
    std::vector<Target> out;
    for (const Descriptor* d : ServiceRequests()) out.push_back(TargetOf(d));
    return out;
  }();
  return all;
}

const Target& ImportTarget(const Descriptor* d) {
  static std::map<const Descriptor*, Target> targets;
  auto it = targets.find(d);
  if (it == targets.end()) it = targets.emplace(d, TargetOf(d)).first;
  return it->second;
}

struct Row {
  int line = 0;
  std::vector<std::pair<std::string, std::string>> cells;
};

// As import.cc's JsonCell: a JSON value as the text of a CSV cell.
std::string JsonCell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : v) items.push_back(JsonCell(item));
    return kamctl::Join(items, ";");
  }
  return v.dump();
}

std::vector<Row> JsonRows(std::string_view text) {
  std::vector<Row> rows;
  int line = 0;
  for (std::string_view l : kamctl::Split(text, '\n', /*skip_empty=*/false)) {
    ++line;
    if (l.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;
    Row row{line, {}};
    for (const auto& [k, v] : j.items()) {
      if (!v.is_null()) row.cells.emplace_back(k, JsonCell(v));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Quoted(const std::vector<kamctl::CsvRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      for (char c : r.fields[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += '\n';
  }
  return out;
}

std::vector<Row> CsvRows(std::string_view text) {
  auto records = kamctl::ParseCsv(text);
  if (!records.ok()) {
    KAM_FUZZ_CHECK(records.status().code() == absl::StatusCode::kInvalidArgument &&
                       !records.status().message().empty(),
                   "a CSV refusal is not INVALID_ARGUMENT with a message");
    return {};
  }
  int last = 0;
  for (const auto& r : *records) {
    KAM_FUZZ_CHECK(r.line > last && !r.fields.empty(), "CSV records out of line order or empty");
    last = r.line;
  }
  auto again = kamctl::ParseCsv(Quoted(*records));
  KAM_FUZZ_CHECK(again.ok() && again->size() == records->size(),
                 "quoted CSV records do not parse again");
  for (std::size_t i = 0; i < records->size(); ++i) {
    KAM_FUZZ_CHECK((*again)[i].fields == (*records)[i].fields,
                   base::StrCat("CSV record ", i, " differs when written out quoted"));
  }
  std::vector<Row> rows;
  if (records->empty()) return rows;
  const std::vector<std::string>& header = (*records)[0].fields;
  for (std::size_t i = 1; i < records->size(); ++i) {
    const auto& r = (*records)[i];
    if (r.fields.size() != header.size()) continue;  // reported by its line
    Row row{r.line, {}};
    for (std::size_t c = 0; c < header.size(); ++c) {
      row.cells.emplace_back(std::string(kamctl::Trim(header[c])), r.fields[c]);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The "type" column of a trainings file picks the request, as import does.
const Descriptor* TrainingType(Row& row) {
  std::string type;
  bool has_skill = false;
  for (auto it = row.cells.begin(); it != row.cells.end();) {
    const std::string col = kamctl::Lower(it->first);
    if (col == "type" || col == "training") {
      type = kamctl::Lower(kamctl::Trim(it->second));
      it = row.cells.erase(it);
      continue;
    }
    if (col == "skill" && !kamctl::Trim(it->second).empty()) has_skill = true;
    ++it;
  }
  if (type.empty()) type = has_skill ? "manager" : "staff";
  if (type == "manager") return v1::RecordManagerTrainingRequest::descriptor();
  if (type == "staff") return v1::RecordStaffTrainingRequest::descriptor();
  return nullptr;
}

void Build(const std::string& kind, const Target& target, const Row& row) {
  std::unique_ptr<Message> request(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(target.request)->New());
  for (const auto& [column, value] : row.cells) {
    if (kamctl::Trim(value).empty()) continue;
    const absl::Status s = kamctl::SetPath(*request, target.leaves, column, value);
    if (!s.ok()) {
      KAM_FUZZ_CHECK(!s.message().empty(), base::StrCat("column '", column, "': no message"));
      return;  // the line is rejected
    }
  }
  const std::string id = kamctl::ImportRequestId(kind, "fuzz.csv", *request);
  KAM_FUZZ_CHECK(id == kamctl::ImportRequestId(kind, "fuzz.csv", *request),
                 "ImportRequestId is not deterministic");
  KAM_FUZZ_CHECK(id.size() == base::StrCat("import:", kind, ":").size() + 32,
                 base::StrCat("a malformed request id: ", id));
  std::string bytes;
  KAM_FUZZ_CHECK(request->SerializeToString(&bytes), "a built request does not serialise");
}

}  // namespace
}  // namespace kam::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kam::fuzz;  // NOLINT
  namespace v1 = kam::v1;
  if (size < 2 || size > 64 * 1024) return 0;  // import reads files line by line; keep inputs small
  static const char* const kKinds[] = {"people", "accounts", "metrics", "trainings", "any"};
  const std::string kind = kKinds[data[0] % 5];
  const uint8_t selector = data[1];
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::vector<Row> rows = (selector & 1) ? JsonRows(text) : CsvRows(text);
  for (Row& row : rows) {
    const google::protobuf::Descriptor* d = nullptr;
    if (kind == "people") d = v1::RegisterPersonRequest::descriptor();
    if (kind == "accounts") d = v1::NominateAccountRequest::descriptor();
    if (kind == "metrics") d = v1::RecordMetricRequest::descriptor();
    if (kind == "trainings") d = TrainingType(row);
    if (kind == "any") {
      const auto& all = AllRequests();
      Build(kind, all[(selector >> 1) % all.size()], row);
      continue;
    }
    if (d != nullptr) Build(kind, ImportTarget(d), row);
  }
  return 0;
}
