// What the fuzz targets found, pinned down as plain expectations (the inputs themselves are
// in the seed corpus as regression-*, replayed by fuzz_<target>_replay).
#include <gtest/gtest.h>

#include "kam/v1/history_service.pb.h"
#include "tools/kamctl/fields.h"

namespace kam::kamctl {
namespace {

// import fuzzer: a time column (or flag) before 1677 or after 2262 overflowed the
// nanoseconds since 1970 (UBSan: signed integer overflow in fields.cc), and a far-away time
// became another one; "infinite-future", which absl parses, became the year 2262.
absl::Status SetFrom(v1::GetHistoryRequest& r, std::string_view text) {
  return SetPath(r, LeavesOf(v1::GetHistoryRequest::descriptor()), "recorded_from", text);
}

TEST(FuzzRegressions, TimesFarFrom1970KeepTheirSeconds) {
  v1::GetHistoryRequest r;
  ASSERT_TRUE(SetFrom(r, "1012-01-01T09:00:00Z").ok());
  EXPECT_EQ(r.recorded_from().seconds(), -30231586800);
  EXPECT_EQ(r.recorded_from().nanos(), 0);
  ASSERT_TRUE(SetFrom(r, "2300-06-01T00:00:00.5Z").ok());
  EXPECT_EQ(r.recorded_from().seconds(), 10426838400);
  EXPECT_EQ(r.recorded_from().nanos(), 500000000);
  ASSERT_TRUE(SetFrom(r, "1969-12-31T23:59:59.25Z").ok());
  EXPECT_EQ(r.recorded_from().seconds(), -1);
  EXPECT_EQ(r.recorded_from().nanos(), 250000000);
}

TEST(FuzzRegressions, TimesOutsideATimestampAreRefused) {
  v1::GetHistoryRequest r;
  for (const char* text : {"infinite-future", "infinite-past"}) {
    absl::Status s = SetFrom(r, text);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find("a time between the years 1 and 9999"), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace kam::kamctl
