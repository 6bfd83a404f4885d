#include "workflows/validate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "tests/corpus_util.h"
#include "tests/test_util.h"
#include "workflows/definition.h"
#include "workflows/org.h"
#include "workflows/yaml_proto.h"

using casegrid::Status;
using casegrid::workflows::Definition;
using casegrid::workflows::Organisation;
using casegrid::workflows::SourceMap;
using casegrid::workflows::ValidateFile;
using casegrid::workflows::ValidateOptions;

namespace {

// Fewer broken definitions than this means the corpus lost some.
constexpr size_t kMinCorpusFiles = 25;

// The shipped organisation and calendars, as `casegrid workflow validate`
// uses them with the default configuration.
const ValidateOptions& ShippedOptions() {
  static const Organisation org = [] {
    auto loaded =
        Organisation::Load(casegrid::test::SourcePath("workflows/org/reference-district.yaml"));
    REQUIRE_OK(loaded);
    return std::move(loaded).value();
  }();
  static const ValidateOptions options = [] {
    ValidateOptions o;
    o.org = &org;
    o.find_calendar = [](const std::string& id) {
      return casegrid::engine::BusinessCalendar::LoadDir(
                 casegrid::test::SourcePath("workflows/calendars"), id)
          .status();
    };
    return o;
  }();
  return options;
}

// What the validator reports for `dir`/`name`, with the "dir/" prefix dropped
// as if run inside `dir`.
std::vector<std::string> Report(const std::string& dir, const std::string& name) {
  auto report = ValidateFile(dir + "/" + name, ShippedOptions());
  REQUIRE_OK(report);
  std::vector<std::string> lines;
  for (const auto& line : report->problems) {
    REQUIRE(line.rfind(dir + "/", 0) == 0);
    lines.push_back(line.substr(dir.size() + 1));
  }
  return lines;
}

}  // namespace

TEST_CASE("every broken definition in the corpus gives exactly its expected lines", "[workflows]") {
  const std::string dir = casegrid::test::SourcePath("tests/workflows/broken");
  casegrid::test::CheckCorpus(dir, kMinCorpusFiles,
                              [&](const std::string& name) { return Report(dir, name); });
}

TEST_CASE("every shipped workflow definition validates with no problem", "[workflows]") {
  const std::string dir = casegrid::test::SourcePath("workflows/definitions");
  const auto files = casegrid::test::FilesIn(dir, ".yaml");
  REQUIRE_FALSE(files.empty());
  for (const auto& name : files) {
    INFO(name);
    CHECK(Report(dir, name).empty());
  }
}

TEST_CASE("the source map gives a node's line and column, or its nearest parent's",
          "[workflows][yaml]") {
  casegrid::v1::WorkflowDefinition def;
  SourceMap map;
  REQUIRE_OK(
      casegrid::workflows::ParseYaml("# a comment\n"
                                     "id: w\n"
                                     "version: 1\n"
                                     "calendar: cn-mainland\n"
                                     "states:\n"
                                     "  - {name: open}\n"
                                     "actions:\n"
                                     "  - name: intake\n"
                                     "    effect: open_case\n"
                                     "    to: open\n"
                                     "    starts: [a, b]\n",
                                     "t.yaml", &def, &map));
  auto at = [&](const std::string& path) {
    const auto p = map.Find(path);
    return std::to_string(p.line) + ":" + std::to_string(p.column);
  };
  CHECK(at("") == "2:1");
  CHECK(at("calendar") == "4:11");
  CHECK(at("states[0]") == "6:5");
  CHECK(at("states[0].name") == "6:12");
  CHECK(at("actions[0]") == "8:5");
  CHECK(at("actions[0].to") == "10:9");
  CHECK(at("actions[0].starts[1]") == "11:17");
  // Not in the file: the nearest recorded parent.
  CHECK(at("actions[0].emits") == "8:5");
  CHECK(at("deadlines[2].owner") == "2:1");
}

TEST_CASE("a source map is filled up to a loader error and cleared by the next parse",
          "[workflows][yaml]") {
  casegrid::v1::WorkflowDefinition def;
  SourceMap map;
  Status s = casegrid::workflows::ParseYaml("id: w\nversion: x\n", "t.yaml", &def, &map);
  REQUIRE(s.IsInvalidArgument());
  CHECK(map.Find("id").line == 1);
  REQUIRE_OK(
      casegrid::workflows::ParseYaml("\n\nid: w\nversion: 1\ncalendar: c\n", "t.yaml", &def, &map));
  CHECK(map.Find("id").line == 3);
}

TEST_CASE(
    "Definition::Load refuses a definition with the validator's first problem and its "
    "position",
    "[workflows]") {
  const std::string path =
      casegrid::test::SourcePath("tests/workflows/broken/several-problems.yaml");
  auto def = Definition::Load(path);
  REQUIRE_FALSE(def.ok());
  CHECK(def.status().IsInvalidArgument());
  // The calendar is not checked here (no configuration): the first problem is the role.
  CHECK(def.status().message() ==
        path + ":12:21: action \"intake\" names undeclared role \"hotline\"");
}

TEST_CASE("Definition::FromProto without a source map names the workflow", "[workflows]") {
  casegrid::v1::WorkflowDefinition proto;
  proto.set_id("w");
  proto.set_version(3);
  proto.set_calendar("cn-mainland");
  proto.add_states()->set_name("open");
  auto def = Definition::FromProto(proto, "mem");
  REQUIRE_FALSE(def.ok());
  CHECK(def.status().message() ==
        "mem: workflow w v3: no action has effect open_case (or patrol_report); a definition needs "
        "exactly one");
}

TEST_CASE("a deadline built without a breach behaviour is a problem (the YAML loader requires one)",
          "[workflows]") {
  casegrid::v1::WorkflowDefinition proto;
  auto loaded = casegrid::workflows::ParseYaml(
      "id: w\nversion: 1\ncalendar: c\nroles: [r]\nstates: [{name: s, final: true}]\n"
      "actions: [{name: a, roles: [r], effect: open_case, to: s, starts: [d]}]\n"
      "deadlines: [{name: d, owner: centre, on_breach: record}]\n",
      "t.yaml", &proto);
  REQUIRE_OK(loaded);
  REQUIRE_OK(Definition::FromProto(proto, "t.yaml"));
  proto.mutable_deadlines(0)->clear_on_breach();
  proto.mutable_deadlines(0)->clear_owner();
  auto problems = casegrid::workflows::ValidateDefinition(proto, nullptr, ValidateOptions());
  REQUIRE_OK(problems);
  std::vector<std::string> messages;
  for (const auto& p : *problems) messages.push_back(p.message);
  CHECK(messages == std::vector<std::string>{
                        "deadline \"d\" has no owner (owner: case_unit, centre or supporting_unit)",
                        "deadline \"d\" has no breach behaviour (on_breach: record, urge or "
                        "escalate_one_level)"});
}

TEST_CASE("a retention of fewer than 0 or more than 100 years is a problem", "[workflows]") {
  casegrid::v1::WorkflowDefinition proto;
  REQUIRE_OK(casegrid::workflows::ParseYaml(
      "id: w\nversion: 1\ncalendar: c\nroles: [r]\nstates: [{name: s, final: true}]\n"
      "actions: [{name: a, roles: [r], effect: open_case, to: s}]\nretention_years: 10\n",
      "t.yaml", &proto));
  CHECK(proto.retention_years() == 10);
  REQUIRE_OK(Definition::FromProto(proto, "t.yaml"));
  for (int years : {-1, 101}) {
    proto.set_retention_years(years);
    auto def = Definition::FromProto(proto, "t.yaml");
    CHECK_THAT(def.status().message(),
               Catch::Contains("must be 0 (kept until erased by hand) to 100 years, not " +
                               std::to_string(years)));
  }
}

TEST_CASE("a registry knows which actions its definitions name, through adds and replacements",
          "[workflows]") {
  auto make = [](int version, const std::string& actions) {
    casegrid::v1::WorkflowDefinition proto;
    REQUIRE_OK(casegrid::workflows::ParseYaml(
        "id: w\nversion: " + std::to_string(version) +
            "\ncalendar: c\nroles: [r]\nstates: [{name: o}, {name: s, final: true}]\nactions: [" +
            actions + "]\n",
        "t.yaml", &proto));
    auto def = Definition::FromProto(proto, "t.yaml");
    REQUIRE_OK(def);
    return *def;
  };
  const std::string open =
      "{name: a, roles: [r], effect: open_case, to: o}, "
      "{name: z, roles: [r], effect: close, from: [o], to: s}";
  casegrid::workflows::Registry registry;
  REQUIRE_OK(
      registry.Add(make(1, open + ", {name: b, roles: [r], effect: none, from: [o], to: s}")));
  CHECK(registry.DefinesAction("a"));
  CHECK(registry.DefinesAction("b"));
  CHECK_FALSE(registry.DefinesAction("c"));
  REQUIRE_OK(
      registry.Add(make(2, open + ", {name: c, roles: [r], effect: none, from: [o], to: s}")));
  CHECK(registry.DefinesAction("b"));  // version 1 still names it
  CHECK(registry.DefinesAction("c"));
  // A second version 2 is refused and counts for nothing.
  CHECK_FALSE(
      registry.Add(make(2, open + ", {name: d, roles: [r], effect: none, from: [o], to: s}")).ok());
  CHECK_FALSE(registry.DefinesAction("d"));
  // Version 1 replaced by one without b: no definition names b any more.
  registry.Replace(make(1, open));
  CHECK_FALSE(registry.DefinesAction("b"));
  CHECK(registry.DefinesAction("a"));
  CHECK(registry.DefinesAction("c"));
  // A copy answers the same, and a replacement in it leaves the original be.
  casegrid::workflows::Registry copy = registry;
  copy.Replace(make(2, open));
  CHECK_FALSE(copy.DefinesAction("c"));
  CHECK(registry.DefinesAction("c"));
  CHECK_FALSE(registry.DefinesAction(""));
}
