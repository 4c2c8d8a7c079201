// Structured logs (base/log.h): one JSON object per line, golden; escaping that keeps every
// line valid JSON whatever a message holds; the thread's log context; librdkafka's own lines
// through the same logger.
#include "base/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "eventlog/consumer.h"
#include "support/log_capture.h"

namespace kam {
namespace {

using base::LogField;
using base::LogLevel;

const absl::Time kAt = absl::FromUnixMillis(1790000000123);

TEST(LogLine, IsOneJsonObjectWithTimeLevelProgramMessageAndFields) {
  const std::vector<LogField> fields = {
      {"port", 50051}, {"tls", false}, {"ratio", 0.25}, {"topic", "kam.programme.v1"}};
  EXPECT_EQ(base::FormatLogLine(kAt, LogLevel::kInfo, "kam-programme-service",
                                "serving on port 50051", fields),
            R"({"ts":"2026-09-21T14:13:20.123Z","level":"info","program":"kam-programme-service",)"
            R"("msg":"serving on port 50051","port":50051,"tls":false,"ratio":0.25,)"
            R"("topic":"kam.programme.v1"})");
  EXPECT_EQ(base::FormatLogLine(kAt, LogLevel::kWarning, "p", "m", {}),
            R"({"ts":"2026-09-21T14:13:20.123Z","level":"warning","program":"p","msg":"m"})");
  EXPECT_EQ(base::LevelName(LogLevel::kDebug), "debug");
  EXPECT_EQ(base::LevelName(LogLevel::kError), "error");
}

TEST(LogLine, EscapesWhatJsonRequiresAndReplacesBytesThatAreNotUtf8) {
  const std::string msg =
      "say \"hi\"\\\n\t\r\b\f\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"
      " bad:\xff trunc:\xe2\x82 surrogate:\xed\xa0\x80 overlong:\xc0\xaf";
  const std::string line = base::FormatLogLine(kAt, LogLevel::kError, "p", msg, {});
  EXPECT_EQ(line,
            R"({"ts":"2026-09-21T14:13:20.123Z","level":"error","program":"p","msg":"say \"hi\"\\)"
            R"(\n\t\r\b\f\u0001 café € 🙂 bad:\ufffd trunc:\ufffd\ufffd )"
            R"(surrogate:\ufffd\ufffd\ufffd overlong:\ufffd\ufffd"})");
  const auto parsed = nlohmann::json::parse(line);  // throws if it is not JSON
  EXPECT_EQ(parsed["msg"].get<std::string>().substr(0, 14), "say \"hi\"\\\n\t\r\b\f");
  EXPECT_EQ(base::FormatLogLine(kAt, LogLevel::kInfo, "p", "m",
                                std::vector<LogField>{{"nan", std::nan("")}, {"k\"", "v\n"}}),
            R"({"ts":"2026-09-21T14:13:20.123Z","level":"info","program":"p","msg":"m",)"
            R"("nan":null,"k\"":"v\n"})");
}

TEST(LogLine, ContextFieldsFollowTheLinesOwnAndNeverRepeatAKey) {
  const std::vector<LogField> own = {{"request_id", "own"}, {"msg", "ignored"}};
  const std::vector<LogField> context = {
      {"correlation_id", "outer"}, {"request_id", "ctx"}, {"correlation_id", "inner"}};
  EXPECT_EQ(base::FormatLogLine(kAt, LogLevel::kInfo, "p", "m", own, context),
            R"({"ts":"2026-09-21T14:13:20.123Z","level":"info","program":"p","msg":"m",)"
            R"("request_id":"own","correlation_id":"inner"})");
}

TEST(Log, LinesCarryTheThreadsContextForAsLongAsItLives) {
  testing::LogCapture logs;
  {
    base::ScopedLogContext call({{"correlation_id", "c-1"}, {"request_id", "r-1"}});
    base::Log("inside");
    {
      base::ScopedLogContext inner({{"request_id", "r-2"}});
      base::Log(LogLevel::kWarning, "nested", {{"partition", 2}});
    }
    std::thread([] { base::Log("other thread"); }).join();
  }
  base::Log("after");
  const auto lines = logs.lines();
  ASSERT_EQ(lines.size(), 4u);
  std::vector<nlohmann::json> parsed;
  for (const auto& l : lines) parsed.push_back(nlohmann::json::parse(l));
  EXPECT_EQ(parsed[0]["msg"], "inside");
  EXPECT_EQ(parsed[0]["level"], "info");
  EXPECT_EQ(parsed[0]["correlation_id"], "c-1");
  EXPECT_EQ(parsed[0]["request_id"], "r-1");
  EXPECT_EQ(parsed[1]["level"], "warning");
  EXPECT_EQ(parsed[1]["partition"], 2);
  EXPECT_EQ(parsed[1]["correlation_id"], "c-1");
  EXPECT_EQ(parsed[1]["request_id"], "r-2");
  EXPECT_FALSE(parsed[2].contains("correlation_id")) << "a context is the thread's own";
  EXPECT_FALSE(parsed[3].contains("correlation_id"));
  EXPECT_FALSE(parsed[3].contains("request_id"));
  for (const auto& p : parsed) {
    EXPECT_EQ(p["program"], "telemetry_test");
    EXPECT_EQ(p["ts"].get<std::string>().size(), 24u);
  }
}

TEST(Log, LibrdkafkasOwnLinesGoThroughTheSameLogger) {
  testing::LogCapture logs;
  // A client that logs at once: its configuration (debug=conf), then failures to connect.
  auto consumer = eventlog::Consumer::Create(
      {.brokers = "127.0.0.1:1", .properties = {{"debug", "conf,broker"}}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  auto line = logs.Await([](const nlohmann::json& l) {
    return l.value("component", "") == "librdkafka" && l.value("level", "") == "debug";
  });
  ASSERT_TRUE(line.has_value()) << "no librdkafka line was logged";
  EXPECT_FALSE((*line)["facility"].get<std::string>().empty());
  EXPECT_NE((*line)["client"].get<std::string>().find("rdkafka"), std::string::npos);
  EXPECT_FALSE((*line)["msg"].get<std::string>().empty());
  consumer->reset();
}

}  // namespace
}  // namespace kam
