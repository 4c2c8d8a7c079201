// A command service's configuration from its flags, written once for every binary: the
// Kafka client options (brokers, security, replication), event signatures, topic prefix and
// the writer's partitions, transactional id and group-commit bounds. Header-only, so that
// kam_server itself does not depend on the event log; the binaries link both.
//
//   kam::services::ProgrammeServiceConfig config;
//   if (auto s = kam::server::ConfigureWriter(config, *common, *writer); !s.ok()) ...
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/strings.h"
#include "eventlog/kafka.h"
#include "eventlog/ownership.h"
#include "eventlog/signing.h"
#include "personal/keys.h"
#include "server/process.h"

namespace kam::server {

inline eventlog::KafkaOptions KafkaOptionsOf(const CommonFlags& common) {
  return eventlog::KafkaOptions{.brokers = common.brokers,
                                .properties = common.kafka_properties,
                                .replication_factor = common.kafka_replication_factor};
}

// INVALID_ARGUMENT naming the key file or keyring that cannot be used.
template <typename Config>
absl::Status ConfigureWriter(Config& config, const CommonFlags& common, const WriterFlags& writer) {
  auto integrity = eventlog::LoadIntegrity(writer.signing_key_file, common.keyring_file);
  if (!integrity.ok()) return absl::InvalidArgumentError(integrity.status().message());
  config.kafka = KafkaOptionsOf(common);
  config.signer = integrity->signer;
  config.keyring = integrity->keyring;
  config.topic_prefix = common.topic_prefix;
  config.partitions = writer.partitions;
  config.transactional_id = writer.transactional_id;
  config.owned_partitions = writer.owned_partitions;
  config.append_timeout = writer.append_timeout;
  config.group = {writer.group_max_commands, writer.group_max_bytes, writer.group_linger,
                  writer.transaction_gap};
  config.checkpoint_interval = writer.checkpoint_interval;
  if (!common.key_dir.empty()) {
    auto keys = personal::OpenFileKeyStore(common.key_dir);
    if (!keys.ok()) {
      return absl::InvalidArgumentError(base::StrCat("--key-dir: ", keys.status().message()));
    }
    config.keys = std::shared_ptr<personal::KeyStore>(*std::move(keys));
  }
  if (writer.group_ownership) {
    config.writer_group = eventlog::OwnershipOptions{
        .group_id = base::StrCat(writer.transactional_id, ".owners"),
        .endpoint = writer.advertise,
        .session_timeout = writer.group_session_timeout,
        .heartbeat_interval =
            std::max(std::chrono::milliseconds(100), writer.group_session_timeout / 6)};
  }
  return absl::OkStatus();
}

// A service that consumes inbound topics: --inbound (consume them at all) and
// --inbound-keyring (the publishers allowed to write them, docs/topics.md).
struct InboundFlags {
  bool enabled = true;
  // Empty: publishers are unauthenticated (development only).
  std::shared_ptr<const eventlog::Keyring> publishers;
};

inline void DefineInboundFlags(Flags& flags, const std::string& topics) {
  flags.Define("inbound", "true", base::StrCat("consume the inbound ", topics, " (true/false)"));
  flags.Define("inbound-keyring", "",
               "PEM public keys of the publishers allowed to write the inbound topics; records "
               "must be signed by one of them (docs/topics.md). Required while --inbound is "
               "true, unless --inbound-unauthenticated");
  flags.Define("inbound-unauthenticated", "false",
               "development only: without --inbound-keyring, take an inbound record's publisher "
               "from its own publisher field, which anyone who can write the topic fills in "
               "(true/false)");
}

// INVALID_ARGUMENT naming the flag whose value cannot be used.
inline absl::StatusOr<InboundFlags> ParseInboundFlags(const Flags& flags) {
  InboundFlags out;
  if (auto s = flags.GetBool("inbound", out.enabled); !s.ok()) return s;
  bool unauthenticated = false;
  if (auto s = flags.GetBool("inbound-unauthenticated", unauthenticated); !s.ok()) return s;
  const std::string keyring_file = flags.Get("inbound-keyring");
  if (out.enabled && keyring_file.empty() && !unauthenticated) {
    return absl::InvalidArgumentError(
        "--inbound-keyring: required while --inbound is true: publishers sign their records "
        "(docs/topics.md); for development only, --inbound-unauthenticated true takes a "
        "record's publisher from its own field, or --inbound false reads no inbound topic");
  }
  if (!keyring_file.empty() && unauthenticated) {
    return absl::InvalidArgumentError(
        "--inbound-unauthenticated: true contradicts --inbound-keyring; give one of them");
  }
  if (const std::string& file = keyring_file; !file.empty()) {
    auto keyring = eventlog::Keyring::FromPemFile(file);
    if (!keyring.ok()) {
      return absl::InvalidArgumentError(
          base::StrCat("--inbound-keyring: ", keyring.status().message()));
    }
    out.publishers = *std::move(keyring);
  }
  return out;
}

}  // namespace kam::server
