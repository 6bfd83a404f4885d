#include "workflows/org.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "workflows/yaml_proto.h"

namespace casegrid::workflows {

namespace {

using casegrid::v1::GridCell;
using casegrid::v1::Responsibility;
using casegrid::v1::Unit;
using casegrid::v1::UnitKind;

// Transparent hash + std::equal_to<> let find() take a string_view without
// building a std::string per lookup.
struct CodeHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using CodeMap = std::unordered_map<std::string, V, CodeHash, std::equal_to<>>;

constexpr size_t kKindSlots = static_cast<size_t>(casegrid::v1::MEDIATION) + 1;

bool IsKnownKind(int kind) {
  return kind >= casegrid::v1::DISTRICT_CENTRE && kind <= casegrid::v1::MEDIATION;
}

std::string Quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

Status UnitError(const Unit& unit, std::string_view what) {
  return Status::InvalidArgument("unit " + Quoted(unit.code()) + ": " + std::string(what));
}

Status MatterError(const Responsibility& matter, std::string_view what) {
  return Status::InvalidArgument("responsibility " + Quoted(matter.category()) + ": " +
                                 std::string(what));
}

Status GridError(const GridCell& grid, std::string_view what) {
  return Status::InvalidArgument("grid " + Quoted(grid.code()) + ": " + std::string(what));
}

// The kind a unit's parent must have; UNIT_KIND_UNSPECIFIED = no parent.
UnitKind RequiredParentKind(UnitKind kind) {
  switch (kind) {
    case casegrid::v1::VILLAGE_STATION:
      return casegrid::v1::TOWN_CENTRE;
    case casegrid::v1::TOWN_CENTRE:
    case casegrid::v1::DEPARTMENT:
    case casegrid::v1::MEDIATION:
      return casegrid::v1::DISTRICT_CENTRE;
    default:
      return casegrid::v1::UNIT_KIND_UNSPECIFIED;
  }
}

// Terminal columns of a UTF-8 string: East Asian wide and fullwidth code points
// take two, everything else one. Malformed bytes count one each.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    uint32_t cp = lead;
    if (lead >= 0xF0 && lead < 0xF8) {
      len = 4;
      cp = lead & 0x07u;
    } else if (lead >= 0xE0) {
      len = lead < 0xF0 ? 3 : 1;
      cp = lead & 0x0Fu;
    } else if (lead >= 0xC0) {
      len = 2;
      cp = lead & 0x1Fu;
    }
    if (len > 1 && i + len <= s.size()) {
      for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    } else {
      len = 1;
      cp = lead;
    }
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
                      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

// Renders rows as columns separated by two spaces; the last column is not
// padded, so no line has trailing blanks.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(widths[c] - DisplayWidth(row[c]) + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

std::string Counted(size_t n, std::string_view singular, std::string_view plural) {
  return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

std::string DumpJson(const nlohmann::ordered_json& doc) {
  // ordered_json keeps keys in the documented order; `replace` turns invalid
  // UTF-8 into U+FFFD instead of throwing.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

struct Organisation::Data {
  casegrid::v1::Organisation proto;
  // Values point into `proto`, which is never modified after indexing.
  CodeMap<const Unit*> units;
  CodeMap<const GridCell*> grids;
  CodeMap<const Responsibility*> matters;  // by category
  const Unit* district_centre = nullptr;
  std::array<size_t, kKindSlots> counts{};
};

Organisation::Organisation(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

Result<Organisation> Organisation::Load(const std::string& path) {
  casegrid::v1::Organisation org;
  CASEGRID_RETURN_IF_ERROR(LoadYamlFile(path, &org));
  Result<Organisation> result = FromProto(std::move(org));
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

Result<Organisation> Organisation::FromProto(casegrid::v1::Organisation org) try {
  auto data = std::make_shared<Data>();
  data->proto = std::move(org);
  const casegrid::v1::Organisation& proto = data->proto;
  if (proto.district().empty()) return Status::InvalidArgument("organisation: empty district code");

  data->units.reserve(static_cast<size_t>(proto.units_size()));
  for (int i = 0; i < proto.units_size(); ++i) {
    const Unit& unit = proto.units(i);
    if (unit.code().empty()) {
      return Status::InvalidArgument("unit #" + std::to_string(i + 1) + " (" + Quoted(unit.name()) +
                                     "): empty code");
    }
    if (!IsKnownKind(unit.kind())) {
      return UnitError(unit, unit.kind() == casegrid::v1::UNIT_KIND_UNSPECIFIED
                                 ? std::string("kind is unspecified")
                                 : "unknown kind " + std::to_string(unit.kind()));
    }
    if (!data->units.emplace(unit.code(), &unit).second) return UnitError(unit, "duplicate code");
    ++data->counts[static_cast<size_t>(unit.kind())];
    if (unit.kind() == casegrid::v1::DISTRICT_CENTRE) {
      if (data->district_centre != nullptr) {
        return UnitError(unit, "second district centre (the first is " +
                                   Quoted(data->district_centre->code()) + ")");
      }
      data->district_centre = &unit;
    }
  }
  if (data->district_centre == nullptr) {
    return Status::InvalidArgument("organisation " + Quoted(proto.district()) +
                                   ": no district_centre unit");
  }
  if (data->district_centre->code() != proto.district()) {
    return UnitError(
        *data->district_centre,
        "the district centre's code must equal the district code " + Quoted(proto.district()));
  }

  for (const Unit& unit : proto.units()) {
    const UnitKind want = RequiredParentKind(unit.kind());
    if (want == casegrid::v1::UNIT_KIND_UNSPECIFIED) {
      if (!unit.parent().empty()) {
        return UnitError(unit, "a district_centre has no parent, got " + Quoted(unit.parent()));
      }
      continue;
    }
    if (unit.parent().empty()) {
      return UnitError(unit, "a " + std::string(UnitKindName(unit.kind())) + " needs a parent (a " +
                                 std::string(UnitKindName(want)) + ")");
    }
    auto it = data->units.find(std::string_view(unit.parent()));
    if (it == data->units.end()) {
      return UnitError(unit, "parent " + Quoted(unit.parent()) + " does not exist");
    }
    if (it->second->kind() != want) {
      return UnitError(unit, "parent " + Quoted(unit.parent()) + " is a " +
                                 std::string(UnitKindName(it->second->kind())) + "; a " +
                                 std::string(UnitKindName(unit.kind())) + "'s parent must be a " +
                                 std::string(UnitKindName(want)));
    }
  }

  data->grids.reserve(static_cast<size_t>(proto.grids_size()));
  for (int i = 0; i < proto.grids_size(); ++i) {
    const GridCell& grid = proto.grids(i);
    if (grid.code().empty()) {
      return Status::InvalidArgument("grid #" + std::to_string(i + 1) + " (" + Quoted(grid.name()) +
                                     "): empty code");
    }
    if (data->units.contains(std::string_view(grid.code()))) {
      return GridError(grid, "duplicate code (also a unit)");
    }
    if (!data->grids.emplace(grid.code(), &grid).second) return GridError(grid, "duplicate code");
    auto it = data->units.find(std::string_view(grid.station()));
    if (it == data->units.end()) {
      return GridError(grid, "station " + Quoted(grid.station()) + " does not exist");
    }
    if (it->second->kind() != casegrid::v1::VILLAGE_STATION) {
      return GridError(grid, "station " + Quoted(grid.station()) + " is a " +
                                 std::string(UnitKindName(it->second->kind())) +
                                 ", not a village_station");
    }
  }

  data->matters.reserve(static_cast<size_t>(proto.responsibilities_size()));
  for (int i = 0; i < proto.responsibilities_size(); ++i) {
    const Responsibility& matter = proto.responsibilities(i);
    if (matter.category().empty()) {
      return Status::InvalidArgument("responsibility #" + std::to_string(i + 1) + " (" +
                                     Quoted(matter.title()) + "): empty category");
    }
    if (!data->matters.emplace(matter.category(), &matter).second) {
      return MatterError(matter, "the category is listed twice");
    }
    if (HandledByName(matter.handled_by()) == "unspecified") {
      return MatterError(matter, "handled_by is unspecified (village, town or unit)");
    }
    if (SourceName(matter.source()) == "unspecified") {
      return MatterError(matter, "source is unspecified (devolved, shared, department or general)");
    }
    const bool by_unit = matter.handled_by() == Responsibility::UNIT;
    if (by_unit && matter.unit().empty()) {
      return MatterError(matter, "handled_by unit names no unit");
    }
    if (!by_unit && !matter.unit().empty()) {
      return MatterError(matter, "unit " + Quoted(matter.unit()) + " is given, but handled_by is " +
                                     std::string(HandledByName(matter.handled_by())) +
                                     ": the case's grid cell decides the unit");
    }
    if (by_unit && !data->units.contains(std::string_view(matter.unit()))) {
      return MatterError(matter, "unit " + Quoted(matter.unit()) + " does not exist");
    }
    for (const std::string& code : matter.shared_with()) {
      if (!data->units.contains(std::string_view(code))) {
        return MatterError(matter, "shared_with unit " + Quoted(code) + " does not exist");
      }
    }
  }
  return Organisation(std::move(data));
} catch (const std::bad_alloc&) {
  return Status::Unavailable("out of memory while indexing the organisation");
}

const Unit* Organisation::FindUnit(std::string_view code) const {
  auto it = data_->units.find(code);
  return it == data_->units.end() ? nullptr : it->second;
}

const GridCell* Organisation::FindGrid(std::string_view code) const {
  auto it = data_->grids.find(code);
  return it == data_->grids.end() ? nullptr : it->second;
}

std::string_view Organisation::LevelOf(const Unit& unit) const {
  switch (unit.kind()) {
    case casegrid::v1::VILLAGE_STATION:
      return "village";
    case casegrid::v1::TOWN_CENTRE:
      return "town";
    default:
      return "district";
  }
}

const Unit* Organisation::EscalationTarget(const Unit& unit) const {
  switch (unit.kind()) {
    case casegrid::v1::DISTRICT_CENTRE:
      return nullptr;
    case casegrid::v1::VILLAGE_STATION:
      return FindUnit(unit.parent());
    default:
      return data_->district_centre;
  }
}

const Unit* Organisation::SupervisingCentre(const Unit& unit) const {
  if (unit.kind() == casegrid::v1::VILLAGE_STATION) return FindUnit(unit.parent());
  return data_->district_centre;
}

const Unit* Organisation::TownOf(const GridCell& grid) const {
  const Unit* station = FindUnit(grid.station());
  return station == nullptr ? nullptr : FindUnit(station->parent());
}

bool Organisation::Covers(const Unit& unit, std::string_view code) const {
  const Unit* at = FindUnit(code);
  if (at == nullptr) {
    const GridCell* grid = FindGrid(code);
    if (grid == nullptr) return false;
    at = FindUnit(grid->station());
  }
  // Parents were checked at load: the walk ends at the district centre.
  for (int depth = 0; at != nullptr && depth < 8; ++depth) {
    if (at->code() == unit.code()) return true;
    if (at->parent().empty()) return false;
    at = FindUnit(at->parent());
  }
  return false;
}

const Responsibility* Organisation::FindResponsibility(std::string_view category) const {
  auto it = data_->matters.find(category);
  return it == data_->matters.end() ? nullptr : it->second;
}

const Unit* Organisation::Responsible(const Responsibility& matter, std::string_view grid) const {
  if (matter.handled_by() == Responsibility::UNIT) return FindUnit(matter.unit());
  const GridCell* cell = FindGrid(grid);
  if (cell == nullptr) return nullptr;
  if (matter.handled_by() == Responsibility::TOWN) return TownOf(*cell);
  return FindUnit(cell->station());
}

const Unit& Organisation::district_centre() const { return *data_->district_centre; }

const casegrid::v1::Organisation& Organisation::proto() const { return data_->proto; }

size_t Organisation::CountOfKind(UnitKind kind) const {
  if (!IsKnownKind(kind)) return 0;
  return data_->counts[static_cast<size_t>(kind)];
}

std::string_view UnitKindName(UnitKind kind) {
  switch (kind) {
    case casegrid::v1::DISTRICT_CENTRE:
      return "district_centre";
    case casegrid::v1::TOWN_CENTRE:
      return "town_centre";
    case casegrid::v1::VILLAGE_STATION:
      return "village_station";
    case casegrid::v1::DEPARTMENT:
      return "department";
    case casegrid::v1::MEDIATION:
      return "mediation";
    default:
      return "unspecified";
  }
}

std::string FormatUnits(const Organisation& org, bool json) {
  const auto& units = org.proto().units();
  if (json) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::array();
    for (const Unit& unit : units) {
      nlohmann::ordered_json row = {{"code", unit.code()},
                                    {"name", unit.name()},
                                    {"kind", UnitKindName(unit.kind())},
                                    {"parent", nullptr},
                                    {"level", org.LevelOf(unit)}};
      if (!unit.parent().empty()) row["parent"] = unit.parent();
      doc.push_back(std::move(row));
    }
    return DumpJson(doc);
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(static_cast<size_t>(units.size()) + 1);
  rows.push_back({"CODE", "KIND", "NAME", "PARENT"});
  for (const Unit& unit : units) {
    rows.push_back({unit.code(), std::string(UnitKindName(unit.kind())), unit.name(),
                    unit.parent().empty() ? "-" : unit.parent()});
  }
  const std::string by_kind[] = {
      Counted(org.CountOfKind(casegrid::v1::DISTRICT_CENTRE), "district centre",
              "district centres"),
      Counted(org.CountOfKind(casegrid::v1::TOWN_CENTRE), "town centre", "town centres"),
      Counted(org.CountOfKind(casegrid::v1::VILLAGE_STATION), "village station",
              "village stations"),
      Counted(org.CountOfKind(casegrid::v1::DEPARTMENT), "department", "departments"),
      Counted(org.CountOfKind(casegrid::v1::MEDIATION), "mediation organisation",
              "mediation organisations"),
  };
  std::string out = RenderTable(rows);
  out += Counted(static_cast<size_t>(units.size()), "unit", "units") + ": ";
  for (size_t i = 0; i < std::size(by_kind); ++i) {
    if (i > 0) out += ", ";
    out += by_kind[i];
  }
  out += '\n';
  return out;
}

std::string_view HandledByName(Responsibility::HandledBy by) {
  switch (by) {
    case Responsibility::VILLAGE:
      return "village";
    case Responsibility::TOWN:
      return "town";
    case Responsibility::UNIT:
      return "unit";
    default:
      return "unspecified";
  }
}

std::string_view SourceName(Responsibility::Source source) {
  switch (source) {
    case Responsibility::DEVOLVED:
      return "devolved";
    case Responsibility::SHARED:
      return "shared";
    case Responsibility::DEPARTMENT:
      return "department";
    case Responsibility::GENERAL:
      return "general";
    default:
      return "unspecified";
  }
}

std::string FormatResponsibilities(const Organisation& org, bool json) {
  const auto& matters = org.proto().responsibilities();
  if (json) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::array();
    for (const Responsibility& m : matters) {
      nlohmann::ordered_json row = {{"category", m.category()},
                                    {"title", m.title()},
                                    {"source", SourceName(m.source())},
                                    {"handled_by", HandledByName(m.handled_by())},
                                    {"unit", nullptr},
                                    {"shared_with", m.shared_with()}};
      if (!m.unit().empty()) row["unit"] = m.unit();
      doc.push_back(std::move(row));
    }
    return DumpJson(doc);
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(static_cast<size_t>(matters.size()) + 1);
  rows.push_back({"CATEGORY", "SOURCE", "HANDLED BY", "SHARED WITH", "TITLE"});
  std::array<size_t, 5> by_source{};
  for (const Responsibility& m : matters) {
    std::string shared;
    for (const std::string& code : m.shared_with()) shared += (shared.empty() ? "" : ",") + code;
    rows.push_back({m.category(), std::string(SourceName(m.source())),
                    m.unit().empty() ? std::string(HandledByName(m.handled_by())) : m.unit(),
                    shared.empty() ? "-" : shared, m.title().empty() ? "-" : m.title()});
    ++by_source[static_cast<size_t>(m.source()) % by_source.size()];
  }
  std::string out =
      RenderTable(rows) + Counted(static_cast<size_t>(matters.size()), "matter", "matters") + ": ";
  out += std::to_string(by_source[Responsibility::DEVOLVED]) + " devolved, " +
         std::to_string(by_source[Responsibility::SHARED]) + " shared, " +
         std::to_string(by_source[Responsibility::DEPARTMENT]) + " department, " +
         std::to_string(by_source[Responsibility::GENERAL]) + " general\n";
  return out;
}

std::string FormatGrids(const Organisation& org, bool json) {
  const auto& grids = org.proto().grids();
  if (json) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::array();
    for (const GridCell& grid : grids) {
      const Unit* town = org.TownOf(grid);
      doc.push_back({{"code", grid.code()},
                     {"name", grid.name()},
                     {"station", grid.station()},
                     {"town", town == nullptr ? std::string() : town->code()}});
    }
    return DumpJson(doc);
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(static_cast<size_t>(grids.size()) + 1);
  rows.push_back({"CODE", "STATION", "TOWN"});
  std::unordered_set<std::string_view> stations;
  for (const GridCell& grid : grids) {
    const Unit* town = org.TownOf(grid);
    rows.push_back({grid.code(), grid.station(), town == nullptr ? "-" : town->code()});
    stations.insert(grid.station());
  }
  return RenderTable(rows) + Counted(static_cast<size_t>(grids.size()), "grid cell", "grid cells") +
         " in " + Counted(stations.size(), "village station", "village stations") + "\n";
}

}  // namespace casegrid::workflows
