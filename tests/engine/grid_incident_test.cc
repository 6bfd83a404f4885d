// The shipped grid-incident definition, run through the decider: resolved on
// the spot with a photo reference, or reported up village -> town -> district,
// each level with its own working-hour limit.
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

const char* kInspector = "g01:grid_inspector:371302-001-001";

std::string ReportData() {
  return std::string("{\"category\":\"blocked-drain\",\"grid\":\"") + kGrid +
         "\",\"summary\":\"Drain blocked by construction waste\"}";
}

void Reported(DeciderHarness& h) {
  REQUIRE_OK(h.Do(Cmd("G-1", "report", kInspector, "2026-09-01T09:00:00+08:00", ReportData())));
}

std::string RuleOf(const std::vector<casegrid::v1::Event>& events) {
  const auto* set = FindPayload(events, "deadline_set");
  return set == nullptr ? "" : set->deadline_set().rule();
}

}  // namespace

TEST_CASE("grid: resolved on the spot, closed at the village with the photo reference", "[grid]") {
  DeciderHarness h("grid-incident");
  Reported(h);
  CHECK(h.state().channel() == "grid_inspector");
  CHECK(h.Due("report_up") == At("2026-09-01T10:00:00+08:00"));
  auto missing = h.Do(Cmd("G-1", "resolve_on_spot", kInspector, "2026-09-01T09:20:00+08:00",
                          R"({"note":"cleared"})"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "data.evidence: required by action \"resolve_on_spot\"");
  auto events = h.Do(Cmd("G-1", "resolve_on_spot", kInspector, "2026-09-01T09:30:00+08:00",
                         R"({"evidence":"photo/2026/09/01/g01-0042.jpg","note":"cleared"})"));
  REQUIRE_OK(events);
  const auto* closed = FindPayload(*events, "case_closed");
  REQUIRE(closed != nullptr);
  CHECK(closed->case_closed().evidence() == "photo/2026/09/01/g01-0042.jpg");
  CHECK(closed->case_closed().note() == "cleared");
  CHECK(closed->case_closed().unit() == kStation);
  CHECK(closed->case_closed().level() == "village");
  CHECK(h.state().state() == "closed");
  CHECK(h.state().deadlines_size() == 0);
}

TEST_CASE("grid: each level that misses its working-hour limit hands the case one level up",
          "[grid]") {
  DeciderHarness h("grid-incident");
  Reported(h);
  auto up = h.Do(Cmd("G-1", "report_up", kInspector, "2026-09-01T09:30:00+08:00",
                     R"({"note":"needs a truck"})"));
  REQUIRE_OK(up);
  CHECK(h.state().state() == "with_unit");
  CHECK(h.state().unit() == kStation);
  // Village: 4 working hours from 09:30 = 12:00 (2.5 h) + 13:30-15:00.
  CHECK(h.Due("resolve") == At("2026-09-01T15:00:00+08:00"));
  CHECK(RuleOf(*up) ==
        "deadline resolve: 4 working hours after the report_up time (the village level's limit)");

  auto village = h.Breach("resolve");
  REQUIRE_OK(village);
  REQUIRE(FindPayload(*village, "escalated") != nullptr);
  CHECK(h.state().unit() == kTown);
  // Town: 8 working hours from 15:00 = 17:30 (2.5 h) + next day 08:30-12:00 and 13:30-15:30.
  CHECK(h.Due("resolve") == At("2026-09-02T15:30:00+08:00"));
  CHECK(RuleOf(*village) ==
        "deadline resolve: 8 working hours after the breach time (the town level's limit)");

  REQUIRE_OK(h.Breach("resolve"));
  CHECK(h.state().unit() == kDistrict);
  // District: 16 working hours from Wednesday 15:30: 2 h that day, 7.5 h on
  // Thursday, then Friday 08:30-12:00 and 13:30-16:30.
  CHECK(h.Due("resolve") == At("2026-09-04T16:30:00+08:00"));

  auto district = h.Breach("resolve");
  REQUIRE_OK(district);
  CHECK(FindPayload(*district, "escalated") == nullptr);  // nothing above the district: recorded
  CHECK(h.state().unit() == kDistrict);
  REQUIRE_OK(h.Do(Cmd("G-1", "resolve", UnitActor(kDistrict), "2026-09-07T10:00:00+08:00",
                      R"({"note":"drain rebuilt"})")));
  CHECK(h.state().state() == "closed");
}

TEST_CASE("grid: a village that escalates early gives the town its own limit", "[grid]") {
  DeciderHarness h("grid-incident");
  Reported(h);
  REQUIRE_OK(h.Do(Cmd("G-1", "report_up", kInspector, "2026-09-01T09:30:00+08:00",
                      R"({"note":"needs a truck"})")));
  REQUIRE_OK(h.Do(Cmd("G-1", "escalate", UnitActor(kStation), "2026-09-01T10:00:00+08:00",
                      R"({"reason":"no truck in the village"})")));
  CHECK(h.state().unit() == kTown);
  // 8 working hours from 10:00: 12:00 (2 h), 13:30-17:30 (4 h), next day 08:30-10:30.
  CHECK(h.Due("resolve") == At("2026-09-02T10:30:00+08:00"));
  auto closed = h.Do(Cmd("G-1", "resolve", UnitActor(kTown), "2026-09-02T09:00:00+08:00",
                         R"({"note":"cleared by the town's crew"})"));
  REQUIRE_OK(closed);
  CHECK(FindPayload(*closed, "case_closed")->case_closed().level() == "town");
  CHECK(FindPayload(*closed, "case_closed")->case_closed().on_time());
}
