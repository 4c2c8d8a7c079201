#include "services/metrics/metrics_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "base/errors.h"
#include "base/strings.h"
#include "eventlog/topics.h"
#include "server/malformed_request.h"
#include "server/roles.h"
#include "server/rpc_telemetry.h"
#include "server/status.h"
#include "writer/inbound_ingester.h"
#include "writer/kafka_event_log.h"

namespace kam::services {
namespace {

const std::set<std::string> kPublishers = {server::roles::kAdmin, server::roles::kPublisher};

}  // namespace

v1::MetricItemOutcome ToItemOutcome(uint32_t index, const writer::Outcome& outcome) {
  v1::MetricItemOutcome out;
  out.set_index(index);
  if (outcome.result.ok()) {
    *out.mutable_result() = *outcome.result;
  } else {
    const absl::Status& s = outcome.result.status();
    out.set_code(static_cast<int32_t>(s.code()));
    out.set_error(std::string(s.message()));
    out.mutable_detail()->set_rule(base::RuleOf(s));
    out.mutable_detail()->set_field(base::FieldOf(s));
    out.mutable_detail()->set_reason(base::ReasonOf(s));
  }
  out.set_dead_lettered(outcome.dead_lettered);
  return out;
}

namespace {

std::function<void(v1::EventEnvelope&)> RevealWith(
    const std::shared_ptr<personal::KeyStore>& keys) {
  if (keys == nullptr) return nullptr;
  auto revealer = std::make_shared<personal::Revealer>(*keys);
  // Holds the store: the service's config may not outlive the constructor.
  return [keys, revealer](v1::EventEnvelope& env) { revealer->Reveal(env); };
}

}  // namespace

MetricsService::MetricsService(const MetricsServiceConfig& config,
                               const server::Authenticator& auth)
    : auth_(auth),
      streams_("StreamMetrics", config.max_streams),
      stream_deadlines_("StreamMetrics", config.stream_limits,
                        "every outcome already received stands (a re-sent item with its "
                        "client_request_id is answered the same); send the rest on a new stream"),
      topic_(eventlog::AggregateTopic(config.topic_prefix, domain::kMetricsAggregateType)),
      inbound_topic_(eventlog::InboundMetricsTopic(config.topic_prefix)),
      membership_wait_(config.membership_wait),
      programmes_(std::make_unique<writer::Follower<domain::ProgrammeState>>(
          writer::Follower<domain::ProgrammeState>::Options{
              .kafka = config.kafka,
              .topic =
                  eventlog::AggregateTopic(config.topic_prefix, domain::kProgrammeAggregateType),
              .pipeline = {.topic = eventlog::AggregateTopic(config.topic_prefix,
                                                             domain::kProgrammeAggregateType),
                           .aggregate_type = std::string(domain::kProgrammeAggregateType),
                           .evolve = &domain::Evolve,
                           .keyring = config.keyring.get(),
                           .reveal = RevealWith(config.keys)}})),
      writer_(
          writer::KafkaEventLog(config.kafka, config.append_timeout),
          writer::WriterOptions{.topic = topic_,
                                .aggregate_type = std::string(domain::kMetricsAggregateType),
                                .partitions = config.partitions,
                                .transactional_id = config.transactional_id,
                                .owned_partitions = config.owned_partitions,
                                .owned_by_group = config.writer_group.has_value(),
                                .snapshot_dir = config.snapshot_dir,
                                .snapshot_every_events = config.snapshot_every_events,
                                .group = config.group,
                                .signer = config.signer,
                                .keyring = config.keyring,
                                .checkpoint_topic = eventlog::CheckpointTopic(config.topic_prefix),
                                .checkpoint_interval = config.checkpoint_interval},
          &domain::Evolve,
          writer::SnapshotCodec<domain::MetricsState>{&domain::EncodeSnapshot,
                                                      &domain::DecodeMetricsSnapshot},
          &domain::EvolveUndoable) {
  if (config.keys != nullptr) {
    auto sealer = std::make_shared<personal::Sealer>(*config.keys);
    writer_.UsePersonalData(
        [this, keys = config.keys, sealer](const domain::MetricsState&,
                                           v1::EventEnvelope& env) -> absl::Status {
          // The aggregate id is "<programme id>:<account id>": the actor is sealed with the
          // key of the programme's person it is, if any (a publisher's stays as it is).
          const std::string& id = env.aggregate_id();
          const std::string programme = id.substr(0, id.find(':'));
          std::string person;
          (void)programmes_->With(programme, [&](const domain::ProgrammeState* p) {
            if (p != nullptr) person = p->PersonByPrincipal(env.actor()).value_or("");
            return absl::OkStatus();
          });
          personal::Whose whose;
          whose.author = person;
          return sealer->Seal(env, programme, whose);
        },
        nullptr);
  }
  // The generated service registers its methods in the order of the .proto file.
  server::MarkRawMethod("/kam.v1.MetricsCommandService/StreamMetrics");
  const int index = v1::StreamMetricsRequest::descriptor()
                        ->file()
                        ->FindServiceByName("MetricsCommandService")
                        ->FindMethodByName("StreamMetrics")
                        ->index();
  MarkMethodStreamed(
      index,
      new grpc::internal::BidiStreamingHandler<MetricsService, grpc::ByteBuffer, grpc::ByteBuffer>(
          [](MetricsService* self, grpc::ServerContext* context,
             grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
            return self->StreamMetricsRaw(context, stream);
          },
          this));
}

absl::StatusOr<std::unique_ptr<MetricsService>> MetricsService::Create(
    const MetricsServiceConfig& config, const server::Authenticator& auth) {
  std::unique_ptr<MetricsService> self(new MetricsService(config, auth));
  KAM_RETURN_IF_ERROR(eventlog::EnsureTopic(config.kafka, self->dead_letter_topic(), 1));
  KAM_RETURN_IF_ERROR(self->programmes_->Start());
  KAM_RETURN_IF_ERROR(self->writer_.Start());
  if (config.writer_group)
    KAM_RETURN_IF_ERROR(self->writer_.JoinGroup(config.kafka, *config.writer_group));
  return self;
}

absl::StatusOr<v1::CommandResult> MetricsService::Record(const v1::CommandMetadata& metadata,
                                                         const v1::MetricRecorded& metric,
                                                         const std::string& actor) {
  AwaitMembership(metric, actor);
  return writer_.Submit(ItemCommand(metadata, metric, actor, "")).get().result;
}

writer::Command<domain::MetricsState> MetricsService::ItemCommand(
    const v1::CommandMetadata& metadata, const v1::MetricRecorded& metric, const std::string& actor,
    const std::string& origin) const {
  writer::Command<domain::MetricsState> c;
  c.aggregate_id = domain::MetricsAggregateId(metric.programme_id(), metric.account_id());
  c.metadata = metadata;
  c.actor = actor;
  auto request = std::make_shared<v1::RecordMetricRequest>();
  *request->mutable_metadata() = metadata;
  *request->mutable_metric() = metric;
  c.decide = [this, request, actor](const domain::MetricsState& state, absl::Time now) {
    const v1::MetricRecorded& m = request->metric();
    std::optional<absl::CivilDay> today;
    absl::Status may = programmes_->With(m.programme_id(), [&](const domain::ProgrammeState* p) {
      if (p != nullptr) today = p->Day(now);
      return MayRecord(p, m, actor, now);
    });
    if (!may.ok()) return absl::StatusOr<domain::Events>(may);
    // A metric's dates are the programme's days.
    return domain::Decide(state, *request,
                          domain::CommandContext{.actor = actor, .now = now, .today = today});
  };
  c.fingerprint = writer::RequestFingerprint(*request, actor);
  if (!origin.empty()) {
    c.dead_letter = [this, request, origin, actor, key = c.aggregate_id](
                        const absl::Status& why) -> std::optional<eventlog::Record> {
      v1::InboundMetric inbound;
      inbound.set_publisher(actor);
      inbound.set_client_request_id(request->metadata().client_request_id());
      *inbound.mutable_metric() = request->metric();
      return writer::DeadLetter(key, inbound.SerializeAsString(), inbound_topic_,
                                writer::ReasonText(why), origin);
    };
  }
  return c;
}

absl::Status MetricsService::MayRecord(const domain::ProgrammeState* programme,
                                       const v1::MetricRecorded& metric, const std::string& actor,
                                       absl::Time now) {
  // The metric's own checks name a malformed programme id first.
  KAM_RETURN_IF_ERROR(base::ValidateId("metric.programme_id", metric.programme_id()));
  static const domain::ProgrammeState kNone;
  return domain::MayRecord(programme != nullptr ? *programme : kNone, "metric.programme_id",
                           metric.programme_id(), "RecordMetricRequest",
                           domain::CommandContext{.actor = actor, .now = now});
}

void MetricsService::AwaitMembership(const v1::MetricRecorded& metric, const std::string& actor) {
  if (!base::ValidateId("metric.programme_id", metric.programme_id()).ok()) return;
  const absl::Time now = absl::Now();
  const auto may = [&](const domain::ProgrammeState* p) {
    return MayRecord(p, metric, actor, now);
  };
  if (programmes_->With(metric.programme_id(), may).ok()) return;
  // A principal that waited in vain lately is not waited for again for 5 s, whatever the
  // programme: items for many programmes (a batch, a stream, the inbound topic) cost one
  // wait, not one each, so a caller cannot hold a thread by naming programme after
  // programme. (A grant the follower has not read then has a poll's lag, ~100 ms, to lose.)
  {
    std::lock_guard<std::mutex> lock(awaited_mu_);
    if (auto it = awaited_.find(actor); it != awaited_.end() && now - it->second < absl::Seconds(5))
      return;
  }
  const bool lifted = programmes_->Await(metric.programme_id(), may, membership_wait_).ok();
  std::lock_guard<std::mutex> lock(awaited_mu_);
  if (lifted) return;
  if (awaited_.size() >= 10000) awaited_.clear();  // bounded; forgetting only costs a wait
  awaited_[actor] = now;
}

grpc::Status MetricsService::RecordMetric(grpc::ServerContext* context,
                                          const v1::RecordMetricRequest* request,
                                          v1::RecordMetricResponse* response) {
  auto who = auth_.Authorize(*context, kPublishers, "call RecordMetric");
  if (!who.ok()) return server::ToGrpc(who.status());
  auto result = Record(request->metadata(), request->metric(), who->name);
  if (!result.ok()) return server::ToGrpc(result.status());
  *response->mutable_result() = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status MetricsService::RecordMetricBatch(grpc::ServerContext* context,
                                               const v1::RecordMetricBatchRequest* request,
                                               v1::RecordMetricBatchResponse* response) {
  auto who = auth_.Authorize(*context, kPublishers, "call RecordMetricBatch");
  if (!who.ok()) return server::ToGrpc(who.status());
  if (static_cast<std::size_t>(request->items_size()) > kMaxMetricBatch) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        base::StrCat("items: at most ", kMaxMetricBatch, " per batch, got ",
                                     request->items_size(), "; split the batch"));
  }
  std::vector<writer::Command<domain::MetricsState>> commands;
  commands.reserve(static_cast<std::size_t>(request->items_size()));
  for (int i = 0; i < request->items_size(); ++i) {
    const auto& item = request->items(i);
    AwaitMembership(item.metric(), who->name);
    commands.push_back(
        ItemCommand(item.metadata(), item.metric(), who->name,
                    base::StrCat("grpc RecordMetricBatch item ", i, " by ", who->name)));
  }
  const auto outcomes = writer_.ExecuteAll(std::move(commands));
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    auto out = ToItemOutcome(static_cast<uint32_t>(i), outcomes[i]);
    if (out.code() == 0) {
      response->set_recorded(response->recorded() + 1);
    } else {
      response->set_rejected(response->rejected() + 1);
    }
    *response->add_outcomes() = std::move(out);
  }
  return grpc::Status::OK;
}

// Reading and answering run in two threads, so a client may send an item and wait for its
// outcome (one at a time) or send many ahead (pipelined): either way each outcome is
// written as soon as its transaction has committed, in order.
//
// Deadlines (stream_deadlines.h): the idle clock runs while the server waits for the client
// (to send an item, or to read an outcome) and stops while an item is being committed. Past
// its lifetime the stream reads no further item, answers every item it read, and ends
// DEADLINE_EXCEEDED naming the limit. When the watchdog cancels a stream, the items already
// read are still committed (their outcomes cannot be written any more): a client re-sends
// what it has no outcome for, and the request id answers a committed item the same again.
grpc::Status MetricsService::StreamMetricsRaw(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
  auto who = auth_.Authorize(*context, kPublishers, "call StreamMetrics");
  if (!who.ok()) return server::ToGrpc(who.status());
  auto slot = streams_.TryAcquire();  // held until the stream ends
  if (!slot.ok()) return server::ToGrpc(slot.status());
  auto watch = stream_deadlines_.Start(*context);  // destroyed before the handler returns
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::future<writer::Outcome>> in_flight;
  bool reading_done = false;
  bool client_gone = false;
  std::thread answers([&] {
    uint32_t index = 0;
    while (true) {
      std::future<writer::Outcome> next;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !in_flight.empty() || reading_done; });
        if (in_flight.empty()) return;
        next = std::move(in_flight.front());
        in_flight.pop_front();
        cv.notify_all();
      }
      v1::StreamMetricsResponse response;
      {
        auto busy = watch->Busy();  // the commit is the server's wait, not the client's
        *response.mutable_outcome() = ToItemOutcome(index++, next.get());
      }
      const std::string bytes = response.SerializeAsString();
      grpc::Slice slice(bytes);
      if (!client_gone && !stream->Write(grpc::ByteBuffer(&slice, 1))) {
        std::lock_guard<std::mutex> lock(mu);
        client_gone = true;  // keep draining the futures; nothing more is written
        cv.notify_all();
      } else {
        watch->Touch();
      }
    }
  });
  v1::StreamMetricsRequest request;
  grpc::ByteBuffer body;
  uint32_t index = 0;
  bool overdue = false;
  absl::Status malformed;
  while (stream->Read(&body)) {
    watch->Touch();
    malformed = server::ParseBody(body, request);
    if (!malformed.ok()) break;  // the items before it are answered, then the refusal
    {
      auto busy = watch->Busy();  // the server waits for the programme topic, not the client
      AwaitMembership(request.metric(), who->name);
    }
    auto future = writer_.Submit(
        ItemCommand(request.metadata(), request.metric(), who->name,
                    base::StrCat("grpc StreamMetrics item ", index, " by ", who->name)));
    ++index;
    std::unique_lock<std::mutex> lock(mu);
    in_flight.push_back(std::move(future));
    cv.notify_all();
    cv.wait(lock, [&] { return in_flight.size() < kMaxStreamInFlight || client_gone; });
    if (client_gone) break;
    if (watch->Overdue()) {
      overdue = true;  // the item just read is answered with the rest
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    reading_done = true;
  }
  cv.notify_all();
  answers.join();
  if (absl::Status ended = watch->Ended(); !ended.ok()) return server::ToGrpc(ended);
  if (overdue) return server::ToGrpc(watch->LifetimeStatus());
  if (!malformed.ok()) {
    return server::ToGrpc(absl::InvalidArgumentError(
        base::StrCat("item ", index, ": ", malformed.message(),
                     "; the items before it were answered, nothing after it was read")));
  }
  return grpc::Status::OK;
}

}  // namespace kam::services
