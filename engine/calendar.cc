#include "engine/calendar.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "base/time.h"
#include "engine/statutory_calendar.h"
#include "workflows/validate.h"
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
constexpr int64_t kMicrosPerMinute = 60 * timeutil::kMicrosPerSecond;
// A walk that finds no working time in this many days has a calendar without
// any (only possible outside the covered years of a broken calendar): stop.
constexpr int kMaxWalkDays = 366 * 20;

constexpr const char* kWeekdayNames[] = {"",         "Monday", "Tuesday",  "Wednesday",
                                         "Thursday", "Friday", "Saturday", "Sunday"};
constexpr const char* kWeekdayShort[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// ISO weekday (1 = Monday ... 7 = Sunday) without the chrono round trip:
// 1970-01-01, civil day 0, was a Thursday.
int IsoWeekday(int32_t civil_day) {
  int r = static_cast<int>((int64_t{civil_day} + 3) % 7);
  if (r < 0) r += 7;
  return r + 1;
}

bool IsWeekend(int32_t civil_day) { return IsoWeekday(civil_day) >= 6; }

int YearOf(int32_t civil_day) { return timeutil::YearOfDay(civil_day); }

std::string YearContext(const CalendarYear& y) {
  return "calendar " + y.calendar() + " " + std::to_string(y.year());
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "08:30" for 510 minutes.
std::string FormatMinutes(int minutes) {
  const int h = minutes / 60, m = minutes % 60;
  return std::string{static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                     static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10)};
}

// "HH:MM" from 00:00 to 24:00 -> minutes after midnight; -1 if malformed.
int ParseMinutes(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return -1;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

// One problem of a calendar file: where (a SourceMap path) and what.
struct Issue {
  std::string path;
  std::string message;
};

std::string Index(const char* field, int i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
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

// Every per-year rule of FromYears, in file order; messages are not prefixed
// by the year. After a field-level problem the item's later checks are skipped.
std::vector<Issue> CheckYear(const CalendarYear& y) {
  std::vector<Issue> out;
  if (y.calendar().empty()) out.push_back({"calendar", "empty calendar id"});
  if (y.year() < kMinYear || y.year() > kMaxYear) {
    out.push_back({"year", "year " + std::to_string(y.year()) + " is outside " +
                               std::to_string(kMinYear) + ".." + std::to_string(kMaxYear)});
    return out;  // every date check would fail as well
  }
  if (y.time_zone() != kTimeZone) {
    out.push_back({"time_zone", "time_zone " + Quote(y.time_zone()) +
                                    " is not supported (casegrid runs on Asia/Shanghai)"});
  }
  // Holiday day -> holiday name, for overlap and make-up conflicts.
  std::map<int32_t, const std::string*> holiday_days;
  for (int i = 0; i < y.holidays_size(); ++i) {
    const CalendarYear::Holiday& h = y.holidays(i);
    const std::string path = Index("holidays", i);
    const std::string what = "holiday " + h.name();
    Result<int32_t> from = DateInYear(h.from(), y.year(), what + " from");
    if (!from.ok()) {
      out.push_back({path + ".from", from.status().message()});
      continue;
    }
    Result<int32_t> to = DateInYear(h.to(), y.year(), what + " to");
    if (!to.ok()) {
      out.push_back({path + ".to", to.status().message()});
      continue;
    }
    if (*from > *to) {
      out.push_back({path, what + ": from " + h.from() + " is after to " + h.to()});
      continue;
    }
    for (int32_t d = *from; d <= *to; ++d) {
      auto [it, inserted] = holiday_days.emplace(d, &h.name());
      if (!inserted) {
        out.push_back({path, what + ": " + timeutil::FormatDate(d) + " is already in holiday " +
                                 *it->second});
        break;
      }
    }
  }
  std::set<int32_t> makeup_days;
  for (int i = 0; i < y.makeup_working_days_size(); ++i) {
    const CalendarYear::MakeupDay& m = y.makeup_working_days(i);
    const std::string path = Index("makeup_working_days", i);
    Result<int32_t> day = DateInYear(m.date(), y.year(), "make-up working day");
    if (!day.ok()) {
      out.push_back({path + ".date", day.status().message()});
      continue;
    }
    if (!IsWeekend(*day)) {
      out.push_back({path + ".date", "make-up working day " + m.date() + " is a " +
                                         kWeekdayNames[IsoWeekday(*day)] +
                                         "; a make-up day must be a Saturday or Sunday"});
      continue;
    }
    if (auto it = holiday_days.find(*day); it != holiday_days.end()) {
      out.push_back({path + ".date", m.date() + " is both in holiday " + *it->second +
                                         " and a make-up working day"});
      continue;
    }
    if (!makeup_days.insert(*day).second) {
      out.push_back({path + ".date", "make-up working day " + m.date() + " is listed twice"});
      continue;
    }
    if (!m.for_().empty()) {
      bool found = false;
      for (const CalendarYear::Holiday& h : y.holidays()) found = found || h.name() == m.for_();
      if (!found) {
        out.push_back({path + ".for", "make-up working day " + m.date() + " is for " +
                                          Quote(m.for_()) +
                                          ", which is not a holiday of this year"});
      }
    }
  }
  int previous_end = -1;
  std::string previous;
  for (int i = 0; i < y.working_hours_size(); ++i) {
    const CalendarYear::WorkingPeriod& p = y.working_hours(i);
    const std::string path = Index("working_hours", i);
    const int from = ParseMinutes(p.from());
    if (from < 0) {
      out.push_back({path + ".from", "working period from " + Quote(p.from()) +
                                         " is not a time HH:MM (00:00 to 24:00)"});
      continue;
    }
    const int to = ParseMinutes(p.to());
    if (to < 0) {
      out.push_back({path + ".to", "working period to " + Quote(p.to()) +
                                       " is not a time HH:MM (00:00 to 24:00)"});
      continue;
    }
    const std::string text = p.from() + "–" + p.to();
    if (to <= from) {
      out.push_back({path, "working period " + text + " does not end after it starts"});
      continue;
    }
    if (from < previous_end) {
      out.push_back({path, "working period " + text + " starts before the previous one (" +
                               previous + ") ends; periods go in order without overlap"});
    }
    previous_end = std::max(previous_end, to);
    previous = text;
  }
  if (y.working_hours().empty() && y.extends().empty()) {
    out.push_back({"",
                   "no working_hours: a calendar that extends no other must give its "
                   "working periods (e.g. [{from: \"08:30\", to: \"12:00\"}])"});
  }
  return out;
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

// The files of each calendar in a directory, in file-name order.
using FilesById = std::map<std::string, std::vector<std::pair<std::string, CalendarYear>>>;

Result<FilesById> ReadDir(const std::string& dir) {
  std::vector<std::string> names;
  CASEGRID_RETURN_IF_ERROR(ListYamlFiles(dir, &names));
  FilesById files;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    CalendarYear year;
    CASEGRID_RETURN_IF_ERROR(workflows::LoadYamlFile(path, &year));
    files[year.calendar()].emplace_back(path, std::move(year));
  }
  return files;
}

// Builds calendar `id` from `files`, its base first; `chain` holds the
// calendars that extend it (to find a cycle).
Result<BusinessCalendar> Build(const std::string& dir, const FilesById& files,
                               const std::string& id, std::vector<std::string> chain) {
  auto found = files.find(id);
  if (found == files.end()) {
    return Status::NotFound("no *.yaml file in " + dir + " is for calendar " + Quote(id));
  }
  std::vector<CalendarYear> years;
  std::map<int, std::string> file_of_year;
  const std::string& first_path = found->second.front().first;
  const std::string& extends = found->second.front().second.extends();
  for (const auto& [path, year] : found->second) {
    std::vector<Issue> issues = CheckYear(year);
    if (!issues.empty()) {
      return Status::InvalidArgument(path + ": " + YearContext(year) + ": " +
                                     issues.front().message);
    }
    auto [it, inserted] = file_of_year.emplace(year.year(), path);
    if (!inserted) {
      return Status::InvalidArgument(path + ": calendar " + id + " year " +
                                     std::to_string(year.year()) + " is also in " + it->second);
    }
    if (year.extends() != extends) {
      return Status::InvalidArgument(path + ": calendar " + id + " extends " +
                                     Quote(year.extends()) + " here but " + Quote(extends) +
                                     " in " + first_path);
    }
    years.push_back(year);
  }
  if (extends.empty()) return BusinessCalendar::FromYears(std::move(years));
  chain.push_back(id);
  if (std::find(chain.begin(), chain.end(), extends) != chain.end()) {
    std::string cycle;
    for (const std::string& c : chain) cycle += (cycle.empty() ? "" : ", which extends ") + c;
    return Status::InvalidArgument(first_path + ": calendar " + cycle + ", which extends " +
                                   extends + ": a cycle");
  }
  if (files.find(extends) == files.end()) {
    return Status::InvalidArgument(first_path + ": calendar " + id + " extends unknown calendar " +
                                   Quote(extends) + " (no *.yaml file in " + dir +
                                   " has calendar: " + extends + ")");
  }
  CASEGRID_ASSIGN_OR_RETURN(BusinessCalendar base, Build(dir, files, extends, chain));
  for (const auto& [year, path] : file_of_year) {
    if (!base.Covers(timeutil::DaysFromCivil(year, 1, 1))) {
      return Status::InvalidArgument(path + ": calendar " + id + " " + std::to_string(year) +
                                     " extends " + extends + ", which does not cover " +
                                     std::to_string(year) + " (it covers " + base.CoveredYears() +
                                     ")");
    }
  }
  return BusinessCalendar::FromYears(std::move(years), &base);
}

}  // namespace

namespace {

// The files of `dir` (none unless `use_files`) with `published` in place.
Result<FilesById> FilesWithPublished(const std::string& dir,
                                     const std::vector<CalendarYear>& published, bool use_files) {
  FilesById files;
  if (use_files) {
    CASEGRID_ASSIGN_OR_RETURN(files, ReadDir(dir));
  }
  for (const CalendarYear& year : published) {
    auto& list = files[year.calendar()];
    const std::string source = "the log's " + year.calendar() + " " + std::to_string(year.year());
    auto same = std::find_if(list.begin(), list.end(),
                             [&](const auto& f) { return f.second.year() == year.year(); });
    if (same != list.end()) {
      *same = {source, year};
    } else {
      list.emplace_back(source, year);
    }
  }
  return files;
}

}  // namespace

Result<BusinessCalendar> BusinessCalendar::LoadDir(const std::string& dir, const std::string& id,
                                                   const std::vector<CalendarYear>& published,
                                                   bool use_files) {
  try {
    CASEGRID_ASSIGN_OR_RETURN(FilesById files, FilesWithPublished(dir, published, use_files));
    return Build(dir, files, id, {});
  } catch (const std::exception& e) {  // std::bad_alloc; the YAML loader catches its own
    return Status::IOError("loading calendar " + id + " from " + dir + ": " + e.what());
  }
}

Result<std::vector<CalendarYear>> BusinessCalendar::YearsInForce(
    const std::string& dir, const std::vector<CalendarYear>& published) {
  try {
    CASEGRID_ASSIGN_OR_RETURN(FilesById files, FilesWithPublished(dir, published, true));
    std::vector<CalendarYear> years;
    for (auto& [id, list] : files) {
      std::sort(list.begin(), list.end(),
                [](const auto& a, const auto& b) { return a.second.year() < b.second.year(); });
      for (auto& [source, year] : list) years.push_back(std::move(year));
    }
    return years;
  } catch (const std::exception& e) {
    return Status::IOError("reading the calendars in " + dir + ": " + e.what());
  }
}

Result<BusinessCalendar> BusinessCalendar::FromYears(std::vector<CalendarYear> years,
                                                     const BusinessCalendar* base) {
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
    std::vector<Issue> issues = CheckYear(y);
    if (!issues.empty()) {
      return Status::InvalidArgument(YearContext(y) + ": " + issues.front().message);
    }
    if (i > 0 && years[i - 1].year() == y.year()) {
      return Status::InvalidArgument("calendar " + y.calendar() + ": year " +
                                     std::to_string(y.year()) + " appears twice");
    }
    if (y.extends() != years[0].extends()) {
      return Status::InvalidArgument(YearContext(y) + ": extends " + Quote(y.extends()) + ", but " +
                                     std::to_string(years[0].year()) + " extends " +
                                     Quote(years[0].extends()));
    }
  }
  const std::string& extends = years[0].extends();
  if (extends.empty() != (base == nullptr) || (base != nullptr && base->id() != extends)) {
    return Status::InvalidArgument("calendar " + years[0].calendar() + " extends " +
                                   Quote(extends) + " but the base given is " +
                                   Quote(base == nullptr ? "" : base->id()));
  }
  if (extends == years[0].calendar()) {
    return Status::InvalidArgument("calendar " + extends + " extends itself");
  }

  BusinessCalendar cal;
  cal.id_ = years.front().calendar();
  cal.extends_ = extends;
  cal.span_first_day_ = timeutil::DaysFromCivil(years.front().year(), 1, 1);
  cal.span_days_ = timeutil::DaysFromCivil(years.back().year(), 12, 31) - cal.span_first_day_ + 1;
  const size_t words = (static_cast<size_t>(cal.span_days_) + 63) / 64;
  cal.working_.assign(words, 0);
  cal.covered_.assign(words, 0);
  for (int32_t i = 0; i < cal.span_days_; ++i) {
    SetBit(&cal.working_, i, !IsWeekend(cal.span_first_day_ + i));
  }
  // CheckYear has validated every date and period, so the values below parse.
  for (const CalendarYear& y : years) {
    const int32_t first_day = timeutil::DaysFromCivil(y.year(), 1, 1);
    const int32_t last_day = timeutil::DaysFromCivil(y.year(), 12, 31);
    Year info;
    if (base != nullptr) {
      const auto it = std::find_if(base->years_.begin(), base->years_.end(),
                                   [&y](const Year& b) { return b.year == y.year(); });
      if (it == base->years_.end()) {
        return Status::InvalidArgument(YearContext(y) + ": extends " + extends +
                                       ", which does not cover " + std::to_string(y.year()) +
                                       " (it covers " + base->CoveredYears() + ")");
      }
      info = *it;
      for (int32_t d = first_day; d <= last_day; ++d) {
        SetBit(&cal.working_, d - cal.span_first_day_, base->IsWorkingDay(d));
      }
    }
    info.year = y.year();
    info.sources.push_back(y.calendar() + ": " + y.source());
    if (info.provisional_from.empty() && y.provisional()) info.provisional_from = y.calendar();
    if (!y.working_hours().empty()) {
      info.hours.clear();
      for (const auto& p : y.working_hours()) {
        info.hours.push_back(Period{ParseMinutes(p.from()), ParseMinutes(p.to())});
      }
      info.hours_from = y.calendar();
    }
    for (int32_t d = first_day; d <= last_day; ++d) {
      SetBit(&cal.covered_, d - cal.span_first_day_, true);
    }
    for (const CalendarYear::Holiday& h : y.holidays()) {
      const int32_t from = *timeutil::ParseDate(h.from());
      const int32_t to = *timeutil::ParseDate(h.to());
      for (int32_t d = from; d <= to; ++d) SetBit(&cal.working_, d - cal.span_first_day_, false);
      info.days_off.push_back(Named{h.name(), from, to, y.calendar()});
    }
    for (const CalendarYear::MakeupDay& m : y.makeup_working_days()) {
      const int32_t day = *timeutil::ParseDate(m.date());
      SetBit(&cal.working_, day - cal.span_first_day_, true);
      info.makeup_days.push_back(Named{m.for_(), day, day, y.calendar()});
    }
    auto by_day = [](const Named& a, const Named& b) { return a.from < b.from; };
    std::stable_sort(info.days_off.begin(), info.days_off.end(), by_day);
    std::stable_sort(info.makeup_days.begin(), info.makeup_days.end(), by_day);
    cal.years_.push_back(std::move(info));
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

bool BusinessCalendar::IsProvisional(int32_t civil_day) const {
  if (!Covers(civil_day)) return false;
  const int year = YearOf(civil_day);
  for (const Year& y : years_) {
    if (y.year == year) return !y.provisional_from.empty();
  }
  return false;
}

std::vector<int> BusinessCalendar::ProvisionalYears() const {
  std::vector<int> out;
  for (const Year& y : years_) {
    if (!y.provisional_from.empty()) out.push_back(y.year);
  }
  return out;
}

std::vector<int> BusinessCalendar::ProvisionalYearsBetween(int32_t first_day,
                                                           int32_t last_day) const {
  std::vector<int> out;
  if (first_day > last_day) return out;
  const int first = YearOf(first_day), last = YearOf(last_day);
  for (const Year& y : years_) {
    if (!y.provisional_from.empty() && y.year >= first && y.year <= last) out.push_back(y.year);
  }
  return out;
}

std::vector<casegrid::v1::CalendarYear::WorkingPeriod> BusinessCalendar::PublishedWorkingHoursNear(
    int year) const {
  const Year* nearest = nullptr;
  for (const Year& y : years_) {
    if (!y.provisional_from.empty()) continue;
    if (nearest == nullptr || std::abs(y.year - year) < std::abs(nearest->year - year)) {
      nearest = &y;
    }
  }
  const std::vector<Period>& hours =
      nearest != nullptr ? nearest->hours : HoursOn(timeutil::DaysFromCivil(year, 1, 1));
  std::vector<casegrid::v1::CalendarYear::WorkingPeriod> out;
  for (const Period& p : hours) {
    auto& period = out.emplace_back();
    period.set_from(FormatMinutes(p.from_minute));
    period.set_to(FormatMinutes(p.to_minute));
  }
  return out;
}

const std::vector<BusinessCalendar::Period>& BusinessCalendar::HoursOn(int32_t civil_day) const {
  const int year = YearOf(civil_day);
  const Year* nearest = &years_.front();
  for (const Year& y : years_) {
    if (std::abs(y.year - year) < std::abs(nearest->year - year)) nearest = &y;
  }
  return nearest->hours;
}

namespace {

// Ascending years as ranges: "2023, 2025–2027".
std::string YearRanges(const std::vector<int>& years) {
  std::string out;
  for (size_t i = 0; i < years.size(); ++i) {
    size_t j = i;
    while (j + 1 < years.size() && years[j + 1] == years[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(years[i]);
    if (j > i) out += "–" + std::to_string(years[j]);
    i = j;
  }
  return out;
}

}  // namespace

std::string BusinessCalendar::CoveredYears() const {
  const std::vector<int> provisional = ProvisionalYears();
  return YearRanges(Years()) +
         (provisional.empty() ? "" : " (" + YearRanges(provisional) + " provisional)");
}

std::vector<int> BusinessCalendar::Years() const {
  std::vector<int> out;
  for (const Year& y : years_) out.push_back(y.year);
  return out;
}

Status BusinessCalendar::Uncovered(const std::string& deadline, int32_t needed_day) const {
  const int32_t first = timeutil::DaysFromCivil(years_.front().year, 1, 1);
  const int32_t last = timeutil::DaysFromCivil(years_.back().year, 12, 31);
  std::string m = "calendar " + id_ + " covers " + CoveredYears() + "; " + deadline;
  if (needed_day > last) {
    m += " falls past " + timeutil::FormatDate(last);
  } else if (needed_day < first) {
    m += " needs " + timeutil::FormatDate(needed_day) + ", before " + timeutil::FormatDate(first);
  } else {
    m += " needs " + timeutil::FormatDate(needed_day) + ", in " +
         std::to_string(YearOf(needed_day)) + ", which it does not cover";
  }
  const int year = YearOf(needed_day);
  m += ": publish the " + std::to_string(year) + " schedule";
  // A national calendar's year the statutory rules cover can be derived.
  if (extends_.empty() && year >= kMinStatutoryYear && year <= kMaxStatutoryYear) {
    m += ", or a provisional one from `casegrid calendar derive --year " + std::to_string(year) +
         "`";
  }
  return Status::InvalidArgument(m + " (docs/calendar.md)");
}

Result<int64_t> BusinessCalendar::WalkDays(int32_t anchor_day, int working_days,
                                           bool strict) const {
  auto uncovered = [&](int32_t day) {
    return Uncovered("a deadline of " + std::to_string(working_days) +
                         (working_days == 1 ? " working day" : " working days") + " from " +
                         timeutil::FormatDate(anchor_day),
                     day);
  };
  int32_t day = anchor_day;
  if (working_days <= 0) {
    while (true) {
      if (strict && !Covers(day)) return uncovered(day);
      if (IsWorkingDay(day)) return timeutil::LocalDayEndMicros(day);
      ++day;
    }
  }
  for (int remaining = working_days; remaining > 0;) {
    ++day;
    if (strict && !Covers(day)) return uncovered(day);
    if (IsWorkingDay(day)) --remaining;
  }
  return timeutil::LocalDayEndMicros(day);
}

Result<int64_t> BusinessCalendar::WalkHours(int64_t anchor_micros, int working_hours,
                                            bool strict) const {
  int64_t remaining = int64_t{std::max(working_hours, 0)} * 60 * kMicrosPerMinute;
  int32_t day = timeutil::LocalDay(anchor_micros);
  int64_t offset = anchor_micros - timeutil::LocalDayStartMicros(day);  // into `day`
  for (int walked = 0; walked < kMaxWalkDays; ++walked, ++day, offset = 0) {
    if (strict && !Covers(day)) {
      const int64_t anchor_minute =
          (anchor_micros - timeutil::LocalDayStartMicros(timeutil::LocalDay(anchor_micros))) /
          kMicrosPerMinute;
      return Uncovered("a deadline of " + std::to_string(working_hours) +
                           (working_hours == 1 ? " working hour" : " working hours") + " from " +
                           timeutil::FormatDate(timeutil::LocalDay(anchor_micros)) + " " +
                           FormatMinutes(static_cast<int>(anchor_minute)),
                       day);
    }
    if (!IsWorkingDay(day)) continue;
    for (const Period& p : HoursOn(day)) {
      const int64_t start = std::max(int64_t{p.from_minute} * kMicrosPerMinute, offset);
      const int64_t end = int64_t{p.to_minute} * kMicrosPerMinute;
      if (start >= end) continue;
      if (remaining <= end - start) return timeutil::LocalDayStartMicros(day) + start + remaining;
      remaining -= end - start;
    }
  }
  return Status::InvalidArgument("calendar " + id_ + " has no working time in " +
                                 std::to_string(kMaxWalkDays) + " days");
}

Result<int64_t> BusinessCalendar::DueAfterWorkingDays(int32_t anchor_day, int working_days) const {
  return WalkDays(anchor_day, working_days, true);
}

Result<int64_t> BusinessCalendar::DueAfterWorkingHours(int64_t anchor_micros,
                                                       int working_hours) const {
  return WalkHours(anchor_micros, working_hours, true);
}

Result<int64_t> BusinessCalendar::WarnBeforeWorkingDays(int64_t due_micros, int working_days,
                                                        int64_t armed_micros) const {
  if (working_days <= 0) return 0;
  const int32_t due_day = timeutil::LocalDay(due_micros);
  int32_t day = due_day;
  for (int remaining = working_days; remaining > 0;) {
    --day;
    // Its end is at or before the arming: the warning would come too late.
    if (timeutil::LocalDayEndMicros(day) <= armed_micros) return 0;
    if (!Covers(day)) {
      return Uncovered("a warning " + std::to_string(working_days) +
                           (working_days == 1 ? " working day" : " working days") +
                           " before a deadline due " + timeutil::FormatDate(due_day),
                       day);
    }
    if (IsWorkingDay(day)) --remaining;
  }
  const int64_t at = timeutil::LocalDayEndMicros(day);
  return at <= armed_micros ? 0 : at;
}

Result<int64_t> BusinessCalendar::WarnBeforeWorkingHours(int64_t due_micros, int working_hours,
                                                         int64_t armed_micros) const {
  if (working_hours <= 0) return 0;
  int64_t remaining = int64_t{working_hours} * 60 * kMicrosPerMinute;
  int32_t day = timeutil::LocalDay(due_micros);
  // Only working time before the due time counts: on the due day, up to it.
  int64_t limit = due_micros - timeutil::LocalDayStartMicros(day);
  for (;; --day, limit = INT64_MAX) {
    const int64_t start_of_day = timeutil::LocalDayStartMicros(day);
    // Every instant of the day is at or before the arming: too late to warn.
    if (timeutil::LocalDayEndMicros(day) < armed_micros) return 0;
    if (!Covers(day)) {
      const int64_t due_minute =
          (due_micros - timeutil::LocalDayStartMicros(timeutil::LocalDay(due_micros))) /
          kMicrosPerMinute;
      return Uncovered("a warning " + std::to_string(working_hours) +
                           (working_hours == 1 ? " working hour" : " working hours") +
                           " before a deadline due " +
                           timeutil::FormatDate(timeutil::LocalDay(due_micros)) + " " +
                           FormatMinutes(static_cast<int>(due_minute)),
                       day);
    }
    if (!IsWorkingDay(day)) continue;
    const std::vector<Period>& hours = HoursOn(day);
    for (auto p = hours.rbegin(); p != hours.rend(); ++p) {
      const int64_t start = int64_t{p->from_minute} * kMicrosPerMinute;
      const int64_t end = std::min(int64_t{p->to_minute} * kMicrosPerMinute, limit);
      if (start >= end) continue;
      // Strictly less: N hours that end exactly at a period's start leave the
      // walk at 0, and the end of the period before is the earliest instant
      // from which N hours are left.
      if (remaining < end - start) {
        const int64_t at = start_of_day + end - remaining;
        return at <= armed_micros ? 0 : at;
      }
      remaining -= end - start;
    }
  }
}

int64_t BusinessCalendar::EndOfWorkingDaysAfter(int32_t anchor_day, int working_days) const {
  return *WalkDays(anchor_day, working_days, false);  // never fails unchecked
}

int64_t BusinessCalendar::EndOfWorkingHoursAfter(int64_t anchor_micros, int working_hours) const {
  Result<int64_t> due = WalkHours(anchor_micros, working_hours, false);
  return due.ok() ? *due : INT64_MAX;  // no working time at all: never due
}

int64_t BusinessCalendar::EndOfCalendarDaysAfter(int32_t anchor_day, int calendar_days) const {
  return timeutil::LocalDayEndMicros(anchor_day + calendar_days);
}

std::string BusinessCalendar::Describe() const {
  const std::vector<int> provisional = ProvisionalYears();
  return id_ + " (" + (extends_.empty() ? "" : "extends " + extends_ + "; ") + "covers " +
         YearRanges(Years()) +
         (provisional.empty() ? "" : "; " + YearRanges(provisional) + " provisional") + ")";
}

Result<std::string> BusinessCalendar::FormatYear(int year) const {
  const auto it =
      std::find_if(years_.begin(), years_.end(), [year](const Year& y) { return y.year == year; });
  if (it == years_.end()) {
    return Status::NotFound("calendar " + id_ + " does not cover " + std::to_string(year) +
                            " (it covers " + CoveredYears() + ")");
  }
  const Year& y = *it;
  auto day_text = [](int32_t d) {
    return timeutil::FormatDate(d) + " " + kWeekdayShort[IsoWeekday(d)];
  };
  std::string out = "calendar " + id_ + " " + std::to_string(year) +
                    (extends_.empty() ? "" : " (extends " + extends_ + ")") +
                    (y.provisional_from.empty() ? "" : "  PROVISIONAL") + "\n";
  for (const std::string& s : y.sources) out += "  source " + s + "\n";
  if (!y.provisional_from.empty()) {
    out += "  PROVISIONAL: " + y.provisional_from + "'s " + std::to_string(year) +
           " is derived from the statutory holiday rules\n"
           "  (casegrid calendar derive), not from the State Council's notice, which is not\n"
           "  published yet. The notice will move days off and add make-up working days\n"
           "  (调休); until its file replaces this one, deadlines counted across " +
           std::to_string(year) + " are\n  marked (provisional calendar).\n";
  }
  out += "working hours (" + y.hours_from + "):";
  for (size_t i = 0; i < y.hours.size(); ++i) {
    out += std::string(i == 0 ? " " : ", ") + FormatMinutes(y.hours[i].from_minute) + "–" +
           FormatMinutes(y.hours[i].to_minute);
  }
  out += "\ndays off (besides weekends):\n";
  for (const Named& n : y.days_off) {
    out += "  " + day_text(n.from);
    if (n.to != n.from) out += " – " + day_text(n.to);
    out += "  " + n.name + "  (" + std::to_string(n.to - n.from + 1) +
           (n.to == n.from ? " day, " : " days, ") + n.calendar + ")\n";
  }
  out += "make-up working days:\n";
  for (const Named& n : y.makeup_days) {
    out += "  " + day_text(n.from) + "  " + (n.name.empty() ? "-" : n.name) + "  (" + n.calendar +
           ")\n";
  }
  int working = 0;
  const int32_t first = timeutil::DaysFromCivil(year, 1, 1);
  const int32_t last = timeutil::DaysFromCivil(year, 12, 31);
  for (int32_t d = first; d <= last; ++d) working += IsWorkingDay(d) ? 1 : 0;
  out +=
      "working days: " + std::to_string(working) + " of " + std::to_string(last - first + 1) + "\n";
  return out;
}

// ---- casegrid calendar validate ----

namespace {

struct Entry {
  std::string path;
  std::string real;  // realpath, to count a file listed and in the directory once
  CalendarYear year;
  workflows::SourceMap map;
};

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// The cross-file problems of `e` against every loaded entry.
std::vector<Issue> CrossCheck(const Entry& e, const std::vector<const Entry*>& all) {
  std::vector<Issue> out;
  const CalendarYear& y = e.year;
  std::map<std::string, const Entry*> first_of;  // calendar -> its first file
  for (const Entry* o : all) first_of.emplace(o->year.calendar(), o);
  for (const Entry* o : all) {
    if (o == &e || o->year.calendar() != y.calendar()) continue;
    if (o->year.year() == y.year()) {
      out.push_back({"year", "calendar " + y.calendar() + " year " + std::to_string(y.year()) +
                                 " is also in " + o->path});
    }
    if (o->year.extends() != y.extends()) {
      out.push_back({"extends", "calendar " + y.calendar() + " extends " + Quote(y.extends()) +
                                    " here but " + Quote(o->year.extends()) + " in " + o->path});
    }
  }
  if (y.extends().empty()) return out;
  if (y.extends() == y.calendar()) {
    out.push_back({"extends", "calendar " + y.calendar() + " extends itself"});
    return out;
  }
  if (first_of.find(y.extends()) == first_of.end()) {
    out.push_back({"extends", "extends unknown calendar " + Quote(y.extends()) +
                                  " (no calendar file has calendar: " + y.extends() + ")"});
    return out;
  }
  // Follow the chain of bases (each calendar's first file) to find a cycle.
  std::vector<std::string> chain = {y.calendar()};
  for (std::string next = y.extends(); !next.empty();) {
    if (std::find(chain.begin(), chain.end(), next) != chain.end()) {
      std::string cycle;
      for (const std::string& c : chain) cycle += (cycle.empty() ? "" : ", which extends ") + c;
      out.push_back({"extends", "calendar " + cycle + ", which extends " + next + ": a cycle"});
      return out;
    }
    chain.push_back(next);
    auto it = first_of.find(next);
    next = it == first_of.end() ? "" : it->second->year.extends();
  }
  std::vector<int> base_years;
  for (const Entry* o : all) {
    if (o->year.calendar() == y.extends()) base_years.push_back(o->year.year());
  }
  if (std::find(base_years.begin(), base_years.end(), y.year()) == base_years.end()) {
    std::sort(base_years.begin(), base_years.end());
    std::string years;
    for (int b : base_years) years += (years.empty() ? "" : ", ") + std::to_string(b);
    out.push_back({"extends", "calendar " + y.calendar() + " " + std::to_string(y.year()) +
                                  " extends " + y.extends() + ", which has no " +
                                  std::to_string(y.year()) + " file (it has " + years + ")"});
  }
  return out;
}

std::string Summary(const CalendarYear& y) {
  auto count = [](int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string out = "calendar " + y.calendar() + " " + std::to_string(y.year());
  if (y.provisional()) out += " (provisional)";
  if (!y.extends().empty()) out += ", extends " + y.extends();
  out += ": " + count(y.holidays_size(), "holiday", "holidays") + ", " +
         count(y.makeup_working_days_size(), "make-up working day", "make-up working days") +
         ", working hours ";
  if (y.working_hours().empty()) return out + "of " + y.extends();
  for (int i = 0; i < y.working_hours_size(); ++i) {
    out += (i == 0 ? "" : ", ") + y.working_hours(i).from() + "–" + y.working_hours(i).to();
  }
  return out;
}

Result<std::vector<CalendarFileReport>> ValidateImpl(const std::vector<std::string>& files,
                                                     const std::string& calendars_dir) {
  std::vector<std::string> names;
  CASEGRID_RETURN_IF_ERROR(ListYamlFiles(calendars_dir, &names));
  std::vector<CalendarFileReport> reports(files.size());
  std::vector<std::unique_ptr<Entry>> entries(files.size());  // null: not loaded
  std::set<std::string> listed;
  for (size_t i = 0; i < files.size(); ++i) {
    reports[i].file = files[i];
    auto e = std::make_unique<Entry>();
    e->path = files[i];
    Status s = workflows::LoadYamlFile(files[i], &e->year, &e->map);
    if (s.IsInvalidArgument()) {
      reports[i].problems.push_back(s.message());  // already "PATH:LINE:COL: ..."
      continue;
    }
    if (!s.ok()) {
      reports[i].unreadable = s;
      continue;
    }
    e->real = RealPath(files[i]);
    listed.insert(e->real);
    entries[i] = std::move(e);
  }
  // The directory's files resolve extends and duplicates; a broken one is not
  // this run's business (it is checked when listed).
  std::vector<std::unique_ptr<Entry>> others;
  for (const std::string& name : names) {
    auto e = std::make_unique<Entry>();
    e->path = calendars_dir + "/" + name;
    e->real = RealPath(e->path);
    if (listed.count(e->real) > 0) continue;
    if (!workflows::LoadYamlFile(e->path, &e->year).ok()) continue;
    others.push_back(std::move(e));
  }
  std::vector<const Entry*> all;
  std::set<std::string> seen;
  for (const auto& e : entries) {
    if (e != nullptr && seen.insert(e->real).second) all.push_back(e.get());
  }
  for (const auto& e : others) all.push_back(e.get());

  for (size_t i = 0; i < files.size(); ++i) {
    const Entry* e = entries[i].get();
    if (e == nullptr) continue;
    std::vector<Issue> issues = CheckYear(e->year);
    for (Issue& issue : CrossCheck(*e, all)) issues.push_back(std::move(issue));
    std::vector<workflows::Problem> problems;
    for (Issue& issue : issues) {
      const workflows::Position at = e->map.Find(issue.path);
      problems.push_back(workflows::Problem{std::move(issue.path), at, std::move(issue.message)});
    }
    std::stable_sort(problems.begin(), problems.end(),
                     [](const workflows::Problem& a, const workflows::Problem& b) {
                       return std::pair(a.position.line, a.position.column) <
                              std::pair(b.position.line, b.position.column);
                     });
    for (const auto& p : problems) reports[i].problems.push_back(FormatProblem(e->path, p));
    if (problems.empty()) reports[i].summary = Summary(e->year);
  }
  return reports;
}

}  // namespace

Result<std::vector<CalendarFileReport>> ValidateCalendarFiles(const std::vector<std::string>& files,
                                                              const std::string& calendars_dir) {
  try {
    return ValidateImpl(files, calendars_dir);
  } catch (const std::exception& e) {  // std::bad_alloc; the YAML loader catches its own
    return Status::IOError("validating calendars: " + std::string(e.what()));
  }
}

}  // namespace casegrid::engine
