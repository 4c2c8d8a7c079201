#include "fuzz/fixture.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/errors.h"
#include "base/ids.h"
#include "base/strings.h"
#include "eventlog/codec.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "kam/v1/governance_service.pb.h"
#include "kam/v1/history_service.pb.h"
#include "kam/v1/metrics_service.pb.h"

namespace kam::fuzz {
namespace {

constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);  // the writer's default

// Fuzzed bytes make protobuf log every string field that is not UTF-8; that is expected
// (the parse fails and the caller refuses the input), so its log stays quiet.
const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

absl::Time Charter() { return absl::FromCivil(absl::CivilDay(2026, 1, 5), absl::UTCTimeZone()); }

// An Ed25519 private key from a constant seed, as PEM.
std::string TestPrivatePem() {
  const std::string seed = eventlog::Sha256("kam fuzz test key: not a secret, never a real one");
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  BIO* bio = BIO_new(BIO_s_mem());
  if (key == nullptr || bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Fail("fixture: cannot make the test key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::unique_ptr<eventlog::Signer> MakeSigner() {
  char path[] = "/tmp/kam-fuzz-key-XXXXXX";  // mkstemp: mode 0600, as Signer requires
  const int fd = ::mkstemp(path);
  if (fd < 0) Fail("fixture: mkstemp failed");
  const std::string pem = TestPrivatePem();
  const bool written = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  ::close(fd);
  auto signer = eventlog::Signer::FromPemFile(path);
  ::unlink(path);
  if (!written || !signer.ok()) Fail("fixture: cannot load the test key");
  return *std::move(signer);
}

// Decides a command of the fixture (given as text format) and folds it; any refusal is a
// broken fixture.
template <typename Request>
void Given(Programme& p, const std::string& text, const std::string& principal,
           bool platform_admin = false) {
  Request request;
  if (!google::protobuf::TextFormat::ParseFromString(text, &request)) {
    Fail(base::StrCat("fixture: ", Request::descriptor()->name(), " does not parse: ", text));
  }
  request.set_programme_id(kProgramme);
  request.mutable_metadata()->set_client_request_id(base::StrCat("fixture-", p.version + 1));
  auto events =
      domain::Handle(p.state, request,
                     domain::CommandContext{
                         .actor = principal, .now = Charter(), .platform_admin = platform_admin});
  if (!events.ok()) {
    Fail(base::StrCat("fixture: ", Request::descriptor()->name(),
                      " refused: ", events.status().ToString()));
  }
  Fold(p, *events, principal, Charter());
}

Programme Build() {
  using namespace v1;  // NOLINT: the fixture names many request types
  const std::string admin = Actors()[0].principal;
  const std::string ana = "ana@supplier.example";
  const std::string kim = "kim@supplier.example";
  Programme p;
  Given<CharterProgrammeRequest>(p, R"(name: "EMEA key accounts"
      rationale: "Grow profitable strategic customers")",
                                 admin, true);
  auto person = [&](std::string_view id, std::string_view principal, std::string_view functions,
                    std::string_view extra = "") {
    Given<RegisterPersonRequest>(
        p,
        base::StrCat("person_id: '", id, "' name: 'Person ", id, "' principal: '", principal, "' ",
                     functions, " ", extra),
        admin, true);
  };
  person("ana", ana, "functions: PERSON_FUNCTION_EXECUTIVE",
         "senior: true reports_to_top_management: true");
  person("sam", "sam@supplier.example",
         "functions: PERSON_FUNCTION_STEERING_BOARD functions: PERSON_FUNCTION_EXECUTIVE");
  person("kim", kim, "functions: PERSON_FUNCTION_KEY_ACCOUNT_MANAGER");
  person("eve", "eve@supplier.example", "functions: PERSON_FUNCTION_EXECUTIVE");
  person("olga", "olga@supplier.example", "functions: PERSON_FUNCTION_OPERATIONS");
  person("bob", "bob@supplier.example", "functions: PERSON_FUNCTION_BOARD_OBSERVER");
  person("lms", SignedPublisher(), "functions: PERSON_FUNCTION_PUBLISHER",
         base::StrCat("other_principals: 'publisher:", kUnsignedPublisherName, "'"));
  Given<AppointChampionRequest>(p, "person_id: 'ana' rationale: 'Board mandate'", admin, true);
  for (const char* skill : {"SKILL_FINANCE", "SKILL_CONSULTING", "SKILL_PLANNING",
                            "SKILL_INTERPERSONAL", "SKILL_INFLUENCE"}) {
    Given<RecordManagerTrainingRequest>(
        p,
        base::StrCat("person_id: 'kim' skill: ", skill,
                     " course: 'KAM academy' completed_on: '2026-01-05'"),
        ana);
  }
  Given<PublishSelectionCriteriaRequest>(p, R"(
      criteria { criterion_id: "profit" name: "Profit potential" weight_percent: 60
                 scale_min: 1 scale_max: 5 }
      criteria { criterion_id: "fit" name: "Strategic fit" weight_percent: 40
                 scale_min: 1 scale_max: 5 }
      threshold: 60 rationale: "Profit-based selection")",
                                         ana);
  const std::string scores =
      "criteria_version: 1 scores { criterion_id: 'profit' score: 5 } "
      "scores { criterion_id: 'fit' score: 4 }";
  for (const char* account : {"acme", "nordic", "bolt"}) {
    Given<NominateAccountRequest>(
        p,
        base::StrCat("account_id: '", account, "' account_name: 'Account ", account,
                     "' rationale: 'Top-5 by contribution'"),
        kim);
  }
  Given<AssessAccountRequest>(p, base::StrCat("account_id: 'acme' ", scores), kim);
  p.assessment_event_id = base::StrCat("e", p.version);
  Given<AssessAccountRequest>(p, base::StrCat("account_id: 'nordic' ", scores), kim);
  Given<AdmitAccountRequest>(p, "account_id: 'acme'", ana);
  Given<AssignSponsorRequest>(p, "account_id: 'acme' person_id: 'eve'", ana);
  Given<AssignManagerRequest>(p, "account_id: 'acme' person_id: 'kim'", ana);
  Given<LogSponsorVisitRequest>(
      p, "account_id: 'acme' visit_date: '2026-01-05' notes: 'Quarterly visit'",
      "eve@supplier.example");
  p.visit_event_id = base::StrCat("e", p.version);
  Given<MakeCommitmentRequest>(p, R"(account_id: "acme" commitment_id: "c-1"
      description: "Dedicated logistics slot" owner_person_id: "olga" due_by: "2026-06-30")",
                               ana);
  return p;
}

}  // namespace

void Fail(std::string_view what) {
  std::fprintf(stderr, "FUZZ CHECK FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void CheckRefusal(const absl::Status& s, std::string_view command) {
  const std::string where = base::StrCat(command, " refused with ", s.ToString());
  KAM_FUZZ_CHECK(!s.message().empty(), base::StrCat(command, ": a refusal without a message"));
  KAM_FUZZ_CHECK(!base::RuleOf(s).empty() || !base::FieldOf(s).empty(),
                 base::StrCat(where, ": names neither a rule nor a field"));
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return;
    default:
      Fail(base::StrCat(where, ": not a code a caller can cause"));
  }
}

void Trace(std::string_view what, const absl::Status& outcome) {
  static const bool on = std::getenv("KAM_FUZZ_TRACE") != nullptr;
  if (!on) return;
  const std::string text = outcome.ok() ? "accepted" : outcome.ToString();
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(), text.c_str());
}

const eventlog::Signer& TestSigner() {
  static const std::unique_ptr<eventlog::Signer> signer = MakeSigner();
  return *signer;
}

const eventlog::Keyring& TestKeyring() {
  static const std::unique_ptr<eventlog::Keyring> keyring = [] {
    auto k = eventlog::Keyring::FromPem(TestSigner().PublicPem(), "the fuzz test key");
    if (!k.ok()) Fail("fixture: the test keyring does not load");
    return *std::move(k);
  }();
  return *keyring;
}

std::vector<std::string_view> Split(std::string_view input, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    const std::size_t at = input.find(kSeparator);
    if (at == std::string_view::npos) break;
    out.push_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  out.push_back(input);
  return out;
}

std::string Join(const std::vector<std::string>& records) {
  std::string out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) out.append(kSeparator);
    out.append(records[i]);
  }
  return out;
}

absl::Time RecordingTime() { return Charter() + absl::Hours(24 * 60); }

const std::vector<Actor>& Actors() {
  static const std::vector<Actor> actors = {
      {"admin@supplier.example", true},
      {"ana@supplier.example"},
      {"sam@supplier.example"},
      {"kim@supplier.example"},
      {"eve@supplier.example"},
      {"olga@supplier.example"},
      {"bob@supplier.example"},
      {SignedPublisher()},
      {base::StrCat("publisher:", kUnsignedPublisherName)},
      {"stranger@elsewhere.example"},
  };
  return actors;
}

std::string SignedPublisher() { return base::StrCat("publisher:", TestSigner().key_id()); }

const Programme& FixedProgramme() {
  static const Programme programme = Build();
  return programme;
}

std::vector<domain::ProgrammeUndo> Fold(Programme& programme, const domain::Events& events,
                                        const std::string& actor, absl::Time now) {
  std::vector<domain::ProgrammeUndo> undo;
  for (const v1::Event& e : events) {
    v1::EventEnvelope env;
    env.set_event_id(base::StrCat("e", ++programme.version));
    env.set_aggregate_type(std::string(domain::kProgrammeAggregateType));
    env.set_aggregate_id(programme.state.programme_id.empty() ? kProgramme
                                                              : programme.state.programme_id);
    env.set_aggregate_version(programme.version);
    env.set_actor(actor);
    const int64_t seconds = absl::ToUnixSeconds(now);  // floors; the year 9999 fits
    env.mutable_occurred_at()->set_seconds(seconds);
    env.mutable_occurred_at()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(seconds))));
    env.mutable_recorded_at()->set_seconds(absl::ToUnixSeconds(RecordingTime()));
    *env.mutable_event() = e;
    undo.push_back(domain::EvolveUndoable(programme.state, env));
  }
  return undo;
}

const domain::MetricsState& FixedMetrics() {
  static const domain::MetricsState metrics = [] {
    domain::MetricsState m;
    const char* texts[] = {
        R"(kind: METRIC_KIND_REVENUE period_start: "2025-01-01" period_end: "2025-12-31"
           amount { currency: "EUR" minor_units: 1250000000 } source_system: "erp"
           source_record_id: "r-1")",
        R"(kind: METRIC_KIND_COST_TO_SERVE activity: "logistics" period_start: "2025-01-01"
           period_end: "2025-12-31" amount { currency: "EUR" minor_units: 90000000 }
           source_system: "erp" source_record_id: "c-1")",
        R"(kind: METRIC_KIND_RETENTION_RATE ratio: 0.9 period_start: "2025-01-01"
           period_end: "2025-12-31" source_system: "crm" source_record_id: "ret-1")",
    };
    uint64_t version = 0;
    for (const char* text : texts) {
      v1::RecordMetricRequest request;
      if (!google::protobuf::TextFormat::ParseFromString(text, request.mutable_metric())) {
        Fail("fixture: a metric does not parse");
      }
      request.mutable_metric()->set_programme_id(kProgramme);
      request.mutable_metric()->set_account_id("acme");
      auto events = domain::Decide(m, request,
                                   domain::CommandContext{.actor = "erp", .now = RecordingTime()});
      if (!events.ok()) Fail(base::StrCat("fixture: metric refused: ", events.status().ToString()));
      for (const v1::Event& e : *events) {
        v1::EventEnvelope env;
        env.set_event_id(base::StrCat("m", ++version));
        env.set_aggregate_type(std::string(domain::kMetricsAggregateType));
        env.set_aggregate_id(domain::MetricsAggregateId(kProgramme, "acme"));
        env.set_aggregate_version(version);
        env.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(RecordingTime()));
        *env.mutable_event() = e;
        domain::Evolve(m, env);
      }
    }
    return m;
  }();
  return metrics;
}

absl::StatusOr<domain::Events> RecordMetricAsService(const Programme& programme,
                                                     const domain::MetricsState& metrics,
                                                     const v1::RecordMetricRequest& request,
                                                     const std::string& actor) {
  auto now = internal::BusinessTime(request.metadata());
  if (!now.ok()) return now.status();
  const v1::MetricRecorded& m = request.metric();
  static const domain::ProgrammeState kNone;
  const bool ours = m.programme_id() == programme.state.programme_id;
  const domain::ProgrammeState& state = ours ? programme.state : kNone;
  if (auto s = base::ValidateId("metric.programme_id", m.programme_id()); !s.ok()) return s;
  if (auto s =
          domain::MayRecord(state, "metric.programme_id", m.programme_id(), "RecordMetricRequest",
                            domain::CommandContext{.actor = actor, .now = *now});
      !s.ok()) {
    return s;
  }
  static const domain::MetricsState kEmpty;
  const bool same = domain::MetricsAggregateId(m.programme_id(), m.account_id()) ==
                    domain::MetricsAggregateId(metrics.programme_id, metrics.account_id);
  return domain::Decide(
      same ? metrics : kEmpty, request,
      domain::CommandContext{.actor = actor,
                             .now = *now,
                             .today = ours ? std::optional(state.Day(*now)) : std::nullopt});
}

std::vector<const google::protobuf::Descriptor*> ServiceRequests() {
  std::vector<const google::protobuf::Descriptor*> out;
  for (const google::protobuf::FileDescriptor* file :
       {v1::RegisterPersonRequest::descriptor()->file(),
        v1::RecordMetricRequest::descriptor()->file(), v1::GetHistoryRequest::descriptor()->file(),
        v1::GetScorecardRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        out.push_back(file->service(s)->method(m)->input_type());
      }
    }
  }
  return out;
}

namespace internal {

absl::StatusOr<absl::Time> BusinessTime(const v1::CommandMetadata& metadata) {
  if (!metadata.has_occurred_at()) return RecordingTime();
  const auto& ts = metadata.occurred_at();
  if (ts.seconds() < 0 || ts.seconds() > 253402300799 || ts.nanos() < 0 || ts.nanos() > 999999999) {
    return base::InvalidField("metadata.occurred_at", "is not a valid timestamp");
  }
  const absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  if (t > RecordingTime() + kMaxClockSkew) {
    return base::InvalidField("metadata.occurred_at", "is in the future");
  }
  return t;
}

}  // namespace internal
}  // namespace kam::fuzz
