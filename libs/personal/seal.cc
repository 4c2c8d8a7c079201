#include "personal/seal.h"

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/errors.h"
#include "base/strings.h"
#include "domain/programme.h"
#include "kam/v1/envelope.pb.h"
#include "kam/v1/personal.pb.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace kam::personal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

// What of a message type holds personal data: its personal string fields (with the field
// their subject names) and the message fields that lead to more.
struct Plan {
  struct Personal {
    const FieldDescriptor* field;
    const FieldDescriptor* subject;  // null: none
  };
  std::vector<Personal> strings;
  std::vector<const FieldDescriptor*> messages;
  bool any = false;
};

class Plans {
 public:
  const Plan& Of(const Descriptor* type) {
    std::lock_guard<std::mutex> lock(mu_);
    return Build(type);
  }

 private:
  const Plan& Build(const Descriptor* type) {
    if (auto it = plans_.find(type); it != plans_.end()) return *it->second;
    auto plan = std::make_unique<Plan>();
    Plan& p = *plan;
    plans_[type] = std::move(plan);  // a type that holds itself sees its plan as it grows
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* f = type->field(i);
      if (f->type() == FieldDescriptor::TYPE_STRING && f->options().GetExtension(v1::personal)) {
        const std::string& subject = f->options().GetExtension(v1::subject);
        p.strings.push_back({f, subject.empty() ? nullptr : type->FindFieldByName(subject)});
      } else if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_map()) {
        if (Build(f->message_type()).any || f->message_type() == type) p.messages.push_back(f);
      }
    }
    p.any = !p.strings.empty() || !p.messages.empty();
    return p;
  }

  std::mutex mu_;
  std::map<const Descriptor*, std::unique_ptr<Plan>> plans_;
};

Plans& AllPlans() {
  static auto* plans = new Plans();
  return *plans;
}

void Walk(Message& m,
          const std::function<void(const FieldDescriptor&, std::string_view, std::string&)>& fn) {
  const Plan& plan = AllPlans().Of(m.GetDescriptor());
  if (!plan.any) return;
  const auto* r = m.GetReflection();
  for (const Plan::Personal& p : plan.strings) {
    const std::string subject = p.subject != nullptr ? r->GetString(m, p.subject) : std::string();
    if (p.field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, p.field); ++i) {
        std::string v = r->GetRepeatedString(m, p.field, i);
        const std::string before = v;
        fn(*p.field, subject, v);
        if (v != before) r->SetRepeatedString(&m, p.field, i, std::move(v));
      }
    } else if (r->HasField(m, p.field)) {
      std::string v = r->GetString(m, p.field);
      const std::string before = v;
      fn(*p.field, subject, v);
      if (v != before) r->SetString(&m, p.field, std::move(v));
    }
  }
  for (const FieldDescriptor* f : plan.messages) {
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) Walk(*r->MutableRepeatedMessage(&m, f, i), fn);
    } else if (r->HasField(m, f)) {
      Walk(*r->MutableMessage(&m, f), fn);
    }
  }
}

// AES-256-GCM, fetched from OpenSSL's provider once (an implicit fetch on every use cost
// more than encrypting a short value: perf showed its parameter lookups), and one cipher
// context per thread, reused.
const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

EVP_CIPHER_CTX* ThreadContext() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

std::string Aad(std::string_view key_id, std::string_view field_name) {
  return base::StrCat(key_id, std::string_view("\0", 1), field_name);
}

}  // namespace

bool HasPersonalFields(const Descriptor* type) { return AllPlans().Of(type).any; }

void ForEachPersonalValue(
    Message& message,
    const std::function<void(const FieldDescriptor&, std::string_view, std::string&)>& fn) {
  Walk(message, fn);
}

bool ParseToken(std::string_view value, std::string* key_id, std::string* sealed) {
  if (value.substr(0, kTokenPrefix.size()) != kTokenPrefix) return false;
  value.remove_prefix(kTokenPrefix.size());
  const auto colon = value.find(':');
  if (colon == std::string_view::npos || value.substr(0, colon).find('/') == std::string_view::npos)
    return false;
  std::string bytes;
  const std::string_view text = value.substr(colon + 1);
  if (!absl::Base64Unescape(absl::string_view(text.data(), text.size()), &bytes) ||
      bytes.size() < kNonceBytes + kTagBytes)
    return false;
  *key_id = std::string(value.substr(0, colon));
  *sealed = std::move(bytes);
  return true;
}

absl::StatusOr<std::string> Sealer::SealValue(std::string_view key_id, std::string_view field_name,
                                              std::string_view plaintext) {
  auto key = keys_.KeyFor(key_id);
  if (!key.ok()) return key.status();
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kNonceBytes) != 1) return absl::InternalError("seal: no random nonce");
  const std::string aad = Aad(key_id, field_name);
  EVP_CIPHER_CTX* ctx = ThreadContext();
  int len = 0;
  const bool ok =
      ctx != nullptr && Gcm() != nullptr &&
      EVP_EncryptInit_ex2(ctx, Gcm(), reinterpret_cast<const unsigned char*>(key->data()), bytes,
                          nullptr) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, bytes + kNonceBytes, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, bytes + kNonceBytes + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          bytes + kNonceBytes + plaintext.size()) == 1;
  if (!ok) return absl::InternalError("seal: AES-256-GCM failed");
  return base::StrCat(kTokenPrefix, key_id, ":",
                      absl::Base64Escape(absl::string_view(out.data(), out.size())));
}

absl::Status Sealer::Seal(Message& message, std::string_view programme_id, const Whose& whose) {
  absl::Status status;
  Walk(message, [&](const FieldDescriptor& field, std::string_view subject, std::string& value) {
    if (!status.ok() || value.empty()) return;
    if (value.substr(0, kTokenPrefix.size()) == kTokenPrefix) {
      status = base::InvalidField(field.name(), base::StrCat("may not start with \"", kTokenPrefix,
                                                             "\" (a sealed value's prefix)"));
      return;
    }
    std::string person(subject);
    if (person.empty() && whose.person_of) person = whose.person_of(value);
    if (person.empty()) person = whose.author;
    if (person.empty()) return;  // nobody's: the platform admin's or a system's text
    static const FieldDescriptor* const kActor =
        v1::EventEnvelope::descriptor()->FindFieldByName("actor");
    auto sealed = &field == kActor
                      ? ActorToken(KeyId(programme_id, person), field.full_name(), value)
                      : SealValue(KeyId(programme_id, person), field.full_name(), value);
    if (!sealed.ok()) {
      status = sealed.status();
      return;
    }
    value = *std::move(sealed);
  });
  return status;
}

absl::StatusOr<std::string> Sealer::ActorToken(const std::string& key_id,
                                               std::string_view field_name,
                                               std::string_view principal) {
  // The key is looked up every time: nothing is sealed for a person erased meanwhile.
  if (auto key = keys_.KeyFor(key_id); !key.ok()) return key.status();
  const std::string cache_key = base::StrCat(key_id, std::string_view("\0", 1), principal);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = actor_tokens_.find(cache_key); it != actor_tokens_.end()) return it->second;
  }
  auto sealed = SealValue(key_id, field_name, principal);
  if (!sealed.ok()) return sealed;
  std::lock_guard<std::mutex> lock(mu_);
  if (actor_tokens_.size() >= kActorTokens) actor_tokens_.clear();
  actor_tokens_.emplace(cache_key, *sealed);
  return sealed;
}

std::string Revealer::Open(std::string_view value, std::string_view field_name) {
  std::string key_id;
  std::string sealed;
  if (!ParseToken(value, &key_id, &sealed)) return std::string(value);
  auto found = keys_.Lookup(key_id);
  if (!found.ok()) return std::string(kUnreadable);
  if (found->state == KeyLookup::State::kErased) return domain::ErasedPersonName(found->number);
  if (found->state != KeyLookup::State::kKey) return std::string(kUnreadable);
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t text = sealed.size() - kNonceBytes - kTagBytes;
  std::string out(text, '\0');
  const std::string aad = Aad(key_id, field_name);
  EVP_CIPHER_CTX* ctx = ThreadContext();
  int len = 0;
  std::string tag = sealed.substr(kNonceBytes + text);
  const bool ok =
      ctx != nullptr && Gcm() != nullptr &&
      EVP_DecryptInit_ex2(ctx, Gcm(), reinterpret_cast<const unsigned char*>(found->key.data()),
                          bytes, nullptr) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                        bytes + kNonceBytes, static_cast<int>(text)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) return std::string(kUnreadable);
  return out;
}

absl::Status Revealer::Erase(std::string_view programme_id, std::string_view person_id,
                             uint32_t number) {
  return keys_.Destroy(KeyId(programme_id, person_id), number);
}

void Revealer::Reveal(Message& message) {
  if (message.GetDescriptor() == v1::EventEnvelope::descriptor()) {
    const auto& env = static_cast<const v1::EventEnvelope&>(message);
    if (env.event().has_personal_data_erased()) {
      const auto& e = env.event().personal_data_erased();
      // A failure leaves the key (the writer destroyed it already, or the next reader will).
      (void)Erase(e.programme_id(), e.person_id(), e.person_number());
    }
  }
  Walk(message, [&](const FieldDescriptor& field, std::string_view, std::string& value) {
    if (value.substr(0, kTokenPrefix.size()) == kTokenPrefix)
      value = Open(value, field.full_name());
  });
}

void Withhold(Message& message) {
  Walk(message, [](const FieldDescriptor&, std::string_view, std::string& value) {
    if (!value.empty()) value = std::string(kWithheld);
  });
}

}  // namespace kam::personal
