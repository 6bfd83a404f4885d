// Co-handling (主办/协办) and joint consultation (会商), petition-125 v6: the
// lead (the case's unit) asks other units to support it, each with its own
// task and deadline (support@UNIT, owned by the supporting unit), answered
// to the lead; a consultation names its units. Dates worked by hand from
// the 2026 calendar (November 2026 has no holiday).
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

constexpr const char* kDepartment = "371302-D02";

std::string Support(const std::string& unit, const std::string& task = "check the contract") {
  return R"({"unit":")" + unit + R"(","task":")" + task + "\"}";
}

// A case taken in on Tuesday 3 November 2026 and dispatched to the town.
void LedByTown(DeciderHarness& h) {
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-11-03T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-11-03T10:00:00+08:00",
                      R"({"unit":")" + std::string(kTown) + "\"}")));
}

}  // namespace

TEST_CASE("the lead asks a unit to support it: a task with the supporting unit's own deadline",
          "[decider][cohandling]") {
  DeciderHarness h;
  LedByTown(h);
  auto events = h.Do(Cmd("LS-1", "request_support", UnitActor(kTown), "2026-11-03T14:00:00+08:00",
                         Support(kDepartment)));
  REQUIRE_OK(events);
  const auto* asked = FindPayload(*events, "support_requested");
  REQUIRE(asked != nullptr);
  CHECK(asked->support_requested().unit() == kDepartment);
  CHECK(asked->support_requested().level() == "district");
  CHECK(asked->support_requested().lead_unit() == kTown);
  CHECK(asked->support_requested().task() == "check the contract");
  // Three working days after Tuesday 3 November: the end of Friday 6
  // November, warned at the end of Thursday 5 November; bound to the
  // department, not to the town that leads.
  const auto* d = h.Open(std::string("support@") + kDepartment);
  REQUIRE(d != nullptr);
  CHECK(d->due_micros() == At("2026-11-06T23:59:59.999999+08:00"));
  CHECK(d->warn_micros() == At("2026-11-05T23:59:59.999999+08:00"));
  CHECK(d->owner_unit() == kDepartment);
  CHECK(h.state().unit() == kTown);  // the lead still holds the case
  REQUIRE(h.state().supports_size() == 1);
  CHECK(h.state().supports(0).unit() == kDepartment);

  SECTION("asked twice while its task is open, or the lead itself: refused") {
    CHECK_THAT(Rejection(h, Cmd("LS-1", "request_support", UnitActor(kTown),
                                "2026-11-03T15:00:00+08:00", Support(kDepartment))),
               Catch::Contains("supports the case already"));
    CHECK_THAT(Rejection(h, Cmd("LS-1", "request_support", UnitActor(kTown),
                                "2026-11-03T15:00:00+08:00", Support(kTown))),
               Catch::Contains("leads the case"));
    CHECK_THAT(Rejection(h, Cmd("LS-1", "request_support", UnitActor(kTown),
                                "2026-11-03T15:00:00+08:00", Support("371302-999"))),
               Catch::Contains("data.unit: unknown unit"));
  }
  SECTION("only an asked unit answers, and its answer meets its deadline") {
    CHECK_THAT(Rejection(h, Cmd("LS-1", "support_answer", UnitActor(kStation),
                                "2026-11-05T10:00:00+08:00", R"({"answer":"x"})")),
               Catch::Contains("has no support task to answer"));
    auto answered = h.Do(Cmd("LS-1", "support_answer", UnitActor(kDepartment),
                             "2026-11-05T10:00:00+08:00", R"({"answer":"the contract is void"})"));
    REQUIRE_OK(answered);
    const auto* met = FindPayload(*answered, "deadline_met");
    REQUIRE(met != nullptr);
    CHECK(met->deadline_met().name() == std::string("support@") + kDepartment);
    CHECK_FALSE(met->deadline_met().late());
    CHECK(h.state().supports(0).answered_micros() == At("2026-11-05T10:00:00+08:00"));
    CHECK(h.Open(std::string("support@") + kDepartment) == nullptr);
    // Answered, it may be asked again: a new task.
    REQUIRE_OK(h.Do(Cmd("LS-1", "request_support", UnitActor(kTown), "2026-11-05T11:00:00+08:00",
                        Support(kDepartment, "and the wages owed"))));
    CHECK(h.state().supports_size() == 2);
  }
  SECTION("a supporting unit's breach is charged to it and escalates nothing") {
    REQUIRE_OK(h.Do(Cmd("LS-1", "request_support", UnitActor(kTown), "2026-11-09T09:00:00+08:00",
                        Support(kStation, "visit the employer"))));
    // Monday 9 November, three working days: the end of Thursday 12 November.
    const std::string name = std::string("support@") + kStation;
    CHECK(h.Due(name) == At("2026-11-12T23:59:59.999999+08:00"));
    auto breached = h.Breach(name);
    REQUIRE_OK(breached);
    const auto* b = FindPayload(*breached, "deadline_breached");
    REQUIRE(b != nullptr);
    CHECK(b->deadline_breached().owner_unit() == kStation);
    CHECK(FindPayload(*breached, "escalated") == nullptr);
    CHECK(h.state().unit() == kTown);
  }
  SECTION("closing the case withdraws the open support tasks' deadlines") {
    REQUIRE_OK(h.Do(Cmd("LS-1", "contact", UnitActor(kTown), "2026-11-04T10:00:00+08:00")));
    REQUIRE_OK(h.Do(Cmd("LS-1", "respond", UnitActor(kTown), "2026-11-04T11:00:00+08:00",
                        R"({"answer":"paid"})")));
    auto closed = h.Do(Cmd("LS-1", "close", kCentre, "2026-11-04T12:00:00+08:00"));
    REQUIRE_OK(closed);
    CHECK(Count(*closed, "deadline_cancelled") >= 1);
    CHECK(h.Open(std::string("support@") + kDepartment) == nullptr);
  }
}

TEST_CASE("a joint consultation names two units or more", "[decider][cohandling]") {
  DeciderHarness h;
  LedByTown(h);
  auto events = h.Do(
      Cmd("LS-1", "consult", UnitActor(kTown), "2026-11-04T09:00:00+08:00",
          R"({"units":"371302-001, 371302-D02,371302-001","conclusion":"the town pays first"})"));
  REQUIRE_OK(events);
  const auto* c = FindPayload(*events, "consulted");
  REQUIRE(c != nullptr);
  CHECK(c->consulted().units_size() == 2);  // named twice, counted once
  CHECK(c->consulted().conclusion() == "the town pays first");
  CHECK_THAT(Rejection(h, Cmd("LS-1", "consult", UnitActor(kTown), "2026-11-04T10:00:00+08:00",
                              R"({"units":"371302-001","conclusion":"c"})")),
             Catch::Contains("two units or more"));
  CHECK_THAT(Rejection(h, Cmd("LS-1", "consult", UnitActor(kTown), "2026-11-04T10:00:00+08:00",
                              R"({"units":"371302-001,nowhere","conclusion":"c"})")),
             Catch::Contains("data.units: unknown unit \"nowhere\""));
  // Only the lead (or the centre) calls it.
  CHECK_THAT(
      Rejection(h, Cmd("LS-1", "consult", UnitActor(kDepartment), "2026-11-04T10:00:00+08:00",
                       R"({"units":"371302-001,371302-D02","conclusion":"c"})")),
      Catch::Contains("is not the case's responsible unit"));
}
