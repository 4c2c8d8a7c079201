#include "eventlog/dead_letters.h"

#include "base/strings.h"
#include "eventlog/delivery.h"

namespace kam::eventlog {

DeadLetters::~DeadLetters() {
  if (producer_) producer_->flush(5000);
}

absl::StatusOr<std::unique_ptr<DeadLetters>> DeadLetters::Create(const KafkaOptions& options,
                                                                 std::string topic) {
  if (auto s = EnsureTopic(options, topic, 1); !s.ok()) return s;
  std::unique_ptr<DeadLetters> self(new DeadLetters());
  self->topic_ = std::move(topic);
  self->reports_ = std::make_unique<DeliveryReports>();
  auto conf =
      MakeConf(options, {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  if ((*conf)->set("dr_cb", self->reports_.get(), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(err);
  }
  self->producer_.reset(RdKafka::Producer::create(conf->get(), err));
  if (!self->producer_) return absl::InternalError(base::StrCat("kafka producer: ", err));
  return self;
}

absl::Status DeadLetters::Send(std::string_view key, std::string_view value,
                               std::string_view reason, std::string_view origin,
                               std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("kam-dlq-reason", reason.data(), reason.size());
  headers->add("kam-dlq-origin", origin.data(), origin.size());
  auto slot = std::make_unique<Slot>();
  RdKafka::ErrorCode ec =
      producer_->produce(topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0,
                         headers, slot.get());
  if (ec != RdKafka::ERR_NO_ERROR) {
    delete headers;  // not taken over on failure
    return absl::UnavailableError(base::StrCat("dead-letter produce: ", RdKafka::err2str(ec)));
  }
  producer_->flush(static_cast<int>(timeout.count()));
  if (!slot->done) {
    // The report may still arrive: keep the slot alive for the producer's lifetime.
    (void)slot.release();
    return absl::UnavailableError(base::StrCat(
        "dead-letter topic ", topic_, " did not acknowledge within ", timeout.count(), " ms"));
  }
  if (slot->err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        base::StrCat("dead-letter delivery: ", RdKafka::err2str(slot->err)));
  }
  return absl::OkStatus();
}

}  // namespace kam::eventlog
