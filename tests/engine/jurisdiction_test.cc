// Who acts where (docs/security.md, docs/workflows.md): a town sub-centre on
// its own town's cases, a grid inspector in the cells of its unit. Decider
// rules: they hold whether or not the directory's checks are on.
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

constexpr const char* kOtherTown = "371302-002";
constexpr const char* kOtherGrid = "371302-002-001-01";

std::string ReportData(const std::string& grid) {
  return "{\"category\":\"blocked-drain\",\"grid\":\"" + grid + "\",\"summary\":\"s\"}";
}

}  // namespace

TEST_CASE("a town sub-centre acts on its own town's cases only", "[decider][jurisdiction]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())));
  const std::string other = std::string("c02:centre:") + kOtherTown;
  auto refused = h.Do(Cmd("LS-1", "dispatch", other, "2026-09-01T10:00:00+08:00"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "role \"centre\" for town \"371302-002\" acts only on its town's cases; case \"LS-1\" was "
        "reported at \"371302-001-001\" and is with \"\"");
  // Its own town's centre, and the district's, may.
  REQUIRE_OK(h.Do(
      Cmd("LS-1", "dispatch", std::string("c01:centre:") + kTown, "2026-09-01T10:00:00+08:00")));
}

TEST_CASE("a case dispatched into another town is that town's too", "[decider][jurisdiction]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00",
                      "{\"unit\":\"371302-002-001\"}")));
  // Its unit is in town 002: that town's centre may urge it.
  auto urged = h.Do(Cmd("LS-1", "urge", std::string("c02:centre:") + kOtherTown,
                        "2026-09-01T11:00:00+08:00", R"({"note":"call the petitioner"})"));
  INFO(urged.status().ToString());
  CHECK(urged.ok());
}

TEST_CASE("a grid inspector reports in the cells of its own unit", "[decider][jurisdiction]") {
  DeciderHarness h("grid-incident");
  const std::string inspector = std::string("g01:grid_inspector:") + kStation;
  auto refused =
      h.Do(Cmd("G-1", "report", inspector, "2026-09-01T09:00:00+08:00", ReportData(kOtherGrid)));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "grid \"371302-002-001-01\" is not among the cells of unit \"371302-001-001\", which grid "
        "inspector \"g01\" reports for");
  auto nounit = h.Do(
      Cmd("G-2", "report", "g01:grid_inspector:", "2026-09-01T09:00:00+08:00", ReportData(kGrid)));
  REQUIRE_FALSE(nounit.ok());
  CHECK_THAT(nounit.status().message(), Catch::Contains("an inspector with no unit"));
  // Its own station's cell; a town-wide and a district-wide inspector's.
  REQUIRE_OK(h.Do(Cmd("G-3", "report", inspector, "2026-09-01T09:00:00+08:00", ReportData(kGrid))));
  DeciderHarness town("grid-incident");
  REQUIRE_OK(town.Do(Cmd("G-4", "report", std::string("g02:grid_inspector:") + kTown,
                         "2026-09-01T09:00:00+08:00", ReportData(kGrid))));
  DeciderHarness district("grid-incident");
  REQUIRE_OK(district.Do(Cmd("G-5", "report", std::string("g03:grid_inspector:") + kDistrict,
                             "2026-09-01T09:00:00+08:00", ReportData(kOtherGrid))));
}
