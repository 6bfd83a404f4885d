// libFuzzer target: a YAML file as a workflow definition, a calendar year
// and an organisation (workflows/yaml_proto.h, the loaders' parser), and the
// definition's validation. Refusals are Statuses; no input may crash, hang
// or exhaust memory (alias expansion has a node budget).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "workflows/validate.h"
#include "workflows/workflow.pb.h"
#include "workflows/yaml_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace wf = casegrid::workflows;
  casegrid::v1::WorkflowDefinition def;
  wf::SourceMap map;
  if (wf::ParseYaml(text, "fuzz.yaml", &def, &map).ok()) {
    (void)wf::ValidateDefinition(def, &map, wf::ValidateOptions());
  }
  casegrid::v1::CalendarYear year;
  (void)wf::ParseYaml(text, "fuzz.yaml", &year);
  casegrid::v1::Organisation org;
  (void)wf::ParseYaml(text, "fuzz.yaml", &org);
  return 0;
}
