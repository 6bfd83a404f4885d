// The district's view of its statistics (docs/queries.md, "The district's
// view"): the per-unit figures of a StatsReport rolled up along the
// organisation's tree (a town centre with its village stations), and the
// scorecard for assessment (考核) that ranks them. Pure functions of a report
// and an organisation; nothing here reads or writes the read models.
#ifndef CASEGRID_PROJECTIONS_ROLLUP_H_
#define CASEGRID_PROJECTIONS_ROLLUP_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/calendar.h"
#include "projections/projection.h"
#include "workflows/org.h"

namespace casegrid::projections {

enum class Grouping { kUnit, kTown, kDepartment };
// "unit", "town" or "department"; InvalidArgument naming `what` otherwise.
Result<Grouping> ParseGrouping(std::string_view text, std::string_view what);
std::string_view GroupingName(Grouping grouping);

// One group's figures: a unit's own, or summed over the units it stands for.
struct GroupFigures {
  std::string code;   // the unit's code (a town: its centre's); "" for the "other" group
  std::string name;   // the organisation's name for it
  std::string level;  // village | town | district; "" for the "other" group
  size_t units = 0;   // units summed into it
  // StatsReport::by_unit summed: the case figures counted under the case's
  // unit, so closures are credited to the unit that closed and escalations
  // charged to the unit the case left.
  Counters cases;
  // StatsReport::by_owner summed: the deadlines the group's units were bound
  // by, each breach charged to its owner whoever later met it.
  DeadlineCounters deadlines;
  // Ranked by Scorecard. False for the district level of a kTown roll-up:
  // shown beside the towns, not ranked among them.
  bool assessed = true;
  // Deadlines met on time among those judged, met on time or breached;
  // absent when none was.
  std::optional<double> DeadlineOnTimeRate() const;
};

// The groups of `report` under `org`, summing by_unit and by_owner:
//  kUnit: each unit with a figure, by code;
//  kTown: each town centre with its village stations (every town, figures
//   or not), by code, then one group at the district centre's code for the
//   district level (the centre, the departments and the mediation
//   organisations);
//  kDepartment: each department and mediation organisation, by code.
// Figures under a code `org` does not know (a unit of an earlier
// organisation) are summed into a last group with an empty code, in every
// grouping but kDepartment, so the groups of kUnit and kTown add up to the
// report's per-unit figures.
std::vector<GroupFigures> RollUp(const StatsReport& report, const workflows::Organisation& org,
                                 Grouping grouping);

// The code of the group `unit` falls in under `grouping` (kTown: its town
// centre, or the district centre for a district-level unit); "" for a
// unit `org` does not know or one the grouping leaves out.
std::string GroupCodeOf(const workflows::Organisation& org, std::string_view unit,
                        Grouping grouping);

// One line of the scorecard.
struct ScoreLine {
  GroupFigures group;
  int rank = 0;  // 1 = best; 0 = not ranked (no deadline judged)
};

// The groups ranked for assessment: by DeadlineOnTimeRate (higher first),
// then satisfaction rate (rated cases; none ranks below any), then closed
// cases (more first), then code. Groups not assessed or with no deadline
// judged follow, unranked, by code; equal figures share a rank (1, 1, 3).
std::vector<ScoreLine> Scorecard(std::vector<GroupFigures> groups);

// What `casegrid stats --by unit|town|department` prints: the report's
// period and total, then a line per group with its case figures and the
// deadlines it was bound by. JSON: {"from", "to", "counted_by", "by",
// "groups": [{"code", "name", "level", "units", <Counters>, "deadlines":
// {"set", "met", "met_on_time", "breached", "on_time_rate"}}]}.
std::string FormatRollUp(const StatsReport& report, Grouping grouping,
                         const std::vector<GroupFigures>& groups, bool json);

// What `casegrid scorecard` prints: a line per group in rank order. JSON:
// {"from", "to", "counted_by", "by", "lines": [{"rank" (null: unranked),
// "code", "name", "level", "deadlines_judged", "met_on_time", "breached",
// "on_time_rate", "escalated", "closed", "rated", "satisfied",
// "satisfaction_rate"}]}.
std::string FormatScorecard(const StatsReport& report, Grouping grouping,
                            const std::vector<ScoreLine>& lines, bool json);

// What `casegrid overdue --group town` prints: FormatOverdue's entries in a
// section per town (the town of the unit each deadline binds, or of the
// case's unit when it binds none), every town by code, then the district
// level, then units `org` does not know when there are any; each section
// headed by its code, name and counts. JSON: {"at", "towns": [{"code",
// "name", "past_due", "warned", "overdue": [as FormatOverdue lists them]}]}.
std::string FormatOverdueByTown(int64_t at_micros, const std::vector<OverdueEntry>& entries,
                                const workflows::Organisation& org, bool json);

// The daily roll of the public inspectors (民情巡察, 每日必报: docs/queries.md,
// "Patrol reports"): each inspector who filed a patrol report in the
// period, with its reports, the days it filed on, and its short days, the
// calendar's working days of the period on which it filed fewer than
// `at_least` reports (1 by default; 10 a day in a campaign).
struct PatrolLine {
  std::string inspector;  // the user who filed them
  uint64_t reports = 0;
  int days_reported = 0;
  std::vector<int32_t> short_days;  // local civil days, ascending
};
struct PatrolRoll {
  int32_t from_day = 0, to_day = 0;
  int working_days = 0;  // in [from_day, to_day]
  uint64_t at_least = 1;
  uint64_t reports = 0, from_patrol = 0;  // StatsReport totals of the period
  std::vector<PatrolLine> inspectors;     // most reports first, then by user
  std::map<std::string, uint64_t> by_topic;
};
// The roll of `report` over [from_day, to_day] (within the report's
// period) on `calendar`'s working days. Each user of `roster` (the
// directory's patrol inspectors) who filed nothing in the period has a line
// too: no report, every working day short.
PatrolRoll RollPatrol(const StatsReport& report, int32_t from_day, int32_t to_day,
                      const engine::BusinessCalendar& calendar, uint64_t at_least,
                      const std::vector<std::string>& roster = {});
// The first and last local day on which `report` counts a patrol report;
// nullopt when it counts none.
std::optional<std::pair<int32_t, int32_t>> PatrolDays(const StatsReport& report);
// What `casegrid patrol` prints: the period, the totals, a line per
// inspector (reports, days filed, short days, the first of them) and the
// reports by topic. JSON: {"from", "to", "working_days", "at_least",
// "reports", "from_patrol", "inspectors": [{"inspector", "reports",
// "days_reported", "short_days": ["YYYY-MM-DD", ...]}], "by_topic": {TOPIC:
// n}}.
std::string FormatPatrol(const PatrolRoll& roll, bool json);

}  // namespace casegrid::projections

#endif  // CASEGRID_PROJECTIONS_ROLLUP_H_
