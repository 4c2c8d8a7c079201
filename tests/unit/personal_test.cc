// Personal data (issue 14): every string field of the contract is classified, personal
// fields are sealed per person with AES-256-GCM and opened again, and a destroyed key
// leaves the stable placeholder.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "kam/v1/envelope.pb.h"
#include "kam/v1/governance_service.pb.h"
#include "kam/v1/personal.pb.h"
#include "personal/keys.h"
#include "personal/seal.h"

namespace kam::personal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

// The string fields of `file` without an explicit (kam.v1.personal), and personal fields
// whose (kam.v1.subject) names no string field of their message.
void Unclassified(const Descriptor* m, std::vector<std::string>& out) {
  // A map's entry type is generated (it takes no options): a map of strings holds names of
  // things (activities), never people, and the sealing walk does not enter maps.
  if (m->options().map_entry()) return;
  for (int i = 0; i < m->field_count(); ++i) {
    const FieldDescriptor* f = m->field(i);
    if (f->type() != FieldDescriptor::TYPE_STRING) continue;
    if (!f->options().HasExtension(v1::personal)) {
      out.push_back(f->full_name() + ": no (kam.v1.personal)");
      continue;
    }
    const std::string& subject = f->options().GetExtension(v1::subject);
    if (subject.empty()) continue;
    const FieldDescriptor* s = m->FindFieldByName(subject);
    if (s == nullptr || s->type() != FieldDescriptor::TYPE_STRING || s->is_repeated()) {
      out.push_back(f->full_name() + ": (kam.v1.subject) \"" + subject +
                    "\" is no string field of " + m->full_name());
    }
  }
  for (int i = 0; i < m->nested_type_count(); ++i) Unclassified(m->nested_type(i), out);
}

std::vector<std::string> Unclassified(const FileDescriptor* file) {
  std::vector<std::string> out;
  for (int i = 0; i < file->message_type_count(); ++i) Unclassified(file->message_type(i), out);
  return out;
}

TEST(Classification, EveryStringFieldOfTheContractSaysWhetherItIsPersonal) {
  // Every .proto in proto/kam/v1, so a new file is covered too.
  const std::string dir = std::string(KAM_SOURCE_DIR) + "/proto/kam/v1";
  int files = 0;
  int strings = 0;
  int personal = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name = "kam/v1/" + entry.path().filename().string();
    const FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name << " is not compiled into kam_proto (proto/CMakeLists.txt)";
    ++files;
    for (const std::string& problem : Unclassified(file)) ADD_FAILURE() << problem;
    std::vector<const Descriptor*> todo;
    for (int i = 0; i < file->message_type_count(); ++i) todo.push_back(file->message_type(i));
    while (!todo.empty()) {
      const Descriptor* m = todo.back();
      todo.pop_back();
      for (int i = 0; i < m->nested_type_count(); ++i) todo.push_back(m->nested_type(i));
      if (m->options().map_entry()) continue;
      for (int i = 0; i < m->field_count(); ++i) {
        if (m->field(i)->type() != FieldDescriptor::TYPE_STRING) continue;
        ++strings;
        personal += m->field(i)->options().GetExtension(v1::personal) ? 1 : 0;
      }
    }
  }
  EXPECT_GE(files, 12);
  std::printf("[classification] %d files, %d string fields, %d personal\n", files, strings,
              personal);
}

TEST(Classification, TheCheckFindsAFieldAddedWithoutAClassification) {
  // A file as a new field would arrive: one string field classified, one not.
  google::protobuf::FileDescriptorProto proto;
  proto.set_name("kam/v1/new.proto");
  proto.set_package("kam.v1.test");
  proto.set_syntax("proto3");
  auto* m = proto.add_message_type();
  m->set_name("NewEvent");
  auto* a = m->add_field();
  a->set_name("classified");
  a->set_number(1);
  a->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  a->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  a->mutable_options()->SetExtension(v1::personal, false);
  auto* b = m->add_field();
  b->set_name("manager_email");
  b->set_number(2);
  b->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  b->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  const FileDescriptor* file = pool.BuildFile(proto);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(Unclassified(file),
            std::vector<std::string>{"kam.v1.test.NewEvent.manager_email: no (kam.v1.personal)"});
}

class Sealing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kam-keys-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto keys = OpenFileKeyStore(dir_.string());
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Ana registers Olga: her name and principals are Olga's, registered_by is Ana's, the actor
  // too.
  static v1::EventEnvelope Registration() {
    v1::EventEnvelope env;
    env.set_aggregate_id("emea-kam");
    env.set_actor("ana@supplier.example");
    auto* e = env.mutable_event()->mutable_person_registered();
    e->set_programme_id("emea-kam");
    e->set_person_id("olga");
    e->set_name("Olga Petrova");
    e->set_principal("olga@supplier.example");
    e->add_other_principals("olga.p@sso.example");
    e->set_registered_by("ana@supplier.example");
    return env;
  }
  static Whose AnaIsAna() {
    Whose whose;
    whose.person_of = [](std::string_view principal) {
      return principal == "ana@supplier.example" ? std::string("ana") : std::string();
    };
    whose.author = "ana";
    return whose;
  }

  std::filesystem::path dir_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(Sealing, PersonalFieldsAreSealedPerPersonAndOpenAgain) {
  Sealer sealer(*keys_);
  v1::EventEnvelope env = Registration();
  ASSERT_TRUE(sealer.Seal(env, "emea-kam", AnaIsAna()).ok());
  const auto& e = env.event().person_registered();
  EXPECT_EQ(e.person_id(), "olga");  // not personal: stays
  EXPECT_EQ(e.programme_id(), "emea-kam");
  EXPECT_TRUE(e.name().starts_with("kam-pd1:emea-kam/olga:")) << e.name();
  EXPECT_TRUE(e.principal().starts_with("kam-pd1:emea-kam/olga:"));
  EXPECT_TRUE(e.other_principals(0).starts_with("kam-pd1:emea-kam/olga:"));
  EXPECT_TRUE(e.registered_by().starts_with("kam-pd1:emea-kam/ana:"));
  EXPECT_TRUE(env.actor().starts_with("kam-pd1:emea-kam/ana:"));
  // Nothing of the plaintext is in the serialised bytes.
  const std::string bytes = env.SerializeAsString();
  EXPECT_EQ(bytes.find("Olga"), std::string::npos);
  EXPECT_EQ(bytes.find("olga@"), std::string::npos);
  EXPECT_EQ(bytes.find("ana@"), std::string::npos);
  // Two seals of one value differ (a fresh nonce each).
  v1::EventEnvelope again = Registration();
  ASSERT_TRUE(sealer.Seal(again, "emea-kam", AnaIsAna()).ok());
  EXPECT_NE(again.event().person_registered().name(), e.name());

  Revealer revealer(*keys_);
  revealer.Reveal(env);
  EXPECT_EQ(env.SerializeAsString(), Registration().SerializeAsString());
}

TEST_F(Sealing, AnActorsTokenIsReusedOtherValuesNeverAndNotForAnErasedPerson) {
  Sealer sealer(*keys_);
  v1::EventEnvelope one = Registration();
  v1::EventEnvelope two = Registration();
  ASSERT_TRUE(sealer.Seal(one, "emea-kam", AnaIsAna()).ok());
  ASSERT_TRUE(sealer.Seal(two, "emea-kam", AnaIsAna()).ok());
  EXPECT_EQ(one.actor(), two.actor());  // ana's principal, sealed once
  EXPECT_NE(one.event().person_registered().registered_by(),
            two.event().person_registered().registered_by());  // the same principal elsewhere
  Revealer revealer(*keys_);
  EXPECT_EQ(revealer.Open(two.actor(), "kam.v1.EventEnvelope.actor"), "ana@supplier.example");
  ASSERT_TRUE(revealer.Erase("emea-kam", "ana", 1).ok());
  v1::EventEnvelope three = Registration();
  EXPECT_EQ(sealer.Seal(three, "emea-kam", AnaIsAna()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(Sealing, AnErasedPersonShowsAsTheirPlaceholderEverywhereAndOthersStayReadable) {
  Sealer sealer(*keys_);
  v1::EventEnvelope env = Registration();
  ASSERT_TRUE(sealer.Seal(env, "emea-kam", AnaIsAna()).ok());
  Revealer revealer(*keys_);
  ASSERT_TRUE(revealer.Erase("emea-kam", "olga", 6).ok());
  ASSERT_TRUE(revealer.Erase("emea-kam", "olga", 6).ok());  // idempotent
  revealer.Reveal(env);
  const auto& e = env.event().person_registered();
  EXPECT_EQ(e.name(), "erased person #6");
  EXPECT_EQ(e.principal(), "erased person #6");
  EXPECT_EQ(e.other_principals(0), "erased person #6");
  EXPECT_EQ(e.registered_by(), "ana@supplier.example");
  EXPECT_EQ(env.actor(), "ana@supplier.example");
  // Nothing is sealed for an erased person again.
  EXPECT_EQ(keys_->KeyFor("emea-kam/olga").status().code(), absl::StatusCode::kFailedPrecondition);
  // The key file holds no key any more.
  auto erased = keys_->Lookup("emea-kam/olga");
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased->state, KeyLookup::State::kErased);
  EXPECT_EQ(erased->number, 6u);
}

TEST_F(Sealing, AnotherProcessSharingTheDirectoryAgreesOnKeysAndErasures) {
  auto other = OpenFileKeyStore(dir_.string());
  ASSERT_TRUE(other.ok());
  auto a = keys_->KeyFor("emea-kam/olga");
  auto b = (*other)->KeyFor("emea-kam/olga");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), kKeyBytes);
  ASSERT_TRUE(keys_->Destroy("emea-kam/olga", 2).ok());
  // A fresh store (another process starting) sees the tombstone.
  auto fresh = OpenFileKeyStore(dir_.string());
  ASSERT_TRUE(fresh.ok());
  auto seen = (*fresh)->Lookup("emea-kam/olga");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state, KeyLookup::State::kErased);
  // The file is a tombstone now: the key's bytes are gone from it.
  std::string content;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    std::FILE* in = std::fopen(f.path().c_str(), "rb");
    char buf[64];
    const std::size_t n = std::fread(buf, 1, sizeof buf, in);
    std::fclose(in);
    content.append(buf, n);
  }
  EXPECT_EQ(content.find(*a), std::string::npos);
  EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST_F(Sealing, ATokenMovedTamperedOrPassedOffAsTextDoesNotOpen) {
  Sealer sealer(*keys_);
  v1::EventEnvelope env = Registration();
  ASSERT_TRUE(sealer.Seal(env, "emea-kam", AnaIsAna()).ok());
  Revealer revealer(*keys_);
  const std::string name = env.event().person_registered().name();
  // Into another field: the field's name is associated data.
  EXPECT_EQ(revealer.Open(name, "kam.v1.PersonRegistered.principal"), kUnreadable);
  // Under another person's key id.
  std::string moved = name;
  moved.replace(moved.find("/olga:"), 6, "/ana:");
  EXPECT_EQ(revealer.Open(moved, "kam.v1.PersonRegistered.name"), kUnreadable);
  // One bit of the ciphertext flipped.
  std::string flipped = name;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(revealer.Open(flipped, "kam.v1.PersonRegistered.name"), kUnreadable);
  EXPECT_EQ(revealer.Open(name, "kam.v1.PersonRegistered.name"), "Olga Petrova");
  // A caller may not pass a token off as their own text.
  v1::EventEnvelope forged = Registration();
  forged.mutable_event()->mutable_person_registered()->set_name(name);
  const absl::Status refused = sealer.Seal(forged, "emea-kam", AnaIsAna());
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(), "name: may not start with \"kam-pd1:\" (a sealed value's prefix)");
  // A value with nobody to seal it for (the platform admin's) stays as it is.
  v1::EventEnvelope admin;
  admin.set_actor("admin@supplier.example");
  admin.mutable_event()->mutable_programme_chartered()->set_rationale("why");
  ASSERT_TRUE(sealer.Seal(admin, "emea-kam", Whose{}).ok());
  EXPECT_EQ(admin.actor(), "admin@supplier.example");
  EXPECT_EQ(admin.event().programme_chartered().rationale(), "why");
}

TEST_F(Sealing, WithholdBlanksEveryPersonalValueOfAnAnswer) {
  v1::GetRegisterResponse answer;
  auto* entry = answer.add_entries();
  entry->set_account_id("acme");
  entry->set_decided_by("ana@supplier.example");
  entry->set_decided_by_role("champion");
  entry->set_justification("strategic");
  Withhold(answer);
  EXPECT_EQ(answer.entries(0).account_id(), "acme");
  EXPECT_EQ(answer.entries(0).decided_by(), kWithheld);
  EXPECT_EQ(answer.entries(0).decided_by_role(), "champion");
  EXPECT_EQ(answer.entries(0).justification(), kWithheld);
}

TEST_F(Sealing, KeyIdsAreProgrammeAndPersonIds) {
  EXPECT_EQ(keys_->KeyFor("no-slash").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->KeyFor("emea-kam/../../etc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->Lookup("emea-kam/Olga").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kam::personal
