// Issue 12's stream limits over real gRPC, each with a hostile client and a well-behaved one:
// a publisher opens 1,000 StreamMetrics streams and sends nothing; a reader opens far more
// Subscribe streams than the bound and reads nothing. The streams beyond the bound are
// RESOURCE_EXHAUSTED at once, the idle ones are closed after the idle limit (naming it), the
// held subscriptions end at their lifetime, and meanwhile a well-behaved client is served.
// The hostile clients use the async API on one completion queue: no thread per stream.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "base/ids.h"
#include "support/kafka_broker.h"
#include "support/metric_events.h"
#include "support/servers.h"

namespace kam {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::Revenue;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How a hostile client's streams ended: by status code and message, and when (seconds after
// the attack began).
struct Ending {
  grpc::Status status;
  double at = 0;
};

// Many calls of one kind in flight on a completion queue, each ended only by the server.
template <typename Stream>
class Swarm {
 public:
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream;
    grpc::Status status;
  };

  // Opens `n` calls with `open(context, queue)` (which prepares one, not started yet).
  template <typename Open>
  Swarm(int n, const std::string& token, Open open) : start_(Clock::now()) {
    calls_.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      calls_[i] = std::make_unique<Call>();
      Call& c = *calls_[i];
      c.context.AddMetadata("authorization", "Bearer " + token);
      c.context.set_deadline(std::chrono::system_clock::now() + seconds(60));
      c.stream = open(&c.context, &queue_);
      c.stream->StartCall(Tag(i, false));
      c.stream->Finish(&c.status, Tag(i, true));
    }
  }
  ~Swarm() {
    for (auto& c : calls_) c->context.TryCancel();
    while (finished_ < calls_.size()) Poll(seconds(5));
    queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  // Collects what ended until `done(endings)` or `timeout`.
  template <typename Done>
  void Until(Done done, Clock::duration timeout) {
    const auto give_up = Clock::now() + timeout;
    while (!done(endings_) && finished_ < calls_.size() && Clock::now() < give_up) {
      Poll(milliseconds(50));
    }
  }
  const std::vector<Ending>& endings() const { return endings_; }
  std::size_t open() const { return calls_.size() - finished_; }
  Clock::time_point start() const { return start_; }

 private:
  static void* Tag(std::size_t i, bool finish) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(i * 2 + (finish ? 1 : 0)));
  }
  void Poll(Clock::duration wait) {
    void* tag = nullptr;
    bool ok = false;
    const auto deadline = std::chrono::system_clock::now() + wait;
    while (queue_.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      const auto value = reinterpret_cast<uintptr_t>(tag);
      if (value % 2 == 1) {
        endings_.push_back({calls_[value / 2]->status, SecondsSince(start_)});
        ++finished_;
      }
    }
  }

  Clock::time_point start_;
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<Ending> endings_;
  std::size_t finished_ = 0;
};

std::size_t Count(const std::vector<Ending>& endings, grpc::StatusCode code,
                  const std::string& says = "") {
  std::size_t n = 0;
  for (const auto& e : endings) {
    n += e.status.error_code() == code && e.status.error_message().find(says) != std::string::npos;
  }
  return n;
}

double Latest(const std::vector<Ending>& endings, grpc::StatusCode code) {
  double latest = 0;
  for (const auto& e : endings) {
    if (e.status.error_code() == code) latest = std::max(latest, e.at);
  }
  return latest;
}

// Every ending, as "CODE: message" -> how many (for a failure's explanation).
std::string Summary(const std::vector<Ending>& endings) {
  std::map<std::string, int> by;
  for (const auto& e : endings) {
    ++by[std::to_string(e.status.error_code()) + ": " + e.status.error_message()];
  }
  std::string out;
  for (const auto& [what, n] : by) out += std::to_string(n) + " x " + what + "\n";
  return out;
}

TEST(StreamLimits, AThousandIdleMetricStreamsAreRefusedOrClosedWhileAPublisherIsServed) {
  constexpr int kHostile = 1000;
  constexpr int kSlots = 16;
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  auto auth = testing::TestAuth();
  services::MetricsServiceConfig config;
  config.kafka = testing::SharedKafka();
  config.topic_prefix = prefix;
  config.transactional_id = prefix + "metrics-writer";
  config.max_streams = kSlots;
  config.stream_limits = {.idle = seconds(2), .lifetime = seconds(60)};
  auto service = services::MetricsService::Create(config, *auth);
  ASSERT_TRUE(service.ok()) << service.status();
  auto server = testing::Serve(service->get());
  auto stub = v1::MetricsCommandService::NewStub(testing::ChannelTo(server->port()));

  // The hostile publisher: 1,000 streams, not one message.
  using Stream = grpc::ClientAsyncReaderWriter<v1::StreamMetricsRequest, v1::StreamMetricsResponse>;
  Swarm<Stream> hostile(kHostile, "tok-erp-publish",
                        [&](grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
                          return stub->PrepareAsyncStreamMetrics(ctx, cq);
                        });
  const auto refused_all = [&](const std::vector<Ending>& e) {
    return e.size() >= static_cast<std::size_t>(kHostile - kSlots);
  };
  hostile.Until(refused_all, seconds(10));
  // Refused by the slots, or - while the burst has more calls in flight than the server has
  // threads - by gRPC's thread quota (ServerOptions::max_threads) before the handler runs.
  const std::size_t refused_at_once =
      Count(hostile.endings(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const std::size_t refused_by_slots =
      Count(hostile.endings(), grpc::StatusCode::RESOURCE_EXHAUSTED,
            "at most 16 StreamMetrics streams are open at once");
  const double refusals_took = Latest(hostile.endings(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused_at_once, static_cast<std::size_t>(kHostile - kSlots))
      << Summary(hostile.endings());
  EXPECT_GT(refused_by_slots, 0u) << Summary(hostile.endings());
  EXPECT_EQ((*service)->open_streams(), kSlots);

  // During the attack a well-behaved publisher still records, and a stream is refused.
  v1::RecordMetricRequest one;
  one.mutable_metadata()->set_client_request_id(base::NewEventId());
  *one.mutable_metric() = Revenue("during-attack");
  v1::RecordMetricResponse recorded;
  const auto unary_start = Clock::now();
  const grpc::Status unary =
      stub->RecordMetric(testing::Context("tok-erp-publish").get(), one, &recorded);
  const double unary_took = SecondsSince(unary_start);
  const double unary_at = SecondsSince(hostile.start());
  EXPECT_TRUE(unary.ok()) << unary.error_message();
  EXPECT_EQ((*service)->open_streams(), kSlots) << "the unary call came while all were held";
  {
    auto ctx = testing::Context("tok-erp-publish");
    auto refused = stub->StreamMetrics(ctx.get());
    v1::StreamMetricsResponse ignored;
    refused->Read(&ignored);
    EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }

  // The idle ones are closed after the idle limit, with a status that names it.
  hostile.Until([](const std::vector<Ending>&) { return false; }, seconds(10));
  EXPECT_EQ(hostile.open(), 0u);
  const std::size_t closed_idle =
      Count(hostile.endings(), grpc::StatusCode::DEADLINE_EXCEEDED,
            "StreamMetrics: idle for 2 s, the limit (--stream-idle-timeout-s)");
  EXPECT_EQ(closed_idle, static_cast<std::size_t>(kSlots)) << Summary(hostile.endings());
  const double idle_closed_at = Latest(hostile.endings(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(idle_closed_at, 1.9);
  EXPECT_LT(idle_closed_at, 5.0);

  // Then a publisher that sends is served on a stream.
  auto ctx = testing::Context("tok-erp-publish");
  auto good = stub->StreamMetrics(ctx.get());
  for (int i = 0; i < 3; ++i) {
    v1::StreamMetricsRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    *req.mutable_metric() = Revenue("after-attack-" + std::to_string(i));
    ASSERT_TRUE(good->Write(req));
  }
  good->WritesDone();
  int answered = 0;
  v1::StreamMetricsResponse resp;
  while (good->Read(&resp)) answered += resp.outcome().code() == 0;
  const grpc::Status good_status = good->Finish();
  EXPECT_TRUE(good_status.ok()) << good_status.error_message();
  EXPECT_EQ(answered, 3);
  const double stream_served_at = SecondsSince(hostile.start());
  EXPECT_EQ((*service)->open_streams(), 0);

  std::cout << "StreamMetrics under attack: " << kHostile << " idle streams opened; "
            << refused_at_once << " refused RESOURCE_EXHAUSTED within " << refusals_took << " s ("
            << refused_by_slots << " by the 16 slots, " << refused_at_once - refused_by_slots
            << " by the server's thread quota); " << closed_idle
            << " held closed DEADLINE_EXCEEDED (idle 2 s) by " << idle_closed_at
            << " s; RecordMetric served at " << unary_at << " s (took " << unary_took
            << " s); a sending stream served (3 outcomes) at " << stream_served_at << " s\n";
  EXPECT_LT(stream_served_at, 15.0);
}

// What a stream's client was told stays true when a deadline ends the stream: an idle stream
// is closed after its outcomes were written (the recorded item stays recorded: re-sent, it is
// answered as a retry), and a stream past its lifetime answers the item it read last, then
// ends naming the limit.
TEST(StreamLimits, AMetricStreamEndedByADeadlineKeepsWhatItAnswered) {
  const std::string prefix = testing::UniqueTopicPrefix();
  testing::CommandServer commands(testing::SharedKafka(), prefix);
  ASSERT_TRUE(testing::CharterWithErp(*commands.Stub()).ok());
  auto auth = testing::TestAuth();
  services::MetricsServiceConfig config;
  config.kafka = testing::SharedKafka();
  config.topic_prefix = prefix;
  config.transactional_id = prefix + "metrics-writer";
  config.stream_limits = {.idle = seconds(1), .lifetime = seconds(3)};
  auto service = services::MetricsService::Create(config, *auth);
  ASSERT_TRUE(service.ok()) << service.status();
  auto server = testing::Serve(service->get());
  auto stub = v1::MetricsCommandService::NewStub(testing::ChannelTo(server->port()));
  auto item = [](const std::string& request_id, const std::string& record) {
    v1::StreamMetricsRequest req;
    req.mutable_metadata()->set_client_request_id(request_id);
    *req.mutable_metric() = Revenue(record);
    return req;
  };

  // Idle: one item answered, then nothing for longer than the idle limit.
  {
    auto ctx = testing::Context("tok-erp-publish");
    auto stream = stub->StreamMetrics(ctx.get());
    ASSERT_TRUE(stream->Write(item("idle-0", "idle-0")));
    v1::StreamMetricsResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.outcome().code(), 0);
    const auto quiet_from = Clock::now();
    EXPECT_FALSE(stream->Read(&resp));
    const grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_NE(s.error_message().find("StreamMetrics: idle for 1 s, the limit"), std::string::npos)
        << s.error_message();
    std::cout << "idle stream closed " << SecondsSince(quiet_from)
              << " s after its last outcome: " << s.error_message() << "\n";
  }
  v1::RecordMetricRequest again;
  *again.mutable_metadata() = item("idle-0", "idle-0").metadata();
  *again.mutable_metric() = Revenue("idle-0");
  v1::RecordMetricResponse answer;
  ASSERT_TRUE(stub->RecordMetric(testing::Context("tok-erp-publish").get(), again, &answer).ok());
  EXPECT_TRUE(answer.result().deduplicated()) << "the answered item stayed recorded";

  // Lifetime: an item every half second (never idle) until the stream is 3 s old.
  auto ctx = testing::Context("tok-erp-publish");
  auto stream = stub->StreamMetrics(ctx.get());
  const auto opened = Clock::now();
  int sent = 0;
  int answered = 0;
  v1::StreamMetricsResponse resp;
  while (SecondsSince(opened) < 10) {
    if (!stream->Write(item(base::NewEventId(), "life-" + std::to_string(sent)))) break;
    ++sent;
    if (!stream->Read(&resp)) break;
    answered += resp.outcome().code() == 0;
    std::this_thread::sleep_for(milliseconds(500));
  }
  while (stream->Read(&resp)) answered += resp.outcome().code() == 0;
  const grpc::Status s = stream->Finish();
  const double ended_at = SecondsSince(opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(s.error_message().find("StreamMetrics: open for 3 s, the limit "
                                   "(--stream-max-lifetime-s)"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(answered, sent) << "every item the stream read was answered before it ended";
  EXPECT_GE(ended_at, 2.9);
  EXPECT_LT(ended_at, 6.0);
  std::cout << "stream at its lifetime: " << sent << " items sent, " << answered
            << " answered, ended at " << ended_at << " s: " << s.error_message() << "\n";
}

TEST(StreamLimits, SubscriptionsBeyondTheBoundAreRefusedAndHeldOnesEndAtTheirLifetime) {
  constexpr int kHostile = 200;
  constexpr int kSlots = 4;
  const std::string prefix = testing::UniqueTopicPrefix();
  const std::string dir = std::filesystem::temp_directory_path() / ("kam-stream-limits-" + prefix);
  auto auth = testing::TestAuth();
  auto read = projections::ReadSide::Create(
      projections::ReadSideConfig{.kafka = testing::SharedKafka(),
                                  .topic_prefix = prefix,
                                  .data_dir = dir,
                                  .max_subscriptions = kSlots,
                                  .stream_limits = {.idle = seconds(2), .lifetime = seconds(3)}},
      *auth);
  ASSERT_TRUE(read.ok()) << read.status();
  server::GrpcServer server(server::ServerOptions{});
  for (grpc::Service* s : (*read)->services()) server.Add(s);
  ASSERT_TRUE(server.Start().ok());
  auto stub = v1::HistoryQueryService::NewStub(testing::ChannelTo(server.port()));

  // The hostile reader: 200 subscriptions, none read.
  using Stream = grpc::ClientAsyncReader<v1::SubscribeResponse>;
  const v1::SubscribeRequest everything;
  Swarm<Stream> hostile(kHostile, "tok-bob-board",
                        [&](grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
                          return stub->PrepareAsyncSubscribe(ctx, everything, cq);
                        });
  hostile.Until(
      [&](const std::vector<Ending>& e) {
        return e.size() >= static_cast<std::size_t>(kHostile - kSlots);
      },
      seconds(10));
  const std::size_t refused_at_once = Count(hostile.endings(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                                            "at most 4 Subscribe streams are open at once");
  const double refusals_took = Latest(hostile.endings(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused_at_once, static_cast<std::size_t>(kHostile - kSlots))
      << Summary(hostile.endings());

  // During the attack a unary read is served, and one more subscription is refused.
  v1::GetProjectionStatusResponse status;
  const double unary_at = SecondsSince(hostile.start());
  const grpc::Status unary =
      stub->GetProjectionStatus(testing::Context("tok-bob-board").get(), {}, &status);
  EXPECT_TRUE(unary.ok()) << unary.error_message();
  {
    auto ctx = testing::Context("tok-bob-board");
    auto refused = stub->Subscribe(ctx.get(), everything);
    v1::SubscribeResponse ignored;
    refused->Read(&ignored);
    EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }

  // The held ones are quiet, not idle (nothing is due to them): they end OK at their
  // lifetime, and their client would resume from its last position.
  hostile.Until([](const std::vector<Ending>&) { return false; }, seconds(10));
  EXPECT_EQ(hostile.open(), 0u);
  const std::size_t ended_ok = Count(hostile.endings(), grpc::StatusCode::OK);
  EXPECT_EQ(ended_ok, static_cast<std::size_t>(kSlots)) << Summary(hostile.endings());
  const double lifetime_ended_at = Latest(hostile.endings(), grpc::StatusCode::OK);
  EXPECT_GE(lifetime_ended_at, 2.9);
  EXPECT_LT(lifetime_ended_at, 6.0);

  // Then a new subscriber is admitted (served until its own deadline, as a client's).
  auto ctx = testing::Context("tok-bob-board");
  ctx->set_deadline(std::chrono::system_clock::now() + milliseconds(700));
  auto again = stub->Subscribe(ctx.get(), everything);
  v1::SubscribeResponse ignored;
  again->Read(&ignored);
  EXPECT_EQ(again->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "DEADLINE_EXCEEDED of the client's own deadline: it was being served";
  const double admitted_at = SecondsSince(hostile.start());

  std::cout << "Subscribe under attack: " << kHostile << " unread subscriptions opened; "
            << refused_at_once << " refused RESOURCE_EXHAUSTED within " << refusals_took
            << " s; GetProjectionStatus served at " << unary_at << " s; " << ended_ok
            << " held ended OK at their 3 s lifetime by " << lifetime_ended_at
            << " s; a new subscriber admitted by " << admitted_at << " s\n";
  server.Shutdown();
  read->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kam
