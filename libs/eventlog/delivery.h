// Delivery reports of librdkafka producers (internal to libs/eventlog): each produced
// message points at a Slot that its report fills in.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>

namespace kam::eventlog {

// Where one record's delivery report lands. Must stay alive until the producer has no
// outstanding message that could still point at it.
struct Slot {
  bool done = false;
  RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    auto* slot = static_cast<Slot*>(m.msg_opaque());
    if (slot == nullptr) return;
    slot->done = true;
    slot->err = m.err();
    slot->partition = m.partition();
    slot->offset = m.offset();
  }
};

}  // namespace kam::eventlog
