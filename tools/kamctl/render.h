// What kamctl prints: tables and sentences for people (dates in the local time zone,
// money with its currency, flags with their step and reason, colour only on a terminal),
// and JSON or YAML with the proto field names for scripts.
//
//   kam::kamctl::Style style{.colour = isatty(1)};
//   std::cout << kam::kamctl::Render("scorecard", response, "table", style);
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "kam/v1/envelope.pb.h"

namespace kam::kamctl {

struct Style {
  bool colour = false;
};

// `output`: "table", "json" or "yaml". `command`: the kamctl command that produced it.
std::string Render(const std::string& command, const google::protobuf::Message& response,
                   const std::string& output, const Style& style);

std::string ToJson(const google::protobuf::Message& message, bool pretty = true);
std::string ToYaml(const google::protobuf::Message& message);
// A JSON document as YAML (block style, strings quoted).
std::string JsonToYaml(const std::string& json);

// One event as a line of a history table or of the live tail.
// The envelope with each sealed personal value (a caller who does not see personal data
// gets them as the log holds them) shown as "[sealed: <programme>/<person>]".
v1::EventEnvelope Unsealed(const v1::EventEnvelope& envelope);
std::string EventName(const v1::EventEnvelope& envelope);
std::string EventSummary(const v1::EventEnvelope& envelope);
// "2026-11-27 10:15 CET" in the local time zone ($TZ).
std::string LocalTime(const google::protobuf::Timestamp& t);
// "kam.programme.v1/1@42": what --consistency.at-least and --after accept.
std::string PositionText(const v1::LogPosition& p);

// Aligned columns; cells may contain ANSI colour codes (not counted in the width).
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  std::string Render(const Style& style, std::size_t max_cell = 60) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace kam::kamctl
