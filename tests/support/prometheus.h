// Reading what a /metrics endpoint answers, for tests: the samples of a text exposition
// (format 0.0.4) by name and labels, and a scrape over HTTP.
//
//   kam::testing::Samples s = kam::testing::Samples::Parse(text);
//   s.Sum("kam_commands_total", {{"outcome", "accepted"}});   // over every matching series
//   s.Has("kam_consumer_lag", {{"partition", "2"}});
//   kam::testing::Samples now = kam::testing::Scrape(port);   // GET 127.0.0.1:port/metrics
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kam::testing {

class Samples {
 public:
  using Labels = std::map<std::string, std::string>;
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };

  // Throws std::runtime_error on a line that is not a comment, blank or a sample.
  static Samples Parse(const std::string& text) {
    Samples out;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      if (line.empty() || line[0] == '#') continue;
      out.samples_.push_back(ParseLine(line));
    }
    return out;
  }

  // The sum over every series of `name` whose labels include `match`.
  double Sum(const std::string& name, const Labels& match = {}) const {
    double sum = 0;
    for (const Sample& s : Matching(name, match)) sum += s.value;
    return sum;
  }
  bool Has(const std::string& name, const Labels& match = {}) const {
    return !Matching(name, match).empty();
  }
  std::vector<Sample> Matching(const std::string& name, const Labels& match) const {
    std::vector<Sample> out;
    for (const Sample& s : samples_) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        all = all && it != s.labels.end() && it->second == v;
      }
      if (all) out.push_back(s);
    }
    return out;
  }
  const std::vector<Sample>& all() const { return samples_; }

 private:
  static Sample ParseLine(const std::string& line) {
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) throw std::runtime_error("bad labels: " + line);
        const std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        if (i >= line.size()) throw std::runtime_error("unterminated label value: " + line);
        s.labels[key] = value;
        ++i;  // the closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error("no value: " + line);
    const std::string v = line.substr(i + 1);
    if (v == "+Inf") {
      s.value = std::numeric_limits<double>::infinity();
    } else if (v == "-Inf") {
      s.value = -std::numeric_limits<double>::infinity();
    } else {
      std::size_t used = 0;
      s.value = std::stod(v, &used);
      if (used != v.size()) throw std::runtime_error("bad value: " + line);
    }
    return s;
  }

  std::vector<Sample> samples_;
};

// GET http://127.0.0.1:<port>/metrics, checked for status and content type, parsed.
inline Samples Scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  auto res = client.Get("/metrics");
  if (!res) throw std::runtime_error("GET /metrics on port " + std::to_string(port) + " failed");
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return Samples::Parse(res->body);
}

}  // namespace kam::testing
