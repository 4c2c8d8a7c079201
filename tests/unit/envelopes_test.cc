// The writer's envelope chain: versions without gaps, each event pointing at the hash of
// the one before, and command results remembered for retries.
#include "writer/envelopes.h"

#include <gtest/gtest.h>

#include "eventlog/codec.h"

namespace kam::writer {
namespace {

domain::Events TwoEvents() {
  domain::Events events(2);
  events[0].mutable_account_nominated()->set_account_id("acme");
  events[1].mutable_account_nominated()->set_account_id("globex");
  return events;
}

CommandInfo Info(std::string request_id) {
  CommandInfo info;
  info.aggregate_type = "programme";
  info.aggregate_id = "emea-kam";
  info.actor = "ana";
  info.metadata.set_client_request_id(std::move(request_id));
  info.recorded_at = absl::FromUnixSeconds(1700000000);
  return info;
}

v1::LogPosition At(int64_t offset) {
  v1::LogPosition p;
  p.set_topic("kam.programme.v1");
  p.set_partition(1);
  p.set_offset(offset);
  return p;
}

TEST(Envelopes, ACommandContinuesTheChain) {
  Chain chain;
  SealedCommand sealed = SealCommand(chain, Info("r1"), TwoEvents());
  ASSERT_EQ(sealed.envelopes.size(), 2u);
  EXPECT_EQ(sealed.envelopes[0].aggregate_version(), 1u);
  EXPECT_EQ(sealed.envelopes[0].previous_hash(), "");
  EXPECT_EQ(sealed.envelopes[1].aggregate_version(), 2u);
  EXPECT_EQ(sealed.envelopes[1].previous_hash(), sealed.envelopes[0].hash());
  EXPECT_EQ(sealed.envelopes[1].command_event_index(), 1u);
  EXPECT_EQ(sealed.envelopes[1].command_event_count(), 2u);
  EXPECT_EQ(sealed.envelopes[0].correlation_id(), "r1");  // defaults to the request id
  EXPECT_EQ(chain.version, 0u);                           // nothing changes before the append

  auto result = Advance(chain, sealed, {At(7), At(8)});
  EXPECT_EQ(chain.version, 2u);
  EXPECT_EQ(chain.last_hash, sealed.envelopes[1].hash());
  EXPECT_EQ(result.aggregate_version(), 2u);
  EXPECT_EQ(result.position().offset(), 8);
  EXPECT_EQ(chain.results.at("r1").event_ids_size(), 2);
}

TEST(Envelopes, ReplayRebuildsTheSameTipAndResults) {
  Chain writer;
  SealedCommand first = SealCommand(writer, Info("r1"), TwoEvents());
  Advance(writer, first, {At(7), At(8)});

  Chain reader;
  for (std::size_t i = 0; i < first.bytes.size(); ++i) {
    auto opened = eventlog::Open(first.bytes[i]);
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(
        Replay(reader, opened->envelope, opened->hash_ok, At(7 + static_cast<int64_t>(i))).ok());
  }
  EXPECT_EQ(reader.version, writer.version);
  EXPECT_EQ(reader.last_hash, writer.last_hash);
  EXPECT_EQ(reader.results.at("r1").DebugString(), writer.results.at("r1").DebugString());
}

TEST(Envelopes, ReplayDetectsAGapAndAForgedPreviousHash) {
  Chain writer;
  SealedCommand first = SealCommand(writer, Info("r1"), TwoEvents());

  Chain gap;
  EXPECT_EQ(Replay(gap, first.envelopes[1], true, At(8)).code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(gap.broken.find("expected version 1"), std::string::npos) << gap.broken;

  Chain forged;
  ASSERT_TRUE(Replay(forged, first.envelopes[0], true, At(7)).ok());
  v1::EventEnvelope bad = first.envelopes[1];
  bad.set_previous_hash(std::string(32, 'x'));
  EXPECT_EQ(Replay(forged, bad, true, At(8)).code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(forged.broken.find("broken at version 2"), std::string::npos) << forged.broken;
  // Once broken, the aggregate stays broken.
  EXPECT_FALSE(Replay(forged, first.envelopes[1], true, At(8)).ok());
}

}  // namespace
}  // namespace kam::writer
