#include "tools/kamctl/audit.h"

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "domain/programme.h"
#include "eventlog/checkpoints.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/kafka.h"
#include "eventlog/signing.h"
#include "eventlog/topics.h"

namespace kam::kamctl {
namespace {

struct Aggregate {
  std::string type;
  std::string id;
  uint64_t events = 0;  // authentic, chained
  uint64_t version = 0;
  std::string hash;
  std::string first_break;  // empty: intact
  std::vector<std::string> quarantined;
  const eventlog::Anchor* anchor = nullptr;   // its newest checkpointed tip
  std::optional<std::string> hash_at_anchor;  // the log's hash at the anchored version
  std::string checkpoint_problem;             // empty: the log agrees with the anchor
};

// A checkpoint as stored (or as exported), where it was found, and what it says.
struct FoundCheckpoint {
  std::string where;
  std::string bytes;
  absl::StatusOr<v1::Checkpoint> opened;
};

// The keyring of --keyring, or null without one; the usage error otherwise.
absl::StatusOr<std::unique_ptr<eventlog::Keyring>> LoadKeyring(const std::string& path) {
  if (path.empty()) return std::unique_ptr<eventlog::Keyring>();
  auto loaded = eventlog::Keyring::FromPemFile(path);
  if (!loaded.ok())
    return absl::InvalidArgumentError(base::StrCat("--keyring: ", loaded.status().message()));
  return std::move(*loaded);
}

// Every record of the checkpoints topic (none if the topic does not exist).
absl::Status ReadCheckpointTopic(const eventlog::KafkaOptions& kafka, const std::string& prefix,
                                 const eventlog::Keyring* keyring,
                                 std::vector<FoundCheckpoint>& out) {
  const std::string topic = eventlog::CheckpointTopic(prefix);
  if (!eventlog::PartitionCount(kafka, topic).ok()) return absl::OkStatus();
  return eventlog::ReadAll(
      kafka, topic,
      [&](const eventlog::ConsumedRecord& r) {
        out.push_back({base::StrCat(r.topic, "/", r.partition, "@", r.offset), r.value,
                       eventlog::OpenCheckpoint(r.value, keyring)});
        return absl::OkStatus();
      },
      std::chrono::seconds(300));
}

// The checkpoints of a file written by `kamctl checkpoints -o json`, each re-verified from
// its signed bytes (the file's other fields are for people and are not trusted).
absl::Status ReadCheckpointFile(const std::string& path, const eventlog::Keyring* keyring,
                                std::vector<FoundCheckpoint>& out) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(base::StrCat("--checkpoints: cannot read ", path));
  auto doc = nlohmann::json::parse(in, nullptr, false);
  if (!doc.is_array()) {
    return absl::InvalidArgumentError(base::StrCat(
        "--checkpoints: ", path, " is not a JSON array written by `kamctl checkpoints -o json`"));
  }
  for (std::size_t i = 0; i < doc.size(); ++i) {
    std::string bytes;
    if (!doc[i].is_object() || !doc[i].contains("signed") || !doc[i]["signed"].is_string() ||
        !absl::Base64Unescape(doc[i]["signed"].get<std::string>(), &bytes)) {
      return absl::InvalidArgumentError(
          base::StrCat("--checkpoints: ", path, ": entry ", i, " has no base64 \"signed\" field"));
    }
    const std::string where =
        base::StrCat(path, "#", i,
                     doc[i].contains("position") && doc[i]["position"].is_string()
                         ? base::StrCat(" (", doc[i]["position"].get<std::string>(), ")")
                         : std::string());
    out.push_back({where, bytes, eventlog::OpenCheckpoint(bytes, keyring)});
  }
  return absl::OkStatus();
}

}  // namespace

int RunAudit(const Settings& s, const AuditOptions& o, const Style& style) {
  if (s.brokers.empty()) {
    std::cerr << "kamctl audit: --brokers (or KAM_BROKERS, or brokers in the config file) is "
                 "required: the audit reads Kafka itself\n";
    return kExitUsage;
  }
  auto keyring_or = LoadKeyring(o.keyring);
  if (!keyring_or.ok()) {
    std::cerr << "kamctl audit: " << keyring_or.status().message() << "\n";
    return kExitUsage;
  }
  const std::unique_ptr<eventlog::Keyring> keyring = std::move(*keyring_or);
  auto kafka_or = KafkaOf(s);
  if (!kafka_or.ok()) {
    std::cerr << "kamctl: " << kafka_or.status().message() << "\n";
    return kExitUsage;
  }
  const eventlog::KafkaOptions kafka = *std::move(kafka_or);
  // The writers' checkpoints first: the anchors every chain is held against.
  std::vector<FoundCheckpoint> checkpoints;
  for (const std::string& file : o.checkpoint_files) {
    if (auto read = ReadCheckpointFile(file, keyring.get(), checkpoints); !read.ok()) {
      std::cerr << "kamctl audit: " << read.message() << "\n";
      return kExitUsage;
    }
  }
  if (auto read = ReadCheckpointTopic(kafka, s.topic_prefix, keyring.get(), checkpoints);
      !read.ok()) {
    std::cerr << "kamctl audit: " << read.message() << "\n";
    return kExitUnavailable;
  }
  eventlog::Anchors anchors;
  std::vector<std::string> forged_checkpoints;
  for (const FoundCheckpoint& c : checkpoints) {
    if (c.opened.ok()) {
      anchors.Add(*c.opened, c.where);
    } else {
      forged_checkpoints.push_back(base::StrCat(c.where, ": ", c.opened.status().message()));
    }
  }
  std::map<std::pair<std::string, std::string>, Aggregate> all;
  uint64_t records = 0;
  for (std::string_view type : {domain::kProgrammeAggregateType, domain::kMetricsAggregateType}) {
    const std::string topic = eventlog::AggregateTopic(s.topic_prefix, type);
    if (!eventlog::PartitionCount(kafka, topic).ok()) continue;  // never written
    absl::Status read = eventlog::ReadAll(
        kafka, topic,
        [&](const eventlog::ConsumedRecord& r) {
          if (!o.aggregate.empty() && r.key != o.aggregate) return absl::OkStatus();
          ++records;
          Aggregate& a = all[{std::string(type), r.key}];
          if (a.id.empty()) {
            a.type = type;
            a.id = r.key;
            a.anchor = anchors.Find(type, r.key);
          }
          const std::string at = base::StrCat(r.topic, "/", r.partition, "@", r.offset);
          auto opened = eventlog::Open(r.value, keyring.get());
          const std::string problem = eventlog::AuthenticityProblem(opened, r.key, type);
          if (!problem.empty()) {
            a.quarantined.push_back(base::StrCat(at, ": ", problem));
            return absl::OkStatus();
          }
          const auto& env = opened->envelope;
          if (!a.first_break.empty()) return absl::OkStatus();
          if (env.aggregate_version() != a.version + 1) {
            a.first_break = base::StrCat(at, ": version ", env.aggregate_version(), " where ",
                                         a.version + 1, " was due");
          } else if (env.previous_hash() != a.hash) {
            a.first_break = base::StrCat(at, ": version ", env.aggregate_version(),
                                         " does not chain to the hash of version ", a.version);
          } else {
            ++a.events;
            a.version = env.aggregate_version();
            a.hash = env.hash();
            if (a.anchor != nullptr && a.anchor->version == a.version) a.hash_at_anchor = a.hash;
          }
          return absl::OkStatus();
        },
        std::chrono::seconds(300));
    if (!read.ok()) {
      std::cerr << "kamctl audit: " << read.message() << "\n";
      return kExitUnavailable;
    }
  }
  // An aggregate a checkpoint names but the log has lost entirely is reported too.
  for (const auto& [key, anchor] : anchors.all()) {
    if (!o.aggregate.empty() && key.second != o.aggregate) continue;
    Aggregate& a = all[key];
    a.type = key.first;
    a.id = key.second;
    a.anchor = &anchor;
  }
  bool clean = forged_checkpoints.empty();
  Table t({"aggregate", "events", "tip", "status"});
  nlohmann::json out = nlohmann::json::array();
  for (auto& [key, a] : all) {
    if (a.anchor != nullptr && a.first_break.empty()) {
      a.checkpoint_problem = eventlog::AnchorProblem(*a.anchor, a.version, a.hash_at_anchor);
    }
    const bool ok = a.first_break.empty() && a.quarantined.empty() && a.checkpoint_problem.empty();
    clean = clean && ok;
    std::string status = !a.first_break.empty()          ? "BROKEN at " + a.first_break
                         : !a.checkpoint_problem.empty() ? "BROKEN: " + a.checkpoint_problem
                                                         : std::string("intact");
    if (a.anchor != nullptr && ok) {
      base::StrAppend(&status, ", checkpointed at v", a.anchor->version);
    }
    if (!a.quarantined.empty()) {
      base::StrAppend(&status, "; ", a.quarantined.size(), " quarantined, first ",
                      a.quarantined.front());
    }
    t.Row({base::StrCat(a.type, " ", a.id), std::to_string(a.events),
           a.version == 0
               ? "—"
               : base::StrCat("v", a.version, " ", absl::BytesToHexString(a.hash).substr(0, 16)),
           status});
    out.push_back({{"aggregate_type", a.type},
                   {"aggregate_id", a.id},
                   {"events", a.events},
                   {"tip_version", a.version},
                   {"tip_hash", absl::BytesToHexString(a.hash)},
                   {"intact", a.first_break.empty() && a.checkpoint_problem.empty()},
                   {"first_break", a.first_break},
                   {"anchored_version", a.anchor != nullptr ? a.anchor->version : 0},
                   {"checkpoint_problem", a.checkpoint_problem},
                   {"quarantined", a.quarantined}});
  }
  for (const std::string& f : forged_checkpoints) {
    std::cerr << "kamctl audit: a checkpoint is not authentic and was not used: " << f << "\n";
  }
  if (s.output == "json") {
    std::cout << out.dump(2) << "\n";
  } else if (s.output == "yaml") {
    std::cout << JsonToYaml(out.dump());
  } else {
    std::cout << records << " records read from Kafka, " << anchors.checkpoints()
              << " checkpoints; signatures "
              << (keyring ? base::StrCat("checked against ", keyring->key_ids().size(), " keys")
                          : std::string("not checked (no --keyring)"))
              << "\n";
    if (!all.empty()) std::cout << t.Render(style, 100);
  }
  return clean ? kExitOk : kExitFailed;
}

int RunCheckpoints(const Settings& s, const CheckpointsOptions& o, const Style& style) {
  if (s.brokers.empty()) {
    std::cerr << "kamctl checkpoints: --brokers (or KAM_BROKERS, or brokers in the config file) "
                 "is required: the checkpoints are read from Kafka\n";
    return kExitUsage;
  }
  auto keyring = LoadKeyring(o.keyring);
  if (!keyring.ok()) {
    std::cerr << "kamctl checkpoints: " << keyring.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<FoundCheckpoint> found;
  auto kafka = KafkaOf(s);
  if (!kafka.ok()) {
    std::cerr << "kamctl checkpoints: " << kafka.status().message() << "\n";
    return kExitUsage;
  }
  if (auto read = ReadCheckpointTopic(*kafka, s.topic_prefix, keyring->get(), found); !read.ok()) {
    std::cerr << "kamctl checkpoints: " << read.message() << "\n";
    return kExitUnavailable;
  }
  bool authentic = true;
  nlohmann::json out = nlohmann::json::array();
  Table t({"at", "taken", "covers", "tips", "writer", "signature"});
  for (const FoundCheckpoint& c : found) {
    authentic = authentic && c.opened.ok();
    // What a person reads is decoded without the keyring; "signed" is what a verifier uses.
    v1::SignedCheckpoint sc;
    v1::Checkpoint cp;
    const bool parsed = sc.ParseFromString(c.bytes) && cp.ParseFromString(sc.checkpoint());
    nlohmann::json tips = nlohmann::json::array();
    for (const auto& tip : cp.tips()) {
      tips.push_back({{"aggregate_type", tip.aggregate_type()},
                      {"aggregate_id", tip.aggregate_id()},
                      {"version", tip.version()},
                      {"hash", absl::BytesToHexString(tip.hash())}});
    }
    eventlog::Anchors one;
    one.Add(cp, c.where);
    const std::string taken = parsed && cp.has_taken_at() && !one.all().empty()
                                  ? one.all().begin()->second.taken_at
                                  : std::string("?");
    const std::string signature =
        c.opened.ok() ? (o.keyring.empty() ? std::string("not checked")
                                           : base::StrCat("valid (", sc.signing_key_id(), ")"))
                      : base::StrCat("NOT AUTHENTIC: ", c.opened.status().message());
    out.push_back({{"position", c.where},
                   {"authentic", c.opened.ok()},
                   {"signature", signature},
                   {"topic", cp.topic()},
                   {"partition", cp.partition()},
                   {"next_offset", cp.next_offset()},
                   {"taken_at", taken},
                   {"writer", cp.writer()},
                   {"complete", cp.complete()},
                   {"part", cp.part()},
                   {"parts", cp.parts()},
                   {"aggregates", cp.aggregates()},
                   {"signing_key_id", sc.signing_key_id()},
                   {"tips", tips},
                   {"signed", absl::Base64Escape(c.bytes)}});
    t.Row({c.where, taken, base::StrCat(cp.topic(), "/", cp.partition(), " < ", cp.next_offset()),
           base::StrCat(cp.tips_size(), cp.complete() ? " (all)" : ""), cp.writer(), signature});
  }
  if (s.output == "json") {
    std::cout << out.dump(2) << "\n";
  } else if (s.output == "yaml") {
    std::cout << JsonToYaml(out.dump());
  } else {
    std::cout << found.size() << " checkpoints"
              << (found.empty() ? ""
                                : "; keep `kamctl checkpoints -o json` outside the platform "
                                  "and pass it to `kamctl audit --checkpoints`")
              << "\n";
    if (!found.empty()) std::cout << t.Render(style, 100);
  }
  return authentic ? kExitOk : kExitFailed;
}

}  // namespace kam::kamctl
