// Fuzz target: kamctl's bulk-import parser, the code `kamctl import` runs before it sends
// anything (tools/kamctl/import_file.h): PlanImport turns a CSV or JSON Lines file into
// requests (ParseCsv, ReadImportRows, the columns through fields.h SetPath, --programme,
// ImportRequestId and the metadata), and ReadImportRows + SetPath reach every field kind a
// column or flag can have.
//
// Input: [kind byte][selector byte][file text]. The kind byte picks what is imported:
// people, accounts, metrics or trainings, planned with PlanImport as kamctl does (selector
// bit 1: --programme emea-kam; bit 2: --dry-run); or "any" request of the four services (the
// selector's high bits pick it), its columns set from ReadImportRows' cells with SetPath, so
// that times, log positions and nested messages are reached too. Selector bit 0: JSON Lines
// instead of CSV.
//
// Checks, besides no crash and no sanitizer report: a refused file is INVALID_ARGUMENT with
// a message; the records ParseCsv returns parse again, the same, when written out quoted;
// a plan accounts for every data line once (lines = requests + rejected), in line order,
// every rejection with a message; each planned request is of its method's input type,
// serialises, carries the request id ImportRequestId gives it (well-formed, and the same
// when recomputed), the correlation id and the dry-run flag, and the programme when
// --programme is given; every column refusal has a message.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/strings.h"
#include "fuzz/fixture.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "kam/v1/commands.pb.h"
#include "tools/kamctl/fields.h"
#include "tools/kamctl/import_file.h"
#include "tools/kamctl/text.h"

namespace kam::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;
using kamctl::Leaf;

constexpr char kSource[] = "fuzz.csv";

void CheckFileRefusal(const absl::Status& s) {
  KAM_FUZZ_CHECK(
      s.code() == absl::StatusCode::kInvalidArgument && !s.message().empty(),
      base::StrCat("a refused file is not INVALID_ARGUMENT with a message: ", s.ToString()));
}

void CheckRequestId(const std::string& kind, const std::string& id) {
  const std::string prefix = base::StrCat("import:", kind, ":");
  KAM_FUZZ_CHECK(id.size() == prefix.size() + 32 && id.starts_with(prefix) &&
                     id.find_first_not_of("0123456789abcdef", prefix.size()) == std::string::npos,
                 base::StrCat("a malformed request id: ", id));
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

// ParseCsv's own properties, on the text as import reads it.
void CheckCsv(std::string_view text) {
  auto records = kamctl::ParseCsv(text);
  if (!records.ok()) {
    CheckFileRefusal(records.status());
    return;
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
}

// The programme_id leaves of a request, as --programme fills them.
const std::vector<Leaf>& ProgrammeLeaves(const Descriptor* d) {
  static std::map<const Descriptor*, std::vector<Leaf>> cache;
  auto it = cache.find(d);
  if (it == cache.end()) {
    std::vector<Leaf> leaves;
    for (Leaf& l : kamctl::LeavesOf(d)) {
      if (!l.repeated && l.chain.back()->name() == "programme_id") leaves.push_back(std::move(l));
    }
    it = cache.emplace(d, std::move(leaves)).first;
  }
  return it->second;
}

std::string ValueOf(const Message& request, const Leaf& leaf) {
  const Message* m = &request;
  for (std::size_t i = 0; i + 1 < leaf.chain.size(); ++i) {
    m = &m->GetReflection()->GetMessage(*m, leaf.chain[i]);
  }
  return m->GetReflection()->GetString(*m, leaf.chain.back());
}

void Plan(const std::string& kind, uint8_t selector, std::string_view text) {
  kamctl::ImportOptions o;
  o.kind = kind;
  o.format = (selector & 1) ? "jsonl" : "csv";
  if (selector & 2) o.programme = kProgramme;
  o.dry_run = (selector & 4) != 0;
  o.source = kSource;
  auto plan = kamctl::PlanImport(text, o);
  if (!plan.ok()) {
    CheckFileRefusal(plan.status());
    KAM_FUZZ_CHECK(o.format == "csv", "a JSON Lines file is refused as a whole");
    return;
  }
  KAM_FUZZ_CHECK(plan->lines == static_cast<int>(plan->requests.size() + plan->rejected.size()),
                 base::StrCat(plan->lines, " lines planned as ", plan->requests.size(),
                              " requests and ", plan->rejected.size(), " rejected"));
  int last = 0;
  for (const kamctl::LineError& e : plan->rejected) {
    KAM_FUZZ_CHECK(e.line >= last && e.line > 0, "rejected lines out of order");
    KAM_FUZZ_CHECK(e.code == "USAGE" && !e.message.empty(),
                   base::StrCat("line ", e.line, ": a rejection without a message"));
    last = e.line;
  }
  last = 0;
  for (const kamctl::ImportRequest& r : plan->requests) {
    KAM_FUZZ_CHECK(r.line > last, "planned requests out of line order");
    last = r.line;
    KAM_FUZZ_CHECK(r.method != nullptr && r.request != nullptr &&
                       r.request->GetDescriptor() == r.method->input_type(),
                   "a planned request is not its method's input");
    const auto* meta_field = r.request->GetDescriptor()->FindFieldByName("metadata");
    const auto& meta = static_cast<const v1::CommandMetadata&>(
        r.request->GetReflection()->GetMessage(*r.request, meta_field));
    CheckRequestId(kind, meta.client_request_id());
    KAM_FUZZ_CHECK(meta.client_request_id() == kamctl::ImportRequestId(kind, kSource, *r.request),
                   "a request id is not ImportRequestId of its request");
    KAM_FUZZ_CHECK(
        meta.correlation_id() == base::StrCat("import:", kSource) && meta.dry_run() == o.dry_run,
        "a request's metadata is not the import's");
    if (!o.programme.empty()) {
      for (const Leaf& l : ProgrammeLeaves(r.request->GetDescriptor())) {
        KAM_FUZZ_CHECK(!ValueOf(*r.request, l).empty(),
                       base::StrCat("--programme left ", l.path, " empty"));
      }
    }
    std::string bytes;
    KAM_FUZZ_CHECK(r.request->SerializeToString(&bytes), "a planned request does not serialise");
  }
}

// Every request type of the four services (fixture.h ServiceRequests) with its leaves.
struct Target {
  const Descriptor* request = nullptr;
  std::vector<Leaf> leaves;
};
const std::vector<Target>& AllRequests() {
  static const std::vector<Target> all = [] {
    std::vector<Target> out;
    for (const Descriptor* d : ServiceRequests()) out.push_back(Target{d, kamctl::LeavesOf(d)});
    return out;
  }();
  return all;
}

void AnyRequest(uint8_t selector, std::string_view text) {
  auto rows = kamctl::ReadImportRows(text, (selector & 1) ? "jsonl" : "csv");
  if (!rows.ok()) {
    CheckFileRefusal(rows.status());
    return;
  }
  const Target& target = AllRequests()[(selector >> 1) % AllRequests().size()];
  for (const kamctl::ImportRow& row : rows->rows) {
    std::unique_ptr<Message> request(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(target.request)->New());
    bool rejected = false;
    for (const auto& [column, value] : row.cells) {
      if (kamctl::Trim(value).empty()) continue;
      const absl::Status s = kamctl::SetPath(*request, target.leaves, column, value);
      if (!s.ok()) {
        KAM_FUZZ_CHECK(!s.message().empty(), base::StrCat("column '", column, "': no message"));
        rejected = true;
        break;  // the line is rejected
      }
    }
    if (rejected) continue;
    const std::string id = kamctl::ImportRequestId("any", kSource, *request);
    CheckRequestId("any", id);
    KAM_FUZZ_CHECK(id == kamctl::ImportRequestId("any", kSource, *request),
                   "ImportRequestId is not deterministic");
    std::string bytes;
    KAM_FUZZ_CHECK(request->SerializeToString(&bytes), "a built request does not serialise");
  }
}

}  // namespace
}  // namespace kam::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kam::fuzz;                   // NOLINT
  if (size < 2 || size > 64 * 1024) return 0;  // import reads files line by line; keep inputs small
  static const char* const kKinds[] = {"people", "accounts", "metrics", "trainings", "any"};
  const std::string kind = kKinds[data[0] % 5];
  const uint8_t selector = data[1];
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  if ((selector & 1) == 0) CheckCsv(text);
  if (kind == "any") {
    AnyRequest(selector, text);
  } else {
    Plan(kind, selector, text);
  }
  return 0;
}
