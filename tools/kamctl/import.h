// kamctl import: enterprise data from CSV or JSON Lines files, line by line through the
// platform's own rules.
//
//   kamctl import people  people.csv   --programme emea-kam      (RegisterPerson)
//   kamctl import accounts accounts.csv --programme emea-kam     (NominateAccount)
//   kamctl import metrics metrics.jsonl --programme emea-kam     (RecordMetricBatch)
//   kamctl import trainings lms.csv --programme emea-kam         (Record{Manager,Staff}Training)
//
// A CSV file's header names the request's fields by the same names as kamctl's flags
// ("person_id" or "person-id", "amount", "kind", ...); a JSON Lines file holds one object
// per line with those keys. Each line's client request id is derived from the source (the
// file's name, or --source) and the line's content, so importing the same file again -
// or a corrected copy of it - writes nothing twice: the lines already imported come back
// as duplicates. (Line numbers are not part of it: they shift when a file is edited.)
//
// Rejected lines are reported with their line number, and the field or rule that refused
// them; --dry-run decides every line against the current state and writes nothing.
// Reading the file into requests is import_file.h (PlanImport); this sends them.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/kamctl/client.h"
#include "tools/kamctl/import_file.h"
#include "tools/kamctl/render.h"

namespace kam::kamctl {

struct ImportSummary {
  std::string kind;
  std::string source;
  bool dry_run = false;
  int lines = 0;
  int accepted = 0;
  int duplicates = 0;  // already imported (same request id) or already recorded
  std::vector<LineError> rejected;
  double seconds = 0;
  // The last position written per partition: pass them to a query as
  // --consistency.at-least to read what the import wrote.
  std::vector<std::string> positions;
};

// Runs the import. The status is an error only when the import could not run to the end
// (a file that cannot be read, the platform unavailable after retries); line errors are
// in the summary.
absl::StatusOr<ImportSummary> Import(Client& client, const ImportOptions& options);

std::string RenderSummary(const ImportSummary& summary, const std::string& output,
                          const Style& style);

}  // namespace kam::kamctl
