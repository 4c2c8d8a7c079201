// The writer's log on Kafka: one transactional producer per owned partition
// (LogSession), reads with read_committed.
//
//   auto log = kam::writer::KafkaEventLog(kafka, std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <memory>

#include "eventlog/kafka.h"
#include "writer/event_log.h"

namespace kam::writer {

// `append_timeout`: how long one transaction may take before it is aborted.
std::unique_ptr<EventLog> KafkaEventLog(eventlog::KafkaOptions kafka,
                                        std::chrono::milliseconds append_timeout);

}  // namespace kam::writer
