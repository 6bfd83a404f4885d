// The `casegrid calendar` subcommands (docs/calendar.md): `validate FILE...`
// checks calendar files, `show ID [--year Y]` prints a calendar's days off,
// make-up days and working hours, `derive --year Y` prints a provisional year
// derived from the statutory rules, `publish FILE` puts a year in force from
// the log and recounts the deadlines counted over it, `recount ID` recounts
// them again. Each returns the process exit status.
#ifndef CASEGRID_TOOLS_CALENDAR_CMD_H_
#define CASEGRID_TOOLS_CALENDAR_CMD_H_

#include <string>
#include <vector>

#include "tools/commands.h"
#include "tools/session.h"

namespace casegrid::tools {

// Prints "FILE:LINE:COL: message" per problem, or "FILE: ok (...)" per valid
// file, on stdout. `extends` and duplicate years are resolved against the
// given files and the configuration's calendars/ directory. Returns 0 if every
// file is valid, 1 if any has a problem, 2 if a file or the calendar
// directory cannot be read (named on stderr; the other files are still checked).
int RunCalendarValidate(const GlobalOptions& g, const std::vector<std::string>& files);

// Loads calendar `id` from the configuration's calendars/ directory (with the
// calendar it extends; with the years published on the log in place when the
// data directory has one) and prints `year`, or every covered year when `year` is
// 0. Returns 1 if the year is not covered, 2 if the calendar does not load.
int RunCalendarShow(const GlobalOptions& g, const std::string& id, int year);

// `calendar publish FILE --by USER --reason TEXT`: puts the year in FILE in
// force in place of the file of its calendar and year
// (engine::PublishCalendarYear), then recounts the open deadlines counted
// over a provisional year (engine::Recount) and prints one line per
// deadline, moved or not; on Kafka it sends one recount command per case to
// the workers instead. 0 done, 1 refused (nothing written), 2 could not run.
int RunCalendarPublish(const GlobalOptions& g, const std::string& file,
                       const RuleChangeOptions& change);

// `calendar recount ID --by USER --reason TEXT [--dry-run]`: the recount
// step of `publish` alone (after a publication interrupted before it, or a
// calendar file changed by hand). 0 done, 1 refused, 2 could not run.
int RunCalendarRecount(const GlobalOptions& g, const std::string& id,
                       const RuleChangeOptions& change, bool dry_run);

// Prints `year` of calendar `id` derived from the statutory rules as a
// calendar file (engine/statutory_calendar.h), with the working hours of the
// calendar's nearest published year, loaded from the configuration's
// calendars/ directory. Notes on stderr when the year is already published.
// Returns 2 if the calendar does not load, extends another (its base's year
// is the one to derive), or the year is outside 2025..2100.
int RunCalendarDerive(const GlobalOptions& g, const std::string& id, int year);

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_CALENDAR_CMD_H_
