#include "writer/log_session.h"

#include "base/errors.h"
#include "base/strings.h"

namespace kam::writer {

LogSession::LogSession(eventlog::KafkaOptions kafka, std::string transactional_id,
                       std::chrono::milliseconds timeout,
                       std::shared_ptr<const eventlog::ClusterWatch> watch)
    : kafka_(std::move(kafka)),
      transactional_id_(std::move(transactional_id)),
      timeout_(timeout),
      watch_(std::move(watch)) {}

absl::Status LogSession::Outage() const {
  if (watch_ == nullptr) return absl::OkStatus();
  absl::Status down = watch_->Reachable();
  if (down.ok()) return down;
  // Nothing was sent, so nothing of the command can be in the log: the retry writes it once.
  return absl::UnavailableError(base::StrCat(down.message(), "; retry with the same request id"));
}

absl::Status LogSession::FencedError() const {
  return absl::UnavailableError(base::StrCat(
      "writer '", transactional_id_,
      "' was fenced: another instance owns this partition now; send the command there"));
}

absl::Status LogSession::Connect() {
  if (fenced_) return FencedError();
  KAM_RETURN_IF_ERROR(Outage());
  producer_.reset();  // destroy the old one first: its open transaction is aborted by the new
  auto p = eventlog::TransactionalProducer::Create(kafka_, transactional_id_, timeout_, watch_);
  if (!p.ok()) return p.status();
  producer_ = std::move(*p);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::LogPosition>> LogSession::Append(
    const std::string& topic, int32_t partition, std::span<const eventlog::Record> records,
    const eventlog::TransactionOffsets* offsets) {
  if (fenced_) return FencedError();
  KAM_RETURN_IF_ERROR(Outage());
  if (!producer_ || !producer_->usable()) {
    if (auto s = Connect(); !s.ok()) return s;
  }
  auto positions = producer_->Append(topic, partition, records, timeout_, offsets);
  if (!positions.ok()) {
    if (producer_->fenced()) {
      fenced_ = true;
      return FencedError();
    }
    if (!producer_->usable()) needs_reload_ = true;
  }
  return positions;
}

}  // namespace kam::writer
