// casegrid org units / org grids: the configuration's organisation
// (docs/organisation.md).
#include <iostream>

#include "tools/commands.h"
#include "workflows/org.h"

namespace casegrid::tools {

int RunOrg(const GlobalOptions& g, bool grids, bool json) {
  auto org = workflows::Organisation::Load(ResolveConfigDir(g) + "/org/reference-district.yaml");
  if (!org.ok()) return Fail(org.status());
  std::cout << (grids ? workflows::FormatGrids(*org, json) : workflows::FormatUnits(*org, json));
  return 0;
}

}  // namespace casegrid::tools
