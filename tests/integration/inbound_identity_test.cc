// Who an inbound record acts as, over the real broker and the real services' ingesters
// (docs/topics.md, "Publishing to the inbound topics"): with a publishers' keyring, a record
// signed by a key of that keyring is decided as "publisher:<key id>"; an unsigned record,
// one signed by a key not in the keyring, one wearing another record's signature (or
// another topic's) and one whose field claims another publisher are dead-lettered with
// their reasons and decide nothing. Without a keyring, the field names the publisher.
// Either way the publisher acts only through its membership of the programme (a person
// whose principal is "publisher:<name>"), like a caller over gRPC: a keyring key that is
// no member, an HR record that would give someone a principal, and a metric of a programme
// the publisher is no member of are dead-lettered naming the rule.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/ids.h"
#include "eventlog/codec.h"
#include "eventlog/consumer.h"
#include "eventlog/inbound_signature.h"
#include "eventlog/producer.h"
#include "eventlog/signing.h"
#include "eventlog/topics.h"
#include "kam/v1/inbound.pb.h"
#include "services/programme/inbound.h"
#include "support/kafka_broker.h"
#include "support/keys.h"
#include "support/run_binary.h"
#include "support/servers.h"
#include "unit/scenario.h"

namespace kam {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr char kProgramme[] = "emea-kam";

// Keys of two publishers: HR, in the keyring, and a stranger, not in it.
class InboundIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kam-inbound-identity-" + testing::UniqueTopicPrefix());
    fs::create_directories(dir_);
    const auto hr = testing::NewSigningKey(dir_, "hr");
    const auto lms = testing::NewSigningKey(dir_, "lms");
    const auto stranger = testing::NewSigningKey(dir_, "stranger");
    keyring_file_ = testing::KeyringOf(dir_ + "/publishers.pem", {hr, lms});
    hr_ = std::move(*eventlog::Signer::FromPemFile(hr.private_pem));
    lms_ = std::move(*eventlog::Signer::FromPemFile(lms.private_pem));
    stranger_ = std::move(*eventlog::Signer::FromPemFile(stranger.private_pem));
    publishers_ = std::move(*eventlog::Keyring::FromPemFile(keyring_file_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Charters the programme with `publisher` ("publisher:<name>") as its publisher member.
  static void Charter(testing::CommandServer& commands, const std::string& publisher) {
    auto charter = testing::Charter();
    charter.mutable_metadata()->set_client_request_id(base::NewEventId());
    v1::CharterProgrammeResponse out;
    auto ctx = testing::Context("tok-admin-000");
    const grpc::Status s = commands.Stub()->CharterProgramme(ctx.get(), charter, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    auto member = testing::RegisterPublisher(*commands.Stub(), kProgramme, publisher, "hr");
    ASSERT_TRUE(member.ok()) << member.status();
  }

  // A person as HR registers one: without a principal (rule
  // membership.publisher_gives_no_principal), unless `principal` is given.
  static v1::InboundPerson Person(const std::string& id, const std::string& publisher = "",
                                  const std::string& principal = "") {
    v1::InboundPerson in;
    in.set_publisher(publisher);
    auto* p = in.mutable_person();
    p->set_programme_id(kProgramme);
    p->set_person_id(id);
    p->set_name("Person " + id);
    p->set_principal(principal);
    p->add_functions(v1::PERSON_FUNCTION_OPERATIONS);
    return in;
  }

  static eventlog::Record RecordOf(const std::string& prefix, std::string_view kind,
                                   const google::protobuf::Message& m) {
    return eventlog::Record{kProgramme,
                            m.SerializeAsString(),
                            eventlog::InboundTopic(prefix, kind),
                            eventlog::PartitionFor(kProgramme, 3),
                            {}};
  }
  static eventlog::Record Signed(const eventlog::Signer& by, const std::string& prefix,
                                 std::string_view kind, const google::protobuf::Message& m) {
    auto r = RecordOf(prefix, kind, m);
    eventlog::SignInbound(by, kind, r);
    return r;
  }

  static void Publish(const std::string& prefix, std::vector<eventlog::Record> records) {
    auto producer =
        eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix + "publisher");
    ASSERT_TRUE(producer.ok()) << producer.status();
    ASSERT_TRUE((*producer)->Append(records[0].topic, -1, records).ok());
  }

  // Waits (at most 60 s) until `ingesters` have decided or dead-lettered `n` records.
  static void AwaitHandled(const services::ProgrammeIngesters& ingesters, uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (ingesters.stats().recorded + ingesters.stats().dead_lettered < n &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // The records of `inbound`'s dead-letter topic, in log order.
  static std::vector<eventlog::ConsumedRecord> DeadLetters(const std::string& inbound) {
    std::vector<eventlog::ConsumedRecord> out;
    auto s = eventlog::ReadAll(testing::SharedKafka(), eventlog::DeadLetterTopic(inbound),
                               [&](const eventlog::ConsumedRecord& r) {
                                 out.push_back(r);
                                 return absl::OkStatus();
                               });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  static std::string HeaderOf(const eventlog::ConsumedRecord& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  // The actors of the programme's RegisterPerson events, in log order, by person id.
  static std::vector<std::string> Registrations(const std::string& topic) {
    std::vector<std::string> out;
    auto s =
        eventlog::ReadAll(testing::SharedKafka(), topic, [&](const eventlog::ConsumedRecord& r) {
          auto opened = eventlog::Open(r.value);
          if (opened.ok() && opened->envelope.event().has_person_registered()) {
            out.push_back(opened->envelope.event().person_registered().person_id() + " by " +
                          opened->envelope.actor());
          }
          return absl::OkStatus();
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string dir_;
  std::string keyring_file_;
  std::unique_ptr<eventlog::Signer> hr_;
  std::unique_ptr<eventlog::Signer> lms_;  // in the keyring, but no member of the programme
  std::unique_ptr<eventlog::Signer> stranger_;
  std::shared_ptr<const eventlog::Keyring> publishers_;
};

TEST_F(InboundIdentity, WithAKeyringOnlyAPublishersOwnSignatureDecidesAndAsItsKey) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  const std::string hr = hr_->key_id();
  Charter(commands, "publisher:" + hr);
  services::ProgrammeIngesters ingesters(
      testing::SharedKafka(), commands.service(),
      {.topic_prefix = prefix, .group_id = prefix + "pi", .publishers = publishers_});
  ASSERT_TRUE(ingesters.Start().ok());

  // Olga, signed by HR (field empty), and Ivan, signed by HR whose field names HR: decided.
  auto olga = Signed(*hr_, prefix, "people", Person("olga"));
  auto ivan = Signed(*hr_, prefix, "people", Person("ivan", hr));
  // Forgeries, none of which may decide anything.
  auto unsigned_one = RecordOf(prefix, "people", Person("mallory", "hr"));
  auto strangers = Signed(*stranger_, prefix, "people", Person("trent"));
  auto moved = RecordOf(prefix, "people", Person("eve"));
  moved.headers = olga.headers;  // HR's signature over Olga's value, on Eve's
  auto claims = Signed(*hr_, prefix, "people", Person("carl", "payroll"));
  // Authentic, but not allowed: HR giving someone a sign-in, and the LMS, whose key is in
  // the keyring but which is no member of the programme.
  auto sign_in = Signed(*hr_, prefix, "people", Person("nina", "", "nina@supplier.example"));
  auto non_member = Signed(*lms_, prefix, "people", Person("lena"));
  Publish(prefix, {olga, ivan, unsigned_one, strangers, moved, claims, sign_in, non_member});
  // HR's signature for the people topic, moved onto the trainings topic with its value.
  auto other_topic = RecordOf(prefix, "trainings", Person("olga"));
  other_topic.headers = olga.headers;
  Publish(prefix, {other_topic});

  AwaitHandled(ingesters, 9);
  EXPECT_EQ(ingesters.stats().recorded, 2u);
  EXPECT_EQ(ingesters.stats().dead_lettered, 7u);
  ingesters.Stop();

  EXPECT_EQ(Registrations(commands.service().topic()),
            (std::vector<std::string>{"hr by admin@supplier.example", "olga by publisher:" + hr,
                                      "ivan by publisher:" + hr}));
  std::vector<std::string> reasons;
  for (const auto& r : DeadLetters(eventlog::InboundTopic(prefix, "people"))) {
    reasons.push_back(HeaderOf(r, eventlog::kDlqReasonHeader));
  }
  EXPECT_EQ(reasons,
            (std::vector<std::string>{
                "PERMISSION_DENIED: inbound record is unsigned: headers kam-publisher and "
                "kam-signature are required (publishers sign their records)",
                "PERMISSION_DENIED: inbound record is signed by key '" + stranger_->key_id() +
                    "', which is not in the inbound keyring",
                "PERMISSION_DENIED: inbound record's signature by key '" + hr +
                    "' does not verify over its people topic, key and value",
                "PERMISSION_DENIED: inbound record claims publisher 'payroll' but is signed by '" +
                    hr + "'",
                "PERMISSION_DENIED: rule membership.publisher_gives_no_principal: person 'hr' "
                "(publisher:" +
                    hr +
                    ") is a publisher of programme 'emea-kam': it registers people without a "
                    "principal or other principals; an active champion or a steering-board "
                    "member gives them one (ChangeMembership principal)",
                "PERMISSION_DENIED: rule membership.required: publisher:" + lms_->key_id() +
                    " may not RegisterPerson in programme 'emea-kam': it is not the principal of "
                    "a registered person of that programme"}));
  const auto trainings = DeadLetters(eventlog::InboundTopic(prefix, "trainings"));
  ASSERT_EQ(trainings.size(), 1u);
  EXPECT_EQ(HeaderOf(trainings[0], eventlog::kDlqReasonHeader),
            "PERMISSION_DENIED: inbound record's signature by key '" + hr +
                "' does not verify over its trainings topic, key and value");
  // A dead letter keeps the signature it came with, so a re-drive is still HR's.
  EXPECT_EQ(HeaderOf(trainings[0], eventlog::kPublisherHeader), hr);
  EXPECT_EQ(HeaderOf(trainings[0], eventlog::kSignatureHeader), olga.headers.back().second);
}

TEST_F(InboundIdentity, WithoutAKeyringTheFieldNamesThePublisherAsBefore) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  Charter(commands, "publisher:hr");
  services::ProgrammeIngesters ingesters(testing::SharedKafka(), commands.service(),
                                         {.topic_prefix = prefix, .group_id = prefix + "pi"});
  ASSERT_TRUE(ingesters.Start().ok());
  // Unsigned with a field: decided as the field says. Signed without a field: the
  // signature is not read, and a publisher is required.
  Publish(prefix, {RecordOf(prefix, "people", Person("olga", "hr")),
                   Signed(*hr_, prefix, "people", Person("ivan"))});
  AwaitHandled(ingesters, 2);
  EXPECT_EQ(ingesters.stats().recorded, 1u);
  EXPECT_EQ(ingesters.stats().dead_lettered, 1u);
  ingesters.Stop();
  EXPECT_EQ(Registrations(commands.service().topic()),
            (std::vector<std::string>{"hr by admin@supplier.example", "olga by publisher:hr"}));
  const auto letters = DeadLetters(eventlog::InboundTopic(prefix, "people"));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_NE(HeaderOf(letters[0], eventlog::kDlqReasonHeader).find("publisher"), std::string::npos)
      << HeaderOf(letters[0], eventlog::kDlqReasonHeader);
}

// The metrics service's ingester follows the same rule.
TEST_F(InboundIdentity, InboundMetricsAreDecidedAsTheirSigningKey) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  Charter(commands, "publisher:" + hr_->key_id());
  testing::MetricsServer metrics(testing::SharedKafka(), prefix, /*inbound=*/false);
  services::InboundIngester ingester(
      testing::SharedKafka(), metrics.service(),
      {.topic_prefix = prefix, .group_id = prefix + "mi", .publishers = publishers_});
  ASSERT_TRUE(ingester.Start().ok());
  const std::string key = "emea-kam:acme";
  auto metric = [&](const std::string& record, const std::string& publisher) {
    v1::InboundMetric m;
    m.set_publisher(publisher);
    auto* x = m.mutable_metric();
    x->set_programme_id("emea-kam");
    x->set_account_id("acme");
    x->set_kind(v1::METRIC_KIND_REVENUE);
    x->set_period_start("2025-01-01");
    x->set_period_end("2025-12-31");
    x->mutable_amount()->set_currency("EUR");
    x->mutable_amount()->set_minor_units(5000);
    x->set_source_system("erp");
    x->set_source_record_id(record);
    return eventlog::Record{
        key, m.SerializeAsString(), ingester.topic(), eventlog::PartitionFor(key, 3), {}};
  };
  auto good = metric("inv-1", "");
  eventlog::SignInbound(*hr_, "metrics", good);
  auto forged = metric("inv-2", "erp");  // unsigned, claims the ERP
  auto wrong_kind = metric("inv-3", "");
  eventlog::SignInbound(*hr_, "people", wrong_kind);  // signed for another topic
  auto non_member = metric("inv-4", "");
  eventlog::SignInbound(*lms_, "metrics", non_member);  // in the keyring, no member
  {
    const std::vector<eventlog::Record> records = {good, forged, wrong_kind, non_member};
    auto producer = eventlog::TransactionalProducer::Create(testing::SharedKafka(), prefix + "erp");
    ASSERT_TRUE(producer.ok());
    ASSERT_TRUE((*producer)->Append(ingester.topic(), -1, records).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (ingester.stats().recorded + ingester.stats().dead_lettered < 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ingester.stats().recorded, 1u);
  EXPECT_EQ(ingester.stats().dead_lettered, 3u);
  ingester.Stop();
  std::vector<std::string> actors;
  auto s = eventlog::ReadAll(testing::SharedKafka(), metrics.service().topic(),
                             [&](const eventlog::ConsumedRecord& r) {
                               auto opened = eventlog::Open(r.value);
                               if (opened.ok()) actors.push_back(opened->envelope.actor());
                               return absl::OkStatus();
                             });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(actors, std::vector<std::string>{"publisher:" + hr_->key_id()});
  const auto letters = DeadLetters(ingester.topic());
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_NE(HeaderOf(letters[0], eventlog::kDlqReasonHeader).find("unsigned"), std::string::npos);
  EXPECT_NE(HeaderOf(letters[1], eventlog::kDlqReasonHeader).find("does not verify"),
            std::string::npos);
  EXPECT_EQ(HeaderOf(letters[2], eventlog::kDlqReasonHeader),
            "PERMISSION_DENIED: rule membership.required: publisher:" + lms_->key_id() +
                " may not RecordMetric in programme 'emea-kam': it is not the principal of a "
                "registered person of that programme");
}

// The binaries take the keyring as --inbound-keyring and refuse to start with a bad one, or
// without one while they read the inbound topics, unless told explicitly that the publisher
// field is to be trusted (development).
TEST_F(InboundIdentity, AServiceRefusesAnInboundKeyringItCannotUseOrNone) {
  std::ofstream(dir_ + "/tokens") << "tok-admin admin@example admin\n";
  fs::permissions(dir_ + "/tokens", fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(dir_ + "/empty.pem") << "not a key\n";
  for (const std::string binary : {"kam-programme-service", "kam-metrics-service"}) {
    auto run = [&](std::vector<std::string> extra) {
      std::vector<std::string> args = {"60",
                                       std::string(KAM_BINARY_DIR) + "/" + binary,
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--metrics-listen",
                                       "",
                                       "--brokers",
                                       "127.0.0.1:1",
                                       "--tokens",
                                       dir_ + "/tokens"};
      args.insert(args.end(), extra.begin(), extra.end());
      return testing::RunBinary("/usr/bin/timeout", args);
    };
    auto r = run({"--inbound-keyring", dir_ + "/empty.pem"});
    EXPECT_NE(r.exit_code, 0) << binary;
    EXPECT_NE(
        r.err.find("--inbound-keyring: keyring " + dir_ + "/empty.pem: holds no PEM public key"),
        std::string::npos)
        << binary << ": " << r.err;
    r = run({});
    EXPECT_NE(r.exit_code, 0) << binary;
    EXPECT_NE(r.err.find("--inbound-keyring: required while --inbound is true: publishers sign "
                         "their records"),
              std::string::npos)
        << binary << ": " << r.err;
    r = run({"--inbound-keyring", keyring_file_, "--inbound-unauthenticated", "true"});
    EXPECT_NE(r.exit_code, 0) << binary;
    EXPECT_NE(r.err.find("--inbound-unauthenticated: true contradicts --inbound-keyring"),
              std::string::npos)
        << binary << ": " << r.err;
  }
}

}  // namespace
}  // namespace kam
