#include "base/time.h"

#include <chrono>
#include <cstdio>

namespace casegrid::timeutil {
namespace {

constexpr int64_t kOffsetMicros = int64_t{kUtcOffsetMinutes} * 60 * kMicrosPerSecond;

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Status BadTime(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("bad time \"" + std::string(text) + "\": " + std::string(why) +
                                 " (expected RFC 3339, e.g. 2026-09-30T10:00:00+08:00)");
}

}  // namespace

int32_t DaysFromCivil(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return static_cast<int32_t>(
      sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day))
          .time_since_epoch()
          .count());
}

int Weekday(int32_t day) {
  using namespace std::chrono;
  return static_cast<int>(weekday(sys_days(days(day))).iso_encoding());
}

Result<int32_t> ParseDate(std::string_view text) {
  int y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !Digits(text, 0, 4, &y) ||
      !Digits(text, 5, 2, &m) || !Digits(text, 8, 2, &d)) {
    return Status::InvalidArgument("bad date \"" + std::string(text) + "\" (expected YYYY-MM-DD)");
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return Status::InvalidArgument("no such date \"" + std::string(text) + "\"");
  return DaysFromCivil(y, m, d);
}

int YearOfDay(int32_t day) {
  using namespace std::chrono;
  return static_cast<int>(year_month_day{sys_days(days(day))}.year());
}

int32_t AddYears(int32_t day, int years) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days(days(day))};
  year_month_day later = ymd + std::chrono::years(years);
  if (!later.ok()) later = later.year() / later.month() / last;
  return static_cast<int32_t>(sys_days(later).time_since_epoch().count());
}

std::string FormatDate(int32_t day) {
  using namespace std::chrono;
  year_month_day ymd{sys_days(days(day))};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

int32_t LocalDay(int64_t micros) {
  return static_cast<int32_t>(FloorDiv(micros + kOffsetMicros, kMicrosPerDay));
}

int64_t LocalDayStartMicros(int32_t day) { return int64_t{day} * kMicrosPerDay - kOffsetMicros; }

int64_t LocalDayEndMicros(int32_t day) { return LocalDayStartMicros(day + 1) - 1; }

Result<int64_t> ParseTimestamp(std::string_view text) {
  if (text.size() == 10) {
    auto day = ParseDate(text);
    if (!day.ok()) return day.status();
    return LocalDayStartMicros(*day);
  }
  if (text.size() < 20 || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return BadTime(text, "not a timestamp");
  }
  auto day = ParseDate(text.substr(0, 10));
  if (!day.ok()) return BadTime(text, "bad date part");
  int hh, mm, ss;
  if (!Digits(text, 11, 2, &hh) || !Digits(text, 14, 2, &mm) || !Digits(text, 17, 2, &ss) ||
      hh > 23 || mm > 59 || ss > 60) {
    return BadTime(text, "bad time of day");
  }
  size_t pos = 19;
  int64_t frac_micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      frac_micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return BadTime(text, "bad fraction of a second");
  }
  int64_t offset_minutes;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    offset_minutes = 0;
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (pos + 6 > text.size() || text[pos + 3] != ':' || !Digits(text, pos + 1, 2, &oh) ||
        !Digits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return BadTime(text, "bad UTC offset");
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return BadTime(text, "missing UTC offset");
  }
  if (pos != text.size()) return BadTime(text, "trailing characters");
  int64_t local_seconds = int64_t{*day} * 86400 + hh * 3600 + mm * 60 + ss;
  return (local_seconds - offset_minutes * 60) * kMicrosPerSecond + frac_micros;
}

std::string FormatTimestamp(int64_t micros) {
  int64_t local = micros + kOffsetMicros;
  int32_t day = static_cast<int32_t>(FloorDiv(local, kMicrosPerDay));
  int64_t in_day = local - int64_t{day} * kMicrosPerDay;
  int64_t secs = in_day / kMicrosPerSecond;
  int64_t frac = in_day % kMicrosPerSecond;
  char buf[48];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d+08:00", FormatDate(day).c_str(),
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%06d+08:00", FormatDate(day).c_str(),
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60), static_cast<int>(frac));
  }
  return buf;
}

}  // namespace casegrid::timeutil
