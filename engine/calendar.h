// casegrid::engine::BusinessCalendar: which local civil days are working days,
// the working hours of those days, and when a deadline of N working days, N
// calendar days or N working hours ends. The data is one file per year of the
// State Council's published holiday schedule (workflows/calendars/cn-2026.yaml;
// docs/calendar.md gives the format): its holidays are days off, its make-up
// days (调休) are weekend days that are working days, its working_hours the
// working periods of every working day. A calendar may extend another (a
// town's local day off on top of cn-mainland). The years with a file are the
// calendar's coverage: a deadline that needs a day outside it is an error
// (DueAfter*), never a guess; only the unchecked EndOf* queries, kept for
// simulations, count weekends only there. A year may be provisional
// (`provisional: true`, derived from the statutory rules by `casegrid calendar
// derive` before the notice is published, engine/statutory_calendar.h): it
// counts like any other, and the calendar says which years are provisional
// so deadlines counted across them can be marked.
// Days are local to Asia/Shanghai (base/time.h), the only zone accepted.
// Thread-safety: immutable after construction; every const method may be called
// from any thread.
#ifndef CASEGRID_ENGINE_CALENDAR_H_
#define CASEGRID_ENGINE_CALENDAR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "workflows/workflow.pb.h"

namespace casegrid::engine {

class BusinessCalendar {
 public:
  // Loads every *.yaml file in `dir` (e.g. workflows/calendars), keeps those
  // whose `calendar` equals `id` and, when they extend another calendar, that
  // calendar's files too (recursively). Returns NotFound if `dir` cannot be
  // listed or holds no year of `id`, and InvalidArgument, with the file's path,
  // if any *.yaml file fails to parse (see workflows/yaml_proto.h), fails the
  // checks of FromYears, names an unknown base calendar or a cycle.
  // `published` are years put in force from the log (CalendarPublished
  // events, engine/rules.h), in order: each takes the place of the file of
  // its calendar and year, or adds the year; the last of a calendar and year
  // wins.
  // With `use_files` false the files are not read: `published` alone (a
  // configuration adopted on the log, engine/rules.h).
  static Result<BusinessCalendar> LoadDir(
      const std::string& dir, const std::string& id,
      const std::vector<casegrid::v1::CalendarYear>& published = {}, bool use_files = true);

  // Every year of every calendar in `dir`'s files, with `published` in
  // their places as LoadDir puts them, by calendar then year: the calendars
  // in force, for adopting the configuration on the log. InvalidArgument /
  // NotFound as LoadDir for a file that does not parse.
  static Result<std::vector<casegrid::v1::CalendarYear>> YearsInForce(
      const std::string& dir, const std::vector<casegrid::v1::CalendarYear>& published);

  // Builds a calendar from its years. Returns InvalidArgument, naming the
  // calendar, year and offending value, unless: `years` is not empty; all have
  // the same non-empty `calendar` and the same `extends`; no year appears
  // twice; time_zone is Asia/Shanghai; every date parses as YYYY-MM-DD and lies
  // inside its `year`; each holiday has from <= to and overlaps no other
  // holiday; each make-up day is a Saturday or Sunday, is not also a holiday,
  // and its `for` (when given) names a holiday of the same year; working_hours
  // are HH:MM periods in order, each ending after it starts and none
  // overlapping, and present unless the calendar extends another. With
  // `extends`, `base` must be that calendar and cover every year (it is read
  // during the call only); otherwise `base` must be null.
  static Result<BusinessCalendar> FromYears(std::vector<casegrid::v1::CalendarYear> years,
                                            const BusinessCalendar* base = nullptr);

  // The calendar id, e.g. "cn-mainland"; the calendar it extends, or "".
  const std::string& id() const { return id_; }
  const std::string& extends() const { return extends_; }

  // True for Monday to Friday unless a holiday (the base's or its own), and
  // for a make-up day. Outside the covered years: Monday to Friday.
  bool IsWorkingDay(int32_t civil_day) const;

  // True if the civil day's year has a file (and, with extends, the base
  // covers it too).
  bool Covers(int32_t civil_day) const;

  // True if the civil day's year is covered and provisional: its own file
  // says so, or (with extends) the base's year is provisional.
  bool IsProvisional(int32_t civil_day) const;

  // The provisional years, ascending; those with a day in [first_day,
  // last_day] (civil days, inclusive), ascending: empty when a deadline
  // counted over that span used published years only.
  std::vector<int> ProvisionalYears() const;
  std::vector<int> ProvisionalYearsBetween(int32_t first_day, int32_t last_day) const;

  // Checked deadlines, for the engine. End (23:59:59.999999 local, as epoch
  // micros) of the Nth working day after `anchor_day`: N = 0 means anchor_day
  // itself when it is a working day, else the next working day; N >= 1 counts
  // working days strictly after anchor_day. Negative N counts as 0. Returns
  // InvalidArgument, naming the calendar, its years, the anchor and the first
  // day it would need, if counting needs a day that Covers() does not.
  Result<int64_t> DueAfterWorkingDays(int32_t anchor_day, int working_days) const;

  // The instant N working hours after `anchor_micros`: only the working
  // periods of working days count, so 2 hours from 11:00 on a working day with
  // 08:30-12:00 and 13:30-17:30 end at 14:30, and a deadline ending exactly at
  // a period's end ends there (12:00, not 13:30). N = 0 gives the first working
  // instant at or after the anchor. InvalidArgument as DueAfterWorkingDays.
  Result<int64_t> DueAfterWorkingHours(int64_t anchor_micros, int working_hours) const;

  // Deadline warnings, for the engine: the instant a warning fires before a
  // deadline due at `due_micros` that was armed at `armed_micros` (the
  // definition's warn_before, workflows/workflow.proto). Days count backwards:
  //  - WarnBeforeWorkingDays: the end (23:59:59.999999 local) of the Nth
  //    working day strictly before the due's local day, so N = 1 warns at the
  //    end of the last working day before the due day;
  //  - WarnBeforeWorkingHours: the earliest instant from which at most N
  //    working hours are left until the due time. With 08:30-12:00 and
  //    13:30-17:30, 2 hours before 14:30 is 11:00; 1 hour before 09:30 is
  //    17:30 of the previous working day (08:30 has the same hour left, and
  //    17:30 comes first).
  // Both return 0 (no warning) when that instant is at or before
  // `armed_micros` (less working time than that was left when it was armed)
  // or N <= 0. InvalidArgument, as DueAfterWorkingDays, when counting needs a
  // day after the arming day that Covers() does not.
  Result<int64_t> WarnBeforeWorkingDays(int64_t due_micros, int working_days,
                                        int64_t armed_micros) const;
  Result<int64_t> WarnBeforeWorkingHours(int64_t due_micros, int working_hours,
                                         int64_t armed_micros) const;

  // Unchecked versions for simulations (sim/simulation.cc): outside the covered
  // years they count weekends only, with the nearest covered year's hours.
  int64_t EndOfWorkingDaysAfter(int32_t anchor_day, int working_days) const;
  int64_t EndOfWorkingHoursAfter(int64_t anchor_micros, int working_hours) const;

  // End (23:59:59.999999 local) of anchor_day + calendar_days; holidays and
  // coverage do not matter.
  int64_t EndOfCalendarDaysAfter(int32_t anchor_day, int calendar_days) const;

  // The covered years as ranges, e.g. "2025–2026", "2023, 2025–2026", or
  // with provisional years "2025–2027 (2027 provisional)".
  std::string CoveredYears() const;

  // e.g. "cn-mainland (covers 2025–2026)",
  // "cn-mainland (covers 2025–2027; 2027 provisional)",
  // "cn-mainland+town-x (extends cn-mainland; covers 2026)".
  std::string Describe() const;

  // What `casegrid calendar show` prints for `year`: its sources, working
  // hours, days off (holidays, weekends not listed) and make-up days, each
  // with the calendar it comes from; for a provisional year, PROVISIONAL on
  // the first line and what that means. NotFound if the year is not covered.
  Result<std::string> FormatYear(int year) const;

  // The working hours of the published (not provisional) covered year
  // nearest to `year`, the earlier on a tie; of the nearest year when every
  // year is provisional. As HH:MM periods, e.g. for `calendar derive`.
  std::vector<casegrid::v1::CalendarYear::WorkingPeriod> PublishedWorkingHoursNear(int year) const;

  // The covered years, ascending.
  std::vector<int> Years() const;

 private:
  struct Period {
    int from_minute = 0;  // minutes after local midnight, inclusive
    int to_minute = 0;    // exclusive
  };
  struct Named {
    std::string name;
    int32_t from = 0, to = 0;  // civil days, inclusive
    std::string calendar;      // the calendar it comes from
  };
  struct Year {
    int year = 0;
    std::vector<std::string> sources;  // "calendar: source", base first
    std::vector<Period> hours;
    std::string hours_from;  // the calendar whose working_hours these are
    std::vector<Named> days_off;
    std::vector<Named> makeup_days;
    // The calendar whose file marks the year provisional (the base's first),
    // or "" for a published year.
    std::string provisional_from;
  };

  BusinessCalendar() = default;

  bool Bit(const std::vector<uint64_t>& bits, int32_t civil_day) const;
  // The working periods of the year of `civil_day`, or of the nearest year.
  const std::vector<Period>& HoursOn(int32_t civil_day) const;
  // Walks forward from anchor; `strict` turns an uncovered day into an error.
  Result<int64_t> WalkDays(int32_t anchor_day, int working_days, bool strict) const;
  Result<int64_t> WalkHours(int64_t anchor_micros, int working_hours, bool strict) const;
  Status Uncovered(const std::string& deadline, int32_t needed_day) const;

  std::string id_;
  std::string extends_;
  std::vector<Year> years_;  // covered years, ascending
  // The bitmaps span every day from 1 January of years_.front() through
  // 31 December of years_.back(); bit i is the day span_first_day_ + i.
  // Years in the span without data hold the weekends-only rule.
  int32_t span_first_day_ = 0;
  int32_t span_days_ = 0;
  std::vector<uint64_t> working_;  // 1 = working day
  std::vector<uint64_t> covered_;  // 1 = the day's year is covered
};

// One calendar file checked by ValidateCalendarFiles.
struct CalendarFileReport {
  std::string file;
  // "FILE:LINE:COL: message" lines (workflows/validate.h FormatProblem), in
  // file order; empty when the file is valid.
  std::vector<std::string> problems;
  std::string summary;  // when valid, e.g. "calendar cn-mainland 2026: 7 holidays, ..."
  Status unreadable;    // not OK when the file could not be read (not checked)
};

// `casegrid calendar validate FILE...`: checks each file with every rule of
// FromYears (all problems of a file, each at its YAML node), and across the
// files and `calendars_dir` (the configuration's calendars, whose files
// resolve `extends` and count for duplicate years; a file listed and also in
// the directory counts once): a calendar and year in two files, `extends`
// naming no calendar, a cycle of extends, a base that does not cover the
// year, files of one calendar naming different bases. Returns NotFound if
// `calendars_dir` cannot be listed; otherwise one report per file, in order.
Result<std::vector<CalendarFileReport>> ValidateCalendarFiles(const std::vector<std::string>& files,
                                                              const std::string& calendars_dir);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_CALENDAR_H_
