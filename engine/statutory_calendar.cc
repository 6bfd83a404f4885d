#include "engine/statutory_calendar.h"

#include <unicode/calendar.h>
#include <unicode/locid.h>
#include <unicode/timezone.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <utility>

#include "base/time.h"
#include "engine/astronomy.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CalendarYear;

// ICU numbers Chinese years from 2637 BCE: the year that starts in Gregorian
// year Y has UCAL_EXTENDED_YEAR Y + 2637.
constexpr int kChineseEraOffset = 2637;
constexpr int64_t kMicrosPerHour = 3600 * timeutil::kMicrosPerSecond;
// ICU and the new moon may disagree by a day when the conjunction is near
// Beijing midnight (ICU's lunar theory is coarser); more means a bug.
constexpr int kMaxNewMoonDisagreementDays = 1;

constexpr const char* kWeekdayShort[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// The holidays of article 2, in the order a day's names are joined (国庆节
// before 中秋节, as the notices write it when they meet).
enum Holiday { kNewYear, kSpring, kQingming, kLabour, kDragonBoat, kNational, kMidAutumn };
struct HolidayInfo {
  const char* name;
  const char* english;
};
constexpr HolidayInfo kHolidays[] = {
    {"元旦", "New Year's Day"},         {"春节", "Spring Festival"},
    {"清明节", "Qingming Festival"},    {"劳动节", "Labour Day"},
    {"端午节", "Dragon Boat Festival"}, {"国庆节", "National Day"},
    {"中秋节", "Mid-Autumn Festival"}};

// One statutory day of one holiday, e.g. 春节's 正月初一.
struct Statutory {
  Holiday holiday;
  int32_t day;
  std::string what;       // "正月初一", "1 May"
  std::string note = "";  // said where the day is listed, not where it is made up
};

// A day off besides weekends and why.
struct DayOff {
  std::vector<const Statutory*> statutory;    // the holidays that fall on it
  const Statutory* substitute_for = nullptr;  // or: the 补假 of this day
};

// A run of consecutive days off with the same name: one `holidays` entry.
struct Entry {
  std::string name;
  int32_t from = 0, to = 0;
  std::string comment;
};

std::string Weekday(int32_t day) { return kWeekdayShort[timeutil::Weekday(day)]; }

int32_t Date(int year, unsigned month, unsigned day) {
  return timeutil::DaysFromCivil(year, month, day);
}

// The first days of the lunar months 1, 5 and 8 of the Chinese year that
// starts in `year`, as ICU's Chinese calendar gives them.
struct LunarMonthStarts {
  int32_t first = 0, fifth = 0, eighth = 0;
};

Result<LunarMonthStarts> IcuMonthStarts(int year) {
  UErrorCode status = U_ZERO_ERROR;
  // In GMT a UDate's day is the civil day itself; ICU places the new moons
  // on China's meridian (UTC+8) on its own.
  std::unique_ptr<icu::Calendar> chinese(icu::Calendar::createInstance(
      *icu::TimeZone::getGMT(), icu::Locale("zh_CN@calendar=chinese"), status));
  if (U_FAILURE(status) || chinese == nullptr) {
    return Status::IOError(std::string("ICU: cannot create the Chinese calendar (") +
                           u_errorName(status) + ")");
  }
  // Without its data ICU falls back to the Gregorian calendar silently.
  if (std::strcmp(chinese->getType(), "chinese") != 0) {
    return Status::IOError(std::string("ICU: zh_CN@calendar=chinese gives calendar type ") +
                           chinese->getType() + ", not chinese");
  }
  // Set the lunar date, read the civil day back, and check the round trip.
  auto first_day_of = [&](int32_t month) -> Result<int32_t> {
    chinese->clear();
    chinese->set(UCAL_EXTENDED_YEAR, year + kChineseEraOffset);
    chinese->set(UCAL_MONTH, month);  // 0-based
    chinese->set(UCAL_IS_LEAP_MONTH, 0);
    chinese->set(UCAL_DATE, 1);
    chinese->set(UCAL_HOUR_OF_DAY, 12);
    const UDate millis = chinese->getTime(status);
    const bool round_trip = U_SUCCESS(status) &&
                            chinese->get(UCAL_EXTENDED_YEAR, status) == year + kChineseEraOffset &&
                            chinese->get(UCAL_MONTH, status) == month &&
                            chinese->get(UCAL_IS_LEAP_MONTH, status) == 0 &&
                            chinese->get(UCAL_DATE, status) == 1 && U_SUCCESS(status);
    if (!round_trip) {
      return Status::IOError("ICU: no day 1 of lunar month " + std::to_string(month + 1) +
                             " of the Chinese year starting in " + std::to_string(year) + " (" +
                             u_errorName(status) + ")");
    }
    return static_cast<int32_t>(std::floor(millis / 86'400'000.0));
  };
  LunarMonthStarts starts;
  CASEGRID_ASSIGN_OR_RETURN(starts.first, first_day_of(0));
  CASEGRID_ASSIGN_OR_RETURN(starts.fifth, first_day_of(4));
  CASEGRID_ASSIGN_OR_RETURN(starts.eighth, first_day_of(7));
  return starts;
}

// The Beijing civil day of the new moon nearest to ICU's first day of a
// month: the month's true first day.
Result<int32_t> NewMoonDay(int32_t icu_day, const char* month) {
  const int64_t noon = timeutil::LocalDayStartMicros(icu_day) + 12 * kMicrosPerHour;
  const int32_t day = timeutil::LocalDay(astronomy::NewMoonNearestMicros(noon));
  if (std::abs(day - icu_day) > kMaxNewMoonDisagreementDays) {
    return Status::IOError(std::string("lunar month ") + month + ": ICU starts it on " +
                           timeutil::FormatDate(icu_day) + ", the new moon is on " +
                           timeutil::FormatDate(day));
  }
  return day;
}

// "HH:MM" Beijing time of `micros`.
std::string LocalClock(int64_t micros) {
  const int64_t minutes =
      (micros - timeutil::LocalDayStartMicros(timeutil::LocalDay(micros))) / (60 * 1'000'000);
  const int h = static_cast<int>(minutes / 60), m = static_cast<int>(minutes % 60);
  return std::string{static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                     static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10)};
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// Every statutory day of `year` (article 2), in holiday order.
std::vector<Statutory> StatutoryDays(int year, const FestivalDays& f) {
  const std::string qingming = ", sun at 15° about " + LocalClock(f.qingming_micros);
  return {
      {kNewYear, Date(year, 1, 1), "1 January"},    {kSpring, f.new_years_eve, "除夕"},
      {kSpring, f.spring_festival, "正月初一"},     {kSpring, f.spring_festival + 1, "正月初二"},
      {kSpring, f.spring_festival + 2, "正月初三"}, {kQingming, f.qingming, "清明", qingming},
      {kLabour, Date(year, 5, 1), "1 May"},         {kLabour, Date(year, 5, 2), "2 May"},
      {kDragonBoat, f.dragon_boat, "五月初五"},     {kNational, Date(year, 10, 1), "1 October"},
      {kNational, Date(year, 10, 2), "2 October"},  {kNational, Date(year, 10, 3), "3 October"},
      {kMidAutumn, f.mid_autumn, "八月十五"},
  };
}

bool IsWeekend(int32_t day) { return timeutil::Weekday(day) >= 6; }

// The days off besides weekends of the year of `statutory` (its article 2
// days) as holiday entries, in date order.
std::vector<Entry> Entries(const std::vector<Statutory>& statutory) {
  std::map<int32_t, DayOff> days;
  for (const Statutory& s : statutory) days[s.day].statutory.push_back(&s);
  // Article 6: each statutory day on a Saturday or Sunday is made up on the
  // next working day not already off. A day that two holidays share (中秋节
  // on 1-3 October) is one day off for two: the second holiday gets a
  // substitute day too, as in 2020 (中秋节 on 1 October: the notice gave the
  // two 4 weekdays off, 3 + 1, in 8 days with 调休).
  std::vector<const Statutory*> owed;
  for (auto& [day, off] : days) {
    std::sort(off.statutory.begin(), off.statutory.end(),
              [](const Statutory* a, const Statutory* b) { return a->holiday < b->holiday; });
    for (size_t i = 0; i < off.statutory.size(); ++i) {
      if (i > 0 || IsWeekend(day)) owed.push_back(off.statutory[i]);
    }
  }
  for (const Statutory* s : owed) {
    int32_t day = s->day + 1;
    while (IsWeekend(day) || days.count(day) > 0) ++day;
    days[day].substitute_for = s;
  }

  auto name_of = [](const DayOff& off) {
    if (off.substitute_for != nullptr) {
      return std::string(kHolidays[off.substitute_for->holiday].name) + "补假";
    }
    std::vector<std::string> names;
    for (const Statutory* s : off.statutory) names.push_back(kHolidays[s->holiday].name);
    return Join(names, "、");
  };
  std::vector<Entry> entries;
  std::vector<std::vector<const DayOff*>> runs;
  for (const auto& [day, off] : days) {
    const std::string name = name_of(off);
    if (!entries.empty() && entries.back().name == name && entries.back().to + 1 == day) {
      entries.back().to = day;
      runs.back().push_back(&off);
    } else {
      entries.push_back(Entry{name, day, day, ""});
      runs.push_back({&off});
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    const DayOff& first = *runs[i].front();
    const DayOff& last = *runs[i].back();
    std::string when = Weekday(e.from) + (e.to != e.from ? " .. " + Weekday(e.to) : "");
    if (first.substitute_for != nullptr) {
      std::vector<std::string> fors;
      for (const DayOff* off : runs[i]) {
        const Statutory& s = *off->substitute_for;
        std::string also;
        for (const Statutory* other : days.at(s.day).statutory) {
          if (other->holiday != s.holiday)
            also += std::string(", also ") + kHolidays[other->holiday].name;
        }
        fors.push_back(s.what + " (" + Weekday(s.day) + also + ")");
      }
      e.comment = std::string(runs[i].size() > 1 ? "substitute days off " : "substitute day off ") +
                  when + " for " + Join(fors, ", ") + " (article 6)";
      continue;
    }
    std::vector<std::string> english, first_what, last_what;
    for (const Statutory* s : first.statutory) {
      english.push_back(kHolidays[s->holiday].english);
      first_what.push_back(s->what + s->note);
    }
    for (const Statutory* s : last.statutory) last_what.push_back(s->what + s->note);
    e.comment = Join(english, " and ") + ", " + Weekday(e.from) + " " + Join(first_what, " and ");
    if (e.to != e.from) e.comment += " .. " + Weekday(e.to) + " " + Join(last_what, " and ");
    e.comment += " (article 2)";
  }
  return entries;
}

Status CheckYear(int year, int min_year) {
  if (year < min_year || year > kMaxStatutoryYear) {
    return Status::InvalidArgument(
        "year " + std::to_string(year) + " is outside " + std::to_string(min_year) + ".." +
        std::to_string(kMaxStatutoryYear) +
        (min_year == kMinStatutoryYear ? " (the statutory rules of 2024 apply from 2025)" : ""));
  }
  return Status::Ok();
}

std::string Source() {
  return "provisional, derived by casegrid from 全国年节及纪念日放假办法 (2024 revision, "
         "国务院令第795号) articles 2 and 6; not a State Council notice";
}

// Columns of text as a terminal shows them: a CJK character (three UTF-8
// bytes here) is two columns wide.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    width += len >= 3 ? 2 : 1;
    i += len;
  }
  return width;
}

}  // namespace

Result<FestivalDays> FestivalDaysOf(int year) {
  CASEGRID_RETURN_IF_ERROR(CheckYear(year, kMinFestivalYear));
  CASEGRID_ASSIGN_OR_RETURN(LunarMonthStarts icu, IcuMonthStarts(year));
  FestivalDays f;
  CASEGRID_ASSIGN_OR_RETURN(f.spring_festival, NewMoonDay(icu.first, "1"));
  CASEGRID_ASSIGN_OR_RETURN(const int32_t fifth, NewMoonDay(icu.fifth, "5"));
  CASEGRID_ASSIGN_OR_RETURN(const int32_t eighth, NewMoonDay(icu.eighth, "8"));
  f.new_years_eve = f.spring_festival - 1;
  f.dragon_boat = fifth + 4;
  f.mid_autumn = eighth + 14;
  // Qingming falls on 4 or 5 April in these years: search 1..8 April.
  f.qingming_micros =
      astronomy::SunReachesLongitudeMicros(15.0, timeutil::LocalDayStartMicros(Date(year, 4, 1)),
                                           timeutil::LocalDayStartMicros(Date(year, 4, 8)));
  f.qingming = timeutil::LocalDay(f.qingming_micros);
  return f;
}

Result<CalendarYear> DeriveStatutoryYear(int year, const DeriveOptions& options) {
  CASEGRID_RETURN_IF_ERROR(CheckYear(year, kMinStatutoryYear));
  CASEGRID_ASSIGN_OR_RETURN(const FestivalDays festivals, FestivalDaysOf(year));
  const std::vector<Statutory> statutory = StatutoryDays(year, festivals);
  CalendarYear y;
  y.set_calendar(options.calendar);
  y.set_year(year);
  y.set_time_zone("Asia/Shanghai");
  y.set_source(Source());
  y.set_provisional(true);
  for (const auto& p : options.working_hours) *y.add_working_hours() = p;
  for (const Entry& e : Entries(statutory)) {
    CalendarYear::Holiday* h = y.add_holidays();
    h->set_name(e.name);
    h->set_from(timeutil::FormatDate(e.from));
    h->set_to(timeutil::FormatDate(e.to));
  }
  return y;
}

Result<std::string> DeriveStatutoryYearYaml(int year, const DeriveOptions& options) {
  CASEGRID_RETURN_IF_ERROR(CheckYear(year, kMinStatutoryYear));
  CASEGRID_ASSIGN_OR_RETURN(const FestivalDays festivals, FestivalDaysOf(year));
  const std::vector<Statutory> statutory = StatutoryDays(year, festivals);
  const std::vector<Entry> entries = Entries(statutory);
  const std::string y = std::to_string(year);
  std::string out =
      "# PROVISIONAL public holidays in mainland China, " + y +
      ", derived from the statutory\n"
      "# rules: not the State Council's schedule, which was not published when this\n"
      "# file was made. Replace this file with the notice (国务院办公厅关于" +
      y +
      "年部分节假日\n"
      "# 安排的通知) when it appears: the notice moves days off and sets make-up\n"
      "# working days (调休), so deadlines counted across this year may move\n"
      "# (docs/calendar.md, \"Provisional years\").\n"
      "# Made by: casegrid calendar derive --year " +
      y + " --calendar " + options.calendar +
      "\n"
      "# Rules: 全国年节及纪念日放假办法 as revised in 2024 (国务院令第795号, in force\n"
      "# from 2025-01-01). Article 2: 元旦 1 day (1 January), 春节 4 days (除夕 ..\n"
      "# 正月初三), 清明节 1 day (the day of the Qingming solar term), 劳动节 2 days\n"
      "# (1-2 May), 端午节 1 day (五月初五), 中秋节 1 day (八月十五), 国庆节 3 days\n"
      "# (1-3 October). Article 6: a holiday on a Saturday or Sunday is made up on a\n"
      "# working day; here the next working day not already off (补假). No make-up\n"
      "# working days. Lunar dates: ICU's Chinese calendar, each month starting on the\n"
      "# day of its new moon (Meeus, Astronomical Algorithms, ch. 49); Qingming: the\n"
      "# day the sun's apparent longitude reaches 15 degrees (ch. 25). Beijing time.\n"
      "calendar: " +
      options.calendar + "\nyear: " + y + "\ntime_zone: Asia/Shanghai\nsource: " + Source() +
      "\nprovisional: true\n";
  if (!options.working_hours.empty()) {
    out +=
        "\n# Working hours of every working day: as in the last published year (not part\n"
        "# of the rules). A unit with other hours changes them here (docs/calendar.md).\n"
        "working_hours:\n";
    for (const auto& p : options.working_hours) {
      out += "  - {from: \"" + p.from() + "\", to: \"" + p.to() + "\"}\n";
    }
  }
  out += "\nholidays:\n";
  size_t width = 0;
  for (const Entry& e : entries) width = std::max(width, DisplayWidth(e.name));
  for (const Entry& e : entries) {
    out += "  - name: " + e.name + std::string(width + 2 - DisplayWidth(e.name), ' ') + "# " +
           e.comment + "\n";
    out += "    from: " + timeutil::FormatDate(e.from) + "\n";
    out += "    to: " + timeutil::FormatDate(e.to) + "\n";
  }
  return out;
}

}  // namespace casegrid::engine
