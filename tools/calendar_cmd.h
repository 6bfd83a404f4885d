// The `casegrid calendar` subcommands (docs/calendar.md): `validate FILE...`
// checks calendar files, `show ID [--year Y]` prints a calendar's days off,
// make-up days and working hours, `derive --year Y` prints a provisional year
// derived from the statutory rules. Each returns the process exit status.
#ifndef CASEGRID_TOOLS_CALENDAR_CMD_H_
#define CASEGRID_TOOLS_CALENDAR_CMD_H_

#include <string>
#include <vector>

#include "tools/session.h"

namespace casegrid::tools {

// Prints "FILE:LINE:COL: message" per problem, or "FILE: ok (...)" per valid
// file, on stdout. `extends` and duplicate years are resolved against the
// given files and the configuration's calendars/ directory. Returns 0 if every
// file is valid, 1 if any has a problem, 2 if a file or the calendar
// directory cannot be read (named on stderr; the other files are still checked).
int RunCalendarValidate(const GlobalOptions& g, const std::vector<std::string>& files);

// Loads calendar `id` from the configuration's calendars/ directory (with the
// calendar it extends) and prints `year`, or every covered year when `year` is
// 0. Returns 1 if the year is not covered, 2 if the calendar does not load.
int RunCalendarShow(const GlobalOptions& g, const std::string& id, int year);

// Prints `year` of calendar `id` derived from the statutory rules as a
// calendar file (engine/statutory_calendar.h), with the working hours of the
// calendar's nearest published year, loaded from the configuration's
// calendars/ directory. Notes on stderr when the year is already published.
// Returns 2 if the calendar does not load, extends another (its base's year
// is the one to derive), or the year is outside 2025..2100.
int RunCalendarDerive(const GlobalOptions& g, const std::string& id, int year);

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_CALENDAR_CMD_H_
