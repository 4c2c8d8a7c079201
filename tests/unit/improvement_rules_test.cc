// Step 7: programme review, benchmarks, best practice; corrections by retraction.
#include "unit/scenario.h"

namespace kam::testing {
namespace {

class Improvement : public ::testing::Test {
 protected:
  void SetUp() override { WithStandardCast(s); }
  v1::RecordBenchmarkRequest Benchmark(std::string id) {
    auto c = WithProgramme(v1::RecordBenchmarkRequest{});
    c.set_benchmark_id(std::move(id));
    c.set_compared_with("Industry KAM survey 2026");
    c.set_findings("Peers review key accounts quarterly");
    return c;
  }
  Scenario s;
};

TEST_F(Improvement, ProgrammeReviewsAreApproved) {
  auto review = WithProgramme(v1::ReviewProgrammeRequest{});
  review.set_summary("Year one");
  review.add_findings("Two accounts below contribution target");
  EXPECT_EQ(s.When(review, kKim).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(s.When(review, kSam).ok());
  review.add_findings("");
  EXPECT_EQ(Render(s.When(review, kSam)), "INVALID_ARGUMENT: findings[1]: is required");
}

TEST_F(Improvement, BenchmarksAndPracticesAreRecordedOnce) {
  s.Given(Benchmark("b-2026"), kAna);
  EXPECT_EQ(Render(s.When(Benchmark("b-2026"), kAna)),
            "ALREADY_EXISTS: rule benchmark.unique: benchmark 'b-2026' already exists");
  auto practice = WithProgramme(v1::AdoptBestPracticeRequest{});
  practice.set_practice_id("quarterly-reviews");
  practice.set_description("Review every key account quarterly");
  practice.set_benchmark_id("b-1999");
  EXPECT_EQ(
      Render(s.When(practice, kAna)),
      "FAILED_PRECONDITION: rule benchmark.must_exist: benchmark 'b-1999' was never recorded");
  practice.set_benchmark_id("b-2026");
  s.Given(practice, kAna);
  EXPECT_EQ(
      Render(s.When(practice, kAna)),
      "ALREADY_EXISTS: rule practice.unique: practice 'quarterly-reviews' is already adopted");
}

TEST_F(Improvement, ALoggedRecordIsRetractedOnceAndStopsCounting) {
  s.Given(Benchmark("b-2026"), kAna);
  const std::string benchmark_event = s.last_event_id;
  ASSERT_TRUE(s.state.LastBenchmark().has_value());
  auto retract = WithProgramme(v1::RetractRecordRequest{});
  retract.set_event_id(benchmark_event);
  retract.set_reason("Recorded against the wrong programme");
  s.Given(retract, kAna);
  EXPECT_FALSE(s.state.LastBenchmark().has_value());
  EXPECT_EQ(Render(s.When(retract, kAna)), "FAILED_PRECONDITION: rule retraction.target: event '" +
                                               benchmark_event + "' is already retracted");
  retract.set_event_id("e1");  // the charter: not a logged record
  EXPECT_EQ(Render(s.When(retract, kAna)),
            "FAILED_PRECONDITION: rule retraction.target: event 'e1' is not a sponsor visit, "
            "training, competency assessment or benchmark of this programme");
}

TEST_F(Improvement, RetractingATrainingRemovesTheSkill) {
  // kim's first training (FINANCE) was logged as event e10 by WithStandardCast.
  std::string finance_event;
  for (const auto& [id, r] : s.state.records) {
    if (r.person_id == "kim" && r.skill == v1::SKILL_FINANCE) finance_event = id;
  }
  ASSERT_FALSE(finance_event.empty());
  EXPECT_TRUE(s.state.HasSkill("kim", v1::SKILL_FINANCE));
  auto retract = WithProgramme(v1::RetractRecordRequest{});
  retract.set_event_id(finance_event);
  retract.set_reason("Course not completed");
  s.Given(retract, kAna);
  EXPECT_FALSE(s.state.HasSkill("kim", v1::SKILL_FINANCE));
}

}  // namespace
}  // namespace kam::testing
