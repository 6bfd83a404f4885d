#include "base/time.h"

#include "tests/test_util.h"

using namespace casegrid;

TEST_CASE("timestamps parse with offsets and format in Asia/Shanghai", "[time]") {
  auto t = timeutil::ParseTimestamp("2026-09-30T10:00:00+08:00");
  REQUIRE_OK(t);
  auto z = timeutil::ParseTimestamp("2026-09-30T02:00:00Z");
  REQUIRE_OK(z);
  REQUIRE(*t == *z);
  REQUIRE(timeutil::FormatTimestamp(*t) == "2026-09-30T10:00:00+08:00");
  REQUIRE(timeutil::FormatDate(timeutil::LocalDay(*t)) == "2026-09-30");
}

TEST_CASE("a UTC time late in the evening is the next local day", "[time]") {
  auto t = timeutil::ParseTimestamp("2026-09-30T17:30:00Z");
  REQUIRE_OK(t);
  REQUIRE(timeutil::FormatDate(timeutil::LocalDay(*t)) == "2026-10-01");
  REQUIRE(timeutil::LocalDayEndMicros(timeutil::LocalDay(*t)) ==
          *timeutil::ParseTimestamp("2026-10-01T23:59:59.999999+08:00"));
}

TEST_CASE("bad timestamps are rejected with the reason", "[time]") {
  for (const char* bad : {"2026-09-30T10:00:00", "2026-13-01", "yesterday", "2026-02-30T00:00:00Z",
                          "2026-09-30T25:00:00+08:00"}) {
    auto r = timeutil::ParseTimestamp(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.status().IsInvalidArgument());
    REQUIRE(r.status().message().find(bad) != std::string::npos);
  }
}

TEST_CASE("weekday is ISO: 2026-10-01 is a Thursday", "[time]") {
  REQUIRE(timeutil::Weekday(*timeutil::ParseDate("2026-10-01")) == 4);
  REQUIRE(timeutil::Weekday(*timeutil::ParseDate("2026-10-04")) == 7);
}

TEST_CASE("YearOfDay gives the civil day's year, at both ends of a year", "[time]") {
  CHECK(timeutil::YearOfDay(timeutil::DaysFromCivil(2026, 12, 31)) == 2026);
  CHECK(timeutil::YearOfDay(timeutil::DaysFromCivil(2027, 1, 1)) == 2027);
  CHECK(timeutil::YearOfDay(timeutil::DaysFromCivil(2000, 2, 29)) == 2000);
  CHECK(timeutil::YearOfDay(0) == 1970);
  CHECK(timeutil::YearOfDay(-1) == 1969);
}

TEST_CASE("a number of years later is the same month and day, 29 February the 28th", "[time]") {
  using casegrid::timeutil::AddYears;
  using casegrid::timeutil::FormatDate;
  using casegrid::timeutil::ParseDate;
  CHECK(FormatDate(AddYears(*ParseDate("2025-03-03"), 1)) == "2026-03-03");
  CHECK(FormatDate(AddYears(*ParseDate("2024-02-29"), 1)) == "2025-02-28");
  CHECK(FormatDate(AddYears(*ParseDate("2024-02-29"), 4)) == "2028-02-29");
  CHECK(FormatDate(AddYears(*ParseDate("2026-12-31"), 10)) == "2036-12-31");
  CHECK(FormatDate(AddYears(*ParseDate("2026-12-31"), 0)) == "2026-12-31");
}
