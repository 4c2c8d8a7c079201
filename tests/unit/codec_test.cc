#include "eventlog/codec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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
