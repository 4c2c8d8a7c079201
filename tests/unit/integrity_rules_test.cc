// The record itself: a quarantined record is acknowledged four-eyes - a platform admin
// requests, the champion or a steering-board member who did not request it approves - and
// only a record of the programme that is really quarantined (rules quarantine.*).
#include "projections/governance/verify.h"
#include "unit/scenario.h"

namespace kam::testing {
namespace {

v1::LogPosition Place(int64_t offset) {
  v1::LogPosition p;
  p.set_topic("kam.programme.v1");
  p.set_partition(1);
  p.set_offset(offset);
  return p;
}

v1::RequestQuarantineAcknowledgementRequest Request(int64_t offset) {
  auto c = WithProgramme(v1::RequestQuarantineAcknowledgementRequest{});
  *c.mutable_record() = Place(offset);
  c.set_reason("Test record written by the migration job; its access is revoked");
  return c;
}

v1::ApproveQuarantineAcknowledgementRequest Approve(int64_t offset) {
  auto c = WithProgramme(v1::ApproveQuarantineAcknowledgementRequest{});
  *c.mutable_record() = Place(offset);
  return c;
}

class Integrity : public ::testing::Test {
 protected:
  void SetUp() override { WithStandardCast(s); }
  Scenario s;
};

TEST_F(Integrity, AnAcknowledgementIsRequestedThenApprovedByAnotherPerson) {
  s.Given(Request(42), kAdmin);
  ASSERT_EQ(s.state.quarantine_acks.count("kam.programme.v1/1@42"), 1u);
  EXPECT_EQ(s.state.quarantine_acks.at("kam.programme.v1/1@42").requested_by, kAdmin);
  EXPECT_TRUE(projections::AcknowledgedPlaces(s.state).empty()) << "pending: not acknowledged";

  // Only the champion or the steering board approves, and never the requester.
  EXPECT_EQ(Render(s.When(Approve(42), kKim)),
            "FAILED_PRECONDITION: rule approval.champion_or_board: kim@supplier.example may not "
            "approve acknowledging a quarantined record: only an active champion of the programme "
            "or a registered steering-board member approves");
  EXPECT_EQ(s.When(Approve(42), kAdmin).status().code(), absl::StatusCode::kPermissionDenied);
  s.Given(Approve(42), kSam);
  EXPECT_EQ(s.state.quarantine_acks.at("kam.programme.v1/1@42").approved_by, kSam);
  EXPECT_EQ(projections::AcknowledgedPlaces(s.state),
            std::set<std::string>{"kam.programme.v1/1@42"});

  // Once: neither requested nor approved again.
  EXPECT_EQ(Render(s.When(Request(42), kAdmin)),
            "FAILED_PRECONDITION: rule quarantine.acknowledged_once: the record at "
            "kam.programme.v1/1@42 was already acknowledged (by admin@supplier.example)");
  EXPECT_EQ(Render(s.When(Approve(42), kAna)),
            "FAILED_PRECONDITION: rule quarantine.acknowledged_once: the record at "
            "kam.programme.v1/1@42 was already acknowledged (approved by sam@supplier.example)");
}

TEST_F(Integrity, TheRequesterCannotApproveAndNothingUnrequestedIsApproved) {
  EXPECT_EQ(Render(s.When(Approve(7), kSam)),
            "FAILED_PRECONDITION: rule quarantine.must_be_requested: no acknowledgement of the "
            "record at kam.programme.v1/1@7 was requested in programme 'emea-kam'");
  // An admin who is also a steering-board member, under another principal: one person, so
  // their approval of their own request is refused.
  auto adam = Person("adam", kAdmin, {v1::PERSON_FUNCTION_STEERING_BOARD});
  adam.add_other_principals("adam.sso@idp.example");
  s.Given(adam, kAna);
  s.Given(Request(7), kAdmin);
  EXPECT_EQ(Render(s.When(Approve(7), "adam.sso@idp.example")),
            "FAILED_PRECONDITION: rule quarantine.four_eyes: adam.sso@idp.example requested the "
            "acknowledgement of kam.programme.v1/1@7 (as admin@supplier.example) and cannot also "
            "approve it");
  EXPECT_TRUE(s.When(Approve(7), kSam).ok());
  EXPECT_EQ(Render(s.When(Request(7), kAdmin)),
            "FAILED_PRECONDITION: rule quarantine.acknowledged_once: the record at "
            "kam.programme.v1/1@7 was already requested (by admin@supplier.example)");
}

TEST_F(Integrity, ARequestNamesAPlaceAndAReason) {
  auto no_reason = Request(1);
  no_reason.clear_reason();
  EXPECT_EQ(Render(s.When(no_reason, kAdmin)),
            "INVALID_ARGUMENT: reason: is required: what was found and what was done about it");
  auto bad_topic = Request(1);
  bad_topic.mutable_record()->set_topic("kam programme");
  EXPECT_EQ(Render(s.When(bad_topic, kAdmin)),
            "INVALID_ARGUMENT: record.topic: is not a Kafka topic name ([a-zA-Z0-9._-])");
  auto bad_offset = Request(-1);
  EXPECT_EQ(Render(s.When(bad_offset, kAdmin)), "INVALID_ARGUMENT: record.offset: must be >= 0");
}

TEST_F(Integrity, OnlyAQuarantinedRecordOfTheProgrammeIsAcknowledged) {
  EXPECT_TRUE(domain::CheckQuarantined("emea-kam", "t/1@4", "emea-kam", "it is not signed").ok());
  EXPECT_TRUE(
      domain::CheckQuarantined("emea-kam", "m/0@9", "emea-kam:acme", "it does not decode").ok());
  EXPECT_EQ(Render(domain::CheckQuarantined("emea-kam", "t/1@4", "emea-kam", "")),
            "FAILED_PRECONDITION: rule quarantine.must_be_quarantined: the record at t/1@4 is an "
            "authentic event; only a quarantined record is acknowledged");
  EXPECT_EQ(Render(domain::CheckQuarantined("emea-kam", "t/1@4", "apac-kam", "it is not signed")),
            "FAILED_PRECONDITION: rule quarantine.must_be_quarantined: the record at t/1@4 is "
            "kept under 'apac-kam', not in programme 'emea-kam'");
  EXPECT_FALSE(domain::CheckQuarantined("emea-kam", "t/1@4", "emea-kamx", "it is not signed").ok());
}

TEST(IntegrityVerification, AnAcknowledgedQuarantinedRecordNoLongerBreaksTheHistory) {
  projections::AggregateHistory h;
  h.unreadable = {"kam.programme.v1/1@42: it is not signed",
                  "kam.programme.v1/1@43: it does "
                  "not decode"};
  auto v = projections::Verify(h);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_break,
            "a record in its partition is not a valid event of it: kam.programme.v1/1@42: it is "
            "not signed");
  EXPECT_EQ(v.first_break_position.topic(), "kam.programme.v1");
  EXPECT_EQ(v.first_break_position.partition(), 1);
  EXPECT_EQ(v.first_break_position.offset(), 42);
  ASSERT_EQ(v.quarantined.size(), 2u);
  EXPECT_EQ(v.quarantined[0].place, "kam.programme.v1/1@42");
  EXPECT_EQ(v.quarantined[0].problem, "it is not signed");

  v = projections::Verify(h, {"kam.programme.v1/1@42"});
  EXPECT_FALSE(v.intact) << "the second is not acknowledged";
  EXPECT_TRUE(v.quarantined[0].acknowledged);
  EXPECT_FALSE(v.quarantined[1].acknowledged);
  EXPECT_NE(v.first_break.find("1@43"), std::string::npos) << v.first_break;

  v = projections::Verify(h, {"kam.programme.v1/1@42", "kam.programme.v1/1@43"});
  EXPECT_TRUE(v.intact) << v.first_break;
  EXPECT_EQ(v.quarantined.size(), 2u) << "acknowledged records stay listed";
}

}  // namespace
}  // namespace kam::testing
