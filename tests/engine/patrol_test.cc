// Patrol reports (民情巡察信息), the shipped `patrol` definition: a public
// inspector's report is information, not a case (no unit, no deadline), filed
// in the cells of the town it works for; an intake raises a case from one by
// naming it (data.patrol_report), and nothing else may name one.
#include "tests/engine/engine_fixture.h"
#include "workflows/validate.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

constexpr const char* kInspector = "xc01:patrol_inspector:371302-001";

casegrid::v1::Command Report(const std::string& id, const std::string& by = kInspector,
                             const std::string& grid = kGrid,
                             const std::string& topic = "environment") {
  auto cmd = Cmd(id, "report", by, "2026-09-22T10:00:00+08:00",
                 R"({"topic":")" + topic + R"(","grid":")" + grid +
                     R"(","summary":"smoke from a kiln","campaign":"national-day-security-2026"})");
  cmd.set_workflow("patrol");
  return cmd;
}

casegrid::v1::Command RaisedFrom(const std::string& id, const std::string& report) {
  auto cmd = Cmd(id, "report", "g01:grid_inspector:371302-001", "2026-09-22T11:00:00+08:00",
                 R"({"category":"environment","grid":")" + std::string(kGrid) +
                     R"(","summary":"kiln smoke","patrol_report":")" + report + "\"}");
  cmd.set_workflow("grid-incident");
  return cmd;
}

std::string Rejection(const engine::Answer& a) {
  REQUIRE(a.kind == engine::Answer::Kind::kRejected);
  return a.status.message();
}

}  // namespace

TEST_CASE("a patrol report is information filed in its inspector's town, with no unit or deadline",
          "[engine][patrol]") {
  DeciderHarness h("patrol");
  auto events = h.Do(Report("XC-1"));
  REQUIRE_OK(events);
  REQUIRE(events->size() == 1);
  const auto& e = (*events)[0];
  REQUIRE(e.has_patrol_reported());
  CHECK(e.patrol_reported().topic() == "environment");
  CHECK(e.patrol_reported().grid() == kGrid);
  CHECK(e.patrol_reported().station() == kStation);
  CHECK(e.patrol_reported().summary() == "smoke from a kiln");
  CHECK(e.patrol_reported().campaign() == "national-day-security-2026");
  CHECK(h.state().information());
  CHECK(h.state().state() == "filed");
  CHECK(h.state().unit().empty());
  CHECK(h.state().deadlines().empty());
  CHECK(h.state().channel() == "patrol");
  CHECK(h.state().category() == "environment");

  SECTION("the same id again, or a cell of another town: refused") {
    CHECK_THAT(h.Do(Report("XC-1")).status().message(), Catch::Contains("already exists"));
    DeciderHarness other("patrol");
    CHECK_THAT(other.Do(Report("XC-2", kInspector, "371302-002-001-01")).status().message(),
               Catch::Contains("is not among the cells of unit \"371302-001\", which "
                               "patrol inspector \"xc01\" reports for"));
  }
  SECTION("a topic outside the definition's list, or no grid: refused naming the field") {
    DeciderHarness other("patrol");
    CHECK_THAT(other.Do(Report("XC-3", kInspector, kGrid, "gossip")).status().message(),
               Catch::Contains("data.topic"));
    auto cmd = Report("XC-4");
    cmd.mutable_data()->mutable_fields()->erase("grid");
    CHECK_THAT(other.Do(cmd).status().message(), Catch::Contains("data.grid"));
  }
  SECTION("a window clerk cannot file one") {
    DeciderHarness other("patrol");
    CHECK_THAT(other.Do(Report("XC-5", kWindow)).status().message(),
               Catch::Contains("may not \"report\""));
  }
}

TEST_CASE("an intake raises a case from a patrol report by naming it, and nothing else names one",
          "[engine][patrol]") {
  JournalRig rig;
  auto one = [&](const casegrid::v1::Command& cmd) { return rig.Apply({cmd})[0]; };
  REQUIRE(one(Report("XC-1")).kind == engine::Answer::Kind::kAccepted);
  REQUIRE(one(RaisedFrom("LS-1", "XC-1")).kind == engine::Answer::Kind::kAccepted);
  auto raised = rig.engine->CaseState("LS-1");
  REQUIRE_OK(raised);
  CHECK(raised->patrol_report() == "XC-1");
  CHECK_FALSE(raised->information());

  const uint64_t before = rig.Events();
  CHECK_THAT(Rejection(one(RaisedFrom("LS-2", "XC-9"))),
             Catch::Contains(
                 "data.patrol_report: \"XC-9\" is not a patrol report (there is none by that id)"));
  CHECK_THAT(Rejection(one(RaisedFrom("LS-3", "LS-1"))),
             Catch::Contains("\"LS-1\" is not a patrol report (it is a case)"));
  CHECK_THAT(
      Rejection(one(Cmd("LS-1", "report_up", "g01:grid_inspector:371302-001",
                        "2026-09-22T12:00:00+08:00", R"({"note":"n","patrol_report":"XC-1"})"))),
      Catch::Contains("only a case's intake names the patrol report"));
  auto not_text = RaisedFrom("LS-4", "XC-1");
  (*not_text.mutable_data()->mutable_fields())["patrol_report"].set_number_value(1);
  CHECK_THAT(Rejection(one(not_text)), Catch::Contains("expected the id of a patrol report"));
  CHECK(rig.Events() == before);  // nothing written for any of them
  CHECK(rig.engine->CaseState("LS-2").status().IsNotFound());

  // A report and the case raised from it in one batch: the intake sees it.
  auto both = rig.Apply({Report("XC-7"), RaisedFrom("LS-7", "XC-7")});
  CHECK(both[0].kind == engine::Answer::Kind::kAccepted);
  CHECK(both[1].kind == engine::Answer::Kind::kAccepted);
}

TEST_CASE(
    "validate: a patrol_report action opens the definition, binds no deadline, takes its "
    "fields",
    "[workflows][patrol]") {
  auto errors = [](const std::string& yaml) {
    workflows::ValidateOptions options;
    options.org = ShippedConfig().org.get();
    auto report = workflows::ValidateText(yaml, "draft.yaml", options);
    if (!report.ok()) return report.status().message();
    std::string all;
    for (const auto& line : report->problems) all += line + "\n";
    return all;
  };
  const std::string head =
      "id: p\nversion: 1\ntitle: t\ncalendar: cn-mainland\nroles: [patrol_inspector]\n"
      "states:\n  - {name: filed, final: true}\n";
  const std::string fields =
      "    fields:\n      - {name: topic, type: string, required: true}\n"
      "      - {name: grid, type: grid, required: true}\n"
      "      - {name: summary, type: string, required: true}\n";
  CHECK(errors(head +
               "actions:\n  - name: report\n    roles: [patrol_inspector]\n"
               "    effect: patrol_report\n    to: filed\n" +
               fields)
            .empty());
  CHECK_THAT(
      errors(head +
             "actions:\n  - name: report\n    roles: [patrol_inspector]\n"
             "    effect: patrol_report\n    to: filed\n    starts: [x]\n" +
             fields +
             "deadlines:\n  - {name: x, working_days: 1, owner: centre, on_breach: record}\n"),
      Catch::Contains("a patrol report is information, not a case, and no deadline "
                      "binds it"));
  CHECK_THAT(errors(head + "actions:\n  - name: report\n    roles: [patrol_inspector]\n"
                           "    effect: patrol_report\n    to: filed\n"
                           "    fields:\n      - {name: topic, type: string, required: true}\n"),
             Catch::Contains("has effect patrol_report but no field \"grid\""));
}
