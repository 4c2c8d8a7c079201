#include "tools/kamctl/dlq.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/consumer.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/kafka.h"
#include "eventlog/producer.h"
#include "eventlog/topics.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

constexpr char kRedriveGroup[] = "kam.dlq-redrive";

std::string Header(const eventlog::ConsumedRecord& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::vector<std::string> InboundTopics(const Settings& s, const DlqOptions& o) {
  std::vector<std::string> out;
  for (std::string_view kind : eventlog::kInboundKinds) {
    const std::string topic = eventlog::InboundTopic(s.topic_prefix, kind);
    if (o.inbound.empty() || o.inbound == kind || o.inbound == topic) out.push_back(topic);
  }
  if (out.empty() && !o.inbound.empty()) out.push_back(o.inbound);  // a topic by its name
  return out;
}

// The first offset of partition 0 the re-drive group has not handled yet (its committed
// offset), and the end of the topic.
absl::StatusOr<int64_t> Redriven(const eventlog::KafkaOptions& kafka, const std::string& dlq) {
  auto c = eventlog::Consumer::CreateInGroup(kafka, kRedriveGroup);
  if (!c.ok()) return c.status();
  KAM_RETURN_IF_ERROR((*c)->AssignCommitted(dlq, {0}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto batch = (*c)->Poll(1, std::chrono::milliseconds(200));
    if (!batch.ok()) return batch.status();
    if (!batch->empty()) return (*batch)[0].offset;
    if ((*c)->reached_end().contains(0)) {
      auto end = (*c)->QueryEndOffsets(dlq, std::chrono::seconds(5));
      return end.contains(0) ? end[0] : 0;
    }
  }
  return absl::UnavailableError(base::StrCat("could not read ", dlq, " within 30 s"));
}

int List(const Settings& s, const DlqOptions& o, const Style& style) {
  auto kafka_or = KafkaOf(s);
  if (!kafka_or.ok()) {
    std::cerr << "kamctl: " << kafka_or.status().message() << "\n";
    return kExitUsage;
  }
  const eventlog::KafkaOptions kafka = *std::move(kafka_or);
  Table t({"dead letter", "origin", "re-driven", "key", "why"});
  nlohmann::json all = nlohmann::json::array();
  int shown = 0;
  for (const std::string& inbound : InboundTopics(s, o)) {
    const std::string dlq = eventlog::DeadLetterTopic(inbound);
    if (!eventlog::PartitionCount(kafka, dlq).ok()) continue;  // nothing ever dead-lettered
    auto redriven = Redriven(kafka, dlq);
    if (!redriven.ok()) {
      std::cerr << "kamctl dlq: " << redriven.status().message() << "\n";
      return kExitUnavailable;
    }
    absl::Status read = eventlog::ReadAll(
        kafka, dlq,
        [&](const eventlog::ConsumedRecord& r) {
          if (o.limit > 0 && shown >= o.limit) return absl::OkStatus();
          ++shown;
          const bool done = r.offset < *redriven;
          const std::string position = base::StrCat(r.topic, "/", r.partition, "@", r.offset);
          t.Row({position, Header(r, eventlog::kDlqOriginHeader), done ? "yes" : "no",
                 r.key.substr(0, 40), Header(r, eventlog::kDlqReasonHeader)});
          all.push_back({{"position", position},
                         {"origin", Header(r, eventlog::kDlqOriginHeader)},
                         {"inbound_topic", Header(r, eventlog::kDlqTopicHeader)},
                         {"redriven", done},
                         {"key", r.key},
                         {"reason", Header(r, eventlog::kDlqReasonHeader)},
                         {"redriven_from", Header(r, eventlog::kRedrivenFromHeader)}});
          return absl::OkStatus();
        },
        std::chrono::seconds(60));
    if (!read.ok()) {
      std::cerr << "kamctl dlq: " << read.message() << "\n";
      return kExitUnavailable;
    }
  }
  if (s.output == "json") {
    std::cout << all.dump(2) << "\n";
  } else if (s.output == "yaml") {
    std::cout << JsonToYaml(all.dump());
  } else if (t.empty()) {
    std::cout << "no dead letters\n";
  } else {
    std::cout << t.Render(style, 90);
  }
  return kExitOk;
}

int Redrive(const Settings& s, const DlqOptions& o) {
  auto kafka_or = KafkaOf(s);
  if (!kafka_or.ok()) {
    std::cerr << "kamctl: " << kafka_or.status().message() << "\n";
    return kExitUsage;
  }
  const eventlog::KafkaOptions kafka = *std::move(kafka_or);
  int total = 0;
  for (const std::string& inbound : InboundTopics(s, o)) {
    const std::string dlq = eventlog::DeadLetterTopic(inbound);
    if (!eventlog::PartitionCount(kafka, dlq).ok()) continue;
    auto partitions = eventlog::PartitionCount(kafka, inbound);
    if (!partitions.ok()) {
      std::cerr << "kamctl dlq: " << inbound << ": " << partitions.status().message() << "\n";
      return kExitUnavailable;
    }
    auto consumer = eventlog::Consumer::CreateInGroup(kafka, kRedriveGroup);
    if (!consumer.ok()) {
      std::cerr << "kamctl dlq: " << consumer.status().message() << "\n";
      return kExitUnavailable;
    }
    if (auto st = (*consumer)->AssignCommitted(dlq, {0}); !st.ok()) {
      std::cerr << "kamctl dlq: " << st.message() << "\n";
      return kExitUnavailable;
    }
    // One re-driver per dead-letter topic at a time: the id fences any other.
    auto producer =
        eventlog::TransactionalProducer::Create(kafka, base::StrCat(kRedriveGroup, ".", dlq));
    if (!producer.ok()) {
      std::cerr << "kamctl dlq: " << producer.status().message() << "\n";
      return kExitUnavailable;
    }
    // Up to the end as it stands now: what a re-drive dead-letters again waits for the next.
    const auto end = (*consumer)->QueryEndOffsets(dlq, std::chrono::seconds(10));
    const int64_t stop_at = end.contains(0) ? end.at(0) : 0;
    int64_t next = -1;
    int here = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto batch = (*consumer)->Poll(500, std::chrono::milliseconds(500));
      if (!batch.ok()) {
        std::cerr << "kamctl dlq: " << batch.status().message() << "\n";
        return kExitUnavailable;
      }
      std::vector<eventlog::Record> records;
      for (const auto& r : *batch) {
        if (r.offset >= stop_at) break;
        std::string target = Header(r, eventlog::kDlqTopicHeader);
        if (target.empty()) target = inbound;
        eventlog::Record out{
            r.key, r.value, target, eventlog::PartitionFor(r.key, *partitions), {}};
        // The publisher's signature (over the kind, key and value, all unchanged) goes back
        // with it: a signed record is re-driven as its publisher's, never re-signed here.
        for (const auto& [name, value] : r.headers) {
          if (name == eventlog::kPublisherHeader || name == eventlog::kSignatureHeader) {
            out.headers.emplace_back(name, value);
          }
        }
        out.headers.emplace_back(eventlog::kRedrivenFromHeader,
                                 base::StrCat(r.topic, "/", r.partition, "@", r.offset));
        records.push_back(std::move(out));
        next = r.offset + 1;
      }
      if (!records.empty()) {
        eventlog::TransactionOffsets offsets{consumer->get(), dlq, {{0, next}}};
        auto appended =
            (*producer)->Append(inbound, -1, records, std::chrono::seconds(30), &offsets);
        if (!appended.ok()) {
          std::cerr << "kamctl dlq: re-drive of " << dlq << " failed, nothing of this batch was "
                    << "sent (run it again): " << appended.status().message() << "\n";
          return kExitUnavailable;
        }
        here += static_cast<int>(records.size());
      }
      if (next >= stop_at || (*consumer)->reached_end().contains(0) || stop_at == 0) break;
    }
    if (here > 0)
      std::cout << "re-drove " << here << " records from " << dlq << " to " << inbound << "\n";
    total += here;
  }
  if (total == 0) std::cout << "nothing to re-drive\n";
  return kExitOk;
}

}  // namespace

int RunDlq(const Settings& settings, const DlqOptions& options, const Style& style) {
  if (options.action == "list") return List(settings, options, style);
  return Redrive(settings, options);
}

}  // namespace kam::kamctl
