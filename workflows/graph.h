// A workflow definition as a Graphviz diagram (`casegrid workflow graph`):
// states are nodes (final states double-circled, the start state marked by
// an arrow from a dot), actions are edges from each of their `from` states to
// their `to` state (a loop when the state does not change), labelled with the
// action, who may take it, and the deadlines it starts, meets or cancels with
// their limits and breach behaviour.
// Thread-safety: pure function.
#ifndef CASEGRID_WORKFLOWS_GRAPH_H_
#define CASEGRID_WORKFLOWS_GRAPH_H_

#include <string>

#include "workflows/workflow.pb.h"

namespace casegrid::workflows {

// The definition in the DOT language (render with `dot -Tsvg`). Deterministic:
// the same definition gives the same text.
std::string DefinitionDot(const casegrid::v1::WorkflowDefinition& def);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_GRAPH_H_
