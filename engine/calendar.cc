#include "engine/calendar.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <string_view>
#include <utility>

#include "base/time.h"
#include "workflows/yaml_proto.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CalendarYear;

// casegrid's days are local to this zone (base/time.h); a calendar file for
// another zone would be read with the wrong day boundaries.
constexpr std::string_view kTimeZone = "Asia/Shanghai";
// Keeps the bitmaps small and the dates within ParseDate's four-digit years.
constexpr int kMinYear = 1970;
constexpr int kMaxYear = 9999;

constexpr const char* kWeekdayNames[] = {"",         "Monday", "Tuesday",  "Wednesday",
                                         "Thursday", "Friday", "Saturday", "Sunday"};

// ISO weekday (1 = Monday ... 7 = Sunday) without the chrono round trip:
// 1970-01-01, civil day 0, was a Thursday.
int IsoWeekday(int32_t civil_day) {
  int r = static_cast<int>((int64_t{civil_day} + 3) % 7);
  if (r < 0) r += 7;
  return r + 1;
}

bool IsWeekend(int32_t civil_day) { return IsoWeekday(civil_day) >= 6; }

std::string YearContext(const CalendarYear& y) {
  return "calendar " + y.calendar() + " " + std::to_string(y.year());
}

// Parses `text` as a date inside `year`; `what` says which field it is.
Result<int32_t> DateInYear(const std::string& text, int year, const std::string& what) {
  Result<int32_t> day = timeutil::ParseDate(text);
  if (!day.ok()) return day.status().WithContext(what);
  if (*day < timeutil::DaysFromCivil(year, 1, 1) || *day > timeutil::DaysFromCivil(year, 12, 31)) {
    return Status::InvalidArgument(what + ": " + text + " is outside " + std::to_string(year));
  }
  return day;
}

// The per-year checks of FromYears; messages are not yet prefixed by the year.
Status CheckYear(const CalendarYear& y) {
  if (y.calendar().empty()) return Status::InvalidArgument("empty calendar id");
  if (y.year() < kMinYear || y.year() > kMaxYear) {
    return Status::InvalidArgument("year " + std::to_string(y.year()) + " is outside " +
                                   std::to_string(kMinYear) + ".." + std::to_string(kMaxYear));
  }
  if (y.time_zone() != kTimeZone) {
    return Status::InvalidArgument("time_zone \"" + y.time_zone() +
                                   "\" is not supported (casegrid runs on Asia/Shanghai)");
  }
  // Holiday day -> holiday name, for overlap and make-up conflicts.
  std::map<int32_t, const std::string*> holiday_days;
  for (const CalendarYear::Holiday& h : y.holidays()) {
    const std::string what = "holiday " + h.name();
    CASEGRID_ASSIGN_OR_RETURN(int32_t from, DateInYear(h.from(), y.year(), what + " from"));
    CASEGRID_ASSIGN_OR_RETURN(int32_t to, DateInYear(h.to(), y.year(), what + " to"));
    if (from > to) {
      return Status::InvalidArgument(what + ": from " + h.from() + " is after to " + h.to());
    }
    for (int32_t d = from; d <= to; ++d) {
      auto [it, inserted] = holiday_days.emplace(d, &h.name());
      if (!inserted) {
        return Status::InvalidArgument(what + ": " + timeutil::FormatDate(d) +
                                       " is already in holiday " + *it->second);
      }
    }
  }
  std::map<int32_t, bool> makeup_days;
  for (const CalendarYear::MakeupDay& m : y.makeup_working_days()) {
    CASEGRID_ASSIGN_OR_RETURN(int32_t day, DateInYear(m.date(), y.year(), "make-up working day"));
    if (!IsWeekend(day)) {
      return Status::InvalidArgument("make-up working day " + m.date() + " is a " +
                                     kWeekdayNames[IsoWeekday(day)] +
                                     "; a make-up day must be a Saturday or Sunday");
    }
    if (auto it = holiday_days.find(day); it != holiday_days.end()) {
      return Status::InvalidArgument(m.date() + " is both in holiday " + *it->second +
                                     " and a make-up working day");
    }
    if (!makeup_days.emplace(day, true).second) {
      return Status::InvalidArgument("make-up working day " + m.date() + " is listed twice");
    }
    if (!m.for_().empty()) {
      bool found = false;
      for (const CalendarYear::Holiday& h : y.holidays()) found = found || h.name() == m.for_();
      if (!found) {
        return Status::InvalidArgument("make-up working day " + m.date() + " is for \"" + m.for_() +
                                       "\", which is not a holiday of this year");
      }
    }
  }
  return Status::Ok();
}

void SetBit(std::vector<uint64_t>* bits, int32_t index, bool on) {
  const uint64_t mask = uint64_t{1} << (index % 64);
  if (on) {
    (*bits)[index / 64] |= mask;
  } else {
    (*bits)[index / 64] &= ~mask;
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The *.yaml file names in `dir`, sorted. Env has no directory listing yet, so
// this uses POSIX directly; it only reads.
Status ListYamlFiles(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return Status::NotFound("cannot list calendar directory " + dir + ": " + std::strerror(errno));
  }
  while (const dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    if (EndsWith(name, ".yaml") && name.front() != '.') names->emplace_back(name);
  }
  ::closedir(d);
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

Result<BusinessCalendar> LoadDirImpl(const std::string& dir, const std::string& id) {
  std::vector<std::string> names;
  CASEGRID_RETURN_IF_ERROR(ListYamlFiles(dir, &names));
  std::vector<CalendarYear> years;
  std::map<int, std::string> file_of_year;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    CalendarYear year;
    CASEGRID_RETURN_IF_ERROR(workflows::LoadYamlFile(path, &year));
    if (year.calendar() != id) continue;
    CASEGRID_RETURN_IF_ERROR(CheckYear(year).WithContext(path + ": " + YearContext(year)));
    auto [it, inserted] = file_of_year.emplace(year.year(), path);
    if (!inserted) {
      return Status::InvalidArgument(path + ": calendar " + id + " year " +
                                     std::to_string(year.year()) + " is also in " + it->second);
    }
    years.push_back(std::move(year));
  }
  if (years.empty()) {
    return Status::NotFound("no *.yaml file in " + dir + " is for calendar \"" + id + "\"");
  }
  return BusinessCalendar::FromYears(std::move(years));
}

}  // namespace

Result<BusinessCalendar> BusinessCalendar::LoadDir(const std::string& dir, const std::string& id) {
  try {
    return LoadDirImpl(dir, id);
  } catch (const std::exception& e) {  // std::bad_alloc; the YAML loader catches its own
    return Status::IOError("loading calendar " + id + " from " + dir + ": " + e.what());
  }
}

Result<BusinessCalendar> BusinessCalendar::FromYears(std::vector<CalendarYear> years) {
  if (years.empty()) return Status::InvalidArgument("a calendar needs at least one year");
  std::sort(years.begin(), years.end(),
            [](const CalendarYear& a, const CalendarYear& b) { return a.year() < b.year(); });
  for (size_t i = 0; i < years.size(); ++i) {
    const CalendarYear& y = years[i];
    if (y.calendar() != years[0].calendar()) {
      return Status::InvalidArgument("years belong to different calendars: \"" +
                                     years[0].calendar() + "\" (" +
                                     std::to_string(years[0].year()) + ") and \"" + y.calendar() +
                                     "\" (" + std::to_string(y.year()) + ")");
    }
    CASEGRID_RETURN_IF_ERROR(CheckYear(y).WithContext(YearContext(y)));
    if (i > 0 && years[i - 1].year() == y.year()) {
      return Status::InvalidArgument("calendar " + y.calendar() + ": year " +
                                     std::to_string(y.year()) + " appears twice");
    }
  }

  BusinessCalendar cal;
  cal.id_ = years.front().calendar();
  cal.span_first_day_ = timeutil::DaysFromCivil(years.front().year(), 1, 1);
  cal.span_days_ = timeutil::DaysFromCivil(years.back().year(), 12, 31) - cal.span_first_day_ + 1;
  const size_t words = (static_cast<size_t>(cal.span_days_) + 63) / 64;
  cal.working_.assign(words, 0);
  cal.covered_.assign(words, 0);
  for (int32_t i = 0; i < cal.span_days_; ++i) {
    SetBit(&cal.working_, i, !IsWeekend(cal.span_first_day_ + i));
  }
  // CheckYear has validated every date, so the values below are present.
  for (const CalendarYear& y : years) {
    cal.years_.push_back(y.year());
    const int32_t first = timeutil::DaysFromCivil(y.year(), 1, 1) - cal.span_first_day_;
    const int32_t last = timeutil::DaysFromCivil(y.year(), 12, 31) - cal.span_first_day_;
    for (int32_t i = first; i <= last; ++i) SetBit(&cal.covered_, i, true);
    for (const CalendarYear::Holiday& h : y.holidays()) {
      const int32_t from = *timeutil::ParseDate(h.from());
      const int32_t to = *timeutil::ParseDate(h.to());
      for (int32_t d = from; d <= to; ++d) SetBit(&cal.working_, d - cal.span_first_day_, false);
    }
    for (const CalendarYear::MakeupDay& m : y.makeup_working_days()) {
      SetBit(&cal.working_, *timeutil::ParseDate(m.date()) - cal.span_first_day_, true);
    }
  }
  return cal;
}

bool BusinessCalendar::Bit(const std::vector<uint64_t>& bits, int32_t civil_day) const {
  const int32_t i = civil_day - span_first_day_;
  return (bits[static_cast<size_t>(i) / 64] >> (i % 64)) & 1;
}

bool BusinessCalendar::IsWorkingDay(int32_t civil_day) const {
  if (civil_day < span_first_day_ || civil_day - span_first_day_ >= span_days_) {
    return !IsWeekend(civil_day);
  }
  return Bit(working_, civil_day);
}

bool BusinessCalendar::Covers(int32_t civil_day) const {
  if (civil_day < span_first_day_ || civil_day - span_first_day_ >= span_days_) return false;
  return Bit(covered_, civil_day);
}

int64_t BusinessCalendar::EndOfWorkingDaysAfter(int32_t anchor_day, int working_days) const {
  int32_t day = anchor_day;
  if (working_days <= 0) {
    while (!IsWorkingDay(day)) ++day;
    return timeutil::LocalDayEndMicros(day);
  }
  for (int remaining = working_days; remaining > 0;) {
    ++day;
    if (IsWorkingDay(day)) --remaining;
  }
  return timeutil::LocalDayEndMicros(day);
}

int64_t BusinessCalendar::EndOfCalendarDaysAfter(int32_t anchor_day, int calendar_days) const {
  return timeutil::LocalDayEndMicros(anchor_day + calendar_days);
}

std::string BusinessCalendar::Describe() const {
  std::string out = id_ + " (";
  for (size_t i = 0; i < years_.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(years_[i]);
  }
  out += " published; other years: weekends only)";
  return out;
}

}  // namespace casegrid::engine
