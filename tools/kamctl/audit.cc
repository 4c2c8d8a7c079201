#include "tools/kamctl/audit.h"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "domain/programme.h"
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
};

}  // namespace

int RunAudit(const Settings& s, const AuditOptions& o, const Style& style) {
  if (s.brokers.empty()) {
    std::cerr << "kamctl audit: --brokers (or KAM_BROKERS, or brokers in the config file) is "
                 "required: the audit reads Kafka itself\n";
    return kExitUsage;
  }
  std::unique_ptr<eventlog::Keyring> keyring;
  if (!o.keyring.empty()) {
    auto loaded = eventlog::Keyring::FromPemFile(o.keyring);
    if (!loaded.ok()) {
      std::cerr << "kamctl audit: --keyring: " << loaded.status().message() << "\n";
      return kExitUsage;
    }
    keyring = std::move(*loaded);
  }
  const eventlog::KafkaOptions kafka{.brokers = s.brokers};
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
          a.type = type;
          a.id = r.key;
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
          }
          return absl::OkStatus();
        },
        std::chrono::seconds(300));
    if (!read.ok()) {
      std::cerr << "kamctl audit: " << read.message() << "\n";
      return kExitUnavailable;
    }
  }
  bool clean = true;
  Table t({"aggregate", "events", "tip", "status"});
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, a] : all) {
    const bool ok = a.first_break.empty() && a.quarantined.empty();
    clean = clean && ok;
    std::string status = a.first_break.empty() ? "intact" : "BROKEN at " + a.first_break;
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
                   {"intact", a.first_break.empty()},
                   {"first_break", a.first_break},
                   {"quarantined", a.quarantined}});
  }
  if (s.output == "json") {
    std::cout << out.dump(2) << "\n";
  } else if (s.output == "yaml") {
    std::cout << JsonToYaml(out.dump());
  } else {
    std::cout << records << " records read from Kafka; signatures "
              << (keyring ? base::StrCat("checked against ", keyring->key_ids().size(), " keys")
                          : std::string("not checked (no --keyring)"))
              << "\n";
    if (!all.empty()) std::cout << t.Render(style, 100);
  }
  return clean ? kExitOk : kExitFailed;
}

}  // namespace kam::kamctl
