// Who published an inbound record (docs/topics.md, "Publishing to the inbound topics"):
// an enterprise system signs every record it produces to an inbound topic with its own
// Ed25519 key (the key and keyring formats of eventlog/signing), in two headers; a command
// service given the publishers' keyring (--inbound-keyring) takes the publisher from the
// signature, never from a field anyone who can write the topic could fill in.
//
//   eventlog::SignInbound(*signer, "trainings", record);      // before producing `record`
//   auto by = eventlog::VerifyInbound(*keyring, "trainings", consumed);   // the key id
//   auto publisher = eventlog::InboundPublisher(*by, message.publisher());
//
// The signature is over InboundSigningMessage(kind, key, value):
//   "kam.inbound.v1" NUL <kind> NUL <decimal byte length of key> NUL <key> <value>
// where kind is the topic's kind ("metrics", "trainings", "people", "visits",
// "commitments"; the environment's topic prefix is not part of it) and key and value are
// the record's bytes. It binds the topic kind, the key and the value, so a signature moved
// onto another record or another inbound topic does not verify. A record can be replayed
// as it is (same key, value and headers): that is a re-published record, which the
// request id makes a no-op.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "eventlog/consumer.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"

namespace kam::eventlog {

// The signing key's id (16 hex characters, eventlog::KeyIdOf) and the base64 (RFC 4648,
// padded) of the 64-byte Ed25519 signature.
inline constexpr char kPublisherHeader[] = "kam-publisher";
inline constexpr char kSignatureHeader[] = "kam-signature";

std::string InboundSigningMessage(std::string_view kind, std::string_view key,
                                  std::string_view value);

// Adds the two headers to `record` (replacing any it had) for the inbound topic of `kind`.
void SignInbound(const Signer& signer, std::string_view kind, Record& record);

// The key id of `record`'s signature, if a key of `publishers` signed exactly this kind,
// key and value. PERMISSION_DENIED (a refusal: the record is dead-lettered) naming what is
// wrong otherwise: unsigned, headers given twice, a key not in the keyring, or a signature
// that does not verify.
absl::StatusOr<std::string> VerifyInbound(const Keyring& publishers, std::string_view kind,
                                          const ConsumedRecord& record);

// The publisher a record acts as ("publisher:<it>"). Signed (`signed_by` is
// VerifyInbound's key id): that key id, PERMISSION_DENIED if the message's own publisher
// field (`claimed`) is set to anything else. Unsigned (development, no --inbound-keyring):
// `claimed`, which must be an id (INVALID_ARGUMENT otherwise).
absl::StatusOr<std::string> InboundPublisher(const std::optional<std::string>& signed_by,
                                             std::string_view claimed);

}  // namespace kam::eventlog
