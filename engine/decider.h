// The workflow logic of casegrid as a pure "decider":
//   Decide(state, command, definition, context, now) -> events or a rejection
//   Evolve(state, event) -> state
// Nothing here reads a clock, a file or a global: the same inputs give the same
// events, so replay, simulation, what-if and tests all reuse it. Decide never
// throws; a rejection is InvalidArgument (bad input, illegal step), NotFound
// (no such case) or Conflict (stale `expect`), with a message naming what.
// The events it returns are complete but unsealed: recorded_micros, prev_hash
// and hash are set by the engine when it appends them.
#ifndef CASEGRID_ENGINE_DECIDER_H_
#define CASEGRID_ENGINE_DECIDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/calendar.h"
#include "engine/case_state.pb.h"
#include "events/casegrid.pb.h"
#include "workflows/definition.h"
#include "workflows/org.h"

namespace casegrid::engine {

// What decide() may consult besides the case: configuration, never I/O.
struct DecideContext {
  const workflows::Organisation* org = nullptr;
  const BusinessCalendar* calendar = nullptr;
};

// The built-in action the ticker sends when a deadline passes: data
// {"deadline": NAME}, actor system/system, at = the deadline's due time.
inline constexpr std::string_view kBreachAction = "breach";

// `state` is nullptr for a case with no events yet. `now_micros` is the time
// the command happened (its `at`, already defaulted by the caller).
Result<std::vector<casegrid::v1::Event>> Decide(const casegrid::v1::CaseState* state,
                                                const casegrid::v1::Command& command,
                                                const workflows::Definition& definition,
                                                const DecideContext& context, int64_t now_micros);

// The action name of the events of a migration.
inline constexpr std::string_view kMigrateAction = "migrate";

// Where a case's open deadline was counted from: its last deadline_set's
// anchor event (id, time and action), by deadline name.
struct DeadlineAnchor {
  std::string event_id;
  int64_t micros = 0;
  std::string action;
};
using DeadlineAnchors = std::map<std::string, DeadlineAnchor, std::less<>>;

// Moves a case from its definition version to `to` (same workflow id): one
// `migrated` event into `to_state` (a non-final state of `to`), then for each
// open deadline: left as it is when already breached; else re-armed by `to`'s
// rule from its recorded anchor; cancelled when `to` has no deadline of that
// name or its rule does not apply to the case (`when`). InvalidArgument names the problem (e.g. a
// deadline past the calendar's years); nothing else is checked here (the caller maps states).
Result<std::vector<casegrid::v1::Event>> DecideMigration(
    const casegrid::v1::CaseState& state, const workflows::Definition& to,
    const std::string& to_state, const DeadlineAnchors& anchors, const casegrid::v1::Actor& by,
    const std::string& reason, const DecideContext& context, int64_t now_micros);

// Folds one event into the case state.
void Evolve(casegrid::v1::CaseState* state, const casegrid::v1::Event& event);

// The payload's field name, e.g. "case_dispatched"; "" when none is set.
std::string_view PayloadName(const casegrid::v1::Event& event);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_DECIDER_H_
