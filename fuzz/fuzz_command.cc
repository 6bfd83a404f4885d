// libFuzzer target: one NDJSON command line through the decoder every door
// uses (engine/command_json.h), then the engine's text check. Any input must
// give a Command or a Status, never a crash, hang or sanitizer report; the
// fast decoder must answer as the reference decoder does (the same command
// or the same error); a decoded command must survive CommandJson and decode
// to the same command.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "engine/command_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto command = casegrid::engine::ParseCommandJson(line);
  auto reference = casegrid::engine::ParseCommandJsonReference(line);
  // (Compared as messages: a map's serialized order is unspecified.)
  if (command.ok() != reference.ok()) std::abort();
  if (!command.ok()) {
    if (command.status().message() != reference.status().message()) std::abort();
    return 0;
  }
  if (!google::protobuf::util::MessageDifferencer::Equals(*command, *reference)) std::abort();
  if (!casegrid::engine::CheckCommandText(*command).ok()) return 0;
  auto again = casegrid::engine::ParseCommandJson(casegrid::engine::CommandJson(*command));
  if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*again, *command)) {
    std::abort();
  }
  return 0;
}
