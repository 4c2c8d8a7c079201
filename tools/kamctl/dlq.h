// kamctl dlq: the dead-letter topics of the inbound paths, read straight from Kafka.
//
//   kamctl dlq list [--topic metrics]       every dead letter: where from, why, re-driven?
//   kamctl dlq redrive [--topic metrics]    send the not yet re-driven ones back
//
// A re-drive produces each dead letter (its key, value and a kam-redriven-from header) to
// the inbound topic it came from (header kam-dlq-topic) with its publisher's signature
// headers (kam-publisher, kam-signature) if it had them, in the partition the platform's
// partitioner gives its key, and commits the consumer group "kam.dlq-redrive"'s offset on
// the dead-letter topic in the same Kafka transaction: each dead letter is re-driven
// exactly once, however often the command runs or wherever it is interrupted. A record
// that is still refused comes back to the dead-letter topic with its new reason.
#pragma once

#include <string>

#include "tools/kamctl/client.h"
#include "tools/kamctl/render.h"

namespace kam::kamctl {

struct DlqOptions {
  std::string action;   // list | redrive
  std::string inbound;  // a kind (metrics, trainings, ...) or a full topic; empty: all
  int limit = 0;        // list: at most this many (0: all)
};

int RunDlq(const Settings& settings, const DlqOptions& options, const Style& style);

}  // namespace kam::kamctl
