// The command input contract (docs/commands.md): one command per NDJSON line,
// as `casegrid submit` reads them and the workers take them off the commands
// topic.
// Thread-safety: pure functions.
#ifndef CASEGRID_ENGINE_COMMAND_JSON_H_
#define CASEGRID_ENGINE_COMMAND_JSON_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "events/casegrid.pb.h"

namespace casegrid::engine {

// Parses one NDJSON line into a Command: {"id","case","action","at","actor":
// {"user","role","unit"},"expect","data"}. InvalidArgument names the field;
// `at` stays 0 when absent (the engine then uses its clock).
Result<casegrid::v1::Command> ParseCommandJson(std::string_view line);
// The NDJSON line of `command`: ParseCommandJson(CommandJson(c)) equals c.
std::string CommandJson(const casegrid::v1::Command& command);
// "USER:ROLE:UNIT" (UNIT may be empty) -> Actor.
Result<casegrid::v1::Actor> ParseActor(std::string_view spec);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_COMMAND_JSON_H_
