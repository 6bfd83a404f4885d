#include "server/command_sender.h"

#include <spdlog/spdlog.h>

#include "events/kafka_log.h"

namespace casegrid::server {

Result<std::unique_ptr<CommandSender>> CommandSender::Open(const SenderOptions& options) {
  if (options.brokers.empty()) {
    return Status::InvalidArgument("a command sender needs the brokers' bootstrap HOST:PORT");
  }
  std::unique_ptr<CommandSender> sender(new CommandSender());
  sender->topic_ = events::CommandsTopic(options.topic_prefix);
  sender->brokers_ = options.brokers;
  sender->token_ = options.token;
  auto settings = events::ProducerSettings(30000);
  settings.emplace_back("bootstrap.servers", options.brokers);
  settings.insert(settings.end(), options.properties.begin(), options.properties.end());
  CASEGRID_ASSIGN_OR_RETURN(
      sender->producer_,
      events::NewKafkaClient(RD_KAFKA_PRODUCER, settings, [&](rd_kafka_conf_t* c) {
        rd_kafka_conf_set_opaque(c, &sender->failed_);
        rd_kafka_conf_set_dr_msg_cb(c, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
          if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            static_cast<std::atomic<uint64_t>*>(opaque)->fetch_add(1);
            spdlog::error("kafka: a command was not delivered: {}", rd_kafka_err2str(m->err));
          }
        });
      }));
  return sender;
}

CommandSender::~CommandSender() {
  if (producer_ != nullptr) rd_kafka_destroy(producer_);
}

Status CommandSender::Send(const std::string& case_id, const std::string& line,
                           const std::string* token) {
  const std::string& credential = token != nullptr ? *token : token_;
  const rd_kafka_resp_err_t err =
      credential.empty() ? events::ProduceCopy(producer_, topic_, case_id, line)
                         : events::ProduceOrWait(producer_, [&] {
                             return rd_kafka_producev(
                                 producer_, RD_KAFKA_V_TOPIC(topic_.c_str()),
                                 RD_KAFKA_V_KEY(case_id.data(), case_id.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(line.data()), line.size()),
                                 RD_KAFKA_V_HEADER(kTokenHeader, credential.data(),
                                                   static_cast<ssize_t>(credential.size())),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                           });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("kafka: sending to " + topic_ + ": " + rd_kafka_err2str(err));
  }
  ++sent_;
  rd_kafka_poll(producer_, 0);
  return Status::Ok();
}

Status CommandSender::Flush() {
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer_, 60000);
  // rd_kafka_flush serves the delivery reports; a message still queued has
  // not been acknowledged.
  const uint64_t unacked =
      static_cast<uint64_t>(rd_kafka_outq_len(producer_)) + failed_.exchange(0);
  const uint64_t sent = sent_ - flushed_;
  flushed_ = sent_;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || unacked > 0) {
    return Status::Unavailable("kafka: " + std::to_string(unacked) + " of " + std::to_string(sent) +
                               " commands not acknowledged by " + brokers_ +
                               "; sending again is safe for commands with an id (the workers "
                               "answer duplicates)");
  }
  return Status::Ok();
}

}  // namespace casegrid::server
