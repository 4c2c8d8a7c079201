#include "base/ids.h"

#include <gtest/gtest.h>

#include <set>

#include "base/strong.h"

namespace kam::base {
namespace {

TEST(ValidateId, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(ValidateId("id", "acme").ok());
  EXPECT_TRUE(ValidateId("id", "9.a_b-c").ok());
  EXPECT_TRUE(ValidateId("id", std::string(64, 'z')).ok());
}

TEST(ValidateId, RejectsOtherCharactersAndLeadingPunctuation) {
  for (const char* bad : {"-acme", ".acme", "Acme", "ac me", "ac/me", "acmé"}) {
    auto s = ValidateId("account_id", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(std::string(s.message()).rfind("account_id: ", 0), 0u) << s;
  }
}

TEST(ValidateText, RejectsInvalidUtf8AndControlCharacters) {
  EXPECT_TRUE(ValidateText("name", "Zürich Öl GmbH", 200).ok());
  EXPECT_EQ(ValidateText("name", "\xC3", 200).message(), "name: must be valid UTF-8");
  EXPECT_EQ(ValidateText("name", "\xC0\xAF", 200).message(), "name: must be valid UTF-8");
  EXPECT_EQ(ValidateText("name", "a\x01", 200).message(),
            "name: must not contain control characters");
}

TEST(ValidateRequestId, RequiresPrintableAscii) {
  EXPECT_TRUE(ValidateRequestId("r", "req-1:abc").ok());
  EXPECT_FALSE(ValidateRequestId("r", "").ok());
  EXPECT_FALSE(ValidateRequestId("r", "with space").ok());
  EXPECT_FALSE(ValidateRequestId("r", std::string(129, 'x')).ok());
}

TEST(NewEventId, IsAVersion4UuidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewEventId();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Strong, KeepsVersionsAndOffsetsApart) {
  static_assert(!std::is_convertible_v<Version, Offset>);
  static_assert(!std::is_convertible_v<uint64_t, Version>);
  EXPECT_LT(Version{3}, Version{4});
}

}  // namespace
}  // namespace kam::base
