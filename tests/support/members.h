// Members of a programme, made over gRPC the way a test needs them: one person with one
// function, the board observer and the key account manager most tests act as, and a
// programme whose metrics the ERP publishes. Client side only (no service is linked).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "base/ids.h"
#include "base/strings.h"
#include "kam/v1/programme_service.grpc.pb.h"

namespace kam::testing {

// Registers `principal` as person `person_id` of `programme` with one `function`. The
// platform admin grants it while the programme has no champion; after that its champion does
// (`token`). Returns the command's position (for read-your-writes) or the error.
inline absl::StatusOr<v1::LogPosition> RegisterMember(v1::ProgrammeCommandService::Stub& stub,
                                                      const std::string& programme,
                                                      const std::string& person_id,
                                                      const std::string& principal,
                                                      v1::PersonFunction function,
                                                      const std::string& token = "tok-admin-000") {
  v1::RegisterPersonRequest r;
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  r.set_programme_id(programme);
  r.set_person_id(person_id);
  r.set_name(base::StrCat(v1::PersonFunction_Name(function), " ", person_id));
  r.set_principal(principal);
  r.add_functions(function);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::RegisterPersonResponse resp;
  const grpc::Status s = stub.RegisterPerson(&ctx, r, &resp);
  if (!s.ok())
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return resp.result().position();
}

// Registers `principal` as a board observer of `programme`: it reads the programme and
// commands nothing.
inline absl::StatusOr<v1::LogPosition> RegisterBoardObserver(
    v1::ProgrammeCommandService::Stub& stub, const std::string& programme,
    const std::string& person_id = "bob", const std::string& principal = "bob@supplier.example",
    const std::string& token = "tok-admin-000") {
  return RegisterMember(stub, programme, person_id, principal, v1::PERSON_FUNCTION_BOARD_OBSERVER,
                        token);
}

// Registers `principal` (by default the ERP's, token tok-erp-publish) as a publisher of
// `programme`: it records the programme's account metrics, trainings, visits and commitment
// outcomes. An inbound publisher's principal is "publisher:<key id or field>".
inline absl::StatusOr<v1::LogPosition> RegisterPublisher(
    v1::ProgrammeCommandService::Stub& stub, const std::string& programme,
    const std::string& principal = "erp@supplier.example", const std::string& person_id = "erp",
    const std::string& token = "tok-admin-000") {
  return RegisterMember(stub, programme, person_id, principal, v1::PERSON_FUNCTION_PUBLISHER,
                        token);
}

// Registers the members most tests act as, by the platform admin while `programme` has no
// champion: kim (key account manager: nominates, assesses) and bob (board observer: reads).
// Two events. Returns the position of the last, or the error.
inline absl::StatusOr<v1::LogPosition> RegisterKimAndBob(v1::ProgrammeCommandService::Stub& stub,
                                                         const std::string& programme) {
  v1::RegisterPersonRequest r;
  r.mutable_metadata()->set_client_request_id(base::NewEventId());
  r.set_programme_id(programme);
  r.set_person_id("kim");
  r.set_name("Kim, key account manager");
  r.set_principal("kim@supplier.example");
  r.add_functions(v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer tok-admin-000");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::RegisterPersonResponse resp;
  if (const grpc::Status s = stub.RegisterPerson(&ctx, r, &resp); !s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return RegisterBoardObserver(stub, programme);
}

// Charters emea-kam (the admin, tok-admin-000) with the ERP as its publisher, over gRPC
// (erp@supplier.example, token tok-erp-publish) and on the inbound topic (publisher:erp):
// metrics are recorded by the publishers and members of their programme. The metrics service
// learns that from the programme topic, so it shares the command server's topic prefix.
inline absl::Status CharterWithErp(v1::ProgrammeCommandService::Stub& stub) {
  v1::CharterProgrammeRequest charter;
  charter.mutable_metadata()->set_client_request_id(base::NewEventId());
  charter.set_programme_id("emea-kam");
  charter.set_name("EMEA key accounts");
  charter.set_rationale("Grow profitable strategic customers");
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer tok-admin-000");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::CharterProgrammeResponse resp;
  if (const grpc::Status s = stub.CharterProgramme(&ctx, charter, &resp); !s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  if (auto r = RegisterPublisher(stub, "emea-kam"); !r.ok()) return r.status();
  return RegisterPublisher(stub, "emea-kam", "publisher:erp", "erp-feed").status();
}

}  // namespace kam::testing
