#include "workflows/org.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <unordered_map>

#include "tests/test_util.h"

using casegrid::v1::UnitKind;
using casegrid::workflows::Organisation;

namespace {

const char kShippedOrg[] = "workflows/org/reference-district.yaml";

Organisation LoadShipped() {
  auto org = Organisation::Load(casegrid::test::SourcePath(kShippedOrg));
  REQUIRE_OK(org);
  return std::move(org).value();
}

void AddUnit(casegrid::v1::Organisation* org, const std::string& code, UnitKind kind,
             const std::string& parent) {
  casegrid::v1::Unit* unit = org->add_units();
  unit->set_code(code);
  unit->set_name("unit " + code);
  unit->set_kind(kind);
  unit->set_parent(parent);
}

void AddGrid(casegrid::v1::Organisation* org, const std::string& code, const std::string& station) {
  casegrid::v1::GridCell* grid = org->add_grids();
  grid->set_code(code);
  grid->set_station(station);
}

// district 100: centre 100, town 100-001, station 100-001-001 with one grid,
// department 100-D01, mediation 100-M01.
casegrid::v1::Organisation SmallOrg() {
  casegrid::v1::Organisation org;
  org.set_district("100");
  org.set_name("test district");
  AddUnit(&org, "100", casegrid::v1::DISTRICT_CENTRE, "");
  AddUnit(&org, "100-001", casegrid::v1::TOWN_CENTRE, "100");
  AddUnit(&org, "100-001-001", casegrid::v1::VILLAGE_STATION, "100-001");
  AddUnit(&org, "100-D01", casegrid::v1::DEPARTMENT, "100");
  AddUnit(&org, "100-M01", casegrid::v1::MEDIATION, "100");
  AddGrid(&org, "100-001-001-01", "100-001-001");
  return org;
}

// FromProto must fail with InvalidArgument and a message containing `needle`.
void RequireRejected(casegrid::v1::Organisation org, const std::string& needle) {
  auto result = Organisation::FromProto(std::move(org));
  REQUIRE_FALSE(result.ok());
  INFO(result.status().ToString());
  REQUIRE(result.status().IsInvalidArgument());
  REQUIRE(result.status().message().find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("the shipped organisation has 1 district centre, 12 towns, 343 stations, 14 mediation",
          "[org]") {
  const Organisation org = LoadShipped();
  CHECK(org.CountOfKind(casegrid::v1::DISTRICT_CENTRE) == 1);
  CHECK(org.CountOfKind(casegrid::v1::TOWN_CENTRE) == 12);
  CHECK(org.CountOfKind(casegrid::v1::VILLAGE_STATION) == 343);
  CHECK(org.CountOfKind(casegrid::v1::DEPARTMENT) == 12);
  CHECK(org.CountOfKind(casegrid::v1::MEDIATION) == 14);
  CHECK(org.proto().district() == "371302");
  CHECK(org.district_centre().code() == "371302");
}

TEST_CASE("the shipped organisation has 2532 grid cells", "[org]") {
  const Organisation org = LoadShipped();
  REQUIRE(org.proto().grids_size() == 2532);
}

TEST_CASE("every shipped grid lies in a village station whose parent is a town centre", "[org]") {
  const Organisation org = LoadShipped();
  for (const auto& grid : org.proto().grids()) {
    INFO(grid.code());
    const casegrid::v1::Unit* station = org.FindUnit(grid.station());
    REQUIRE(station != nullptr);
    REQUIRE(station->kind() == casegrid::v1::VILLAGE_STATION);
    const casegrid::v1::Unit* town = org.FindUnit(station->parent());
    REQUIRE(town != nullptr);
    REQUIRE(town->kind() == casegrid::v1::TOWN_CENTRE);
  }
}

TEST_CASE("every shipped village station has at least one grid cell", "[org]") {
  const Organisation org = LoadShipped();
  std::unordered_map<std::string, int> grids_per_station;
  for (const auto& grid : org.proto().grids()) ++grids_per_station[grid.station()];
  for (const auto& unit : org.proto().units()) {
    if (unit.kind() != casegrid::v1::VILLAGE_STATION) continue;
    INFO(unit.code());
    REQUIRE(grids_per_station[unit.code()] >= 1);
  }
}

TEST_CASE("a grid code like 371302-001-001-01 resolves to its station and town", "[org]") {
  const Organisation org = LoadShipped();
  const casegrid::v1::GridCell* grid = org.FindGrid("371302-001-001-01");
  REQUIRE(grid != nullptr);
  CHECK(grid->station() == "371302-001-001");
  const casegrid::v1::Unit* town = org.TownOf(*grid);
  REQUIRE(town != nullptr);
  CHECK(town->code() == "371302-001");
  CHECK(org.FindGrid("371302-001-001-00") == nullptr);
  CHECK(org.FindUnit("371302-999") == nullptr);
}

TEST_CASE("escalation goes village -> town -> district -> none", "[org]") {
  const Organisation org = LoadShipped();
  const casegrid::v1::Unit* station = org.FindUnit("371302-005-003");
  REQUIRE(station != nullptr);
  CHECK(org.LevelOf(*station) == "village");
  const casegrid::v1::Unit* town = org.EscalationTarget(*station);
  REQUIRE(town != nullptr);
  CHECK(town->code() == "371302-005");
  CHECK(org.LevelOf(*town) == "town");
  const casegrid::v1::Unit* district = org.EscalationTarget(*town);
  REQUIRE(district != nullptr);
  CHECK(district == &org.district_centre());
  CHECK(org.LevelOf(*district) == "district");
  CHECK(org.EscalationTarget(*district) == nullptr);
}

TEST_CASE("departments and mediation organisations are district level and escalate to the centre",
          "[org]") {
  const Organisation org = LoadShipped();
  for (const char* code : {"371302-D01", "371302-M14"}) {
    INFO(code);
    const casegrid::v1::Unit* unit = org.FindUnit(code);
    REQUIRE(unit != nullptr);
    CHECK(org.LevelOf(*unit) == "district");
    CHECK(org.EscalationTarget(*unit) == &org.district_centre());
    CHECK(org.SupervisingCentre(*unit) == &org.district_centre());
  }
}

TEST_CASE("a station is supervised by its town centre and a town centre by the district centre",
          "[org]") {
  const Organisation org = LoadShipped();
  const casegrid::v1::Unit* station = org.FindUnit("371302-012-001");
  REQUIRE(station != nullptr);
  const casegrid::v1::Unit* town = org.SupervisingCentre(*station);
  REQUIRE(town != nullptr);
  CHECK(town->code() == "371302-012");
  CHECK(org.SupervisingCentre(*town) == &org.district_centre());
  CHECK(org.SupervisingCentre(org.district_centre()) == &org.district_centre());
}

TEST_CASE("a small valid organisation is accepted", "[org]") {
  auto org = Organisation::FromProto(SmallOrg());
  REQUIRE_OK(org);
  CHECK(org->CountOfKind(casegrid::v1::VILLAGE_STATION) == 1);
}

TEST_CASE("FromProto rejects a duplicate unit code and names it", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "100-001", casegrid::v1::TOWN_CENTRE, "100");
  RequireRejected(std::move(org), "unit \"100-001\": duplicate code");
}

TEST_CASE("FromProto rejects a grid code that repeats another grid's", "[org]") {
  auto org = SmallOrg();
  AddGrid(&org, "100-001-001-01", "100-001-001");
  RequireRejected(std::move(org), "grid \"100-001-001-01\": duplicate code");
}

TEST_CASE("FromProto rejects a missing parent and names the unit and the parent", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "100-002-001", casegrid::v1::VILLAGE_STATION, "100-002");
  RequireRejected(std::move(org), "unit \"100-002-001\": parent \"100-002\" does not exist");
}

TEST_CASE("FromProto rejects a village station under a department", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "100-D01-001", casegrid::v1::VILLAGE_STATION, "100-D01");
  RequireRejected(std::move(org), "unit \"100-D01-001\": parent \"100-D01\" is a department");
}

TEST_CASE("FromProto rejects a grid whose station is a town centre", "[org]") {
  auto org = SmallOrg();
  AddGrid(&org, "100-001-01", "100-001");
  RequireRejected(std::move(org), "grid \"100-001-01\": station \"100-001\" is a town_centre");
}

TEST_CASE("FromProto rejects a grid whose station does not exist", "[org]") {
  auto org = SmallOrg();
  AddGrid(&org, "100-001-009-01", "100-001-009");
  RequireRejected(std::move(org),
                  "grid \"100-001-009-01\": station \"100-001-009\" does not exist");
}

TEST_CASE("FromProto rejects a second district centre", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "200", casegrid::v1::DISTRICT_CENTRE, "");
  RequireRejected(std::move(org), "unit \"200\": second district centre");
}

TEST_CASE("FromProto rejects an organisation without a district centre", "[org]") {
  casegrid::v1::Organisation org;
  org.set_district("100");
  org.set_name("no centre");
  RequireRejected(std::move(org), "no district_centre");
}

TEST_CASE("FromProto rejects a town centre whose parent is another town centre", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "100-002", casegrid::v1::TOWN_CENTRE, "100-001");
  RequireRejected(std::move(org), "unit \"100-002\": parent \"100-001\" is a town_centre");
}

TEST_CASE("FromProto rejects a unit with no kind", "[org]") {
  auto org = SmallOrg();
  AddUnit(&org, "100-X01", casegrid::v1::UNIT_KIND_UNSPECIFIED, "100");
  RequireRejected(std::move(org), "unit \"100-X01\": kind is unspecified");
}

TEST_CASE("Load prefixes a validation error with the file path", "[org]") {
  casegrid::test::TempDir dir;
  const std::string path = dir.Sub("org.yaml");
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(
        "district: \"100\"\nname: \"t\"\nunits:\n"
        "  - {code: \"100\", name: \"c\", kind: district_centre}\n"
        "  - {code: \"100-001\", name: \"s\", kind: village_station, parent: \"100\"}\n",
        f);
    std::fclose(f);
  }
  auto org = Organisation::Load(path);
  REQUIRE_FALSE(org.ok());
  INFO(org.status().ToString());
  CHECK(org.status().IsInvalidArgument());
  CHECK(org.status().message().find(path + ": unit \"100-001\"") == 0);
}

TEST_CASE("Load of a missing file is NotFound", "[org]") {
  casegrid::test::TempDir dir;
  auto org = Organisation::Load(dir.Sub("absent.yaml"));
  REQUIRE_FALSE(org.ok());
  CHECK(org.status().IsNotFound());
}

TEST_CASE("units JSON parses as an array of objects with snake_case keys", "[org]") {
  const Organisation org = LoadShipped();
  const nlohmann::json doc = nlohmann::json::parse(casegrid::workflows::FormatUnits(org, true));
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == static_cast<size_t>(org.proto().units_size()));
  const std::regex snake("^[a-z][a-z0-9_]*$");
  for (const auto& row : doc) {
    REQUIRE(row.is_object());
    for (const auto& [key, value] : row.items()) REQUIRE(std::regex_match(key, snake));
    for (const char* key : {"code", "name", "kind", "parent", "level"}) REQUIRE(row.contains(key));
  }
  CHECK(doc[0]["code"] == "371302");
  CHECK(doc[0]["kind"] == "district_centre");
  CHECK(doc[0]["parent"].is_null());
  CHECK(doc[0]["level"] == "district");
}

TEST_CASE("grids JSON parses as an array of objects with snake_case keys", "[org]") {
  const Organisation org = LoadShipped();
  const nlohmann::json doc = nlohmann::json::parse(casegrid::workflows::FormatGrids(org, true));
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 2532);
  const std::regex snake("^[a-z][a-z0-9_]*$");
  for (const auto& row : doc) {
    REQUIRE(row.is_object());
    for (const auto& [key, value] : row.items()) REQUIRE(std::regex_match(key, snake));
    for (const char* key : {"code", "name", "station", "town"}) REQUIRE(row.contains(key));
  }
  CHECK(doc[0]["code"] == "371302-001-001-01");
  CHECK(doc[0]["station"] == "371302-001-001");
  CHECK(doc[0]["town"] == "371302-001");
}

TEST_CASE("units text ends with the count line", "[org]") {
  const Organisation org = LoadShipped();
  const std::string text = casegrid::workflows::FormatUnits(org, false);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  CHECK(last ==
        "382 units: 1 district centre, 12 town centres, 343 village stations, 12 departments, "
        "14 mediation organisations\n");
  CHECK(text.rfind("CODE", 0) == 0);
}

TEST_CASE("units text aligns the parent column across ASCII and CJK names", "[org]") {
  auto org = Organisation::FromProto(SmallOrg());
  REQUIRE_OK(org);
  casegrid::v1::Organisation proto = org->proto();
  proto.mutable_units(1)->set_name("兰山街道");  // 4 CJK = 8 columns, 12 bytes
  proto.mutable_units(2)->set_name("abcdefgh");  // 8 columns
  auto wide = Organisation::FromProto(std::move(proto));
  REQUIRE_OK(wide);
  const std::string text = casegrid::workflows::FormatUnits(*wide, false);
  // Both rows' PARENT column starts at the same terminal column: the text
  // before it has equal display width, i.e. CJK bytes (3) count as width 2.
  const size_t town = text.find("兰山街道");
  const size_t station = text.find("abcdefgh");
  REQUIRE(town != std::string::npos);
  REQUIRE(station != std::string::npos);
  const std::string town_tail = text.substr(town + 12, text.find('\n', town) - town - 12);
  const std::string station_tail = text.substr(station + 8, text.find('\n', station) - station - 8);
  // The widest NAME is "unit 100-D01" (12 columns): 12 - 8 + 2 blanks of padding.
  CHECK(town_tail.find_first_not_of(' ') == 6);
  CHECK(station_tail.find_first_not_of(' ') == 6);
  CHECK(text.find(" \n") == std::string::npos);  // no trailing blanks
}

TEST_CASE("grids text ends with the grid count line", "[org]") {
  const Organisation org = LoadShipped();
  const std::string text = casegrid::workflows::FormatGrids(org, false);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  CHECK(last == "2532 grid cells in 343 village stations\n");
}

// ---- The responsibility list (责任清单) ----

namespace {

casegrid::v1::Responsibility* AddMatter(casegrid::v1::Organisation* org,
                                        const std::string& category,
                                        casegrid::v1::Responsibility::HandledBy by,
                                        const std::string& unit = "") {
  auto* m = org->add_responsibilities();
  m->set_category(category);
  m->set_handled_by(by);
  m->set_unit(unit);
  m->set_source(casegrid::v1::Responsibility::GENERAL);
  return m;
}

}  // namespace

TEST_CASE("the shipped list devolves 54 matters to the towns and shares 18 with them",
          "[org][responsibilities]") {
  const Organisation org = LoadShipped();
  const std::string text = casegrid::workflows::FormatResponsibilities(org, false);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  CHECK(last == "91 matters: 54 devolved, 18 shared, 10 department, 9 general\n");
  CHECK(text.rfind("CATEGORY", 0) == 0);
  // The article's own examples, where it says they go.
  const auto* licence = org.FindResponsibility("business-registration");
  REQUIRE(licence != nullptr);
  CHECK(licence->title() == "工商登记");
  CHECK(licence->handled_by() == casegrid::v1::Responsibility::TOWN);
  CHECK(licence->source() == casegrid::v1::Responsibility::DEVOLVED);
  const auto* enforcement = org.FindResponsibility("urban-management");
  REQUIRE(enforcement != nullptr);
  CHECK(enforcement->source() == casegrid::v1::Responsibility::SHARED);
  CHECK(enforcement->shared_with_size() == 1);
  CHECK(org.FindResponsibility("no-such-matter") == nullptr);
  // JSON: one object per matter, the unit null unless one is named.
  const auto doc = nlohmann::json::parse(casegrid::workflows::FormatResponsibilities(org, true));
  REQUIRE(doc.size() == 91);
  CHECK(doc[0]["category"] == "business-registration");
  CHECK(doc[0]["unit"].is_null());
  CHECK(doc[0]["shared_with"].is_array());
}

TEST_CASE("a matter goes to its unit, the grid cell's town or the grid cell's station",
          "[org][responsibilities]") {
  const Organisation org = LoadShipped();
  const char* grid = "371302-003-002-01";
  const auto* town = org.Responsible(*org.FindResponsibility("business-registration"), grid);
  REQUIRE(town != nullptr);
  CHECK(town->code() == "371302-003");
  const auto* station = org.Responsible(*org.FindResponsibility("village-affairs"), grid);
  REQUIRE(station != nullptr);
  CHECK(station->code() == "371302-003-002");
  const auto* window = org.Responsible(*org.FindResponsibility("labour-dispute"), grid);
  REQUIRE(window != nullptr);
  CHECK(window->code() == "371302-D02");
  // A grid cell the organisation does not know places nothing but a named unit.
  CHECK(org.Responsible(*org.FindResponsibility("business-registration"), "371302-099-001-01") ==
        nullptr);
  CHECK(org.Responsible(*org.FindResponsibility("labour-dispute"), "") != nullptr);
}

TEST_CASE("FromProto rejects a responsibility list that cannot place a case",
          "[org][responsibilities]") {
  using R = casegrid::v1::Responsibility;
  {
    auto org = SmallOrg();
    AddMatter(&org, "", R::TOWN);
    RequireRejected(org, "responsibility #1 (\"\"): empty category");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::TOWN);
    AddMatter(&org, "noise", R::VILLAGE);
    RequireRejected(org, "responsibility \"noise\": the category is listed twice");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::HANDLED_BY_UNSPECIFIED);
    RequireRejected(org, "responsibility \"noise\": handled_by is unspecified");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::TOWN)->set_source(R::SOURCE_UNSPECIFIED);
    RequireRejected(org, "responsibility \"noise\": source is unspecified");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::UNIT);
    RequireRejected(org, "responsibility \"noise\": handled_by unit names no unit");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::TOWN, "100-D01");
    RequireRejected(org, "unit \"100-D01\" is given, but handled_by is town");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::UNIT, "100-D99");
    RequireRejected(org, "responsibility \"noise\": unit \"100-D99\" does not exist");
  }
  {
    auto org = SmallOrg();
    AddMatter(&org, "noise", R::TOWN)->add_shared_with("100-D77");
    RequireRejected(org, "shared_with unit \"100-D77\" does not exist");
  }
  auto org = SmallOrg();
  AddMatter(&org, "noise", R::UNIT, "100-M01")->add_shared_with("100-D01");
  REQUIRE_OK(Organisation::FromProto(org));
}
