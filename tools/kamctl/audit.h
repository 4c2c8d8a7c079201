// kamctl audit: the event topics checked straight from Kafka, trusting nothing of the
// platform but the writers' public keys - the tool an auditor runs beside, not through,
// the read models.
//
//   kamctl audit --brokers kafka:9092 --keyring keyring.pem [--aggregate emea-kam]
//
// Per aggregate (the topic's type, the record's key): the events that are authentic (hash,
// signature by a keyring key, key and topic agreeing with the envelope) and chain (versions
// 1..n, each previous_hash the hash before), the tip (version and hash, to compare with
// one recorded earlier: a missing tail shows as an older tip), the first break, and the
// records quarantined as not authentic. The tips are held against the writers' signed
// checkpoints (the checkpoints topic, and any exported with `kamctl checkpoints` and kept
// outside, --checkpoints FILE): a chain that no longer reaches a checkpointed version has
// lost its tail, one with another hash there was rewritten. Exit 0 when every aggregate is
// intact and nothing is quarantined, 1 otherwise.
//
//   kamctl checkpoints --keyring keyring.pem -o json > checkpoints-2026-11.json
//
// lists the checkpoints (verified with the keyring) for a board to keep.
#pragma once

#include <string>
#include <vector>

#include "tools/kamctl/client.h"
#include "tools/kamctl/render.h"

namespace kam::kamctl {

struct AuditOptions {
  std::string keyring;                        // PEM public keys; empty: hashes and chains only
  std::string aggregate;                      // only this aggregate id; empty: all
  std::vector<std::string> checkpoint_files;  // exported by `kamctl checkpoints -o json`
};

int RunAudit(const Settings& settings, const AuditOptions& options, const Style& style);

struct CheckpointsOptions {
  std::string keyring;  // PEM public keys; empty: signatures not checked
};

int RunCheckpoints(const Settings& settings, const CheckpointsOptions& options, const Style& style);

}  // namespace kam::kamctl
