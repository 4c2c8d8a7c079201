// A realistic demo programme, loaded through the platform's public gRPC API only (never by
// writing to Kafka): a supplier's EMEA programme over two years of business time, with a
// champion and a steering board, executive sponsors, twelve accounts at every stage (one
// admitted as an exception, one retired inside its minimum tenure), trained and untrained
// managers with training plans, operations staff, commitments, a criteria revision, two
// years of monthly economics with cost-to-serve by activity (one account profitable on
// revenue but not after cost-to-serve), reviews, a benchmark, one correction of a metric
// and one sponsor visit entered late (metadata.late_reason) - so every view of the
// dashboard, flags included, has something true to show.
//
//   kam::demo::Tokens tokens = *kam::demo::TokensByRole(".run/tokens");
//   auto summary = kam::demo::Load({.commands = ch1, .metrics = ch2, .queries = ch3}, tokens);
//
// Every command carries a client request id derived from its step ("demo/<programme>/...")
// and business times anchored on the day of loading, so a load interrupted part-way can be
// run again the same day and finishes without writing anything twice. Load() does nothing
// when the programme already exists. The story's business time only moves forward (rule
// time.in_order): each command is dated a few minutes after the one before, and a step
// dated before an earlier one fails before it is sent.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kam::demo {

inline constexpr char kProgrammeId[] = "emea-kam";

// role -> (token, principal), from a tokens file ("token principal role[,role]" per line).
struct Credential {
  std::string token;
  std::string principal;
};
using Tokens = std::map<std::string, Credential>;
absl::StatusOr<Tokens> TokensByRole(const std::string& tokens_file);

struct Channels {
  std::shared_ptr<grpc::Channel> commands;
  std::shared_ptr<grpc::Channel> metrics;
  std::shared_ptr<grpc::Channel> queries;
};

struct Summary {
  bool already_loaded = false;
  int commands = 0;
  int metrics = 0;
};

// Needs tokens for the roles admin, champion, kam, sponsor, board and publisher; the board's
// principal becomes a board observer of the programme (it reads, never commands), the
// publisher's its enterprise system. `today` anchors
// the two years of business time (it is the last day of the story).
absl::StatusOr<Summary> Load(const Channels& channels, const Tokens& tokens,
                             absl::Time today = absl::Now());

}  // namespace kam::demo
