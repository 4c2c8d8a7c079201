// kamctl's commands: one per RPC of the platform, with its name, a sentence, an example
// and the fields it takes as positional arguments. The request's other fields become
// flags by reflection (fields.h); the table holds only what a person needs to be told.
//
// A test compares the RPCs listed here (`kamctl __rpcs`) with every `rpc` in proto/, so an
// RPC added to the contract without a kamctl command fails the build's tests.
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace kam::kamctl {

enum class Endpoint { kCommands, kMetrics, kQueries };

struct RpcCommand {
  std::string method;                    // "kam.v1.ProgrammeCommandService.NominateAccount"
  std::string name;                      // "nominate-account"
  std::vector<std::string> aliases;      // "nominate"
  std::string group;                     // the heading it is listed under in --help
  std::string summary;                   // one sentence
  std::string example;                   // a whole command line
  std::vector<std::string> positionals;  // field paths taken in order from the arguments
};

const std::vector<RpcCommand>& Catalogue();

// The method's descriptor (from the linked generated code); nullptr if unknown.
const google::protobuf::MethodDescriptor* MethodOf(const RpcCommand& command);
Endpoint EndpointOf(const google::protobuf::MethodDescriptor* method);

}  // namespace kam::kamctl
