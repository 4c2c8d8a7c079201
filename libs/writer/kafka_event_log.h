// The writer's log on Kafka: one transactional producer per owned partition
// (LogSession), reads with read_committed, and one ClusterWatch for all of them: while it
// sees every broker down, appends are refused at once ("kafka: all brokers are down since
// ...; retry with the same request id") instead of each waiting out `append_timeout`, and
// they are taken again as soon as a broker answers.
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
