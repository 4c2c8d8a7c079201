#include "server/roles.h"

namespace kam::server::roles {

const std::set<std::string>& All() {
  static const auto* all = new std::set<std::string>{kAdmin, kBoard,     kChampion,    kSponsor,
                                                     kKam,   kPublisher, kPersonalData};
  return *all;
}

const std::set<std::string>& Readers() { return All(); }

}  // namespace kam::server::roles
