#include "eventlog/inbound_signature.h"

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"

namespace kam::eventlog {
namespace {

constexpr std::string_view kDomain = "kam.inbound.v1";

// The value of header `name`; nullopt if absent; PERMISSION_DENIED if given twice (which
// of the two a reader believes must never matter).
absl::StatusOr<std::optional<std::string>> OneHeader(const ConsumedRecord& r,
                                                     std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : r.headers) {
    if (k != name) continue;
    if (out) {
      return absl::PermissionDeniedError(
          base::StrCat("inbound record has the header ", name, " more than once"));
    }
    out = v;
  }
  return out;
}

}  // namespace

std::string InboundSigningMessage(std::string_view kind, std::string_view key,
                                  std::string_view value) {
  std::string m;
  m.reserve(kDomain.size() + kind.size() + key.size() + value.size() + 24);
  m.append(kDomain).push_back('\0');
  m.append(kind).push_back('\0');
  m.append(std::to_string(key.size())).push_back('\0');
  m.append(key).append(value);
  return m;
}

void SignInbound(const Signer& signer, std::string_view kind, Record& record) {
  std::erase_if(record.headers, [](const auto& h) {
    return h.first == kPublisherHeader || h.first == kSignatureHeader;
  });
  record.headers.emplace_back(kPublisherHeader, signer.key_id());
  record.headers.emplace_back(
      kSignatureHeader,
      absl::Base64Escape(signer.Sign(InboundSigningMessage(kind, record.key, record.value))));
}

absl::StatusOr<std::string> VerifyInbound(const Keyring& publishers, std::string_view kind,
                                          const ConsumedRecord& record) {
  auto key_id = OneHeader(record, kPublisherHeader);
  if (!key_id.ok()) return key_id.status();
  auto signature = OneHeader(record, kSignatureHeader);
  if (!signature.ok()) return signature.status();
  if (!*key_id || !*signature) {
    return absl::PermissionDeniedError(
        base::StrCat("inbound record is unsigned: headers ", kPublisherHeader, " and ",
                     kSignatureHeader, " are required (publishers sign their records)"));
  }
  const std::string& id = **key_id;
  if (!publishers.Has(id)) {
    return absl::PermissionDeniedError(base::StrCat("inbound record is signed by key '",
                                                    id.substr(0, 40),
                                                    "', which is not in the inbound keyring"));
  }
  std::string raw;
  if (!absl::Base64Unescape(**signature, &raw) ||
      !publishers.Verify(id, InboundSigningMessage(kind, record.key, record.value), raw)) {
    return absl::PermissionDeniedError(base::StrCat("inbound record's signature by key '", id,
                                                    "' does not verify over its ", kind,
                                                    " topic, key and value"));
  }
  return id;
}

absl::StatusOr<std::string> InboundPublisher(const std::optional<std::string>& signed_by,
                                             std::string_view claimed) {
  if (!signed_by) {
    KAM_RETURN_IF_ERROR(base::ValidateId("publisher", claimed));
    return std::string(claimed);
  }
  if (!claimed.empty() && claimed != *signed_by) {
    return absl::PermissionDeniedError(base::StrCat("inbound record claims publisher '",
                                                    claimed.substr(0, 64), "' but is signed by '",
                                                    *signed_by, "'"));
  }
  return *signed_by;
}

}  // namespace kam::eventlog
