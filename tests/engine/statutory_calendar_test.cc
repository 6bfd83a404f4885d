// The provisional calendar derived from the statutory rules
// (engine/statutory_calendar.h) and its astronomy (engine/astronomy.h). The
// expected dates are worked out by hand from the rules and checked against
// published facts: the festival days of past notices, the shipped 2025 and
// 2026 files, and the announced 2027 festival dates.
#include "engine/statutory_calendar.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/astronomy.h"
#include "engine/calendar.h"
#include "tests/test_util.h"
#include "workflows/yaml_proto.h"

using casegrid::Result;
using casegrid::engine::BusinessCalendar;
using casegrid::engine::DeriveStatutoryYear;
using casegrid::engine::FestivalDays;
using casegrid::engine::FestivalDaysOf;
using casegrid::v1::CalendarYear;
namespace timeutil = casegrid::timeutil;
namespace astronomy = casegrid::engine::astronomy;

namespace {

int32_t Day(const char* date) {
  Result<int32_t> d = timeutil::ParseDate(date);
  REQUIRE_OK(d);
  return *d;
}

int64_t At(const char* timestamp) {
  Result<int64_t> t = timeutil::ParseTimestamp(timestamp);
  REQUIRE_OK(t);
  return *t;
}

std::string Date(int32_t day) { return timeutil::FormatDate(day); }

const char* Weekday(int32_t day) {
  static constexpr const char* kNames[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  return kNames[timeutil::Weekday(day)];
}

FestivalDays Festivals(int year) {
  Result<FestivalDays> f = FestivalDaysOf(year);
  REQUIRE_OK(f);
  return *f;
}

// The year derived, with the shipped working hours, as a one-year calendar.
BusinessCalendar Derived(int year) {
  casegrid::engine::DeriveOptions options;
  options.working_hours.resize(2);
  options.working_hours[0].set_from("08:30");
  options.working_hours[0].set_to("12:00");
  options.working_hours[1].set_from("13:30");
  options.working_hours[1].set_to("17:30");
  Result<CalendarYear> y = DeriveStatutoryYear(year, options);
  REQUIRE_OK(y);
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears({*y});
  REQUIRE_OK(cal);
  return std::move(cal).value();
}

// "2027-02-05..2027-02-08 春节" per holiday entry.
std::vector<std::string> HolidayLines(const CalendarYear& y) {
  std::vector<std::string> lines;
  for (const auto& h : y.holidays()) lines.push_back(h.from() + ".." + h.to() + " " + h.name());
  return lines;
}

const BusinessCalendar& ShippedOfficial() {
  // The official files only, without the provisional 2027.
  static const Result<BusinessCalendar> cal = [] {
    std::vector<CalendarYear> years;
    for (const char* file : {"cn-2025.yaml", "cn-2026.yaml"}) {
      CalendarYear y;
      REQUIRE_OK(casegrid::workflows::LoadYamlFile(
          casegrid::test::SourcePath(std::string("workflows/calendars/") + file), &y));
      years.push_back(std::move(y));
    }
    return BusinessCalendar::FromYears(std::move(years));
  }();
  REQUIRE_OK(cal);
  return *cal;
}

int WorkingDays(const BusinessCalendar& cal, int year) {
  int n = 0;
  for (int32_t d = timeutil::DaysFromCivil(year, 1, 1); d <= timeutil::DaysFromCivil(year, 12, 31);
       ++d) {
    n += cal.IsWorkingDay(d) ? 1 : 0;
  }
  return n;
}

}  // namespace

// ---- Astronomy ----

TEST_CASE("the sun's apparent longitude matches Meeus's example 25.a", "[calendar][statutory]") {
  // 1992-10-13 0h TD (JDE 2448908.5) is about 59 s earlier in UT: lambda = 199.90895 degrees.
  const double lambda = astronomy::SunApparentLongitudeDegrees(At("1992-10-12T23:59:01Z"));
  INFO(lambda);
  REQUIRE(std::fabs(lambda - 199.90895) < 0.0002);
}

TEST_CASE("the new moon of February 2027 is on the 6th, minutes before Beijing midnight",
          "[calendar][statutory]") {
  // The annular eclipse of 2027-02-06: conjunction about 15:56 UT, 23:56 in Beijing.
  const int64_t moon = astronomy::NewMoonNearestMicros(At("2027-02-06T12:00:00+08:00"));
  INFO(timeutil::FormatTimestamp(moon));
  REQUIRE(timeutil::LocalDay(moon) == Day("2027-02-06"));
  REQUIRE(std::llabs(moon - At("2027-02-06T23:56:00+08:00")) < 3 * 60 * 1'000'000LL);
}

TEST_CASE("Qingming is the day the sun reaches 15 degrees, Beijing time", "[calendar][statutory]") {
  // Past notices: 4 April in 2020, 2021, 2024, 2025; 5 April in 2022, 2023, 2026.
  const std::vector<std::pair<int, const char*>> known = {
      {2020, "2020-04-04"}, {2021, "2021-04-04"}, {2022, "2022-04-05"}, {2023, "2023-04-05"},
      {2024, "2024-04-04"}, {2025, "2025-04-04"}, {2026, "2026-04-05"}, {2027, "2027-04-05"}};
  for (const auto& [year, date] : known) {
    INFO(year);
    REQUIRE(Date(Festivals(year).qingming) == date);
  }
  // 2025: 20:48 Beijing time by the almanacs; this low-precision sun is minutes early.
  const int64_t qingming_2025 = Festivals(2025).qingming_micros;
  REQUIRE(std::llabs(qingming_2025 - At("2025-04-04T20:48:00+08:00")) < 15 * 60 * 1'000'000LL);
}

// ---- Lunar festivals ----

TEST_CASE(
    "2027: 除夕 Friday 02-05, Spring Festival Saturday 02-06, Dragon Boat Wednesday 06-09, "
    "Mid-Autumn Wednesday 09-15",
    "[calendar][statutory]") {
  const FestivalDays f = Festivals(2027);
  CHECK(Date(f.new_years_eve) == "2027-02-05");
  CHECK(Weekday(f.new_years_eve) == std::string("Fri"));
  CHECK(Date(f.spring_festival) == "2027-02-06");
  CHECK(Weekday(f.spring_festival) == std::string("Sat"));
  CHECK(Date(f.qingming) == "2027-04-05");
  CHECK(Weekday(f.qingming) == std::string("Mon"));
  CHECK(Date(f.dragon_boat) == "2027-06-09");
  CHECK(Weekday(f.dragon_boat) == std::string("Wed"));
  CHECK(Date(f.mid_autumn) == "2027-09-15");
  CHECK(Weekday(f.mid_autumn) == std::string("Wed"));
}

TEST_CASE(
    "Spring Festival 2020..2035 on its published dates (ICU alone is a day off in 2027 and "
    "2030)",
    "[calendar][statutory]") {
  const std::vector<std::pair<int, const char*>> known = {
      {2020, "2020-01-25"}, {2021, "2021-02-12"}, {2022, "2022-02-01"}, {2023, "2023-01-22"},
      {2024, "2024-02-10"}, {2025, "2025-01-29"}, {2026, "2026-02-17"}, {2027, "2027-02-06"},
      {2028, "2028-01-26"}, {2029, "2029-02-13"}, {2030, "2030-02-03"}, {2031, "2031-01-23"},
      {2032, "2032-02-11"}, {2033, "2033-01-31"}, {2034, "2034-02-19"}, {2035, "2035-02-08"}};
  for (const auto& [year, date] : known) {
    INFO(year);
    const FestivalDays f = Festivals(year);
    REQUIRE(Date(f.spring_festival) == date);
    REQUIRE(f.new_years_eve == f.spring_festival - 1);
  }
}

TEST_CASE("Dragon Boat and Mid-Autumn of 2023 and 2024 fall on the days the notices gave",
          "[calendar][statutory]") {
  CHECK(Date(Festivals(2023).dragon_boat) == "2023-06-22");
  CHECK(Date(Festivals(2023).mid_autumn) == "2023-09-29");
  CHECK(Date(Festivals(2024).dragon_boat) == "2024-06-10");
  CHECK(Date(Festivals(2024).mid_autumn) == "2024-09-17");
}

TEST_CASE("2025 and 2026 festival days are the cores of the shipped official holidays",
          "[calendar][statutory]") {
  const FestivalDays f25 = Festivals(2025);
  CHECK(Date(f25.new_years_eve) == "2025-01-28");
  CHECK(Date(f25.spring_festival) == "2025-01-29");
  CHECK(Date(f25.qingming) == "2025-04-04");
  CHECK(Date(f25.dragon_boat) == "2025-05-31");
  CHECK(Date(f25.mid_autumn) == "2025-10-06");
  const FestivalDays f26 = Festivals(2026);
  CHECK(Date(f26.new_years_eve) == "2026-02-16");
  CHECK(Date(f26.spring_festival) == "2026-02-17");
  CHECK(Date(f26.qingming) == "2026-04-05");
  CHECK(Date(f26.dragon_boat) == "2026-06-19");
  CHECK(Date(f26.mid_autumn) == "2026-09-25");
  // Each of those days, and 除夕 .. 正月初三, is off in the State Council's schedule.
  for (const FestivalDays& f : {f25, f26}) {
    for (int32_t d : {f.new_years_eve, f.spring_festival, f.spring_festival + 1,
                      f.spring_festival + 2, f.qingming, f.dragon_boat, f.mid_autumn}) {
      INFO(Date(d));
      CHECK_FALSE(ShippedOfficial().IsWorkingDay(d));
    }
  }
}

TEST_CASE("festival days are answered for 2000..2100 only", "[calendar][statutory]") {
  REQUIRE_OK(FestivalDaysOf(2000));
  REQUIRE_OK(FestivalDaysOf(2100));
  REQUIRE(FestivalDaysOf(1999).status().IsInvalidArgument());
  REQUIRE(FestivalDaysOf(2101).status().message() == "year 2101 is outside 2000..2100");
}

// ---- The derived year ----

TEST_CASE("2027 derived: the statutory days, and 补假 for those on a weekend",
          "[calendar][statutory]") {
  Result<CalendarYear> y = DeriveStatutoryYear(2027);
  REQUIRE_OK(y);
  CHECK(y->calendar() == "cn-mainland");
  CHECK(y->year() == 2027);
  CHECK(y->provisional());
  CHECK(y->source().find("provisional") != std::string::npos);
  CHECK(y->makeup_working_days().empty());
  // 元旦 Fri. 春节 除夕 Fri 02-05 .. 初三 Mon 02-08; 初一 Sat and 初二 Sun are
  // made up on Tue 02-09 and Wed 02-10 (Mon is 初三). 清明 Mon 04-05. 劳动节
  // Sat-Sun, made up Mon-Tue. 端午 Wed 06-09. 中秋 Wed 09-15. 国庆 Fri-Sun
  // 10-01..03; Sat and Sun made up on Mon 10-04 and Tue 10-05.
  CHECK(HolidayLines(*y) == std::vector<std::string>{
                                "2027-01-01..2027-01-01 元旦",
                                "2027-02-05..2027-02-08 春节",
                                "2027-02-09..2027-02-10 春节补假",
                                "2027-04-05..2027-04-05 清明节",
                                "2027-05-01..2027-05-02 劳动节",
                                "2027-05-03..2027-05-04 劳动节补假",
                                "2027-06-09..2027-06-09 端午节",
                                "2027-09-15..2027-09-15 中秋节",
                                "2027-10-01..2027-10-03 国庆节",
                                "2027-10-04..2027-10-05 国庆节补假",
                            });
}

TEST_CASE(
    "a derived year has 13 weekdays off, so 2025, 2026 and 2027 have 248 working days as "
    "the notices give",
    "[calendar][statutory]") {
  // 2025, 2026 and 2027 each have 261 weekdays; 261 - 13 = 248.
  CHECK(WorkingDays(Derived(2025), 2025) == 248);
  CHECK(WorkingDays(Derived(2026), 2026) == 248);
  CHECK(WorkingDays(Derived(2027), 2027) == 248);
  CHECK(WorkingDays(ShippedOfficial(), 2025) == 248);
  CHECK(WorkingDays(ShippedOfficial(), 2026) == 248);
}

TEST_CASE(
    "2026 derived: 清明 on Sunday 04-05 is made up on Monday 04-06, the day the notice "
    "gave",
    "[calendar][statutory]") {
  const BusinessCalendar cal = Derived(2026);
  CHECK_FALSE(cal.IsWorkingDay(Day("2026-04-06")));
  CHECK_FALSE(ShippedOfficial().IsWorkingDay(Day("2026-04-06")));
  // 国庆 Thu-Sat 10-01..03: Saturday's 补假 is Monday 10-05, as off in the notice.
  CHECK_FALSE(cal.IsWorkingDay(Day("2026-10-05")));
  CHECK(cal.IsWorkingDay(Day("2026-10-06")));
  // No 调休: the notice's make-up Saturday 10-10 stays a day off here.
  CHECK_FALSE(cal.IsWorkingDay(Day("2026-10-10")));
}

TEST_CASE("Mid-Autumn on a National Day day gives the shared day a 补假 (2031: 10-01)",
          "[calendar][statutory]") {
  // 2031-10-01 is a Wednesday and 八月十五. 国庆 Wed-Fri 10-01..03; the shared
  // day is made up on the next working day, Monday 10-06.
  REQUIRE(Date(Festivals(2031).mid_autumn) == "2031-10-01");
  Result<CalendarYear> y = DeriveStatutoryYear(2031);
  REQUIRE_OK(y);
  const std::vector<std::string> lines = HolidayLines(*y);
  CHECK(std::find(lines.begin(), lines.end(), "2031-10-01..2031-10-01 国庆节、中秋节") !=
        lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "2031-10-02..2031-10-03 国庆节") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "2031-10-06..2031-10-06 中秋节补假") != lines.end());
  CHECK(WorkingDays(Derived(2031), 2031) == 261 - 13);
}

TEST_CASE("a year is derived for 2025..2100 only: the 2024 rules apply from 2025",
          "[calendar][statutory]") {
  REQUIRE(DeriveStatutoryYear(2024).status().message() ==
          "year 2024 is outside 2025..2100 (the statutory rules of 2024 apply from 2025)");
  REQUIRE(DeriveStatutoryYear(2101).status().IsInvalidArgument());
  for (int year = casegrid::engine::kMinStatutoryYear; year <= casegrid::engine::kMaxStatutoryYear;
       ++year) {
    INFO(year);
    // Every year has 13 weekdays off: article 2's days, each weekend one made up.
    int weekdays = 0;
    for (int32_t d = timeutil::DaysFromCivil(year, 1, 1);
         d <= timeutil::DaysFromCivil(year, 12, 31); ++d) {
      weekdays += timeutil::Weekday(d) <= 5 ? 1 : 0;
    }
    REQUIRE(WorkingDays(Derived(year), year) == weekdays - 13);
  }
}

TEST_CASE("5 working days after 2026-12-31 on the derived 2027 end on 2027-01-08",
          "[calendar][statutory]") {
  // 01-01 Fri 元旦, then 01-04 (1) .. 01-08 (5).
  const BusinessCalendar cal = Derived(2027);
  REQUIRE(*cal.DueAfterWorkingDays(Day("2026-12-31"), 5) ==
          timeutil::LocalDayEndMicros(Day("2027-01-08")));
  REQUIRE(*cal.DueAfterWorkingDays(Day("2027-01-01"), 0) ==
          timeutil::LocalDayEndMicros(Day("2027-01-04")));
  // Spring Festival: 02-04 Thu, then 02-05..02-10 off, 02-11 Thu (2), 02-12 Fri (3).
  REQUIRE(*cal.DueAfterWorkingDays(Day("2027-02-03"), 3) ==
          timeutil::LocalDayEndMicros(Day("2027-02-12")));
}
