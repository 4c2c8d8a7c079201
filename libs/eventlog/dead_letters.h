// The dead-letter topic: where ingestion puts a record it cannot turn into an event,
// with the reason, so that nothing is dropped silently.
//
//   auto dlq = kam::eventlog::DeadLetters::Create(kafka, "kam.inbound.metrics.v1.dlq");
//   KAM_RETURN_IF_ERROR((*dlq)->Send(key, value, "rule metric.shape: ...", "topic/2@17"));
//
// Record headers: kam-dlq-reason (the error, naming the field or rule), kam-dlq-origin
// (where the record came from). Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "eventlog/kafka.h"

namespace RdKafka {
class Producer;
}  // namespace RdKafka

namespace kam::eventlog {

class DeliveryReports;

class DeadLetters {
 public:
  // Creates the topic if missing (infinite retention).
  static absl::StatusOr<std::unique_ptr<DeadLetters>> Create(const KafkaOptions& options,
                                                             std::string topic);
  ~DeadLetters();
  DeadLetters(const DeadLetters&) = delete;
  DeadLetters& operator=(const DeadLetters&) = delete;

  // Appends one record and waits until the brokers acknowledge it. UNAVAILABLE if they
  // do not within `timeout`: the caller must then not treat the record as handled.
  absl::Status Send(std::string_view key, std::string_view value, std::string_view reason,
                    std::string_view origin,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const std::string& topic() const { return topic_; }

 private:
  DeadLetters() = default;
  std::string topic_;
  std::mutex mu_;
  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace kam::eventlog
