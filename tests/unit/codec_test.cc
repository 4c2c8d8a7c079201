#include "eventlog/codec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "eventlog/checkpoints.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"
#include "support/keys.h"

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

// --- Signatures -------------------------------------------------------------------------

class Signing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kam-signing-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    writer_ = kam::testing::NewSigningKey(dir_, "writer");
    mallory_ = kam::testing::NewSigningKey(dir_, "mallory");
    auto signer = Signer::FromPemFile(writer_.private_pem);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
    auto keyring = Keyring::FromPemFile(kam::testing::KeyringOf(dir_ + "/ring.pem", {writer_}));
    ASSERT_TRUE(keyring.ok()) << keyring.status();
    keyring_ = std::move(*keyring);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  kam::testing::KeyFiles writer_, mallory_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<Keyring> keyring_;
};

// Checkpoints: signed, split into parts, believed only with a keyring key; the newest
// anchor per aggregate; and the three ways a log can contradict it.
TEST_F(Signing, ACheckpointIsSignedSplitIntoPartsAndHeldAgainstTheLog) {
  v1::Checkpoint c;
  c.set_topic("kam.programme.v1");
  c.set_partition(1);
  c.set_next_offset(40);
  c.mutable_taken_at()->set_seconds(1795785600);  // 2026-11-27T13:20:00Z
  c.set_writer("kam.programme-writer.p1");
  std::vector<v1::AggregateTip> tips;
  for (int i = 0; i < 5; ++i) {
    v1::AggregateTip& t = tips.emplace_back();
    t.set_aggregate_type("programme");
    t.set_aggregate_id("p" + std::to_string(i));
    t.set_version(10 + i);
    t.set_hash(std::string(32, static_cast<char>('a' + i)));
  }
  const auto parts = SealCheckpoint(c, tips, signer_.get(), /*per_part=*/2);
  ASSERT_EQ(parts.size(), 3u);
  Anchors anchors;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto opened = OpenCheckpoint(parts[i], keyring_.get());
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->part(), i + 1);
    EXPECT_EQ(opened->parts(), 3u);
    anchors.Add(*opened, "kam.checkpoints.v1/0@" + std::to_string(i));
  }
  ASSERT_EQ(anchors.all().size(), 5u);

  // Unsigned, foreign or altered checkpoints are not believed, each saying why.
  EXPECT_EQ(OpenCheckpoint(SealCheckpoint(c, tips, nullptr)[0], keyring_.get()).status().message(),
            "the checkpoint is not signed");
  auto mallory = Signer::FromPemFile(mallory_.private_pem);
  ASSERT_TRUE(mallory.ok());
  EXPECT_NE(OpenCheckpoint(SealCheckpoint(c, tips, mallory->get())[0], keyring_.get())
                .status()
                .message()
                .find("which the keyring does not hold"),
            std::string_view::npos);
  v1::SignedCheckpoint altered;
  ASSERT_TRUE(altered.ParseFromString(parts[0]));
  v1::Checkpoint body;
  ASSERT_TRUE(body.ParseFromString(altered.checkpoint()));
  body.mutable_tips(0)->set_version(1);  // claims less was written
  altered.set_checkpoint(body.SerializeAsString());
  EXPECT_EQ(OpenCheckpoint(altered.SerializeAsString(), keyring_.get()).status().message(),
            "the checkpoint's signature does not verify");
  EXPECT_EQ(OpenCheckpoint("not a checkpoint", keyring_.get()).status().code(),
            absl::StatusCode::kDataLoss);

  // An older statement never replaces a newer one.
  v1::Checkpoint older = c;
  *older.add_tips() = tips[0];
  older.mutable_tips(0)->set_version(3);
  anchors.Add(older, "elsewhere");
  const Anchor* p0 = anchors.Find("programme", "p0");
  ASSERT_NE(p0, nullptr);
  EXPECT_EQ(p0->version, 10u);
  EXPECT_EQ(DecodeAnchor(EncodeAnchor(*p0))->version, 10u);
  EXPECT_EQ(DecodeAnchor(EncodeAnchor(*p0))->where, "kam.checkpoints.v1/0@0");

  EXPECT_EQ(AnchorProblem(*p0, 12, p0->hash), "") << "a log that grew since is fine";
  EXPECT_EQ(AnchorProblem(*p0, 10, p0->hash), "");
  EXPECT_EQ(AnchorProblem(*p0, 8, std::nullopt),
            "missing tail: the log ends at version 8, version 10 (hash 6161616161616161) was "
            "anchored by the checkpoint of 2026-11-27T13:20:00+00:00 by "
            "kam.programme-writer.p1 (kam.checkpoints.v1/0@0, kam.programme.v1/1 before offset "
            "40): checkpointed events were deleted or truncated");
  EXPECT_TRUE(AnchorProblem(*p0, 12, std::string(32, 'z'))
                  .starts_with("rewritten: version 10 has hash 7a7a7a7a7a7a7a7a, not "
                               "6161616161616161 as anchored by the checkpoint of"));
  EXPECT_TRUE(AnchorProblem(*p0, 12, std::nullopt)
                  .starts_with("missing: version 10 is not in the log, but was anchored by"));
}

TEST_F(Signing, ASignedEventVerifiesAndTheHashIsStillTheLast34Bytes) {
  auto env = Sample();
  const std::string bytes = Seal(env, signer_.get());
  EXPECT_EQ(env.signing_key_id(), signer_->key_id());
  EXPECT_EQ(env.signature().size(), kSignatureSize);
  auto opened = Open(bytes, keyring_.get());
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->hash_ok);
  EXPECT_EQ(opened->signature, SignatureCheck::kValid);
  EXPECT_TRUE(opened->authentic());
  // The contract (docs/topics.md) for a verifier without our code: the hash is SHA-256 of
  // all but the last 34 bytes; the signature covers all but the last 34 + 67 bytes.
  EXPECT_EQ(Sha256(std::string_view(bytes).substr(0, bytes.size() - 34)),
            bytes.substr(bytes.size() - 32));
  const std::string_view message = std::string_view(bytes).substr(0, bytes.size() - 34 - 67);
  EXPECT_TRUE(keyring_->Verify(env.signing_key_id(), message, env.signature()));
  // Without a keyring nothing is claimed about the signature.
  EXPECT_EQ(Open(bytes)->signature, SignatureCheck::kNotChecked);
}

TEST_F(Signing, AForgeryWithARecomputedHashFailsTheSignature) {
  auto env = Sample();
  std::string bytes = Seal(env, signer_.get());
  // Change the account and recompute the hash, as anyone with the topic could.
  const auto at = bytes.find("acme");
  bytes[at + 3] = 'f';
  const std::string body = bytes.substr(0, bytes.size() - kHashSize - 2);
  bytes = body + bytes.substr(body.size(), 2) + Sha256(body);
  auto opened = Open(bytes, keyring_.get());
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->hash_ok);  // the hash alone is fooled
  EXPECT_EQ(opened->signature, SignatureCheck::kInvalid);
  EXPECT_FALSE(opened->authentic());
  EXPECT_NE(SignatureProblem(opened->signature, opened->envelope).find("does not verify"),
            std::string::npos);
}

TEST_F(Signing, UnsignedAndForeignlySignedEventsAreNotAuthentic) {
  auto unsigned_env = Sample();
  auto opened = Open(Seal(unsigned_env), keyring_.get());
  EXPECT_EQ(opened->signature, SignatureCheck::kMissing);
  EXPECT_FALSE(opened->authentic());
  auto mallory = Signer::FromPemFile(mallory_.private_pem);
  ASSERT_TRUE(mallory.ok());
  auto foreign = Sample();
  opened = Open(Seal(foreign, mallory->get()), keyring_.get());
  EXPECT_EQ(opened->signature, SignatureCheck::kUnknownKey);
  EXPECT_NE(SignatureProblem(opened->signature, opened->envelope).find((*mallory)->key_id()),
            std::string::npos);
}

TEST_F(Signing, ARotatedKeyringVerifiesOldAndNewEvents) {
  auto old_env = Sample();
  const std::string old_bytes = Seal(old_env, signer_.get());
  auto next_key = kam::testing::NewSigningKey(dir_, "next");
  auto next = Signer::FromPemFile(next_key.private_pem);
  ASSERT_TRUE(next.ok());
  auto new_env = Sample();
  const std::string new_bytes = Seal(new_env, next->get());
  auto ring =
      Keyring::FromPemFile(kam::testing::KeyringOf(dir_ + "/ring2.pem", {writer_, next_key}));
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ((*ring)->key_ids().size(), 2u);
  EXPECT_EQ(Open(old_bytes, ring->get())->signature, SignatureCheck::kValid);
  EXPECT_EQ(Open(new_bytes, ring->get())->signature, SignatureCheck::kValid);
}

TEST_F(Signing, KeyFilesAreCheckedNamingTheFile) {
  ::chmod(writer_.private_pem.c_str(), 0644);
  auto readable = Signer::FromPemFile(writer_.private_pem);
  EXPECT_EQ(readable.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(readable.status().message().find("can be read by other users"), std::string::npos);
  auto not_a_key = Keyring::FromPem("hello", "keyring x.pem");
  EXPECT_NE(not_a_key.status().message().find("keyring x.pem: holds no PEM public key"),
            std::string::npos)
      << not_a_key.status();
}

}  // namespace
}  // namespace kam::eventlog

namespace kam::eventlog {
namespace {

// librdkafka reports the coordinator's abort of an expired transaction with the fencing
// code: only a fencing of a transaction younger than the timeout is another instance's.
// (The real fencing by a second producer:
// EventLog.ANewProducerWithTheSameTransactionalIdFencesTheOld.)
TEST(Producer, AFencingCodeAfterTheTransactionTimeoutIsTheCoordinatorsAbortNotAnotherWriter) {
  using std::chrono::milliseconds;
  EXPECT_TRUE(FencedByAnotherProducer(true, milliseconds(5), kTransactionTimeout));
  EXPECT_TRUE(
      FencedByAnotherProducer(true, kTransactionTimeout - milliseconds(1), kTransactionTimeout));
  EXPECT_FALSE(FencedByAnotherProducer(true, kTransactionTimeout, kTransactionTimeout));
  EXPECT_FALSE(FencedByAnotherProducer(true, milliseconds(90000), kTransactionTimeout));
  EXPECT_FALSE(FencedByAnotherProducer(false, milliseconds(5), kTransactionTimeout));
}

}  // namespace
}  // namespace kam::eventlog
