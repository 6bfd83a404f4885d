// A semantic diff of two workflow definitions (`casegrid workflow diff`):
// which states, actions, deadlines, roles and routing rules were added,
// removed or changed, and for a changed one each field's old and new value.
// Items are matched by name (routing rules by category, roles by value), so
// reordering a file is no change. docs/workflows.md shows the output.
// Thread-safety: pure functions.
#ifndef CASEGRID_WORKFLOWS_DIFF_H_
#define CASEGRID_WORKFLOWS_DIFF_H_

#include <string>
#include <vector>

#include "workflows/workflow.pb.h"

namespace casegrid::workflows {

struct Change {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string item;  // "definition", "role", "state", "action", "deadline", "routing"
  std::string name;  // the item's name (a routing rule's category)
  std::vector<std::string> details;  // kChanged: `field: old -> new`, one per changed field
};

// The changes from `a` to `b`, in the order: definition fields, roles,
// states, actions, deadlines, routing; within each, in b's order (removed
// items in a's order, after). Empty when nothing but the version differs.
std::vector<Change> DiffDefinitions(const casegrid::v1::WorkflowDefinition& a,
                                    const casegrid::v1::WorkflowDefinition& b);

// One line per change: "+ state archived", "- action urge",
// "~ deadline contact: working_days: 1 -> 2; owner: \"case_unit\" -> \"centre\"".
// "no changes" when `changes` is empty.
std::string FormatDiff(const std::vector<Change>& changes);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_DIFF_H_
