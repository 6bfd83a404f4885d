// The consumer-group worker (server/worker.h): partition ownership, one
// Kafka transaction per partition and poll, answers.
#include "server/worker.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/crash_point.h"
#include "engine/command_json.h"
#include "events/kafka_log.h"
#include "server/command_sender.h"

namespace casegrid::server {
namespace {

using Clock = std::chrono::steady_clock;

std::string AnswerJson(const casegrid::v1::CommandAnswer& a) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(a, &json, o);
  return json;
}

// One commands partition this worker owns.
struct Owned {
  std::unique_ptr<events::WorkerLog> log;
  std::unique_ptr<engine::Engine> engine;
};

}  // namespace

class Worker::Impl {
 public:
  Impl(const WorkerOptions& o, engine::Config config, Env* env)
      : o_(o),
        env_(env),
        config_(std::move(config)),
        commands_topic_(events::CommandsTopic(o.topic_prefix)),
        answers_topic_(events::AnswersTopic(o.topic_prefix)) {}

  ~Impl() {
    owned_.clear();
    if (consumer_ != nullptr) rd_kafka_destroy(consumer_);
  }

  Status Open() {
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", o_.brokers},
        {"group.id", o_.group.empty() ? o_.topic_prefix + ".workers" : o_.group},
        {"client.id", o_.name},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"isolation.level", "read_committed"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "range"},
        {"session.timeout.ms", std::to_string(o_.session_timeout_ms)},
        {"heartbeat.interval.ms", std::to_string(std::max(100, o_.session_timeout_ms / 6))},
        {"fetch.wait.max.ms", "50"},
    };
    settings.insert(settings.end(), o_.properties.begin(), o_.properties.end());
    CASEGRID_ASSIGN_OR_RETURN(
        consumer_, events::NewKafkaClient(RD_KAFKA_CONSUMER, settings, [this](rd_kafka_conf_t* c) {
          rd_kafka_conf_set_opaque(c, this);
          rd_kafka_conf_set_rebalance_cb(c, &Impl::OnRebalance);
        }));
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, commands_topic_.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: subscribing to " + commands_topic_ + ": " +
                                 rd_kafka_err2str(err));
    }
    return Status::Ok();
  }

  // Serves until a stop request or a failure that this worker must not
  // continue after (fenced, or a partition it cannot open).
  Status Run(const std::function<bool()>& stop_requested) {
    auto next_tick = Clock::now() + std::chrono::milliseconds(o_.tick_ms);
    std::map<int32_t, std::vector<rd_kafka_message_t*>> batch;
    while (!stop_.load() && !(stop_requested && stop_requested()) && failed_.ok()) {
      size_t n = 0;
      for (int timeout = 100; n < o_.batch; timeout = 0) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, timeout);
        if (m == nullptr) break;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            spdlog::warn("worker {}: consuming {}: {}", o_.name, commands_topic_,
                         rd_kafka_message_errstr(m));
          }
          rd_kafka_message_destroy(m);
          continue;
        }
        batch[m->partition].push_back(m);
        ++n;
      }
      // A command sent after a publication returned is decided under it.
      if (n > 0 && !owned_.empty()) FollowChains(*owned_.begin()->second.log);
      for (auto& [p, messages] : batch) {
        if (failed_.ok() && !messages.empty()) Process(p, messages);
        for (rd_kafka_message_t* m : messages) rd_kafka_message_destroy(m);
        messages.clear();
      }
      if (failed_.ok() && Clock::now() >= next_tick) {
        next_tick = Clock::now() + std::chrono::milliseconds(o_.tick_ms);
        for (auto& [p, owned] : owned_) {
          auto fired = owned.engine->Tick(env_->NowMicros());
          if (!fired.ok()) Reopen(p, fired.status());
        }
      }
    }
    // Leaving the group hands the partitions over at once.
    rd_kafka_consumer_close(consumer_);
    return failed_;
  }

  void Stop() { stop_.store(true); }
  const std::string& name() const { return o_.name; }

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->Assign(partitions);
      rd_kafka_assign(rk, partitions);
    } else {
      for (int i = 0; i < partitions->cnt; ++i) self->owned_.erase(partitions->elems[i].partition);
      spdlog::info("worker {}: handed over {} partitions", self->o_.name, partitions->cnt);
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Opens each assigned partition's log and sets where to continue.
  void Assign(rd_kafka_topic_partition_list_t* partitions) {
    for (int i = 0; i < partitions->cnt && failed_.ok(); ++i) {
      rd_kafka_topic_partition_t& tp = partitions->elems[i];
      auto next = OpenPartition(tp.partition);
      if (!next.ok()) {
        failed_ =
            next.status().WithContext("taking over partition " + std::to_string(tp.partition));
        return;
      }
      tp.offset = static_cast<int64_t>(*next);
    }
    std::string list;
    for (int i = 0; i < partitions->cnt; ++i) {
      if (i > 0) list += ',';
      list += std::to_string(partitions->elems[i].partition);
    }
    spdlog::info("worker {}: owns partitions [{}] of {}", o_.name, list, commands_topic_);
  }

  // Opens partition p's log (folding in what other workers wrote) and
  // returns the commands offset to continue from: after the last answer.
  Result<uint64_t> OpenPartition(int32_t p) {
    owned_.erase(p);
    events::KafkaOptions ko;
    ko.brokers = o_.brokers;
    ko.topic_prefix = o_.topic_prefix;
    ko.partitions = o_.partitions;
    ko.state_dir = o_.data_dir + "/worker/p" + std::to_string(p);
    ko.sync = o_.sync;
    ko.properties = o_.properties;
    ko.partition = p;
    ko.transactional_id = o_.topic_prefix + ".worker.p" + std::to_string(p);
    Owned owned;
    CASEGRID_ASSIGN_OR_RETURN(owned.log, events::OpenKafkaWorkerLog(ko));
    FollowChains(*owned.log);
    CASEGRID_RETURN_IF_ERROR(failed_);
    CASEGRID_ASSIGN_OR_RETURN(owned.engine, engine::Engine::Open(owned.log.get(), config_, env_));
    owned.engine->set_key_store(o_.keys);
    // Another key leaves the partition serving, refusing only intakes that
    // name a petitioner (Engine::set_petitioner_unavailable).
    if (Status keyed =
            owned.engine->set_petitioner_secret(o_.petitioner_secret, o_.petitioner_key_path);
        !keyed.ok()) {
      spdlog::warn("partition {}: {}", p, keyed.message());
    }
    std::string last;
    uint64_t next = 0;
    Status s = owned.log->LastRecord(answers_topic_, p, &last);
    if (s.ok()) {
      casegrid::v1::CommandAnswer a;
      if (!google::protobuf::util::JsonStringToMessage(last, &a).ok() ||
          a.commands_partition() != p) {
        return Status::Corruption("the last answer in " + answers_topic_ + " partition " +
                                  std::to_string(p) + " is not a casegrid answer: " + last);
      }
      next = a.commands_offset() + 1;
    } else if (!s.IsNotFound()) {
      return s;
    }
    owned_[p] = std::move(owned);
    return next;
  }

  // Folds in what was published, pinned or changed in the directory since
  // the last look, reading the chains' partitions with `log`, and gives
  // every engine the new configuration. A chain that cannot be read stops
  // the worker: deciding under rules or grants that may be out of date is
  // not an option.
  void FollowChains(events::Log& log) {
    auto folded = follower_.CatchUp(log, &config_);
    if (!folded.ok()) {
      failed_ = folded.status().WithContext("following the definitions and directory chains");
      return;
    }
    if (*folded == 0) return;
    for (auto& [p, owned] : owned_) owned.engine->set_config(config_);
    spdlog::info("worker {}: {} chain events folded in ({} definitions, directory at {})", o_.name,
                 *folded, config_.definition_events.size(),
                 config_.directory != nullptr ? config_.directory->last_seq() : 0);
  }

  // A failed transaction wrote nothing that counts: reopen the partition's
  // log (folding in whatever the topic shows) and read its commands again
  // from after the last answer. A fenced log means another worker owns the
  // partition now: this worker stops.
  void Reopen(int32_t p, const Status& why) {
    spdlog::warn("worker {}: partition {}: {}", o_.name, p, why.ToString());
    auto it = owned_.find(p);
    if (it != owned_.end() && it->second.log->Fenced()) {
      failed_ = why;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto next = OpenPartition(p);
    if (!next.ok()) {
      failed_ = next.status().WithContext("reopening partition " + std::to_string(p));
      return;
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, commands_topic_.c_str(), p)->offset =
        static_cast<int64_t>(*next);
    rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, list, 10000);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != nullptr) {
      failed_ = Status::Unavailable(std::string("kafka: seeking ") + commands_topic_ + ": " +
                                    rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  }

  // The principal behind a command's credential (docs/security.md, "The
  // commands topic"): the token in its kTokenHeader authenticates a user of
  // the directory, who must be the actor's user (a command naming another is
  // refused). Without a token: refused while the directory's checks are on,
  // taken as sent while they are off.
  Status Authenticate(rd_kafka_message_t* m, const casegrid::v1::Command& cmd) const {
    rd_kafka_headers_t* headers = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    const bool has = rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                     rd_kafka_header_get_last(headers, kTokenHeader, &value, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR &&
                     value != nullptr;
    const engine::Directory* directory = config_.directory.get();
    if (!has) {
      if (directory == nullptr || !directory->enforced()) return Status::Ok();
      return Status::Unauthenticated(
          std::string("no credential: with the directory's checks on, ") +
          "a command on the topic carries its sender's API token in "
          "the " +
          kTokenHeader + " header (--token-file for casegrid send)");
    }
    if (directory == nullptr) {
      return Status::Unauthenticated("the token cannot be checked: the directory is empty");
    }
    std::string why;
    auto user = directory->Authenticate(std::string_view(static_cast<const char*>(value), size),
                                        env_->NowMicros(), &why);
    if (!user.ok()) {
      spdlog::warn("worker {}: command {} of case {}: token refused: {}", o_.name, cmd.id(),
                   cmd.case_id(), why);
      return user.status();
    }
    const std::string& id = (*user)->id;
    if (cmd.actor().user() != id) {
      return Status::Unauthenticated("actor.user " + cmd.actor().user() +
                                     " is not the user of the command's token (" + id +
                                     "): the actor is who the token says");
    }
    return Status::Ok();
  }

  // One transaction: the partition's polled commands, their events, their
  // answers and the consumed offset.
  void Process(int32_t p, const std::vector<rd_kafka_message_t*>& messages) {
    auto it = owned_.find(p);
    if (it == owned_.end()) return;  // handed over while polling
    Owned& owned = it->second;
    // Commands that parse and belong here go to the engine; the others are
    // answered as rejected, with why.
    std::vector<casegrid::v1::CommandAnswer> answers(messages.size());
    std::vector<casegrid::v1::Command> commands;
    std::vector<size_t> command_of;  // commands[i] is messages[command_of[i]]
    for (size_t i = 0; i < messages.size(); ++i) {
      const rd_kafka_message_t* m = messages[i];
      casegrid::v1::CommandAnswer& a = answers[i];
      a.set_commands_partition(p);
      a.set_commands_offset(static_cast<uint64_t>(m->offset));
      a.set_worker(o_.name);
      const std::string key(static_cast<const char*>(m->key), m->key_len);
      auto cmd =
          engine::ParseCommandJson(std::string_view(static_cast<const char*>(m->payload), m->len));
      Status bad;
      if (!cmd.ok()) {
        bad = cmd.status();
      } else if (cmd->case_id() != key) {
        bad = Status::InvalidArgument("the record's key \"" + key + "\" is not its case \"" +
                                      cmd->case_id() + "\"; key commands by case id");
      } else if (events::PartitionOfKey(key, o_.partitions) != p) {
        bad = Status::InvalidArgument(
            "case " + key + " belongs to partition " +
            std::to_string(events::PartitionOfKey(key, o_.partitions)) +
            "; produce commands with the murmur2 partitioner (`casegrid send` does)");
      } else {
        bad = Authenticate(messages[i], *cmd);
      }
      a.set_case_id(cmd.ok() ? cmd->case_id() : key);
      if (cmd.ok()) a.set_command_id(cmd->id());
      if (!bad.ok()) {
        a.set_answer("rejected");
        a.set_reason(bad.WithContext(commands_topic_ + " partition " + std::to_string(p) +
                                     " offset " + std::to_string(m->offset))
                         .ToString());
        continue;
      }
      commands.push_back(std::move(cmd).value());
      command_of.push_back(i);
    }
    std::vector<engine::Answer> decided;
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, commands_topic_.c_str(), p)->offset =
        messages.back()->offset + 1;
    rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer_);
    engine::ApplyStats stats;
    auto answers_tail = [&] {
      CASEGRID_CRASH_POINT("worker.txn.produced");
      events::TransactionTail tail;
      const int64_t now = env_->NowMicros();
      for (size_t i = 0; i < decided.size(); ++i) {
        casegrid::v1::CommandAnswer& a = answers[command_of[i]];
        a.set_answer(engine::AnswerName(decided[i].kind));
        if (!decided[i].status.ok()) a.set_reason(decided[i].status.ToString());
        a.set_case_seq(decided[i].case_seq);
        a.set_events(decided[i].events);
      }
      for (casegrid::v1::CommandAnswer& a : answers) {
        a.set_answered_micros(now);
        tail.records.push_back({answers_topic_, p, a.case_id(), AnswerJson(a)});
      }
      tail.offsets = offsets;
      tail.group = group;
      return tail;
    };
    // The commands decided in the transaction that produces their answers.
    Status s = owned.engine->RunBatch(
        [&](events::Batch& b) { return owned.engine->ApplyInBatch(b, commands, &decided, &stats); },
        [&](const std::function<Status(events::Batch&)>& body) {
          return owned.log->RunTransaction(body, answers_tail);
        });
    rd_kafka_consumer_group_metadata_destroy(group);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (!s.ok()) {
      Reopen(p, s);
      return;
    }
    CASEGRID_CRASH_POINT("worker.txn.committed");
    for (const auto& a : answers) {
      if (a.answer() == "rejected") {
        spdlog::info("worker {}: command {} of case {} rejected: {}", o_.name, a.command_id(),
                     a.case_id(), a.reason());
      }
    }
  }

  const WorkerOptions o_;
  Env* const env_;
  engine::Config config_;
  engine::ChainFollower follower_;
  const std::string commands_topic_, answers_topic_;
  rd_kafka_t* consumer_ = nullptr;
  std::map<int32_t, Owned> owned_;
  Status failed_;
  // Lock-free, so Stop() may be called from a signal handler.
  std::atomic<bool> stop_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
};

Result<std::unique_ptr<Worker>> Worker::Open(WorkerOptions options, engine::Config config,
                                             Env* env) {
  if (options.brokers.empty() || options.data_dir.empty()) {
    return Status::InvalidArgument(
        "a worker needs the brokers' bootstrap HOST:PORT and a data "
        "directory for its state stores");
  }
  if (options.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    options.name = std::string(host) + "-" + std::to_string(::getpid());
  }
  auto impl = std::make_unique<Impl>(options, std::move(config), env);
  CASEGRID_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;

Status Worker::Run(const std::function<bool()>& stop_requested) {
  return impl_->Run(stop_requested);
}

void Worker::Stop() { impl_->Stop(); }

const std::string& Worker::name() const { return impl_->name(); }

}  // namespace casegrid::server
