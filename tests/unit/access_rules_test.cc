// Who may act in a programme (rules platform.*, membership.*): a principal acts only through a
// registered person of that programme, and four eyes are two persons.
#include <gtest/gtest.h>

#include "unit/scenario.h"

namespace kam::testing {
namespace {

const std::string kMallory = "mallory@supplier.example";  // champion of another programme

TEST(Membership, OnlyThePlatformAdminChartersAProgramme) {
  Scenario s;
  EXPECT_EQ(Render(s.When(Charter(), kAna)),
            "PERMISSION_DENIED: rule platform.admin_only: ana@supplier.example may not "
            "CharterProgramme: only a platform admin does");
  auto ack = WithProgramme(v1::RequestQuarantineAcknowledgementRequest{});
  s.Given(Charter(), kAdmin);
  EXPECT_EQ(Render(s.When(ack, kAna)),
            "PERMISSION_DENIED: rule platform.admin_only: ana@supplier.example may not "
            "RequestQuarantineAcknowledgement: only a platform admin does");
}

TEST(Membership, AChampionOfAnotherProgrammeIsNobodyHere) {
  Scenario s;
  WithStandardCast(s);
  // mallory holds the champion role in some other programme: here it is no member, so it can
  // neither register itself onto the steering board nor stand ana down nor approve.
  auto self = Person("mallory", kMallory, {v1::PERSON_FUNCTION_STEERING_BOARD});
  EXPECT_EQ(Render(s.When(self, kMallory)),
            "PERMISSION_DENIED: rule membership.required: mallory@supplier.example may not "
            "RegisterPerson in programme 'emea-kam': it is not the principal of a registered "
            "person of that programme");
  auto down = WithProgramme(v1::StandDownChampionRequest{});
  down.set_person_id("ana");
  down.set_reason("hostile");
  EXPECT_EQ(s.When(down, kMallory).status().code(), absl::StatusCode::kPermissionDenied);
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  EXPECT_EQ(s.When(Admit("acme"), kMallory).status().code(), absl::StatusCode::kPermissionDenied);
  // The platform admin set the programme up, but once it has a champion it grants nothing.
  EXPECT_EQ(s.When(self, kAdmin).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(Membership, ThePlatformAdminGrantsOnlyUntilTheFirstChampion) {
  Scenario s;
  s.Given(Charter(), kAdmin);
  s.Given(Person("ana", kAna, {v1::PERSON_FUNCTION_EXECUTIVE}, true), kAdmin);
  s.Given(Person("kim", kKim, {v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER}), kAdmin);
  s.Given(AppointChampion("ana"), kAdmin);
  auto down = WithProgramme(v1::StandDownChampionRequest{});
  down.set_person_id("ana");
  down.set_reason("rotation");
  s.Given(down, kAna);
  // The programme has no champion now, but it had one: the admin cannot step in and
  // register a board of its choosing.
  EXPECT_TRUE(s.state.champions.empty());
  EXPECT_EQ(
      s.When(Person("sam", kSam, {v1::PERSON_FUNCTION_STEERING_BOARD}), kAdmin).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.When(AppointChampion("ana"), kAdmin).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(Membership, AMemberWhoIsNoApproverCannotGrantMembership) {
  Scenario s;
  WithStandardCast(s);
  auto board = Person("kim2", "kim-other@supplier.example", {v1::PERSON_FUNCTION_STEERING_BOARD});
  EXPECT_EQ(Render(s.When(board, kKim)),
            "PERMISSION_DENIED: rule membership.granted_by_approver: person 'kim' "
            "(kim@supplier.example) may not RegisterPerson: only an active champion or a "
            "steering-board member of programme 'emea-kam' does");
  auto registered = s.Given(board, kSam);  // the steering board grants it
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].person_registered().registered_by(), kSam);
}

TEST(Membership, ObserversReadAndPublishersOnlyRecordTrainings) {
  Scenario s;
  WithStandardCast(s);
  const std::string kBob = "bob@board.example";
  const std::string kLms = "lms@systems.example";
  s.Given(Person("bob", kBob, {v1::PERSON_FUNCTION_BOARD_OBSERVER}), kAna);
  s.Given(Person("lms", kLms, {v1::PERSON_FUNCTION_PUBLISHER}), kAna);
  EXPECT_EQ(Render(s.When(Nominate("acme"), kBob)),
            "PERMISSION_DENIED: rule membership.observers_read_only: person 'bob' "
            "(bob@board.example) is a board observer of programme 'emea-kam' and may not "
            "NominateAccount");
  EXPECT_EQ(s.When(Nominate("acme"), kLms).status().code(), absl::StatusCode::kPermissionDenied);
  auto t = WithProgramme(v1::RecordManagerTrainingRequest{});
  t.set_person_id("kim");
  t.set_skill(v1::SKILL_FINANCE);
  t.set_course("KAM academy");
  t.set_completed_on(s.Date(0));
  EXPECT_TRUE(s.When(t, kLms).ok());
  EXPECT_EQ(s.When(t, kBob).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(Membership, OneHumanWithTwoPrincipalsIsOnePairOfEyes) {
  Scenario s;
  WithStandardCast(s);
  auto carl = Person("carl", "carl@supplier.example", {v1::PERSON_FUNCTION_STEERING_BOARD});
  carl.add_other_principals("carl.sso@idp.example");
  s.Given(carl, kAna);
  // carl nominates with one principal and approves with the other: refused, by person.
  s.Given(Nominate("acme"), "carl.sso@idp.example");
  s.Given(Assess("acme", 5, 5), kKim);
  EXPECT_EQ(Render(s.When(Admit("acme"), "carl@supplier.example")),
            "FAILED_PRECONDITION: rule admission.four_eyes: person 'carl' "
            "(carl@supplier.example) nominated account 'acme' as carl.sso@idp.example and cannot "
            "also approve it");
  EXPECT_TRUE(s.When(Admit("acme"), kSam).ok());
  // A principal belongs to one person: registering it again, or twice, is refused.
  auto again = Person("sam2", kKim, {v1::PERSON_FUNCTION_SALES});
  EXPECT_EQ(Render(s.When(again, kAna)),
            "ALREADY_EXISTS: rule person.unique: principal 'kim@supplier.example' already belongs "
            "to person 'kim'");
  auto twice = Person("dan", "dan@supplier.example", {v1::PERSON_FUNCTION_SALES});
  twice.add_other_principals("carl.sso@idp.example");
  EXPECT_EQ(Render(s.When(twice, kAna)),
            "ALREADY_EXISTS: rule person.unique: principal 'carl.sso@idp.example' already belongs "
            "to person 'carl'");
  twice.set_other_principals(0, "dan@supplier.example");
  EXPECT_EQ(Render(s.When(twice, kAna)),
            "INVALID_ARGUMENT: other_principals[0]: repeats 'dan@supplier.example'");
}

v1::ChangeMembershipRequest Change(std::string person, std::string reason = "reorganisation") {
  auto c = WithProgramme(v1::ChangeMembershipRequest{});
  c.set_person_id(std::move(person));
  c.set_reason(std::move(reason));
  return c;
}

TEST(Membership, AMembershipChangesOrEndsByAnotherApprover) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  auto sponsor = ForAccount<v1::AssignSponsorRequest>("acme");
  sponsor.set_person_id("eve");
  s.Given(sponsor, kAna);
  // kim becomes a board observer: she reads, and commands no more.
  auto observer = Change("kim");
  observer.add_functions(v1::PERSON_FUNCTION_BOARD_OBSERVER);
  EXPECT_EQ(Render(s.When(observer, kKim)).substr(0, 61),
            "PERMISSION_DENIED: rule membership.granted_by_approver: perso");
  s.Given(observer, kSam);
  EXPECT_EQ(s.When(Nominate("acme"), kKim).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(s.state.IsMember(kKim));
  // A second principal, then none again.
  auto sso = Change("olga");
  sso.set_replace_other_principals(true);
  sso.add_other_principals("olga.sso@idp.example");
  s.Given(sso, kAna);
  EXPECT_EQ(s.state.PersonByPrincipal("olga.sso@idp.example"), "olga");
  auto taken = Change("sid");
  taken.set_replace_other_principals(true);
  taken.add_other_principals("olga.sso@idp.example");
  EXPECT_EQ(Render(s.When(taken, kAna)),
            "ALREADY_EXISTS: rule person.unique: principal 'olga.sso@idp.example' already "
            "belongs to person 'olga'");
  // No one changes their own membership, not even a steering-board member.
  auto promote = Change("sam");
  promote.add_functions(v1::PERSON_FUNCTION_STEERING_BOARD);
  promote.add_functions(v1::PERSON_FUNCTION_FINANCE);
  EXPECT_EQ(Render(s.When(promote, kSam)),
            "FAILED_PRECONDITION: rule membership.change: membership of 'sam': a person's own "
            "membership is changed by someone else");
  // Ending: a champion stands down first; a sponsor is released first.
  auto end_ana = Change("ana", "left the company");
  end_ana.set_end(true);
  EXPECT_EQ(Render(s.When(end_ana, kSam)),
            "FAILED_PRECONDITION: rule membership.change: membership of 'ana': a champion stands "
            "down before their membership ends");
  auto end_eve = Change("eve", "left the company");
  end_eve.set_end(true);
  EXPECT_EQ(Render(s.When(end_eve, kAna)),
            "FAILED_PRECONDITION: rule membership.change: membership of 'eve': they are sponsor "
            "or manager of account 'acme'; release them first");
  auto end_sid = Change("sid", "left the company");
  end_sid.set_end(true);
  s.Given(end_sid, kAna);
  EXPECT_FALSE(s.state.IsMember(kSid));
  EXPECT_EQ(s.When(Nominate("globex"), kSid).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Render(s.When(end_sid, kAna)),
            "FAILED_PRECONDITION: rule membership.change: membership of 'sid': it has ended");
  // Nothing to change is a field error.
  EXPECT_EQ(Render(s.When(Change("olga"), kAna)),
            "INVALID_ARGUMENT: functions: the request changes nothing: give functions, a "
            "principal, replace_other_principals or end");
}

// An HR feed (a publisher) says who people are; it cannot make anyone able to sign in. An
// approver gives the person a principal, and only then do they act.
TEST(Membership, APublisherRegistersPeopleWhoSignInOnlyOnceAnApproverGivesThemAPrincipal) {
  Scenario s;
  WithStandardCast(s);
  const std::string kHr = "publisher:hr";
  s.Given(Person("hr", kHr, {v1::PERSON_FUNCTION_PUBLISHER}), kAna);
  auto with_login = Person("nina", "nina@supplier.example", {v1::PERSON_FUNCTION_STEERING_BOARD});
  EXPECT_EQ(Render(s.When(with_login, kHr)),
            "PERMISSION_DENIED: rule membership.publisher_gives_no_principal: person 'hr' "
            "(publisher:hr) is a publisher of programme 'emea-kam': it registers people without "
            "a principal or other principals; an active champion or a steering-board member "
            "gives them one (ChangeMembership principal)");
  auto with_sso = Person("nina", "", {v1::PERSON_FUNCTION_STEERING_BOARD});
  with_sso.add_other_principals("nina.sso@idp.example");
  EXPECT_EQ(s.When(with_sso, kHr).status().code(), absl::StatusCode::kPermissionDenied);
  auto record = Person("nina", "", {v1::PERSON_FUNCTION_STEERING_BOARD});
  auto registered = s.Given(record, kHr);
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].person_registered().registered_by(), kHr);
  EXPECT_FALSE(s.state.PersonByPrincipal("nina@supplier.example"));
  // A key account manager is no approver: it registers no one, with or without a principal.
  EXPECT_EQ(Render(s.When(Person("max", "", {v1::PERSON_FUNCTION_SALES}), kKim)).substr(0, 56),
            "PERMISSION_DENIED: rule membership.granted_by_approver: ");
  // The approver's grant: nina signs in, and as a steering-board member she approves.
  auto login = Change("nina", "joined the steering board");
  login.set_principal("nina@supplier.example");
  EXPECT_EQ(Render(s.When(login, "nina@supplier.example")).substr(0, 45),
            "PERMISSION_DENIED: rule membership.required: ");
  auto changed = s.Given(login, kAna);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].membership_changed().principal(), "nina@supplier.example");
  EXPECT_EQ(s.state.PersonByPrincipal("nina@supplier.example"), "nina");
  s.Given(Nominate("acme"), kKim);
  s.Given(Assess("acme", 5, 5), kKim);
  EXPECT_TRUE(s.When(Admit("acme"), "nina@supplier.example").ok());
  // A principal is one person's: giving kim's to nina is refused; giving the same one again
  // changes nothing.
  auto taken = Change("nina");
  taken.set_principal(kKim);
  EXPECT_EQ(Render(s.When(taken, kAna)),
            "ALREADY_EXISTS: rule person.unique: principal 'kim@supplier.example' already belongs "
            "to person 'kim'");
  EXPECT_EQ(Render(s.When(login, kAna)),
            "INVALID_ARGUMENT: principal: is the person's principal already");
}

// A publisher records the facts of its systems: trainings (an LMS), sponsor visits (a CRM
// or calendar), commitment outcomes (operations); it decides nothing.
TEST(Membership, APublisherRecordsVisitsAndCommitmentOutcomesButDecidesNothing) {
  Scenario s;
  WithStandardCast(s);
  WithKeyAccount(s, "acme");
  const std::string kCrm = "publisher:crm";
  s.Given(Person("crm", kCrm, {v1::PERSON_FUNCTION_PUBLISHER}), kAna);
  auto sponsor = ForAccount<v1::AssignSponsorRequest>("acme");
  sponsor.set_person_id("eve");
  s.Given(sponsor, kAna);
  auto visit = ForAccount<v1::LogSponsorVisitRequest>("acme");
  visit.set_visit_date(s.Date(0));
  visit.set_notes("quarterly review");
  EXPECT_TRUE(s.When(visit, kCrm).ok()) << s.When(visit, kCrm).status();
  auto commitment = ForAccount<v1::MakeCommitmentRequest>("acme");
  EXPECT_EQ(s.When(commitment, kCrm).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.When(Change("kim"), kCrm).status().code(), absl::StatusCode::kPermissionDenied);
}

// Account metrics are facts of a programme too: recorded by its publishers (ERP, finance)
// and commanding members, not by a token role alone.
TEST(Membership, MetricsAreRecordedByThePublishersAndMembersOfTheirProgramme) {
  Scenario s;
  const auto may = [&](const std::string& actor) {
    return Render(domain::MayRecord(s.state, "metric.programme_id", "emea-kam",
                                    "RecordMetricRequest",
                                    domain::CommandContext{.actor = actor, .now = s.now}));
  };
  EXPECT_EQ(may("erp@supplier.example"),
            "INVALID_ARGUMENT: metric.programme_id: programme 'emea-kam' is not chartered (rule "
            "programme.must_exist)");
  WithStandardCast(s);
  s.Given(Person("erp", "erp@supplier.example", {v1::PERSON_FUNCTION_PUBLISHER}), kAna);
  s.Given(Person("bob", "bob@board.example", {v1::PERSON_FUNCTION_BOARD_OBSERVER}), kAna);
  EXPECT_EQ(may("erp@supplier.example"), "OK: ");
  EXPECT_EQ(may(kKim), "OK: ");
  EXPECT_EQ(may(kMallory),
            "PERMISSION_DENIED: rule membership.required: mallory@supplier.example may not "
            "RecordMetric in programme 'emea-kam': it is not the principal of a registered person "
            "of that programme");
  EXPECT_EQ(may(kAdmin).substr(0, 45), "PERMISSION_DENIED: rule membership.required: ");
  EXPECT_EQ(may("bob@board.example").substr(0, 56),
            "PERMISSION_DENIED: rule membership.observers_read_only: ");
}

TEST(Membership, AnUnregisteredPrincipalCannotNominate) {
  Scenario s;
  WithStandardCast(s);
  EXPECT_EQ(Render(s.When(Nominate("acme"), "ghost@supplier.example")),
            "PERMISSION_DENIED: rule membership.required: ghost@supplier.example may not "
            "NominateAccount in programme 'emea-kam': it is not the principal of a registered "
            "person of that programme");
}

}  // namespace
}  // namespace kam::testing
