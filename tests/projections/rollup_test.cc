#include "projections/rollup.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace casegrid;
using projections::GroupFigures;
using projections::Grouping;
using projections::StatsReport;
using json = nlohmann::json;

namespace {

void AddUnit(casegrid::v1::Organisation* org, const std::string& code, casegrid::v1::UnitKind kind,
             const std::string& parent) {
  casegrid::v1::Unit* unit = org->add_units();
  unit->set_code(code);
  unit->set_name("unit " + code);
  unit->set_kind(kind);
  unit->set_parent(parent);
}

// District 100: centre 100; towns 100-001 (stations 100-001-001 and
// 100-001-002) and 100-002 (station 100-002-001); department 100-D01;
// mediation 100-M01.
workflows::Organisation SmallOrg() {
  casegrid::v1::Organisation org;
  org.set_district("100");
  org.set_name("test district");
  AddUnit(&org, "100", casegrid::v1::DISTRICT_CENTRE, "");
  AddUnit(&org, "100-001", casegrid::v1::TOWN_CENTRE, "100");
  AddUnit(&org, "100-001-001", casegrid::v1::VILLAGE_STATION, "100-001");
  AddUnit(&org, "100-001-002", casegrid::v1::VILLAGE_STATION, "100-001");
  AddUnit(&org, "100-002", casegrid::v1::TOWN_CENTRE, "100");
  AddUnit(&org, "100-002-001", casegrid::v1::VILLAGE_STATION, "100-002");
  AddUnit(&org, "100-D01", casegrid::v1::DEPARTMENT, "100");
  AddUnit(&org, "100-M01", casegrid::v1::MEDIATION, "100");
  auto built = workflows::Organisation::FromProto(std::move(org));
  REQUIRE_OK(built);
  return *built;
}

projections::Counters Closed(uint64_t closed, uint64_t rated = 0, uint64_t satisfied = 0) {
  projections::Counters c;
  c.closed = closed;
  c.rated = rated;
  c.satisfied = satisfied;
  return c;
}

projections::DeadlineCounters Judged(uint64_t met_on_time, uint64_t breached) {
  return {met_on_time + breached, met_on_time + breached, met_on_time, breached};
}

// Figures for every kind of unit, and for a unit of an earlier organisation.
StatsReport Report() {
  StatsReport r;
  r.by_unit["100"] = Closed(1);
  r.by_unit["100-001"] = Closed(2);
  r.by_unit["100-001-001"] = Closed(3, 2, 2);
  r.by_unit["100-001-002"] = Closed(4, 2, 1);
  r.by_unit["100-002-001"] = Closed(5);
  r.by_unit["100-D01"] = Closed(6);
  r.by_unit["100-OLD"] = Closed(7);
  r.by_owner["100"] = Judged(10, 0);
  r.by_owner["100-001-001"] = Judged(3, 1);
  r.by_owner["100-001-002"] = Judged(4, 0);
  r.by_owner["100-002-001"] = Judged(1, 1);
  r.by_owner["100-M01"] = Judged(2, 0);
  return r;
}

const GroupFigures& Find(const std::vector<GroupFigures>& groups, const std::string& code) {
  for (const GroupFigures& g : groups) {
    if (g.code == code) return g;
  }
  FAIL("no group " << code);
  return groups.front();
}

std::vector<std::string> Codes(const std::vector<GroupFigures>& groups) {
  std::vector<std::string> codes;
  for (const GroupFigures& g : groups) codes.push_back(g.code);
  return codes;
}

}  // namespace

TEST_CASE("a town's figures are its centre's and its stations', the district level after the towns",
          "[rollup][director]") {
  const workflows::Organisation org = SmallOrg();
  const auto groups = projections::RollUp(Report(), org, Grouping::kTown);
  // Every town, figures or not, then the district level, then the unknown unit.
  CHECK(Codes(groups) == std::vector<std::string>{"100-001", "100-002", "100", ""});
  const GroupFigures& t1 = Find(groups, "100-001");
  CHECK(t1.units == 3);
  CHECK(t1.level == "town");
  CHECK(t1.cases.closed == 2 + 3 + 4);
  CHECK(t1.cases.rated == 4);
  CHECK(t1.deadlines.met_on_time == 7);
  CHECK(t1.deadlines.breached == 1);
  CHECK(t1.DeadlineOnTimeRate() == 7.0 / 8.0);
  CHECK(Find(groups, "100-002").cases.closed == 5);
  const GroupFigures& district = Find(groups, "100");
  CHECK(district.units == 3);  // the centre, the department, the mediation organisation
  CHECK(district.cases.closed == 1 + 6);
  CHECK(district.deadlines.met_on_time == 12);
  CHECK_FALSE(district.assessed);
  const GroupFigures& other = groups.back();
  CHECK(other.units == 1);
  CHECK(other.cases.closed == 7);
  // The groups add up to the report's per-unit figures.
  uint64_t closed = 0;
  for (const GroupFigures& g : groups) closed += g.cases.closed;
  CHECK(closed == 28);
}

TEST_CASE("by unit lists the units with figures, by department the district's departments",
          "[rollup][director]") {
  const workflows::Organisation org = SmallOrg();
  const auto units = projections::RollUp(Report(), org, Grouping::kUnit);
  CHECK(Codes(units) == std::vector<std::string>{"100", "100-001", "100-001-001", "100-001-002",
                                                 "100-002-001", "100-D01", "100-M01", ""});
  CHECK(Find(units, "100-001").cases.closed == 2);  // the town centre's own
  CHECK(Find(units, "100-M01").deadlines.met_on_time == 2);
  const auto departments = projections::RollUp(Report(), org, Grouping::kDepartment);
  CHECK(Codes(departments) == std::vector<std::string>{"100-D01", "100-M01"});
  CHECK(Find(departments, "100-D01").cases.closed == 6);
  CHECK(projections::GroupCodeOf(org, "100-001-002", Grouping::kTown) == "100-001");
  CHECK(projections::GroupCodeOf(org, "100-D01", Grouping::kTown) == "100");
  CHECK(projections::GroupCodeOf(org, "100-001", Grouping::kDepartment).empty());
  CHECK(projections::GroupCodeOf(org, "100-OLD", Grouping::kTown).empty());
}

TEST_CASE("the scorecard ranks by deadlines met on time, then satisfaction, and ties share a rank",
          "[rollup][director]") {
  const workflows::Organisation org = SmallOrg();
  StatsReport r;
  r.by_owner["100-001-001"] = Judged(9, 1);  // 90%
  r.by_owner["100-001-002"] = Judged(9, 1);  // 90%, better satisfaction
  r.by_unit["100-001-002"] = Closed(3, 2, 2);
  r.by_unit["100-001-001"] = Closed(3, 2, 1);
  r.by_owner["100-002-001"] = Judged(1, 0);  // 100%
  r.by_owner["100-D01"] = Judged(18, 2);     // 90%, as 100-001-001
  r.by_unit["100-D01"] = Closed(3, 2, 1);
  r.by_unit["100-M01"] = Closed(4);  // closed cases but no deadline judged: unranked
  const auto lines = projections::Scorecard(projections::RollUp(r, org, Grouping::kUnit));
  std::vector<std::pair<std::string, int>> ranks;
  for (const auto& line : lines) ranks.emplace_back(line.group.code, line.rank);
  CHECK(ranks == std::vector<std::pair<std::string, int>>{{"100-002-001", 1},
                                                          {"100-001-002", 2},
                                                          {"100-001-001", 3},
                                                          {"100-D01", 3},
                                                          {"100-M01", 0}});
  // By town the district level is shown, not ranked among the towns.
  const auto towns = projections::Scorecard(projections::RollUp(r, org, Grouping::kTown));
  REQUIRE(towns.size() == 3);
  CHECK(towns[0].group.code == "100-002");
  CHECK(towns[0].rank == 1);
  CHECK(towns[1].group.code == "100-001");
  CHECK(towns[1].rank == 2);
  CHECK(towns[2].group.code == "100");
  CHECK(towns[2].rank == 0);
  const json doc = json::parse(
      projections::FormatScorecard(StatsReport{}, Grouping::kTown, towns, /*json=*/true));
  CHECK(doc["by"] == "town");
  CHECK(doc["lines"][0]["rank"] == 1);
  CHECK(doc["lines"][0]["deadlines_judged"] == 1);
  CHECK(doc["lines"][1]["on_time_rate"] == 0.9);
  CHECK(doc["lines"][2]["rank"].is_null());
}

TEST_CASE("overdue by town puts each deadline under the town of the unit it binds",
          "[rollup][director]") {
  const workflows::Organisation org = SmallOrg();
  std::vector<projections::OverdueEntry> entries(4);
  entries[0].case_id = "A";
  entries[0].owner_unit = "100-001-002";
  entries[0].unit = "100-001";  // escalated to the town: still the station's breach
  entries[1].case_id = "B";
  entries[1].unit = "100-D01";  // binds no unit: the case's
  entries[2].case_id = "C";
  entries[2].owner_unit = "100-OLD";
  entries[3].case_id = "D";
  entries[3].owner_unit = "100-001-001";
  entries[3].warning = true;
  const json doc = json::parse(projections::FormatOverdueByTown(0, entries, org, /*json=*/true));
  const json& towns = doc["towns"];
  REQUIRE(towns.size() == 4);
  CHECK(towns[0]["code"] == "100-001");
  CHECK(towns[0]["past_due"] == 1);
  CHECK(towns[0]["warned"] == 1);
  CHECK(towns[0]["overdue"][0]["case_id"] == "A");
  CHECK(towns[1]["code"] == "100-002");
  CHECK(towns[1]["overdue"].empty());
  CHECK(towns[2]["code"] == "100");
  CHECK(towns[2]["overdue"][0]["case_id"] == "B");
  CHECK(towns[3]["code"] == "");
  CHECK(towns[3]["overdue"][0]["case_id"] == "C");
  const std::string text = projections::FormatOverdueByTown(0, entries, org, /*json=*/false);
  CHECK(text.find("100-001  unit 100-001: 1 open deadline past due, 1 warned, not yet due\n") !=
        std::string::npos);
  CHECK(text.find("100-002  unit 100-002: 0 open deadlines past due\n") != std::string::npos);
}
