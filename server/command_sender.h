// server::CommandSender: produces commands to the workers' topic
// (<prefix>.commands), each NDJSON command line keyed by its case id (murmur2,
// so it lands in the case's partition, where the worker owning it reads it).
// `casegrid send` and `casegrid workflow migrate --send` use it.
//
// Durability: a command is on the topic once Flush returns OK (acks=all,
// idempotent producer); it is applied when a worker answers it on
// <prefix>.answers. Thread-safety: one thread at a time. Lifetime: the Kafka
// cluster must outlive the sender (its destructor does not flush).
#ifndef CASEGRID_SERVER_COMMAND_SENDER_H_
#define CASEGRID_SERVER_COMMAND_SENDER_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "events/kafka_log.h"

namespace casegrid::server {

// The record header that carries a command's credential on the topic: an
// API token of the directory (docs/security.md, "The commands topic"). The
// worker takes the actor's user from it.
inline constexpr const char* kTokenHeader = "casegrid-token";

struct SenderOptions {
  std::string brokers;  // bootstrap HOST:PORT[,...]; required
  std::string topic_prefix = "casegrid";
  events::KafkaSettings properties;  // extra librdkafka properties, applied last
  // The sender's API token (`casegrid tokens issue`), sent in kTokenHeader
  // with every command; empty: none (taken only while the checks are off).
  std::string token;
};

// One idempotent producer to <prefix>.commands.
class CommandSender {
 public:
  // InvalidArgument without brokers; the error of events::NewKafkaClient when
  // the producer cannot be created. Connects lazily: an unreachable cluster
  // shows up in Flush.
  static Result<std::unique_ptr<CommandSender>> Open(const SenderOptions& options);
  ~CommandSender();
  CommandSender(const CommandSender&) = delete;
  CommandSender& operator=(const CommandSender&) = delete;

  // Queues `line` (an NDJSON command of case `case_id`; not checked here); a
  // full queue makes it wait, never drop. Unavailable when the producer
  // refuses it. `token`: the credential to send it with instead of the
  // sender's own (`casegrid serve` on Kafka sends each request's).
  Status Send(const std::string& case_id, const std::string& line,
              const std::string* token = nullptr);
  // Waits up to 60 s until every line sent since the last Flush is
  // acknowledged. Unavailable says how many were not; sending them again is
  // safe for commands with an id (the workers answer duplicates).
  Status Flush();
  uint64_t sent() const { return sent_; }
  const std::string& topic() const { return topic_; }

 private:
  CommandSender() = default;
  rd_kafka_t* producer_ = nullptr;
  std::string topic_, brokers_, token_;
  uint64_t sent_ = 0;
  uint64_t flushed_ = 0;             // sent_ at the last Flush
  std::atomic<uint64_t> failed_{0};  // delivery reports with an error
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_COMMAND_SENDER_H_
