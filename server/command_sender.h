// Producing commands to the workers' topic (<prefix>.commands): `casegrid
// send`, and `casegrid workflow migrate --send`.
#ifndef CASEGRID_SERVER_COMMAND_SENDER_H_
#define CASEGRID_SERVER_COMMAND_SENDER_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace casegrid::server {

struct SenderOptions {
  std::string brokers;  // bootstrap HOST:PORT[,...]
  std::string topic_prefix = "casegrid";
};

// One idempotent producer to <prefix>.commands. Each NDJSON command line is
// keyed by its case id (murmur2, so it lands in the case's partition).
class CommandSender {
 public:
  static Result<std::unique_ptr<CommandSender>> Open(const SenderOptions& options);
  ~CommandSender();
  CommandSender(const CommandSender&) = delete;
  CommandSender& operator=(const CommandSender&) = delete;

  // Queues `line`; a full queue makes it wait, never drop. Unavailable when
  // the producer refuses it.
  Status Send(const std::string& case_id, const std::string& line);
  // Waits until every line sent is acknowledged. Unavailable says how many
  // were not; sending them again is safe for commands with an id.
  Status Flush();
  uint64_t sent() const { return sent_; }
  const std::string& topic() const { return topic_; }

 private:
  CommandSender() = default;
  rd_kafka_t* producer_ = nullptr;
  std::string topic_, brokers_;
  uint64_t sent_ = 0;
  std::atomic<uint64_t> failed_{0};
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_COMMAND_SENDER_H_
