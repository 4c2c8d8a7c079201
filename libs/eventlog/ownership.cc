#include "eventlog/ownership.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <condition_variable>
#include <future>

#include "base/log.h"
#include "base/strings.h"

namespace kam::eventlog {
namespace {

std::vector<int32_t> PartitionsOf(const std::vector<RdKafka::TopicPartition*>& list) {
  std::vector<int32_t> out;
  out.reserve(list.size());
  for (const RdKafka::TopicPartition* tp : list) out.push_back(tp->partition());
  std::sort(out.begin(), out.end());
  return out;
}

std::string ListOf(const std::vector<int32_t>& partitions) {
  std::string out;
  for (int32_t p : partitions) base::StrAppend(&out, out.empty() ? "" : ",", p);
  return out.empty() ? "none" : out;
}

// The group's members' client ids (their endpoints) by the partition of `topic` each is
// assigned. UNAVAILABLE if the group cannot be described within `timeout`.
absl::StatusOr<std::map<int32_t, std::string>> Describe(rd_kafka_t* rk, const std::string& group_id,
                                                        const std::string& topic,
                                                        std::chrono::milliseconds timeout) {
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* admin =
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(admin, static_cast<int>(timeout.count()), err,
                                            sizeof err);
  const char* groups[] = {group_id.c_str()};
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, admin, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 500);
  std::map<int32_t, std::string> owners;
  absl::Status status = absl::UnavailableError(
      base::StrCat("group ", group_id, " was not described within ", timeout.count(), " ms"));
  if (ev != nullptr && rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(
        base::StrCat("describing group ", group_id, ": ", rd_kafka_event_error_string(ev)));
  } else if (ev != nullptr) {
    const rd_kafka_DescribeConsumerGroups_result_t* result =
        rd_kafka_event_DescribeConsumerGroups_result(ev);
    size_t count = 0;
    const rd_kafka_ConsumerGroupDescription_t** descs =
        result ? rd_kafka_DescribeConsumerGroups_result_groups(result, &count) : nullptr;
    for (size_t i = 0; i < count; ++i) {
      if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(descs[i])) {
        status = absl::UnavailableError(
            base::StrCat("describing group ", group_id, ": ", rd_kafka_error_string(e)));
        continue;
      }
      status = absl::OkStatus();
      const size_t members = rd_kafka_ConsumerGroupDescription_member_count(descs[i]);
      for (size_t m = 0; m < members; ++m) {
        const rd_kafka_MemberDescription_t* member =
            rd_kafka_ConsumerGroupDescription_member(descs[i], m);
        const char* client = rd_kafka_MemberDescription_client_id(member);
        const rd_kafka_MemberAssignment_t* assignment =
            rd_kafka_MemberDescription_assignment(member);
        const rd_kafka_topic_partition_list_t* list =
            assignment ? rd_kafka_MemberAssignment_partitions(assignment) : nullptr;
        for (int k = 0; list != nullptr && k < list->cnt; ++k) {
          if (topic == list->elems[k].topic && client != nullptr) {
            owners[list->elems[k].partition] = client;
          }
        }
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(admin);
  rd_kafka_queue_destroy(queue);
  if (!status.ok()) return status;
  return owners;
}

}  // namespace

// librdkafka's rebalance callback, on the member's thread (inside consume()).
class GroupOwnership::Rebalancer : public RdKafka::RebalanceCb {
 public:
  explicit Rebalancer(GroupOwnership& owner) : owner_(owner) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const std::vector<int32_t> ids = PartitionsOf(partitions);
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (RdKafka::Error* e = consumer->incremental_assign(partitions)) {
        base::Log(base::LogLevel::kError, base::StrCat("writer group ", owner_.options_.group_id,
                                                       ": cannot take the assignment: ", e->str()));
        delete e;
      }
      // Never read: the assignment is the ownership, the data is the writer's business.
      consumer->pause(partitions);
      owner_.OnAssign(ids);
    } else {
      owner_.OnRevoke(ids);
      if (RdKafka::Error* e = consumer->incremental_unassign(partitions)) {
        base::Log(base::LogLevel::kWarning,
                  base::StrCat("writer group ", owner_.options_.group_id,
                               ": cannot give up the assignment: ", e->str()));
        delete e;
      }
    }
  }

 private:
  GroupOwnership& owner_;
};

GroupOwnership::GroupOwnership(OwnershipOptions options, OwnershipCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {}

absl::StatusOr<std::unique_ptr<GroupOwnership>> GroupOwnership::Join(const KafkaOptions& kafka,
                                                                     OwnershipOptions options,
                                                                     OwnershipCallbacks callbacks) {
  if (options.group_id.empty()) return absl::InvalidArgumentError("group_id: is required");
  if (options.topic.empty()) return absl::InvalidArgumentError("topic: is required");
  if (options.endpoint.empty()) {
    return absl::InvalidArgumentError(
        "endpoint: is required (where clients reach this instance, named to them as the owner "
        "of its partitions)");
  }
  if (!callbacks.acquire || !callbacks.release) {
    return absl::InvalidArgumentError("callbacks: acquire and release are required");
  }
  std::unique_ptr<GroupOwnership> self(new GroupOwnership(options, std::move(callbacks)));
  self->rebalancer_ = std::make_unique<Rebalancer>(*self);
  auto conf = MakeConf(
      kafka, {{"group.id", options.group_id},
              {"client.id", options.endpoint},
              {"partition.assignment.strategy", "cooperative-sticky"},
              {"session.timeout.ms", std::to_string(options.session_timeout.count())},
              {"heartbeat.interval.ms", std::to_string(options.heartbeat_interval.count())},
              // Acquiring a partition replays it on this thread; a long replay must not
              // count as a dead member.
              {"max.poll.interval.ms", "1800000"},
              {"enable.auto.commit", "false"},
              {"enable.auto.offset.store", "false"},
              {"enable.partition.eof", "false"},
              {"auto.offset.reset", "latest"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  if ((*conf)->set("rebalance_cb", self->rebalancer_.get(), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(base::StrCat("writer group: rebalance_cb: ", err));
  }
  self->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!self->consumer_) return absl::InternalError(base::StrCat("writer group consumer: ", err));
  if (RdKafka::ErrorCode ec = self->consumer_->subscribe({options.topic});
      ec != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(base::StrCat("writer group ", options.group_id, ": subscribe(",
                                               options.topic, "): ", RdKafka::err2str(ec)));
  }
  self->thread_ = std::thread([s = self.get()] { s->Run(); });
  const auto deadline = std::chrono::steady_clock::now() + options.join_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->assigned_once_) return self;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  self->Leave();
  return ExplainRefusal(
      absl::UnavailableError(base::StrCat("writer group ", options.group_id,
                                          ": no assignment within ", options.join_timeout.count(),
                                          " ms (is the cluster reachable, and may this principal "
                                          "use the group? the Kafka ACL needs Read on group ",
                                          options.group_id, ")")),
      self->consumer_ ? self->consumer_->name() : std::string());
}

GroupOwnership::~GroupOwnership() { Leave(); }

void GroupOwnership::Leave() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (consumer_) {
    // close() runs the revocation of what is still assigned through the callback, then
    // leaves the group so that the others rebalance now.
    consumer_->close();
  }
  std::set<int32_t> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(owned_);
    pending_.clear();
  }
  for (int32_t p : rest) callbacks_.release(p);
}

void GroupOwnership::Run() {
  auto last_retry = std::chrono::steady_clock::now();
  while (!stop_) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    (void)m;  // every partition is paused: only errors and the group's protocol come here
    if (std::chrono::steady_clock::now() - last_retry >= options_.retry_interval) {
      last_retry = std::chrono::steady_clock::now();
      RetryPending();
      RecheckOwned();
    }
  }
}

void GroupOwnership::OnAssign(const std::vector<int32_t>& partitions) {
  if (!partitions.empty()) {
    base::Log(base::LogLevel::kInfo,
              base::StrCat("writer group ", options_.group_id, ": ", options_.endpoint,
                           " takes partitions ", ListOf(partitions), " of ", options_.topic),
              {{"group", options_.group_id}, {"partitions", ListOf(partitions)}});
  }
  // All at once: each fences and replays its own partition, so a failover takes the time of
  // the slowest partition, not of all of them in turn.
  std::vector<std::future<absl::Status>> acquiring;
  acquiring.reserve(partitions.size());
  for (int32_t p : partitions) {
    acquiring.push_back(
        std::async(std::launch::async, [this, p] { return callbacks_.acquire(p); }));
  }
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const int32_t p = partitions[i];
    absl::Status s = acquiring[i].get();
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok()) {
      owned_.insert(p);
    } else {
      pending_.insert(p);
      base::Log(base::LogLevel::kWarning,
                base::StrCat("writer group ", options_.group_id, ": partition ", p,
                             " assigned but not taken yet (retrying every ",
                             options_.retry_interval.count(), " ms): ", s.message()),
                {{"group", options_.group_id}, {"partition", p}});
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  assigned_once_ = true;
  described_at_ = {};  // the owners changed
}

void GroupOwnership::OnRevoke(const std::vector<int32_t>& partitions) {
  const bool lost = consumer_ && consumer_->assignment_lost();
  base::Log(lost ? base::LogLevel::kWarning : base::LogLevel::kInfo,
            base::StrCat("writer group ", options_.group_id, ": ", options_.endpoint,
                         lost ? " lost partitions " : " gives up partitions ", ListOf(partitions),
                         " of ", options_.topic,
                         lost ? " (its session expired: another instance may own them now)" : ""),
            {{"group", options_.group_id}, {"partitions", ListOf(partitions)}});
  for (int32_t p : partitions) {
    bool held = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held = owned_.erase(p) > 0;
      pending_.erase(p);
    }
    if (held) callbacks_.release(p);
  }
  std::lock_guard<std::mutex> lock(mu_);
  described_at_ = {};
}

void GroupOwnership::RetryPending() {
  std::set<int32_t> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = pending_;
  }
  for (int32_t p : pending) {
    absl::Status s = callbacks_.acquire(p);
    std::lock_guard<std::mutex> lock(mu_);
    if (!pending_.count(p)) {
      // Revoked meanwhile (it cannot be: both run on this thread), keep it consistent.
      continue;
    }
    if (s.ok()) {
      pending_.erase(p);
      owned_.insert(p);
      base::Log(base::StrCat("writer group ", options_.group_id, ": ", options_.endpoint,
                             " took partition ", p, " of ", options_.topic, " after a retry"));
    } else {
    }
  }
}

void GroupOwnership::RecheckOwned() {
  std::vector<int32_t> owned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    owned.assign(owned_.begin(), owned_.end());
  }
  for (int32_t p : owned) {
    // OK at once while the partition's writer is sound; one fenced meanwhile is taken back.
    absl::Status s = callbacks_.acquire(p);
    if (s.ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (owned_.erase(p) > 0) {
      pending_.insert(p);
      base::Log(base::LogLevel::kWarning,
                base::StrCat("writer group ", options_.group_id, ": partition ", p,
                             " must be taken back and is not yet (retrying every ",
                             options_.retry_interval.count(), " ms): ", s.message()),
                {{"group", options_.group_id}, {"partition", p}});
    }
  }
}

std::vector<int32_t> GroupOwnership::owned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {owned_.begin(), owned_.end()};
}

std::optional<std::string> GroupOwnership::OwnerOf(int32_t partition,
                                                   std::chrono::milliseconds timeout) {
  const auto cached = [&]() -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = owners_.find(partition);
    if (it == owners_.end()) return std::nullopt;
    return it->second;
  };
  // One description at a time, at most one a second (also after a failed one): callers
  // meanwhile get the last answer instead of queueing behind a slow coordinator.
  std::unique_lock<std::mutex> one(describe_mu_, std::try_to_lock);
  if (!one.owns_lock()) return cached();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() - described_at_ < std::chrono::seconds(1)) {
      auto it = owners_.find(partition);
      if (it == owners_.end()) return std::nullopt;
      return it->second;
    }
  }
  if (!consumer_ || stop_) return std::nullopt;
  auto owners = Describe(consumer_->c_ptr(), options_.group_id, options_.topic, timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    described_at_ = std::chrono::steady_clock::now();
    if (owners.ok()) {
      owners_ = *std::move(owners);
    } else {
      owners_.clear();  // stale owners would send clients to a dead instance
    }
  }
  return cached();
}

absl::StatusOr<std::map<int32_t, std::string>> DescribeOwners(const KafkaOptions& kafka,
                                                              const std::string& group_id,
                                                              const std::string& topic,
                                                              std::chrono::milliseconds timeout) {
  auto conf = MakeConf(kafka, {});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::Producer> client(RdKafka::Producer::create(conf->get(), err));
  if (!client) return absl::InternalError(base::StrCat("kafka client: ", err));
  auto owners = Describe(client->c_ptr(), group_id, topic, timeout);
  if (!owners.ok()) return ExplainRefusal(owners.status(), client->name());
  return owners;
}

}  // namespace kam::eventlog
