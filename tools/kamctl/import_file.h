// kamctl import's reading of a file: CSV or JSON Lines text into the requests an import
// sends, with no platform, no network and no file system (import.h sends them). Tests and
// the import fuzzer (tests/fuzz/import_fuzzer.cc) call exactly what `kamctl import` runs.
//
//   ImportOptions o{.kind = "metrics", .format = "csv", .programme = "emea-kam",
//                   .source = "erp.csv"};
//   absl::StatusOr<ImportPlan> plan = PlanImport(text, o);
//   // plan->requests: RecordMetricRequest per readable line, its request id derived from
//   // the source, the kind and the line's content; plan->rejected: the lines that are not
//   // a request, with the column that refused them.
//
// Pure and thread-compatible: no state outside the arguments and protobuf's generated pool.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace kam::kamctl {

struct ImportOptions {
  std::string kind;       // people | accounts | metrics | trainings
  std::string file;       // a path, or "-" for stdin (then --source is required)
  std::string format;     // csv | jsonl; empty: from the file's extension
  std::string programme;  // fills programme_id where a line has none
  std::string source;     // the file's identity in request ids; default: its base name
  bool dry_run = false;
  int parallel = 8;          // requests in flight (programme kinds) / batches (metrics)
  std::size_t batch = 1000;  // metrics per RecordMetricBatch
  bool progress = false;     // a progress bar on stderr
};

struct LineError {
  int line = 0;
  std::string code;   // a gRPC code name, or USAGE for a line kamctl could not read
  std::string rule;   // when a rule refused it
  std::string field;  // when a field is malformed
  std::string message;
};

// RFC 4180 records of `text`: fields of each record with the line it starts on. A leading
// UTF-8 byte order mark is skipped. INVALID_ARGUMENT naming the line when a quoted field is
// not closed.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text);

// The data lines of a file as column -> value cells, in line order. CSV: the first record is
// the header (names trimmed), blank lines are skipped, a record with another number of
// fields is unreadable. JSON Lines: one object per line, null values left out, strings as
// they are, booleans as true/false, arrays as their items joined by ';', anything else as
// its JSON text; a line that is not an object is unreadable. INVALID_ARGUMENT for a CSV file
// that does not parse (ParseCsv) or a format that is not csv or jsonl.
struct ImportRow {
  int line = 0;
  std::vector<std::pair<std::string, std::string>> cells;  // column -> value, in file order
};
struct ImportRows {
  std::vector<ImportRow> rows;
  std::vector<LineError> unreadable;  // code USAGE, in line order
};
absl::StatusOr<ImportRows> ReadImportRows(std::string_view text, std::string_view format);

// The RPCs an import of `kind` calls: one, or the manager's and the staff's for trainings.
// INVALID_ARGUMENT for a kind that is not people, accounts, metrics or trainings.
absl::StatusOr<std::vector<const google::protobuf::MethodDescriptor*>> ImportMethods(
    const std::string& kind);

// One line's request, ready to send: its fields from the line's cells (columns named like
// kamctl's flags, fields.h SetPath), programme_id from `programme` where the line names
// none, and metadata: client_request_id ImportRequestId(kind, source, request),
// correlation_id "import:<source>", dry_run.
struct ImportRequest {
  int line = 0;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::unique_ptr<google::protobuf::Message> request;
};
struct ImportPlan {
  int lines = 0;                        // data lines: requests and rejected
  std::vector<ImportRequest> requests;  // in line order
  std::vector<LineError> rejected;      // code USAGE (unreadable, or a column refused), by line
};

// What an import of `text` sends. Reads options.kind, format ("csv" or "jsonl": Import
// resolves it from the file's extension), programme, source and dry_run. INVALID_ARGUMENT
// for an unknown kind or format, or a CSV file that does not parse; every other problem is
// a line's, in `rejected`. A trainings line picks its request by a "type" (or "training")
// column, manager or staff; without one, a line with a skill is a manager's.
absl::StatusOr<ImportPlan> PlanImport(std::string_view text, const ImportOptions& options);

// "import:<kind>:<first 32 hex digits of SHA-256(source, kind, request bytes)>", the request
// serialised deterministically without its metadata: the same line of the same source gets
// the same id on every run, whatever its line number.
std::string ImportRequestId(const std::string& kind, const std::string& source,
                            const google::protobuf::Message& request);

}  // namespace kam::kamctl
