// Sealed programme events for tests that write to the log directly.
//
//   kam::testing::EventFactory f;
//   std::string bytes = f.Nominated("emea-kam", "acme");   // version 1, 2, ... per programme
#pragma once

#include <map>
#include <string>

#include "writer/envelopes.h"

namespace kam::testing {

class EventFactory {
 public:
  // The sealed bytes of an AccountNominated event continuing `programme`'s chain.
  std::string Nominated(const std::string& programme, const std::string& account) {
    domain::Events events(1);
    auto* e = events[0].mutable_account_nominated();
    e->set_programme_id(programme);
    e->set_account_id(account);
    e->set_account_name(account + " Ltd");
    e->set_rationale("test");
    e->set_nominated_by("tester");
    writer::CommandInfo info;
    info.aggregate_type = domain::kProgrammeAggregateType;
    info.aggregate_id = programme;
    info.actor = "tester";
    info.metadata.set_client_request_id(programme + "/" + account + "/" + std::to_string(n_++));
    info.recorded_at = absl::FromUnixSeconds(1767225600);
    writer::Chain& chain = chains_[programme];
    writer::SealedCommand sealed = writer::SealCommand(chain, info, events);
    writer::Advance(chain, sealed, {});
    return sealed.bytes[0];
  }

 private:
  std::map<std::string, writer::Chain> chains_;
  int n_ = 0;
};

}  // namespace kam::testing
