#include "engine/calendar.h"

#include <fstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "tests/test_util.h"
#include "workflows/yaml_proto.h"

using casegrid::Result;
using casegrid::Status;
using casegrid::engine::BusinessCalendar;
using casegrid::v1::CalendarYear;
namespace timeutil = casegrid::timeutil;

namespace {

int32_t Day(const char* date) {
  Result<int32_t> d = timeutil::ParseDate(date);
  REQUIRE_OK(d);
  return *d;
}

// The last microsecond of `date` in Asia/Shanghai, spelled out independently of
// LocalDayEndMicros.
int64_t EndOf(const std::string& date) {
  Result<int64_t> t = timeutil::ParseTimestamp(date + "T23:59:59.999999+08:00");
  REQUIRE_OK(t);
  return *t;
}

const BusinessCalendar& Shipped() {
  static const Result<BusinessCalendar> cal =
      BusinessCalendar::LoadDir(casegrid::test::SourcePath("workflows/calendars"), "cn-mainland");
  REQUIRE_OK(cal);
  return *cal;
}

// A year of calendar "t" with the given extra YAML (holidays, make-up days),
// and working hours 08:30-12:00, 13:30-17:30 unless `extra` has its own.
std::string YearYaml(int year, const std::string& extra, const std::string& calendar = "t") {
  std::string yaml = "calendar: " + calendar + "\nyear: " + std::to_string(year) +
                     "\ntime_zone: Asia/Shanghai\nsource: test\n" + extra;
  if (extra.find("working_hours") == std::string::npos &&
      extra.find("extends") == std::string::npos) {
    yaml += "working_hours: [{from: \"08:30\", to: \"12:00\"}, {from: \"13:30\", to: \"17:30\"}]\n";
  }
  return yaml;
}

CalendarYear ParseYear(const std::string& yaml) {
  CalendarYear y;
  REQUIRE_OK(casegrid::workflows::ParseYaml(yaml, "test.yaml", &y));
  return y;
}

// The message FromYears gives for `yamls`, one year each ("" when OK).
std::string FromYearsError(const std::vector<std::string>& yamls) {
  std::vector<CalendarYear> years;
  for (const std::string& y : yamls) years.push_back(ParseYear(y));
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(std::move(years));
  if (cal.ok()) return "";
  REQUIRE(cal.status().IsInvalidArgument());
  return cal.status().message();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

}  // namespace

// ---- The shipped cn-mainland data ----

TEST_CASE("the shipped calendar covers 2025 and 2026 as published, 2027 as provisional",
          "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.id() == "cn-mainland");
  REQUIRE(cal.Describe() == "cn-mainland (covers 2025–2027; 2027 provisional)");
  REQUIRE(cal.Covers(Day("2025-01-01")));
  REQUIRE(cal.Covers(Day("2027-12-31")));
  REQUIRE_FALSE(cal.Covers(Day("2024-12-31")));
  REQUIRE_FALSE(cal.Covers(Day("2028-01-01")));
  REQUIRE_FALSE(cal.IsProvisional(Day("2026-12-31")));
  REQUIRE(cal.IsProvisional(Day("2027-01-01")));
  REQUIRE(cal.ProvisionalYears() == std::vector<int>{2027});
}

TEST_CASE("New Year 2027 on the shipped provisional year: Friday 01-01 is off", "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2026-12-31")));
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2027-01-01")));
  // 5 working days after Tuesday 2026-12-29: 12-30 (1), 12-31 (2), 01-04 (3), 01-05 (4),
  // 01-06 (5).
  REQUIRE(*cal.DueAfterWorkingDays(Day("2026-12-29"), 5) == EndOf("2027-01-06"));
}

TEST_CASE("National Day 2026: October 1 to 7 are days off, make-up Saturday October 10 works",
          "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2026-09-30")));
  for (int d = Day("2026-10-01"); d <= Day("2026-10-07"); ++d) {
    INFO(timeutil::FormatDate(d));
    REQUIRE_FALSE(cal.IsWorkingDay(d));
  }
  REQUIRE(cal.IsWorkingDay(Day("2026-10-08")));
  REQUIRE(cal.IsWorkingDay(Day("2026-10-09")));
  REQUIRE(cal.IsWorkingDay(Day("2026-10-10")));        // Saturday, make-up day
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2026-10-11")));  // Sunday
  REQUIRE(cal.IsWorkingDay(Day("2026-09-20")));        // Sunday, make-up day
}

TEST_CASE(
    "5 working days after 2026-09-30 end on 2026-10-13: the holiday is skipped and "
    "make-up Saturday 10-10 counts",
    "[calendar]") {
  // 10-08 Thu (1), 10-09 Fri (2), 10-10 Sat make-up (3), 10-12 Mon (4), 10-13 Tue (5).
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-09-30"), 5) == EndOf("2026-10-13"));
  REQUIRE(EndOf("2026-10-13") == timeutil::LocalDayEndMicros(Day("2026-10-13")));
}

TEST_CASE("one working day after the last day of National Day 2026 is the next morning's day",
          "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-10-07"), 1) == EndOf("2026-10-08"));
}

TEST_CASE(
    "National Day 2025: October 1 to 8 are days off, make-up Sunday 09-28 and Saturday "
    "10-11 work",
    "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2025-09-28")));        // Sunday
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2025-09-27")));  // Saturday
  for (int d = Day("2025-10-01"); d <= Day("2025-10-08"); ++d) {
    INFO(timeutil::FormatDate(d));
    REQUIRE_FALSE(cal.IsWorkingDay(d));
  }
  REQUIRE(cal.IsWorkingDay(Day("2025-10-09")));
  REQUIRE(cal.IsWorkingDay(Day("2025-10-11")));        // Saturday
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2025-10-12")));  // Sunday
}

TEST_CASE("one working day after Friday 2025-09-26 is make-up Sunday 2025-09-28", "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2025-09-26"), 1) == EndOf("2025-09-28"));
}

TEST_CASE("3 working days after 2025-09-30 end on make-up Saturday 2025-10-11", "[calendar]") {
  // 10-09 Thu (1), 10-10 Fri (2), 10-11 Sat make-up (3).
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2025-09-30"), 3) == EndOf("2025-10-11"));
}

TEST_CASE("Spring Festival 2025: 01-28 to 02-04 off, make-up Sunday 01-26 and Saturday 02-08",
          "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2025-01-26")));
  REQUIRE(cal.IsWorkingDay(Day("2025-01-27")));
  for (int d = Day("2025-01-28"); d <= Day("2025-02-04"); ++d) {
    INFO(timeutil::FormatDate(d));
    REQUIRE_FALSE(cal.IsWorkingDay(d));
  }
  REQUIRE(cal.IsWorkingDay(Day("2025-02-05")));
  REQUIRE(cal.IsWorkingDay(Day("2025-02-08")));
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2025-02-09")));
}

TEST_CASE("3 working days after Friday 2025-01-24 end on 2025-02-05, across Spring Festival",
          "[calendar]") {
  // 01-26 Sun make-up (1), 01-27 Mon (2), 02-05 Wed (3).
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2025-01-24"), 3) == EndOf("2025-02-05"));
}

TEST_CASE("Spring Festival 2026: 02-15 to 02-23 off, make-up Saturdays 02-14 and 02-28",
          "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2026-02-14")));
  for (int d = Day("2026-02-15"); d <= Day("2026-02-23"); ++d) {
    INFO(timeutil::FormatDate(d));
    REQUIRE_FALSE(cal.IsWorkingDay(d));
  }
  REQUIRE(cal.IsWorkingDay(Day("2026-02-24")));
  REQUIRE(cal.IsWorkingDay(Day("2026-02-28")));
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2026-03-01")));
}

TEST_CASE(
    "2 working days after Friday 2026-02-13 end on 2026-02-24: make-up Saturday, then "
    "the first day after Spring Festival",
    "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-02-13"), 1) == EndOf("2026-02-14"));
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-02-13"), 2) == EndOf("2026-02-24"));
}

TEST_CASE("0 working days from a working day ends that same day", "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-09-30"), 0) == EndOf("2026-09-30"));
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-10-10"), 0) == EndOf("2026-10-10"));
}

TEST_CASE("0 working days from a holiday rolls to the next working day", "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-10-01"), 0) == EndOf("2026-10-08"));
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2025-10-04"), 0) == EndOf("2025-10-09"));
}

TEST_CASE("0 working days from an ordinary Sunday rolls to Monday", "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-10-11"), 0) == EndOf("2026-10-12"));
}

TEST_CASE("1 working day from a holiday ends on the same day as 0", "[calendar]") {
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2026-10-03"), 1) == EndOf("2026-10-08"));
}

TEST_CASE("calendar days ignore holidays and make-up days", "[calendar]") {
  REQUIRE(Shipped().EndOfCalendarDaysAfter(Day("2026-09-30"), 7) == EndOf("2026-10-07"));
  REQUIRE(Shipped().EndOfCalendarDaysAfter(Day("2026-09-30"), 0) == EndOf("2026-09-30"));
  REQUIRE(Shipped().EndOfCalendarDaysAfter(Day("2025-01-27"), 15) == EndOf("2025-02-11"));
}

TEST_CASE("the unchecked queries count a year without data as weekends only", "[calendar]") {
  const BusinessCalendar& cal = Shipped();
  REQUIRE(cal.IsWorkingDay(Day("2028-06-01")));  // Thursday; 2028 is not covered
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2028-06-03")));
  REQUIRE(cal.IsWorkingDay(Day("2024-10-01")));  // Tuesday; 2024 is not loaded
  REQUIRE_FALSE(cal.IsWorkingDay(Day("2024-10-05")));
}

TEST_CASE("unchecked working days run from a covered year into an uncovered one", "[calendar]") {
  // 2027-12-31 Fri; 2028-01-03 Mon (1), 2028-01-04 Tue (2).
  REQUIRE(Shipped().EndOfWorkingDaysAfter(Day("2027-12-31"), 2) == EndOf("2028-01-04"));
}

TEST_CASE("an unpublished year between two published ones counts weekends only", "[calendar]") {
  Result<BusinessCalendar> cal =
      BusinessCalendar::FromYears({ParseYear(YearYaml(2025, "")), ParseYear(YearYaml(2027, ""))});
  REQUIRE_OK(cal);
  REQUIRE(cal->Describe() == "t (covers 2025, 2027)");
  REQUIRE_FALSE(cal->Covers(Day("2026-06-01")));
  REQUIRE(cal->Covers(Day("2027-06-01")));
  REQUIRE(cal->IsWorkingDay(Day("2026-10-01")));        // Thursday
  REQUIRE_FALSE(cal->IsWorkingDay(Day("2026-10-03")));  // Saturday
}

// ---- Provisional years ----

TEST_CASE("a provisional year counts like any other and the calendar says which years are",
          "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2026, "")),
       ParseYear(YearYaml(2027,
                          "provisional: true\n"
                          "holidays: [{name: 元旦, from: 2027-01-01, to: 2027-01-01}]\n"))});
  REQUIRE_OK(cal);
  REQUIRE(cal->Describe() == "t (covers 2026–2027; 2027 provisional)");
  REQUIRE(cal->CoveredYears() == "2026–2027 (2027 provisional)");
  REQUIRE(cal->ProvisionalYears() == std::vector<int>{2027});
  REQUIRE_FALSE(cal->IsProvisional(Day("2026-12-31")));
  REQUIRE(cal->IsProvisional(Day("2027-01-01")));
  REQUIRE_FALSE(cal->IsProvisional(Day("2028-01-01")));  // not covered at all
  REQUIRE(cal->ProvisionalYearsBetween(Day("2026-12-29"), Day("2027-01-05")) ==
          std::vector<int>{2027});
  REQUIRE(cal->ProvisionalYearsBetween(Day("2026-01-05"), Day("2026-12-31")).empty());
  // 2026-12-31 Thu: 2027-01-01 is off, 01-04 (1), 01-05 (2).
  REQUIRE(*cal->DueAfterWorkingDays(Day("2026-12-31"), 2) == EndOf("2027-01-05"));
}

TEST_CASE("calendar show marks a provisional year PROVISIONAL and says what that means",
          "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2026, "")), ParseYear(YearYaml(2027, "provisional: true\n"))});
  REQUIRE_OK(cal);
  const std::string text = *cal->FormatYear(2027);
  INFO(text);
  REQUIRE(text.rfind("calendar t 2027  PROVISIONAL\n  source t: test\n", 0) == 0);
  REQUIRE(casegrid::test::Contains(
      text, "  PROVISIONAL: t's 2027 is derived from the statutory holiday rules"));
  REQUIRE(casegrid::test::Contains(text, "marked (provisional calendar)"));
  REQUIRE_FALSE(casegrid::test::Contains(*cal->FormatYear(2026), "PROVISIONAL"));
}

TEST_CASE("a town's year is provisional when its base's year is", "[calendar]") {
  Result<BusinessCalendar> base = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2027, "provisional: true\n", "cn-mainland"))});
  REQUIRE_OK(base);
  Result<BusinessCalendar> town = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2027, "extends: cn-mainland\n", "town"))}, &*base);
  REQUIRE_OK(town);
  REQUIRE(town->IsProvisional(Day("2027-06-01")));
  REQUIRE(town->Describe() == "town (extends cn-mainland; covers 2027; 2027 provisional)");
  REQUIRE(casegrid::test::Contains(*town->FormatYear(2027),
                                   "PROVISIONAL: cn-mainland's 2027 is derived"));
}

TEST_CASE("the published working hours nearest a year skip provisional years", "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2026, "working_hours: [{from: \"09:00\", to: \"17:00\"}]\n")),
       ParseYear(YearYaml(2027, "provisional: true\n"))});
  REQUIRE_OK(cal);
  const auto hours = cal->PublishedWorkingHoursNear(2028);
  REQUIRE(hours.size() == 1);
  REQUIRE(hours[0].from() == "09:00");
  REQUIRE(hours[0].to() == "17:00");
}

// ---- Bad calendar data ----

TEST_CASE("a make-up day on a weekday is rejected naming the file and date", "[calendar]") {
  casegrid::test::TempDir dir;
  const std::string path = dir.Sub("cn-2026.yaml");
  WriteFile(path, YearYaml(2026, "makeup_working_days: [{date: 2026-10-09}]\n", "cn-mainland"));
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.path(), "cn-mainland");
  REQUIRE(cal.status().IsInvalidArgument());
  REQUIRE(cal.status().message() ==
          path +
              ": calendar cn-mainland 2026: make-up working day 2026-10-09 is a Friday; a "
              "make-up day must be a Saturday or Sunday");
}

TEST_CASE("a YAML error in a calendar file is reported with file, line and column", "[calendar]") {
  casegrid::test::TempDir dir;
  const std::string path = dir.Sub("cn-2026.yaml");
  WriteFile(path, YearYaml(2026, "holidays:\n  - name: x\n    form: 2026-01-01\n"));
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.path(), "cn-mainland");
  REQUIRE(cal.status().IsInvalidArgument());
  REQUIRE(cal.status().message() ==
          path + ":7:5: unknown key \"form\" in Holiday (allowed: name, from, to)");
}

TEST_CASE("the same year in two files is rejected naming both", "[calendar]") {
  casegrid::test::TempDir dir;
  WriteFile(dir.Sub("a.yaml"), YearYaml(2026, "", "cn-mainland"));
  WriteFile(dir.Sub("b.yaml"), YearYaml(2026, "", "cn-mainland"));
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.path(), "cn-mainland");
  REQUIRE(cal.status().IsInvalidArgument());
  REQUIRE(cal.status().message() ==
          dir.Sub("b.yaml") + ": calendar cn-mainland year 2026 is also in " + dir.Sub("a.yaml"));
}

TEST_CASE("LoadDir skips files of other calendars and non-yaml files", "[calendar]") {
  casegrid::test::TempDir dir;
  WriteFile(dir.Sub("cn-2026.yaml"), YearYaml(2026, "", "cn-mainland"));
  WriteFile(dir.Sub("hk-2026.yaml"), YearYaml(2026, "", "hk"));
  WriteFile(dir.Sub("README.txt"), "not yaml: [");
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.path(), "cn-mainland");
  REQUIRE_OK(cal);
  REQUIRE(cal->Describe() == "cn-mainland (covers 2026)");
}

TEST_CASE("LoadDir without a file for the calendar id is NotFound", "[calendar]") {
  casegrid::test::TempDir dir;
  WriteFile(dir.Sub("hk-2026.yaml"), YearYaml(2026, "", "hk"));
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.path(), "cn-mainland");
  REQUIRE(cal.status().IsNotFound());
  REQUIRE(cal.status().message() ==
          "no *.yaml file in " + dir.path() + " is for calendar \"cn-mainland\"");
}

TEST_CASE("LoadDir of a missing directory is NotFound", "[calendar]") {
  casegrid::test::TempDir dir;
  Result<BusinessCalendar> cal = BusinessCalendar::LoadDir(dir.Sub("absent"), "cn-mainland");
  REQUIRE(cal.status().IsNotFound());
  REQUIRE(cal.status().message().find(dir.Sub("absent")) != std::string::npos);
}

TEST_CASE("a holiday whose from is after its to is rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026,
                                   "holidays: [{name: 国庆节, from: 2026-10-07, to: "
                                   "2026-10-01}]\n")}) ==
          "calendar t 2026: holiday 国庆节: from 2026-10-07 is after to 2026-10-01");
}

TEST_CASE("a holiday date outside the file's year is rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026,
                                   "holidays: [{name: 元旦, from: 2025-12-31, to: "
                                   "2026-01-01}]\n")}) ==
          "calendar t 2026: holiday 元旦 from: 2025-12-31 is outside 2026");
}

TEST_CASE("a date that does not exist is rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026,
                                   "holidays: [{name: x, from: 2026-02-30, to: "
                                   "2026-03-01}]\n")}) ==
          "calendar t 2026: holiday x from: no such date \"2026-02-30\"");
}

TEST_CASE("a day that is both a holiday and a make-up day is rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026,
                                   "holidays: [{name: 国庆节, from: 2026-10-01, to: 2026-10-07}]\n"
                                   "makeup_working_days: [{date: 2026-10-03}]\n")}) ==
          "calendar t 2026: 2026-10-03 is both in holiday 国庆节 and a make-up working day");
}

TEST_CASE("overlapping holidays are rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026,
                                   "holidays:\n"
                                   "  - {name: 中秋节, from: 2026-09-25, to: 2026-10-01}\n"
                                   "  - {name: 国庆节, from: 2026-10-01, to: 2026-10-07}\n")}) ==
          "calendar t 2026: holiday 国庆节: 2026-10-01 is already in holiday 中秋节");
}

TEST_CASE("a make-up day for a holiday the year does not have is rejected", "[calendar]") {
  REQUIRE(
      FromYearsError({YearYaml(2026, "makeup_working_days: [{date: 2026-10-10, for: 国庆}]\n")}) ==
      "calendar t 2026: make-up working day 2026-10-10 is for \"国庆\", which is not a "
      "holiday of this year");
}

TEST_CASE("a time zone other than Asia/Shanghai is rejected", "[calendar]") {
  std::string yaml = YearYaml(2026, "");
  yaml.replace(yaml.find("Asia/Shanghai"), 13, "Europe/Paris");
  REQUIRE(FromYearsError({yaml}) ==
          "calendar t 2026: time_zone \"Europe/Paris\" is not supported (casegrid runs on "
          "Asia/Shanghai)");
}

TEST_CASE("the same year twice is rejected by FromYears", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2026, ""), YearYaml(2026, "")}) ==
          "calendar t: year 2026 appears twice");
}

TEST_CASE("years of different calendars are rejected", "[calendar]") {
  REQUIRE(FromYearsError({YearYaml(2025, "", "a"), YearYaml(2026, "", "b")}) ==
          "years belong to different calendars: \"a\" (2025) and \"b\" (2026)");
}

TEST_CASE("a calendar with no years is rejected", "[calendar]") {
  REQUIRE(FromYearsError({}) == "a calendar needs at least one year");
}
