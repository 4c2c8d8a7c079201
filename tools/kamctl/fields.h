// A request message's fields as command-line flags and CSV columns, by reflection: every
// leaf of the message (a scalar, an enum, a timestamp, an amount of money, a log position,
// or a repeated message given as key=value pairs or JSON) becomes one flag named after its
// path, so a new field or a new RPC needs no hand-written parsing.
//
//   auto leaves = kam::kamctl::LeavesOf(kam::v1::RecordMetricRequest::descriptor());
//   // leaves[i].flag: "metric.amount", aliases {"amount"}; "metric.kind" {"kind"}; ...
//   kam::v1::RecordMetricRequest req;
//   absl::Status s = kam::kamctl::SetLeaf(req, leaf, {"1,500.00 EUR"});
//   absl::Status t = kam::kamctl::SetPath(req, "metric.kind", "revenue");   // CSV columns
//
// Values a person types: enums by their short name in any case ("revenue",
// "gross-margin"), booleans as true/false/yes/no, times as RFC 3339 or a date (midnight
// in the local zone) or "now", money as "1,500.00 EUR", log positions as
// "topic/partition@offset". Errors name the flag and say what was expected.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace kam::kamctl {

struct Leaf {
  std::string path;                  // proto path: "metric.amount.minor_units"
  std::string flag;                  // kebab-case path: "metric.amount.minor-units"
  std::vector<std::string> aliases;  // shorter unique names: "minor-units", "programme"
  std::vector<const google::protobuf::FieldDescriptor*> chain;  // from the request down
  bool repeated = false;
  bool boolean = false;
  std::string kind;  // what a value looks like, for --help
};

// The leaves of `request` in field order, without `metadata` (CommandMetadata has flags of
// its own). Aliases are the last path segment when unique, and for "*_id" fields the name
// without "_id" ("--programme", "--account", "--person") when unique.
std::vector<Leaf> LeavesOf(const google::protobuf::Descriptor* request);

// Sets `leaf` in `message` from `values` (one per occurrence of the flag; a repeated
// scalar also splits on commas). INVALID_ARGUMENT naming "--<flag>" when a value does not
// parse.
absl::Status SetLeaf(google::protobuf::Message& message, const Leaf& leaf,
                     const std::vector<std::string>& values);

// Sets the leaf at `path` (proto or kebab spelling, e.g. a CSV column "amount" of a
// metric, or "metric.amount"); for a repeated leaf the value may hold several items
// separated by ';'. NOT_FOUND if no leaf has that path or alias.
absl::Status SetPath(google::protobuf::Message& message, const std::vector<Leaf>& leaves,
                     std::string_view path, std::string_view value);

// The enum value a person typed: "gross-margin", "GROSS_MARGIN", "METRIC_KIND_GROSS_MARGIN"
// or its number. nullptr if none matches.
const google::protobuf::EnumValueDescriptor* ParseEnum(const google::protobuf::EnumDescriptor* e,
                                                       std::string_view text);
// The short name people read: METRIC_KIND_GROSS_MARGIN -> "gross-margin".
std::string EnumShortName(const google::protobuf::EnumValueDescriptor* value);

// "1,500.00 EUR", "EUR 1500", "-12.5 EUR" -> minor units and currency (two decimals).
absl::Status ParseMoney(std::string_view text, int64_t* minor_units, std::string* currency);

// "snake_case" -> "snake-case".
std::string Kebab(std::string_view name);

}  // namespace kam::kamctl
