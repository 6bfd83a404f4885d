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
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "base/status.h"
#include "engine/calendar.h"
#include "engine/case_state.pb.h"
#include "engine/directory.h"
#include "engine/petitioner.h"
#include "events/casegrid.pb.h"
#include "workflows/definition.h"
#include "workflows/org.h"

namespace casegrid::events {
class BlobStore;
}

namespace casegrid::engine {

// What decide() may consult besides the case: configuration, never I/O.
struct DecideContext {
  const workflows::Organisation* org = nullptr;
  const BusinessCalendar* calendar = nullptr;  // the case's definition's
  // Every definition and calendar in force: what a migration moves a case to.
  const workflows::Registry* workflows = nullptr;
  const std::map<std::string, std::shared_ptr<const BusinessCalendar>, std::less<>>* calendars =
      nullptr;
  // CommandDigest of the command decided, when the caller has it already
  // (computed on the decoder's thread); empty: the decision computes it.
  std::string_view command_digest;
  // The directory of people: with its checks on (Directory::enforced), a
  // staff actor must hold a grant of its role in its unit, and migrate and
  // recount need a supervisor. Null: no checks (the actor is as sent).
  const Directory* directory = nullptr;
  // When the engine records the decision (its clock), and how far before
  // that a command may be dated without being backdated (Config): with the
  // directory's checks on, a backdated command needs a grant of role import.
  // 0: not known (the pure decider in tests), no check.
  int64_t recorded_micros = 0;
  int64_t backdate_window_micros = 0;
  // Where attachments' blobs are (engine/attachments.h): an attach command
  // naming a blob it does not hold is refused. Null: not checked (a worker
  // without the doors' store).
  const events::BlobStore* blobs = nullptr;
  // The district's petitioner key (engine/petitioner.h): an intake records
  // its petitioner's keys under it. Empty: no keys (what-if, a test).
  std::string_view petitioner_secret;
  // Why there is no petitioner key (Engine::set_petitioner_unavailable): an
  // intake naming an identity number or phone is refused with it. Empty:
  // none missing.
  std::string_view petitioner_unavailable;
  // The petitioners' earlier cases: an intake whose petitioner had a case of
  // the same category within the definition's repeat_within_days is marked
  // a repeat of the latest (case_reported.repeat_of). Null: none is.
  PetitionerIndex* petitioners = nullptr;
  // What-if (engine/whatif.h): the repeat marks as recorded, case id ->
  // the case it repeats, taken instead of keys and the index (the draft
  // runs without the petitioners' identifiers). Null: not a what-if.
  const std::map<std::string, std::string, std::less<>>* recorded_repeats = nullptr;
  // Loads another stream's state (*found false when there is none): an
  // intake naming a patrol report (data.patrol_report) is refused unless it
  // names one. Empty: the name is taken as given (what-if, a test).
  std::function<Status(std::string_view id, casegrid::v1::CaseState* state, bool* found)>
      load_stream;
};

// How far before it is recorded a command may be dated without being
// backdated (docs/security.md, "Backdated commands"): Config's default.
inline constexpr int64_t kBackdateWindowMicros = int64_t{24} * 3600 * 1000 * 1000;
// Whether `event` was recorded more than `window` after the time it gives:
// what `replay` and `case show` mark.
inline bool IsBackdated(const casegrid::v1::Event& event, int64_t window = kBackdateWindowMicros) {
  return event.recorded_micros() - event.occurred_micros() > window;
}

// The data key of an intake that raises its case from a patrol report
// (events PatrolReported): the report's id. Any definition's intake takes
// it; decide refuses one that names no patrol report.
inline constexpr std::string_view kPatrolReportField = "patrol_report";

// The built-in action the ticker sends when a deadline passes: data
// {"deadline": NAME}, actor system/system, at = the deadline's due time.
inline constexpr std::string_view kBreachAction = "breach";

// The built-in action the ticker sends when an open, unbreached deadline's
// warning time (CaseDeadline.warn_micros, from the definition's warn_before)
// passes: data {"deadline": NAME}, actor system/system, at = the warning
// time. One `deadline_warned` event; refused unless the deadline has a
// warning pending (set, not yet warned).
inline constexpr std::string_view kWarnAction = "warn";

// The built-in action that moves a case to another version of its workflow
// (`casegrid workflow migrate`, docs/commands.md): data {"from": A, "to": B,
// "map": {OLD: NEW, ...}, "reason": TEXT}, by an actor with role supervisor.
// Decide checks that the case is open on vA and that its state maps (to
// itself unless listed) to a non-final state of vB (context.workflows), then
// returns one `migrated` event and, for each open deadline: nothing when it
// is breached; re-armed by vB's rule from the anchor its last deadline_set
// recorded; cancelled when vB has no deadline of that name or its `when`
// does not hold for the case.
inline constexpr std::string_view kMigrateAction = "migrate";

// The built-in action that recounts a case's deadlines after a calendar year
// they were counted over is published (`casegrid calendar publish`, engine/
// recount.h): data {"calendar": ID, "reason": TEXT}, by a supervisor. Every
// open, unbreached deadline marked provisional_calendar is armed again from
// its recorded anchor, with its extensions, by the case's calendar as it is
// now: one deadline_set each (its due time moved or not, its mark cleared
// once no provisional year is left in its span). Rejected when the case has
// no such deadline.
inline constexpr std::string_view kRecountAction = "recount";

// The built-in action that erases a case's personal data (`casegrid erase`,
// docs/security.md): data {"reason": TEXT}, by an actor with role admin (a
// grant of it when the directory's checks are on). Rejected for a case that
// has not ended (not in a final state of its definition, or with open
// deadlines) and for one erased already. One `case_erased` event naming the
// case's data key; the caller destroys that key once the event is durable
// (events/personal.h). An erased case takes no further command.
inline constexpr std::string_view kEraseAction = "erase";

// `state` is nullptr for a case with no events yet. `now_micros` is the time
// the command happened (its `at`, already defaulted by the caller).
Result<std::vector<casegrid::v1::Event>> Decide(const casegrid::v1::CaseState* state,
                                                const casegrid::v1::Command& command,
                                                const workflows::Definition& definition,
                                                const DecideContext& context, int64_t now_micros);

// Whether `command`'s action (of `definition`, not a built-in one) may be
// taken on the case `state` by its actor at `now_micros`, by the checks
// Decide makes before it reads the command's data: the action's from states,
// the deadline it must be taken within, the times it may be taken, the
// actor's role, unit and grant. OK, or the rejection Decide would give. The
// console offers the actions this admits (GET /v1/cases/{id}/actions); the
// data is still Decide's to check when the command comes.
Status CheckOpen(const casegrid::v1::CaseState& state, const casegrid::v1::Command& command,
                 const workflows::Definition& definition, const DecideContext& context,
                 int64_t now_micros);

// The events of one decision, in order. Cleared and refilled by each
// decision, a buffer keeps its events' storage: an engine reusing one
// across commands pays no malloc and free per event string.
using EventBuffer = google::protobuf::RepeatedPtrField<casegrid::v1::Event>;

// Decide into *events (cleared first), evolving *state by each event as it
// is decided: on acceptance *state is the case after the events (the same as
// Evolve of each onto the case), except last_hash, which is known only once
// they are sealed; on rejection *state and *events are unspecified. `exists`
// is false for a new case (*state is then ignored). Saves the engine a copy
// of the case, a second fold and the events' allocations.
Status DecideAndEvolve(casegrid::v1::CaseState* state, bool exists,
                       const casegrid::v1::Command& command,
                       const workflows::Definition& definition, const DecideContext& context,
                       int64_t now_micros, EventBuffer* events);

// Where an `assign` effect sends the case when its command names no unit:
// the definition's routing rule for the case's category (routed_by
// "category"); else, when the definition follows the responsibility list
// (follow_responsibility_list) or is null, the organisation's list
// (workflows/org.h, Organisation::Responsible; "list"): its unit, the town
// centre of the case's grid cell, or the grid cell's station; else the
// grid cell's village station ("grid"). `matter` is the list's entry when it
// decided (empty category otherwise). InvalidArgument naming the rule when
// the unit it names, or the case's grid cell or station, is not in the
// organisation. What Decide follows, and what the console suggests before
// a dispatch.
struct Route {
  std::string unit;       // the unit's code
  std::string level;      // its level: village | town | district
  std::string routed_by;  // category | list | grid
  casegrid::v1::Responsibility matter;
};
Result<Route> RouteOf(const casegrid::v1::CaseState& state, const workflows::Definition* definition,
                      const workflows::Organisation& org);

// Whether a case condition (a deadline's `when` or `unless`) holds for the
// case: field "complex" (CaseState.complex) or "repeat" (a repeat demand:
// CaseState.repeat_of set) equal to `equals`. False for any other field
// (workflows/validate.h refuses them).
bool CaseCondition(const casegrid::v1::Condition& condition, const casegrid::v1::CaseState& state);
// Whether deadline `d` is armed for the case: its `when` holds (or it has
// none) and its `unless` does not.
bool DeadlineApplies(const casegrid::v1::Deadline& d, const casegrid::v1::CaseState& state);

// The digest a command id is bound to: the first 16 bytes of SHA-256 of the
// command's deterministic serialization without its id and without
// data.rating_code (rating_code.h: a door's random draw, not what was asked,
// and not to be searched for through the digest). The same command sent
// again (same case, action, actor, data, at, expect, workflow) has the same
// digest; any other difference gives another. Decide records it on the first
// event of a command that has an id (Event.command_digest).
std::string CommandDigest(const casegrid::v1::Command& command);

// Folds one event into the case state.
void Evolve(casegrid::v1::CaseState* state, const casegrid::v1::Event& event);

// The payload's field name, e.g. "case_dispatched"; "" when none is set.
std::string_view PayloadName(const casegrid::v1::Event& event);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_DECIDER_H_
