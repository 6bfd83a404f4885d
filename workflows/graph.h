// A workflow definition as a Graphviz diagram (`casegrid workflow graph`):
// states are nodes (final states double-circled, the start state marked by
// an arrow from a dot), actions are edges from each of their `from` states to
// their `to` state (a loop when the state does not change), labelled with the
// action, who may take it, and the deadlines it starts, meets or cancels with
// their limits and breach behaviour.
// Thread-safety: DefinitionDot is a pure function; RenderSvg may be called
// from any thread.
#ifndef CASEGRID_WORKFLOWS_GRAPH_H_
#define CASEGRID_WORKFLOWS_GRAPH_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "workflows/workflow.pb.h"

namespace casegrid::workflows {

// The definition in the DOT language (render with `dot -Tsvg`). Deterministic:
// the same definition gives the same text.
std::string DefinitionDot(const casegrid::v1::WorkflowDefinition& def);

// `dot` rendered as SVG by Graphviz's `dot -Tsvg` (spawned with an argument
// vector, never a shell). Unavailable naming the package when Graphviz is
// not installed, or with dot's exit status when it fails. Ignores SIGPIPE
// in this process (a dot that exits early must not kill it).
Result<std::string> RenderSvg(std::string_view dot);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_GRAPH_H_
