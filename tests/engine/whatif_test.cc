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

TEST_CASE("what-if: the figures do not depend on how many shards run the draft", "[whatif]") {
  Rig rig;
  // 60 hotline orders over three days: some signed late (urged), some
  // answered and called back (which the draft refuses), some left open.
  const std::string unit = UnitActor(kStation);
  std::vector<casegrid::v1::Command> history;
  for (int n = 0; n < 60; ++n) {
    const std::string id = "H-" + std::to_string(100 + n);
    const std::string day = "2026-09-0" + std::to_string(1 + n % 3);
    auto at = [&](const char* time) { return day + "T" + time + "+08:00"; };
    const std::string intake = at("09:00:00"), dispatch = at("09:30:00"),
                      sign = at(n % 4 == 0 ? "14:30:00" : "10:00:00"), answer = at("16:00:00"),
                      callback = at("17:00:00");
    history.push_back(HotlineIntake(id, intake.c_str()));
    history.push_back(Cmd(id, "dispatch", kCentre, dispatch.c_str()));
    history.push_back(Cmd(id, "sign", unit, sign.c_str()));
    if (n % 5 == 4) continue;
    history.push_back(Cmd(id, "answer", unit, answer.c_str(), R"({"answer":"a"})"));
    if (n % 3 == 0) continue;
    history.push_back(Cmd(id, "callback", "h01:hotline:371302", callback.c_str(),
                          R"({"satisfied":true,"score":4})"));
  }
  std::stable_sort(history.begin(), history.end(),
                   [](const auto& a, const auto& b) { return a.at_micros() < b.at_micros(); });
  for (const auto& a : rig.Apply(history)) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);

  auto run = [&](int threads) {
    auto options = Options(rig.dir);
    options.threads = threads;
    auto report = engine::WhatIf(*rig.log, rig.engine->config(), Draft(3, false), options);
    REQUIRE_OK(report);
    return std::move(report).value();
  };
  const engine::WhatIfReport one = run(1);
  CHECK(one.draft.rejected > 10);
  CHECK(one.recorded.breaches > 0);
  for (int threads : {2, 5}) {
    INFO(threads << " shards");
    const engine::WhatIfReport many = run(threads);
    for (const auto& [a, b] :
         {std::pair{&one.recorded, &many.recorded}, std::pair{&one.draft, &many.draft}}) {
      CHECK(a->cases == b->cases);
      CHECK(a->commands == b->commands);
      CHECK(a->rejected == b->rejected);
      CHECK(a->breaches == b->breaches);
      CHECK(a->escalations == b->escalations);
      CHECK(a->closed == b->closed);
      CHECK(a->breaches_by_deadline == b->breaches_by_deadline);
      CHECK(a->peak_backlog == b->peak_backlog);
    }
    CHECK(one.rejections == many.rejections);
    CHECK(one.examples == many.examples);
    CHECK(one.rejected_cases == many.rejected_cases);
  }
}
