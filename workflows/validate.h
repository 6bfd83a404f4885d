// Validation of workflow definitions (workflows/workflow.proto): every rule a
// definition must meet before the engine runs it, each problem reported with
// the position of the offending YAML node, all problems of a definition in one
// pass. `casegrid workflow validate` prints them; Definition::FromProto runs
// the same rules (without the organisation and calendars) and refuses a
// definition with any problem, so each rule is written here only.
// docs/workflows.md, "Validating a definition", lists the rules with examples.
// Thread-safety: pure functions over their arguments; the find_calendar
// callback is called on the caller's thread. Nothing here writes anything.
#ifndef CASEGRID_WORKFLOWS_VALIDATE_H_
#define CASEGRID_WORKFLOWS_VALIDATE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "workflows/org.h"
#include "workflows/workflow.pb.h"
#include "workflows/yaml_proto.h"

namespace casegrid::workflows {

struct Problem {
  std::string path;     // SourceMap path of the offending node, e.g. "actions[2].to"
  Position position;    // {0, 0} when validated without a SourceMap
  std::string message;  // e.g. "action \"close\" to unknown state \"closd\""
};

struct ValidateOptions {
  // Routing rules' units and the escalate action's max_times are checked
  // against it; nullptr skips those two checks. Must outlive the call.
  const Organisation* org = nullptr;
  // Whether calendar `id` exists: OK if it does, NotFound if not (a problem);
  // any other Status stops validation and is returned. Empty: not checked.
  std::function<Status(const std::string& id)> find_calendar;
};

// Checks `def` against these rules and returns every problem (empty: valid):
//  - names: states, actions, deadlines and roles are each declared once;
//  - exactly one action opens: effect open_case (a case) or patrol_report
//    (an information item, which starts, meets and cancels no deadline and
//    takes topic, grid and summary); it has a `to` (the start state)
//    and no `from`; every other action has at least one `from`, and at least
//    one role unless it is an outcome's `then` (taken by the rule);
//  - an action's `within` names a deadline; an outcome tests a boolean data
//    field of its action and its `then` names another action, not open_case,
//    with no outcomes of its own, whose required data fields (but `reason`,
//    which the rule writes) the triggering action takes too;
//  - every state, deadline, role, anchor action and `emits` payload (a field of
//    casegrid.v1.Event's payload oneof) named exists; `emits` only with effect
//    none or note (the others have their own payload); a deadline's `when`
//    names a case field the decider knows ("complex"); the calendar exists
//    (options.find_calendar); routing units exist (options.org) and no
//    category is routed twice;
//  - every state is reachable from the start state, and every non-final state
//    has a path to a final state (edges: an action's from -> to);
//  - every deadline has an owner (case_unit or centre), a breach behaviour,
//    at most one of working_days, working_hours, calendar_days and levels, and
//    an action starting it; per-level limits (owner case_unit) give village,
//    town and district each once, with at least 1 working hour;
//  - a deadline's warn_before sets exactly one of working_days and
//    working_hours, at least 1 and less than the deadline's own limit in that
//    unit (working_days, calendar_days, working_hours or each level's); a
//    deadline counted in working hours (or levels) warns in working_hours;
//  - no two actions are ambiguous: both can be taken from one state by one
//    role, with the same effect, `to`, `emits` and set of data field names;
//  - escalation ends at the district: a centre-owned deadline (the district
//    centre is its owner) does not escalate_one_level; an escalate action does
//    not move to a final state, and its max_times (when set) allows climbing
//    the organisation's longest path to the district centre.
// With `map` (may be null), each problem's position is that of its path (or
// nearest parent) and problems are sorted by position; otherwise they are in
// rule order. Returns a Status only when find_calendar fails with one.
Result<std::vector<Problem>> ValidateDefinition(const casegrid::v1::WorkflowDefinition& def,
                                                const SourceMap* map,
                                                const ValidateOptions& options);

// "FILE:LINE:COL: message", or "FILE: message" when the position is unknown.
std::string FormatProblem(const std::string& file, const Problem& problem);

struct FileReport {
  casegrid::v1::WorkflowDefinition definition;  // as parsed; partial after a loader error
  std::vector<std::string> problems;            // FormatProblem lines; empty: valid
};

// Loads `path` with the strict YAML loader (yaml_proto.h) and validates it. A
// syntax or schema error is the file's one problem line (the loader stops at
// it); otherwise every problem ValidateDefinition finds, in file order.
// Returns NotFound or IOError when the file cannot be read, and any error of
// options.find_calendar.
Result<FileReport> ValidateFile(const std::string& path, const ValidateOptions& options);
// The same for YAML text already read (a draft sent over HTTP); `name`
// stands for the path in the problem lines.
Result<FileReport> ValidateText(std::string_view yaml, const std::string& name,
                                const ValidateOptions& options);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_VALIDATE_H_
