// The real Kafka broker for integration and end-to-end tests.
//
//   const std::string& brokers = kam::testing::SharedBroker();   // KAM_KAFKA_BROKERS or private
//   std::string prefix = kam::testing::UniqueTopicPrefix();       // isolates a test's topics
//
//   kam::testing::PrivateBroker broker;   // one this test may stop and start (outages)
//   broker.Start(); broker.Stop(); broker.Start();
//
// Brokers are started with deploy/kafka/broker.sh on 127.0.0.1 with data in a temp dir.
#pragma once

#include <string>

#include "eventlog/kafka.h"

namespace kam::testing {

class PrivateBroker {
 public:
  PrivateBroker();   // picks a free port and a temp dir; does not start
  ~PrivateBroker();  // stops and removes the data
  PrivateBroker(const PrivateBroker&) = delete;
  PrivateBroker& operator=(const PrivateBroker&) = delete;

  void Start();  // throws std::runtime_error if the broker does not come up
  void Stop();
  const std::string& brokers() const { return brokers_; }

 private:
  std::string dir_;
  int port_ = 0;
  std::string brokers_;
};

// The broker every test of the process shares: KAM_KAFKA_BROKERS if set, otherwise a
// private broker started on first use and stopped at exit.
const std::string& SharedBroker();

eventlog::KafkaOptions SharedKafka();

// "t<random>-<n>-" with n counting up: a fresh topic namespace per call, also across
// processes sharing a broker.
std::string UniqueTopicPrefix();

}  // namespace kam::testing
