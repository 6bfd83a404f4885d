#include "server/command_port.h"

#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/thread_name.h"
#include "engine/command_json.h"
#include "events/kafka_log.h"

namespace casegrid::server {

namespace {

using Clock = std::chrono::steady_clock;

class KafkaCommandPort final : public CommandPort {
 public:
  ~KafkaCommandPort() override {
    stop_ = true;
    if (reader_thread_.joinable()) reader_thread_.join();
    if (reader_ != nullptr) {
      rd_kafka_consumer_close(reader_);
      rd_kafka_destroy(reader_);
    }
  }

  Status Open(const KafkaPortOptions& o) {
    o_ = o;
    CASEGRID_ASSIGN_OR_RETURN(sender_, CommandSender::Open(o.sender));
    topic_ = events::AnswersTopic(o.sender.topic_prefix);
    CASEGRID_ASSIGN_OR_RETURN(
        reader_, events::NewKafkaClient(RD_KAFKA_CONSUMER,
                                        events::ReaderSettings(o.sender.brokers, topic_ + ".serve",
                                                               "latest", o.sender.properties)));
    // Each partition from where it ends now: answers to commands sent from
    // here on are all read, however fast the workers answer.
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(o.partitions);
    for (int32_t p = 0; p < o.partitions; ++p) {
      int64_t lo = 0, hi = 0;
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
          reader_, topic_.c_str(), p, &lo, &hi, o.answer_timeout_ms);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return Status::Unavailable("kafka: reading where " + topic_ + " partition " +
                                   std::to_string(p) + " ends at " + o.sender.brokers + ": " +
                                   rd_kafka_err2str(err));
      }
      rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset = hi;
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(reader_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: reading " + topic_ + ": " + rd_kafka_err2str(err));
    }
    reader_thread_ = std::thread([this] { ReadAnswers(); });
    return Status::Ok();
  }

  Status Apply(std::span<const casegrid::v1::Command> commands,
               std::span<const std::string> credentials,
               std::vector<engine::Answer>* answers) override {
    std::vector<std::string> ids;
    ids.reserve(commands.size());
    for (const auto& cmd : commands) {
      if (cmd.id().empty()) {
        return Status::InvalidArgument("command of case " + cmd.case_id() +
                                       " has no id: on Kafka its answer is matched by it");
      }
      ids.push_back(cmd.id());
    }
    {
      std::lock_guard lock(mu_);
      for (const auto& id : ids) awaited_[id];  // before it is sent: no answer is missed
    }
    auto forget = [&] {
      std::lock_guard lock(mu_);
      for (const auto& id : ids) awaited_.erase(id);
    };
    for (size_t i = 0; i < commands.size(); ++i) {
      const std::string* token =
          i < credentials.size() && !credentials[i].empty() ? &credentials[i] : nullptr;
      if (Status s = sender_->Send(commands[i].case_id(), engine::CommandJson(commands[i]), token);
          !s.ok()) {
        forget();
        return s;
      }
    }
    if (Status s = sender_->Flush(); !s.ok()) {
      forget();
      return s;
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(o_.answer_timeout_ms);
    std::unique_lock lock(mu_);
    const bool all = answered_.wait_until(lock, deadline, [&] {
      for (const auto& id : ids) {
        if (!awaited_[id].has_value()) return false;
      }
      return true;
    });
    answers->assign(commands.size(), engine::Answer{});
    size_t missing = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& got = awaited_[ids[i]];
      if (!got) {
        ++missing;
        continue;
      }
      engine::Answer& a = (*answers)[i];
      a.kind = got->answer() == "accepted"    ? engine::Answer::Kind::kAccepted
               : got->answer() == "duplicate" ? engine::Answer::Kind::kDuplicate
                                              : engine::Answer::Kind::kRejected;
      if (a.kind == engine::Answer::Kind::kRejected)
        a.status = Status::InvalidArgument(got->reason());
      a.case_seq = got->case_seq();
      a.events = got->events();
    }
    for (const auto& id : ids) awaited_.erase(id);
    if (!all) {
      return Status::Unavailable(
          std::to_string(missing) + " of " + std::to_string(ids.size()) +
          " commands sent to the workers were not answered within " +
          std::to_string(o_.answer_timeout_ms / 1000) +
          " s (are the workers running?); they are on the commands topic and may still be "
          "applied: send them again with the same ids to learn their answers");
    }
    return Status::Ok();
  }

  int64_t answers_lag() const override {
    rd_kafka_topic_partition_list_t* list = nullptr;
    if (rd_kafka_assignment(reader_, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    rd_kafka_position(reader_, list);
    int64_t lag = 0;
    for (int i = 0; i < list->cnt; ++i) {
      const auto& tp = list->elems[i];
      int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(reader_, tp.topic, tp.partition, &lo, &hi) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          hi < 0 || tp.offset < 0) {
        continue;  // not fetched yet: nothing known to be behind
      }
      lag += std::max<int64_t>(0, hi - tp.offset);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return lag;
  }

 private:
  // The reader thread: every answer, handed to the request awaiting it.
  void ReadAnswers() {
    NameThisThread("cg-answers");
    while (!stop_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(reader_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->payload != nullptr) {
        casegrid::v1::CommandAnswer a;
        google::protobuf::util::JsonParseOptions lenient;
        lenient.ignore_unknown_fields = true;  // a newer worker's answer still reads
        const auto parsed = google::protobuf::util::JsonStringToMessage(
            std::string(static_cast<const char*>(m->payload), m->len), &a, lenient);
        if (parsed.ok()) {
          std::lock_guard lock(mu_);
          auto it = awaited_.find(a.command_id());
          if (it != awaited_.end() && !it->second) {
            it->second = std::move(a);
            answered_.notify_all();
          }
        } else {
          spdlog::warn("serve: an answer on {} partition {} offset {} does not parse: {}", topic_,
                       m->partition, m->offset, parsed.ToString());
        }
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
                 m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("serve: reading {}: {}", topic_, rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
  }

  KafkaPortOptions o_;
  std::unique_ptr<CommandSender> sender_;
  std::string topic_;
  rd_kafka_t* reader_ = nullptr;
  std::thread reader_thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // awaited_
  std::condition_variable answered_;
  // Command ids a request waits for, and their answers once read.
  std::map<std::string, std::optional<casegrid::v1::CommandAnswer>> awaited_;
};

}  // namespace

Result<std::unique_ptr<CommandPort>> OpenKafkaCommandPort(const KafkaPortOptions& options) {
  auto port = std::make_unique<KafkaCommandPort>();
  CASEGRID_RETURN_IF_ERROR(port->Open(options));
  return std::unique_ptr<CommandPort>(std::move(port));
}

}  // namespace casegrid::server
