#include "eventlog/codec.h"

#include <gtest/gtest.h>

namespace kam::eventlog {
namespace {

v1::EventEnvelope Sample() {
  v1::EventEnvelope e;
  e.set_event_id("e1");
  e.set_aggregate_type("programme");
  e.set_aggregate_id("emea-kam");
  e.set_aggregate_version(1);
  e.mutable_event()->mutable_account_nominated()->set_account_id("acme");
  return e;
}

TEST(Codec, SealedBytesOpenWithAValidHash) {
  auto env = Sample();
  std::string bytes = Seal(env);
  EXPECT_EQ(env.hash().size(), kHashSize);
  auto opened = Open(bytes);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->hash_ok);
  EXPECT_EQ(opened->envelope.aggregate_id(), "emea-kam");
  EXPECT_EQ(opened->envelope.hash(), env.hash());
}

TEST(Codec, TheHashCoversTheStoredBytes) {
  auto env = Sample();
  std::string bytes = Seal(env);
  // Flip "acme" to "acmf" inside the stored bytes: still parseable, hash no longer matches.
  auto at = bytes.find("acme");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = 'f';
  auto opened = Open(bytes);
  ASSERT_TRUE(opened.ok());
  EXPECT_FALSE(opened->hash_ok);
}

TEST(Codec, RejectsBytesWithoutTheTrailingHash) {
  v1::EventEnvelope e = Sample();
  std::string plain;
  ASSERT_TRUE(e.SerializeToString(&plain));
  EXPECT_EQ(Open(plain).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(Codec, Sha256MatchesTheStandardVector) {
  // FIPS 180-2 test vector for "abc".
  const std::string d = Sha256("abc");
  const unsigned char expected[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(static_cast<unsigned char>(d[static_cast<std::size_t>(i)]), expected[i]);
}

}  // namespace
}  // namespace kam::eventlog
