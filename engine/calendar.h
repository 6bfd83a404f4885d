// casegrid::engine::BusinessCalendar: which local civil days are working days,
// and when a deadline of N working (or calendar) days ends. The data is one
// file per year of the State Council's published holiday schedule
// (workflows/calendars/cn-2026.yaml; docs/calendar.md gives the format): its
// holidays are days off, its make-up days (调休) are weekend days that are
// working days. A year with no file counts weekends only: Monday to Friday are
// working days, Saturday and Sunday are not; Covers() tells the caller which.
// Days are local to Asia/Shanghai (base/time.h), the only zone accepted.
// Thread-safety: immutable after construction; every const method may be called
// from any thread. Queries do not allocate.
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
  // Loads every *.yaml file in `dir` (e.g. workflows/calendars) whose `calendar`
  // equals `id`; files for other calendars are skipped. Returns NotFound if
  // `dir` cannot be listed or holds no year of `id`, and InvalidArgument, with
  // the file's path, if any *.yaml file fails to parse (see
  // workflows/yaml_proto.h) or fails the checks of FromYears.
  static Result<BusinessCalendar> LoadDir(const std::string& dir, const std::string& id);

  // Builds a calendar from published years. Returns InvalidArgument, naming the
  // calendar, year and offending date, unless: `years` is not empty; all have
  // the same non-empty `calendar`; no year appears twice; time_zone is
  // Asia/Shanghai; every date parses as YYYY-MM-DD and lies inside its `year`;
  // each holiday has from <= to and overlaps no other holiday; each make-up day
  // is a Saturday or Sunday, is not also a holiday, and its `for` (when given)
  // names a holiday of the same year.
  static Result<BusinessCalendar> FromYears(std::vector<casegrid::v1::CalendarYear> years);

  // The calendar id, e.g. "cn-mainland".
  const std::string& id() const { return id_; }

  // True for Monday to Friday unless a published holiday, and for a published
  // make-up day. In a year without data: Monday to Friday.
  bool IsWorkingDay(int32_t civil_day) const;

  // True if the civil day's year has published data.
  bool Covers(int32_t civil_day) const;

  // End (23:59:59.999999 local, as epoch micros) of the Nth working day after
  // `anchor_day`. N = 0 means anchor_day itself when it is a working day, else
  // the next working day; N >= 1 counts working days strictly after anchor_day,
  // so N = 1 on a holiday ends on the same day as N = 0. Negative N counts as 0.
  int64_t EndOfWorkingDaysAfter(int32_t anchor_day, int working_days) const;

  // End (23:59:59.999999 local) of anchor_day + calendar_days; holidays do not
  // matter.
  int64_t EndOfCalendarDaysAfter(int32_t anchor_day, int calendar_days) const;

  // e.g. "cn-mainland (2025, 2026 published; other years: weekends only)".
  std::string Describe() const;

 private:
  BusinessCalendar() = default;

  bool Bit(const std::vector<uint64_t>& bits, int32_t civil_day) const;

  std::string id_;
  std::vector<int> years_;  // published years, ascending
  // The bitmaps span every day from 1 January of years_.front() through
  // 31 December of years_.back(); bit i is the day span_first_day_ + i.
  // Years in the span without data hold the weekends-only rule.
  int32_t span_first_day_ = 0;
  int32_t span_days_ = 0;
  std::vector<uint64_t> working_;  // 1 = working day
  std::vector<uint64_t> covered_;  // 1 = the day's year is published
};

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_CALENDAR_H_
