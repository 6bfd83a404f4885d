// The semantic diff (workflows/diff.h) and the diagram (workflows/graph.h) of
// workflow definitions, on the shipped petition-125 and edits of it.
#include <algorithm>
#include <string>

#include "tests/test_util.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
#include "workflows/yaml_proto.h"

using namespace casegrid;

namespace {

v1::WorkflowDefinition Petition125() {
  v1::WorkflowDefinition def;
  REQUIRE_OK(
      workflows::LoadYamlFile(test::SourcePath("workflows/definitions/petition-125.yaml"), &def));
  return def;
}

template <typename T>
T* Named(google::protobuf::RepeatedPtrField<T>* items, const std::string& name) {
  for (auto& x : *items) {
    if (x.name() == name) return &x;
  }
  FAIL("no item " << name);
  return nullptr;
}

}  // namespace

TEST_CASE("a definition against itself, or reordered, has no changes", "[workflows]") {
  const auto a = Petition125();
  auto b = a;
  b.set_version(2);
  std::reverse(b.mutable_actions()->begin(), b.mutable_actions()->end());
  CHECK(workflows::DiffDefinitions(a, b).empty());
  CHECK(workflows::FormatDiff(workflows::DiffDefinitions(a, b)) == "no changes\n");
}

TEST_CASE("the diff names added, removed and changed items field by field", "[workflows]") {
  const auto a = Petition125();
  auto b = a;
  b.set_version(2);
  b.set_calendar("cn-town");
  auto* archived = b.add_states();
  archived->set_name("archived");
  archived->set_final(true);
  auto* actions = b.mutable_actions();
  actions->erase(std::find_if(actions->begin(), actions->end(),
                              [](const auto& x) { return x.name() == "urge"; }));
  auto* contact = Named(b.mutable_deadlines(), "contact");
  contact->set_working_days(2);
  contact->set_owner("centre");
  Named(b.mutable_actions(), "close")->add_roles("unit");
  auto* route = b.add_routing();
  route->set_category("noise");
  route->set_unit("371302-001");

  const std::string diff = workflows::FormatDiff(workflows::DiffDefinitions(a, b));
  CHECK(diff ==
        "~ definition petition-125: calendar: \"cn-mainland\" -> \"cn-town\"\n"
        "+ state archived\n"
        "~ action close: roles: [\"centre\"] -> [\"centre\", \"unit\"]\n"
        "- action urge\n"
        "~ deadline contact: working_days: 1 -> 2; owner: \"case_unit\" -> \"centre\"\n"
        "+ routing noise\n");
  // And back: each addition is a removal.
  const std::string back = workflows::FormatDiff(workflows::DiffDefinitions(b, a));
  CHECK(back.find("- state archived\n") != std::string::npos);
  CHECK(back.find("+ action urge\n") != std::string::npos);
  CHECK(back.find("- routing noise\n") != std::string::npos);
}

TEST_CASE("the diagram has every state, the start, and each action with its deadlines",
          "[workflows]") {
  const auto def = Petition125();
  const std::string dot = workflows::DefinitionDot(def);
  CHECK(dot.rfind("digraph \"petition-125 v6\" {", 0) == 0);
  for (const auto& s : def.states()) CHECK(dot.find("\"" + s.name() + "\"") != std::string::npos);
  CHECK(dot.find("\"closed\" [shape=doublecircle]") != std::string::npos);
  CHECK(
      dot.find(
          "start -> \"received\" [label=\"intake [window, hotline, grid_inspector, petitioner]") !=
      std::string::npos);
  CHECK(dot.find("\"received\" -> \"dispatched\" [label=\"dispatch [centre]\\nstarts contact: 1 "
                 "working day from intake, case_unit, escalate_one_level") != std::string::npos);
  CHECK(dot.find("final_response: 30 calendar days from intake, case_unit, record, if complex") !=
        std::string::npos);
  // An action that keeps the state is a dashed loop.
  CHECK(dot.find("\"contacted\" -> \"contacted\" [label=\"urge [centre]\", style=dashed]") !=
        std::string::npos);
  CHECK(workflows::DefinitionDot(def) == dot);  // deterministic
}
