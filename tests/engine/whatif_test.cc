// What-if over history (engine/whatif.h): the recorded commands of a period
// run again through a draft, counted beside the recorded figures; nothing is
// written to the recorded log.
#include "engine/whatif.h"

#include "events/log.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::WorkflowDefinition;

namespace {

using Rig = JournalRig;

// H-1 signed in time; H-2 signed 3 working hours after dispatch (urged under
// v1's 2 hours); H-3 opened a month later; a satisfied callback on H-1.
void Record(Rig& rig) {
  const std::string unit = UnitActor(kStation);
  auto answers =
      rig.Apply({HotlineIntake("H-1", "2026-09-01T09:00:00+08:00"),
                 HotlineIntake("H-2", "2026-09-01T09:00:00+08:00"),
                 Cmd("H-1", "dispatch", kCentre, "2026-09-01T09:30:00+08:00"),
                 Cmd("H-2", "dispatch", kCentre, "2026-09-01T09:30:00+08:00"),
                 Cmd("H-1", "sign", unit, "2026-09-01T10:00:00+08:00"),
                 Cmd("H-2", "sign", unit, "2026-09-01T14:30:00+08:00"),
                 Cmd("H-1", "answer", unit, "2026-09-02T10:00:00+08:00", R"({"answer":"a"})"),
                 Cmd("H-1", "callback", "h01:hotline:371302", "2026-09-02T15:00:00+08:00",
                     R"({"satisfied":true,"score":5})"),
                 HotlineIntake("H-3", "2026-10-12T09:00:00+08:00")});
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
}

std::shared_ptr<const workflows::Definition> Draft(int sign_hours, bool keep_callback = true) {
  WorkflowDefinition def = (*ShippedConfig().workflows->Latest("hotline-12345"))->proto();
  def.set_version(2);
  for (auto& d : *def.mutable_deadlines()) {
    if (d.name() == "sign") d.set_working_hours(sign_hours);
  }
  if (!keep_callback) {
    for (auto& a : *def.mutable_actions()) {
      if (a.name() == "callback") a.clear_roles();  // nobody may call back
    }
    for (auto& a : *def.mutable_actions()) {
      if (a.name() == "callback") a.add_roles("centre");
    }
  }
  auto built = workflows::Definition::FromProto(def, "draft.yaml");
  REQUIRE_OK(built);
  return *built;
}

engine::WhatIfOptions Options(const TempDir& dir) {
  engine::WhatIfOptions o;
  o.scratch_dir = dir.Sub("scratch");
  o.from_day = *timeutil::ParseDate("2026-09-01");
  o.to_day = *timeutil::ParseDate("2026-09-30");
  return o;
}

}  // namespace

TEST_CASE("what-if: a longer sign-for limit shows the breach and urge it would have avoided",
          "[whatif]") {
  Rig rig;
  Record(rig);
  const uint64_t events = rig.Events();
  auto report = engine::WhatIf(*rig.log, rig.engine->config(), Draft(4), Options(rig.dir));
  REQUIRE_OK(report);
  CHECK(report->recorded.cases == 2);  // H-3 was opened after the period
  CHECK(report->draft.cases == 2);
  CHECK(report->recorded.commands == 8);
  CHECK(report->draft.commands == 8);
  CHECK(report->draft.rejected == 0);
  CHECK(report->recorded.breaches_by_deadline["sign"] == 1);
  CHECK(report->draft.breaches_by_deadline["sign"] == 0);
  CHECK(report->recorded.closed == 1);
  CHECK(report->draft.closed == 1);
  CHECK(report->recorded.peak_backlog[kStation] == 2);
  CHECK(rig.Events() == events);  // nothing written to the recorded log
  CHECK_FALSE(std::filesystem::exists(rig.dir.Sub("scratch")));
}

TEST_CASE("what-if: commands the draft refuses are counted by reason, with examples", "[whatif]") {
  Rig rig;
  Record(rig);
  auto report = engine::WhatIf(*rig.log, rig.engine->config(), Draft(2, /*keep_callback=*/false),
                               Options(rig.dir));
  REQUIRE_OK(report);
  CHECK(report->draft.rejected == 1);
  CHECK(report->rejections["role \"hotline\" may not \"callback\" (allowed: centre)"] == 1);
  REQUIRE(report->examples.size() == 1);
  CHECK(report->examples[0] ==
        "H-1 callback at 2026-09-02T15:00:00+08:00: role \"hotline\" may not \"callback\" "
        "(allowed: centre)");
  CHECK(report->rejected_cases == std::vector<std::string>{"H-1"});
  CHECK(report->recorded.closed == 1);
  CHECK(report->draft.closed == 0);
}
