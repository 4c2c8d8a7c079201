// Partitioning agrees with Kafka's Java default partitioner (Utils.murmur2 + toPositive):
// expected values computed with the kafka-clients jar of deploy/kafka.
#include <gtest/gtest.h>

#include "eventlog/kafka.h"

namespace kam::eventlog {
namespace {

TEST(PartitionFor, MatchesKafkasDefaultPartitioner) {
  struct Case {
    const char* key;
    int32_t of3;
    int32_t of1000;
  };
  for (const Case& c : {Case{"1", 0, 159}, Case{"12", 1, 238}, Case{"123", 2, 165},
                        Case{"1234", 0, 940}, Case{"12345", 2, 44}, Case{"emea-kam", 1, 824},
                        Case{"emea-kam:acme", 0, 798}, Case{"", 0, 681}}) {
    EXPECT_EQ(PartitionFor(c.key, 3), c.of3) << c.key;
    EXPECT_EQ(PartitionFor(c.key, 1000), c.of1000) << c.key;
  }
}

}  // namespace
}  // namespace kam::eventlog
