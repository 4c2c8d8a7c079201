#include "domain/steps.h"

#include "domain/rules.h"

namespace kam::domain {

const std::vector<Step>& SevenSteps() {
  using namespace rules;  // NOLINT(google-build-using-namespace): a table of rule names
  static const std::vector<Step> kSteps = {
      {1,
       "KAM is organisational change, not a sales technique",
       {kCommitmentOwner, kCommitmentUnique, kCommitmentMustExist, kCommitmentOpen,
        kTeamMembership}},
      {2,
       "Senior executive sponsorship",
       {kSponsorExecutive, kSponsorMaxAccounts, kSponsorOnePerAccount, kSponsorMustBeAssigned,
        kDateNotFuture}},
      {3,
       "A KAM champion",
       {kChampionAlreadyActive, kChampionSenior, kChampionMustBeActive, kApprovalChampionOrBoard,
        kMembershipRequired, kMembershipGrantedByApprover, kMembershipObserversReadOnly,
        kMembershipChange}},
      {4,
       "Identify key accounts carefully",
       {kProgrammeUnique, kPortfolioBounds, kParametersValid, kParametersMaxBelowActive,
        kCriteriaValid, kCriteriaWeights, kCriteriaNoTenure, kNominationUnique, kAccountStage,
        kAssessmentCurrentCriteria, kAssessmentComplete, kAdmissionRequiresAssessment,
        kAdmissionFourEyes, kAdmissionException, kPortfolioMax, kIncubationReviewDate}},
      {5,
       "Appoint and train key account managers",
       {kManagerRegistered, kManagerTrainedOrPlanned, kManagerOnePerAccount, kSkillRequired,
        kPersonUnique}},
      {6,
       "Proper metrics: profit and lifetime value, not revenue",
       {kMetricShape, kMetricDerived, kMetricSingleCurrency, kMetricUniqueSource, kMetricCorrection,
        kMetricPeriod}},
      {7,
       "Benchmark and build best practice",
       {kBenchmarkUnique, kBenchmarkMustExist, kPracticeUnique, kRetractionTarget,
        kParametersSponsorLoad}},
  };
  return kSteps;
}

}  // namespace kam::domain
