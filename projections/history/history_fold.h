// The history fold: every stored event of the programme and account-metrics topics into
// the history read model (layout in history_keys.h, reads through HistoryIndex).
//
//   kam::projections::HistoryFold fold;
//   kam::readmodel::ProjectionRuntime runtime(kafka, store, fold, {.topic = topic});
//
// One store folds several topics, each by its own runtime: no key is written by two of
// them. An unreadable record is kept (h/bad), a second record claiming a stored version is
// kept beside the first (h/dup): verification reports both. The per-topic record count
// makes a double fold visible (the exactly-once tests compare it).
#pragma once

#include "readmodel/projection_runtime.h"

namespace kam::projections {

class HistoryFold final : public readmodel::Projection {
 public:
  absl::Status Fold(const eventlog::ConsumedRecord& record, readmodel::FoldContext& ctx) override;
};

}  // namespace kam::projections
