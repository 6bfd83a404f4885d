// The command input contract (docs/commands.md): one command per NDJSON line,
// as `casegrid submit` reads them and the workers take them off the commands
// topic.
// Thread-safety: pure functions.
#ifndef CASEGRID_ENGINE_COMMAND_JSON_H_
#define CASEGRID_ENGINE_COMMAND_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "events/casegrid.pb.h"

namespace casegrid::engine {

// Limits checked before a line is parsed: its size, and how deep its arrays
// and objects nest (the command's own two levels and data's).
inline constexpr size_t kMaxLineBytes = 1 << 20;
inline constexpr int kMaxDataDepth = 64;
// The earliest `at` a command may carry: 2000-01-01T00:00:00+08:00. An
// earlier time is refused, never replaced by the clock (0 means "now" inside
// a Command, so 1970-01-01T08:00:00+08:00 could not be told from absent).
inline constexpr int64_t kEarliestAtMicros = 946656000LL * 1000000;

// InvalidArgument "FIELD: ..." unless every string of `command` is as
// base/text.h says: case, id, action, workflow and the actor's fields
// identifiers (id, workflow and unit may be empty), data's keys and strings
// text, data nested at most kMaxDataDepth deep, `at` absent (0) or not before
// kEarliestAtMicros. The engine checks every
// command with it before anything else (engine.h), whatever door it came in.
Status CheckCommandText(const casegrid::v1::Command& command);

// Parses one NDJSON line into a Command: {"id","case","action","at","actor":
// {"user","role","unit"},"expect","data"}. InvalidArgument names the field
// (or "line" for a line over kMaxLineBytes or nested too deep);
// `at` stays 0 when absent (the engine then uses its clock). `sender`: the
// actor.user of a line that names none (a door that knows who sends it,
// casegrid serve); empty: actor.user is required.
// Decoded by simdjson's on-demand parser; a line it does not take as
// certainly valid goes to the reference decoder, whose answer it is.
Result<casegrid::v1::Command> ParseCommandJson(std::string_view line, std::string_view sender = {});
// ParseCommandJson by the reference decoder (nlohmann) alone: the contract
// the fast one keeps, for tests and the fuzzer to compare them.
Result<casegrid::v1::Command> ParseCommandJsonReference(std::string_view line,
                                                        std::string_view sender = {});
// The NDJSON line of `command`: ParseCommandJson(CommandJson(c)) equals c.
std::string CommandJson(const casegrid::v1::Command& command);
// "USER:ROLE:UNIT" (UNIT may be empty) -> Actor.
Result<casegrid::v1::Actor> ParseActor(std::string_view spec);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_COMMAND_JSON_H_
