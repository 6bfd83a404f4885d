// casegrid::workflows::Organisation: the district's units (district centre, town
// centres, village stations, departments, mediation organisations) and its grid
// cells, loaded from YAML (workflows/org/reference-district.yaml; see
// docs/organisation.md), validated once, then indexed for O(1) lookup by code.
// Codes follow district-town-station-grid: 371302, 371302-001, 371302-001-001,
// 371302-001-001-01; departments 371302-Dnn, mediation 371302-Mnn.
// Thread-safety: immutable once built; every const method may be called from any
// thread. Copies are cheap and share the same data. Nothing here writes to disk.
#ifndef CASEGRID_WORKFLOWS_ORG_H_
#define CASEGRID_WORKFLOWS_ORG_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "workflows/workflow.pb.h"

namespace casegrid::workflows {

class Organisation {
 public:
  // Reads `path` with the strict YAML loader, then validates as FromProto does.
  // Returns NotFound if the file cannot be read, InvalidArgument with
  // "FILE:LINE:COL: ..." for a schema error or "PATH: <FromProto message>" for
  // an inconsistent organisation.
  static Result<Organisation> Load(const std::string& path);

  // Validates `org` and builds the indexes. Returns InvalidArgument naming the
  // first offending code (in file order) when: the district code is empty; a
  // code is empty or used twice (units and grids share one namespace); a kind
  // is unspecified or unknown; there is not exactly one district centre, it
  // has a parent, or its code differs from `district`; a parent does not exist
  // or has the wrong kind (town_centre -> district_centre, village_station ->
  // town_centre, department and mediation -> district_centre); a grid's station
  // does not exist or is not a village_station; a responsibility has an empty
  // or repeated category, no handled_by or source, a unit without handled_by
  // unit (or none with it), or names a unit (also in shared_with) that does
  // not exist.
  static Result<Organisation> FromProto(casegrid::v1::Organisation org);

  // The unit or grid with that code; nullptr if unknown. O(1), allocation-free.
  // Returned pointers stay valid while this object or any copy of it lives.
  const casegrid::v1::Unit* FindUnit(std::string_view code) const;
  const casegrid::v1::GridCell* FindGrid(std::string_view code) const;

  // "village" (village_station), "town" (town_centre) or "district" (the
  // district centre, departments and mediation organisations). Static storage.
  std::string_view LevelOf(const casegrid::v1::Unit& unit) const;

  // The next level up for escalation: a station's town centre; the district
  // centre for a town centre, department or mediation organisation; nullptr for
  // the district centre (nothing above it). `unit` should belong to this
  // organisation; for a foreign station whose parent is unknown, nullptr.
  const casegrid::v1::Unit* EscalationTarget(const casegrid::v1::Unit& unit) const;

  // The centre that supervises `unit`: a station's town centre; for every other
  // unit (the district centre included) the district centre. nullptr only for
  // a foreign station whose parent is unknown.
  const casegrid::v1::Unit* SupervisingCentre(const casegrid::v1::Unit& unit) const;

  // The town centre a grid cell lies in (its station's parent); nullptr if the
  // grid's station is unknown here.
  const casegrid::v1::Unit* TownOf(const casegrid::v1::GridCell& grid) const;

  // Whether the unit or grid cell `code` is `unit` or lies under it (a
  // grid under its station, a station under its town, everything under the
  // district centre). False for a code this organisation does not know.
  bool Covers(const casegrid::v1::Unit& unit, std::string_view code) const;

  // The responsibility list's matter for `category` (at most one); nullptr
  // when the list has none. O(1), allocation-free.
  const casegrid::v1::Responsibility* FindResponsibility(std::string_view category) const;

  // The unit that handles `matter` for a case in grid cell `grid`: the
  // unit it names (handled_by unit), the town centre the cell lies in
  // (town) or the cell's station (village). nullptr when the cell, or its
  // station or town, is unknown here.
  const casegrid::v1::Unit* Responsible(const casegrid::v1::Responsibility& matter,
                                        std::string_view grid) const;

  const casegrid::v1::Unit& district_centre() const;
  const casegrid::v1::Organisation& proto() const;
  // Number of units of `kind`; 0 for an unknown kind.
  size_t CountOfKind(casegrid::v1::UnitKind kind) const;

 private:
  struct Data;
  explicit Organisation(std::shared_ptr<const Data> data);

  std::shared_ptr<const Data> data_;  // never null
};

// The lower-case YAML spelling of `kind` ("village_station"); "unspecified"
// for an unknown value.
std::string_view UnitKindName(casegrid::v1::UnitKind kind);

// What `casegrid org units [--json]` prints, ending in a newline. Text: a table
// (CODE, KIND, NAME, PARENT; "-" for no parent) in file order, columns aligned
// by terminal width (CJK counts as two), then a line such as "382 units: 1
// district centre, 12 town centres, 343 village stations, 12 departments, 14
// mediation organisations". JSON: an array of {"code", "name", "kind",
// "parent" (null for the district centre), "level"}.
std::string FormatUnits(const Organisation& org, bool json);

// What `casegrid org responsibilities [--json]` prints, ending in a newline.
// Text: a table (CATEGORY, SOURCE, HANDLED BY (village, town or the unit's
// code), SHARED WITH ("-" for none), TITLE) in file order, then a line such
// as "90 matters: 54 devolved, 18 shared, 10 department, 8 general". JSON: an
// array of {"category", "title", "source", "handled_by", "unit" (null unless
// handled_by is unit), "shared_with" (an array)}.
std::string FormatResponsibilities(const Organisation& org, bool json);

// The lower-case YAML spellings: "town", "devolved"; "unspecified" for an
// unknown value.
std::string_view HandledByName(casegrid::v1::Responsibility::HandledBy by);
std::string_view SourceName(casegrid::v1::Responsibility::Source source);

// What `casegrid org grids [--json]` prints, ending in a newline. Text: a table
// (CODE, STATION, TOWN) in file order, then "2532 grid cells in 343 village
// stations". JSON: an array of {"code", "name", "station", "town"}.
std::string FormatGrids(const Organisation& org, bool json);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_ORG_H_
