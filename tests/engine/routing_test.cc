// The responsibility list (责任清单) and the hand-down to the village: where
// a dispatch naming no unit sends a case (engine::RouteOf), and a town
// handing a small matter to one of its stations with its own deadline.
// Dates worked by hand from the 2026 calendar (cn-2026.yaml).
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

std::string IntakeOf(const std::string& category, const std::string& grid = kGrid) {
  std::string data = IntakeData(false, grid);
  data.replace(data.find("village-affairs"), 15, category);
  return data;
}

// A case of `category` taken in and dispatched with no unit named; the
// dispatch's payload.
casegrid::v1::CaseDispatched DispatchOf(DeciderHarness& h, const std::string& category) {
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-10-16T10:00:00+08:00", IntakeOf(category))));
  auto events = h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-10-16T11:00:00+08:00"));
  REQUIRE_OK(events);
  const auto* e = FindPayload(*events, "case_dispatched");
  REQUIRE(e != nullptr);
  return e->case_dispatched();
}

}  // namespace

TEST_CASE("a dispatch naming no unit goes where the responsibility list says",
          "[decider][routing]") {
  SECTION("a department's duty goes to its window") {
    DeciderHarness h;
    const auto d = DispatchOf(h, "labour-dispute");
    CHECK(d.unit() == "371302-D02");
    CHECK(d.level() == "district");
    CHECK(d.routed_by() == "list");
  }
  SECTION("a matter devolved to the towns goes to the town of the grid cell") {
    DeciderHarness h;
    const auto d = DispatchOf(h, "business-registration");
    CHECK(d.unit() == kTown);
    CHECK(d.level() == "town");
    CHECK(d.routed_by() == "list");
  }
  SECTION("a village matter goes to the grid cell's station") {
    DeciderHarness h;
    const auto d = DispatchOf(h, "village-affairs");
    CHECK(d.unit() == kStation);
    CHECK(d.routed_by() == "list");
  }
  SECTION("a category the list lacks goes to the grid cell's station") {
    DeciderHarness h;
    const auto d = DispatchOf(h, "noise");
    CHECK(d.unit() == kStation);
    CHECK(d.routed_by() == "grid");
  }
  SECTION("a unit named by the centre wins over the list") {
    DeciderHarness h;
    REQUIRE_OK(h.Do(
        Cmd("LS-1", "intake", kWindow, "2026-10-16T10:00:00+08:00", IntakeOf("labour-dispute"))));
    auto events = h.Do(
        Cmd("LS-1", "dispatch", kCentre, "2026-10-16T11:00:00+08:00", R"({"unit":"371302-M07"})"));
    REQUIRE_OK(events);
    CHECK(FindPayload(*events, "case_dispatched")->case_dispatched().routed_by() == "named");
    CHECK(h.state().unit() == "371302-M07");
  }
  SECTION("a definition that does not follow the list sends it to the station, as before") {
    DeciderHarness h("petition-125", 3);
    const auto d = DispatchOf(h, "labour-dispute");
    CHECK(d.unit() == kStation);
    CHECK(d.routed_by() == "grid");
  }
}

TEST_CASE(
    "a definition's routing rule comes before the list, and RouteOf names a rule it cannot follow",
    "[decider][routing]") {
  auto proto = (*ShippedConfig().workflows->Latest("petition-125"))->proto();
  auto* rule = proto.add_routing();
  rule->set_category("labour-dispute");
  rule->set_unit("371302-M07");
  auto def = workflows::Definition::FromProto(proto, "routing");
  REQUIRE_OK(def);
  const auto& org = *ShippedConfig().org;
  casegrid::v1::CaseState s;
  s.set_category("labour-dispute");
  s.set_grid(kGrid);
  s.set_station(kStation);
  auto route = engine::RouteOf(s, def->get(), org);
  REQUIRE_OK(route);
  CHECK(route->unit == "371302-M07");
  CHECK(route->routed_by == "category");
  CHECK(route->matter.category().empty());
  // Without a definition: the list alone, with the matter it used.
  route = engine::RouteOf(s, nullptr, org);
  REQUIRE_OK(route);
  CHECK(route->unit == "371302-D02");
  CHECK(route->matter.title() == "劳动争议");
  // A town matter in a grid cell the organisation does not know.
  s.set_category("business-registration");
  s.set_grid("371302-099-001-01");
  auto lost = engine::RouteOf(s, nullptr, org);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.status().message() ==
        "routing: the responsibility list sends category \"business-registration\" to the town "
        "centre of grid cell \"371302-099-001-01\", which the organisation does not know");
}

TEST_CASE("a town hands a case down to its station, which signs for it the same working day",
          "[decider][hand_down]") {
  // Friday 16 October 2026: a neighbours' quarrel goes to the town of the
  // grid cell, which hands it to the cell's station at 16:00.
  DeciderHarness h;
  const auto d = DispatchOf(h, "neighbour-dispute");
  REQUIRE(d.unit() == kTown);
  const int64_t contact_due = h.Due("contact");
  CHECK(contact_due == At("2026-10-19T23:59:59.999999+08:00"));  // Monday: the next working day
  auto events = h.Do(Cmd("LS-1", "hand_down", UnitActor(kTown), "2026-10-16T16:00:00+08:00",
                         std::string(R"({"unit":")") + kStation + R"(","note":"a small matter"})"));
  REQUIRE_OK(events);
  const auto* e = FindPayload(*events, "case_dispatched");
  REQUIRE(e != nullptr);
  CHECK(e->case_dispatched().routed_by() == "handed_down");
  CHECK(e->case_dispatched().from_unit() == kTown);
  CHECK(e->case_dispatched().level() == "village");
  CHECK(e->case_dispatched().from_level() == "town");
  CHECK(h.state().unit() == kStation);
  CHECK(h.state().state() == "dispatched");
  // Its own deadline: signed for by the end of the day it was handed down.
  CHECK(h.Due("sign_for") == At("2026-10-16T23:59:59.999999+08:00"));
  // The citizen's promise does not move.
  CHECK(h.Due("contact") == contact_due);
  // The town holds the case no longer; the station signs for it.
  CHECK(Contains(
      Rejection(h, Cmd("LS-1", "acknowledge", UnitActor(kTown), "2026-10-16T16:30:00+08:00")),
      "371302-001-001"));
  events = h.Do(Cmd("LS-1", "acknowledge", UnitActor(kStation), "2026-10-16T17:00:00+08:00"));
  REQUIRE_OK(events);
  CHECK(Count(*events, "deadline_met") == 1);
  CHECK(h.Open("sign_for") == nullptr);
}

TEST_CASE("a case handed down on a Saturday is signed for by the end of Monday",
          "[decider][hand_down]") {
  DeciderHarness h;
  DispatchOf(h, "neighbour-dispute");
  REQUIRE_OK(h.Do(Cmd("LS-1", "hand_down", UnitActor(kTown), "2026-10-17T10:00:00+08:00",
                      std::string(R"({"unit":")") + kStation + R"("})")));
  CHECK(h.Due("sign_for") == At("2026-10-19T23:59:59.999999+08:00"));
  // Not signed for: recorded against the station, the case stays with it.
  auto breach = h.Breach("sign_for");
  REQUIRE_OK(breach);
  CHECK(Count(*breach, "deadline_breached") == 1);
  CHECK(Count(*breach, "escalated") == 0);
  CHECK(h.state().unit() == kStation);
}

TEST_CASE("a case is handed down only to a unit under the one holding it", "[decider][hand_down]") {
  DeciderHarness h;
  DispatchOf(h, "neighbour-dispute");
  const char* at = "2026-10-16T16:00:00+08:00";
  // Another town's station.
  CHECK(Rejection(h,
                  Cmd("LS-1", "hand_down", UnitActor(kTown), at, R"({"unit":"371302-002-001"})")) ==
        "data.unit: \"371302-002-001\" is not under \"371302-001\", which holds the case: a unit "
        "hands a case down to a unit under it (a town centre to one of its village stations)");
  // Itself, and a unit that does not exist.
  CHECK(Contains(Rejection(h, Cmd("LS-1", "hand_down", UnitActor(kTown), at,
                                  std::string(R"({"unit":")") + kTown + R"("})")),
                 "is not under"));
  CHECK(Contains(
      Rejection(h, Cmd("LS-1", "hand_down", UnitActor(kTown), at, R"({"unit":"371302-001-999"})")),
      "unknown unit \"371302-001-999\""));
  // Without a unit.
  CHECK(Contains(Rejection(h, Cmd("LS-1", "hand_down", UnitActor(kTown), at)), "unit"));
  // Only the unit holding the case hands it down.
  CHECK_FALSE(
      h.Do(Cmd("LS-1", "hand_down", UnitActor("371302-002"), at, R"({"unit":"371302-002-001"})"))
          .ok());
  // A station has no unit under it.
  REQUIRE_OK(h.Do(Cmd("LS-1", "hand_down", UnitActor(kTown), at,
                      std::string(R"({"unit":")") + kStation + R"("})")));
  CHECK(Contains(Rejection(h, Cmd("LS-1", "hand_down", UnitActor(kStation), at,
                                  R"({"unit":"371302-001-002"})")),
                 "is not under \"371302-001-001\""));
}
