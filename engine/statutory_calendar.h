// A provisional year of the cn-mainland calendar, derived from the statutory
// rules for when the State Council has not yet published the year's schedule
// (docs/calendar.md, "Provisional years"). The rules are those of
// 全国年节及纪念日放假办法 as revised in 2024 (国务院令第795号, in force from
// 2025-01-01): article 2 gives the days off (元旦 1 January; 春节 除夕 to
// 正月初三; 清明节 the day of the Qingming solar term; 劳动节 1-2 May; 端午节
// 五月初五; 中秋节 八月十五; 国庆节 1-3 October), article 6 a substitute day
// off (补假) on a working day for each of those days that falls on a Saturday
// or Sunday. The official notice also moves days off and sets make-up working
// days (调休); a derived year has none, so it is marked provisional.
// Lunar dates: ICU's Chinese calendar says which lunation is which month,
// and a month starts on the Beijing day of its new moon (engine/astronomy.h):
// ICU 72's coarser lunar theory puts a few new moons near midnight on the
// wrong day (正月初一 2027 a day late, 2030 a day early). The Qingming day
// comes from the sun's longitude.
// All days are Beijing civil days.
// Thread-safety: every function may be called from any thread.
#ifndef CASEGRID_ENGINE_STATUTORY_CALENDAR_H_
#define CASEGRID_ENGINE_STATUTORY_CALENDAR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "workflows/workflow.pb.h"

namespace casegrid::engine {

// The years FestivalDaysOf answers, and the years DeriveStatutoryYear derives
// (the 2024 rules apply from 2025; earlier years had other rules).
inline constexpr int kMinFestivalYear = 2000;
inline constexpr int kMinStatutoryYear = 2025;
inline constexpr int kMaxStatutoryYear = 2100;

// The festival days of one Gregorian year, as civil days (base/time.h).
struct FestivalDays {
  int32_t new_years_eve = 0;    // 除夕: the last day of the 12th lunar month
  int32_t spring_festival = 0;  // 正月初一
  int32_t qingming = 0;         // the day the sun reaches longitude 15 degrees
  int64_t qingming_micros = 0;  // that instant
  int32_t dragon_boat = 0;      // 五月初五
  int32_t mid_autumn = 0;       // 八月十五
};

// The festival days of `year`. Returns InvalidArgument outside
// kMinFestivalYear..kMaxStatutoryYear, and IOError when ICU's Chinese
// calendar cannot be created or disagrees with the new moon by more than a day.
Result<FestivalDays> FestivalDaysOf(int year);

// What DeriveStatutoryYear fills besides the days off.
struct DeriveOptions {
  std::string calendar = "cn-mainland";
  // Copied as given; a calendar that extends no other needs them (FromYears).
  std::vector<casegrid::v1::CalendarYear::WorkingPeriod> working_hours;
};

// `year` derived from the statutory rules: `provisional` set, a `source`
// saying so, no make-up working days, and as holidays the runs of days off
// besides weekends in date order: each holiday's statutory days (weekend days
// included), and "<name>补假" for its substitute days. Returns InvalidArgument
// outside kMinStatutoryYear..kMaxStatutoryYear, or IOError as FestivalDaysOf.
Result<casegrid::v1::CalendarYear> DeriveStatutoryYear(int year, const DeriveOptions& options = {});

// `casegrid calendar derive`: DeriveStatutoryYear as a calendar file
// (docs/calendar.md), commented: what the file is and how it was made, and
// for each holiday its weekdays and the rule it comes from. The same year and
// options give the same text. Errors as DeriveStatutoryYear.
Result<std::string> DeriveStatutoryYearYaml(int year, const DeriveOptions& options = {});

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_STATUTORY_CALENDAR_H_
