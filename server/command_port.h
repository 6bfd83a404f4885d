// server::CommandPort: where `casegrid serve` sends the commands of a group
// commit when the engine does not apply them itself. On the embedded journal
// the server's engine applies them (no port); on Kafka the workers do, and
// KafkaCommandPort produces each command to <prefix>.commands with the
// credential of the request it came in, then waits for the workers' answers
// on <prefix>.answers (docs/http.md, "On Kafka").
//
// Thread-safety: Apply is called by one thread at a time (the group commit's
// leader); answers_lag from any thread.
#ifndef CASEGRID_SERVER_COMMAND_PORT_H_
#define CASEGRID_SERVER_COMMAND_PORT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "events/casegrid.pb.h"
#include "server/command_sender.h"

namespace casegrid::server {

class CommandPort {
 public:
  virtual ~CommandPort() = default;
  // Applies `commands` elsewhere; credentials[i] is the API token commands[i]
  // is sent with (empty: none). On OK, answers[i] answers commands[i] (each
  // command needs an id to be matched with its answer). Unavailable when
  // they cannot be sent, or an answer does not come in time: then some may
  // be applied later, and sending them again with the same ids is safe.
  virtual Status Apply(std::span<const casegrid::v1::Command> commands,
                       std::span<const std::string> credentials,
                       std::vector<engine::Answer>* answers) = 0;
  // Answers on the topic not read yet (the answers consumer's lag), or -1
  // when unknown.
  virtual int64_t answers_lag() const = 0;
};

struct KafkaPortOptions {
  SenderOptions sender;           // brokers, prefix, properties (its token is not used)
  int partitions = 12;            // of the answers topic
  int answer_timeout_ms = 30000;  // how long a request waits for its answers
};

// The port onto the workers. Reads the answers topic from where each
// partition ends when it opens. Unavailable when the cluster cannot be
// reached; InvalidArgument naming a refused librdkafka property.
Result<std::unique_ptr<CommandPort>> OpenKafkaCommandPort(const KafkaPortOptions& options);

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_COMMAND_PORT_H_
