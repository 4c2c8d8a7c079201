// The seven steps of the KAM method, with the "must" rules each one enforces: what a
// scorecard lists as holding, beside the flags ComputeFlags raises for the step.
#pragma once

#include <string_view>
#include <vector>

namespace kam::domain {

struct Step {
  int number = 0;
  std::string_view title;
  std::vector<std::string_view> musts;  // rule names of rules.h
};

const std::vector<Step>& SevenSteps();

}  // namespace kam::domain
