// casegrid calendar validate FILE..., casegrid calendar show ID [--year Y] and
// casegrid calendar derive --year Y: the business calendar's data files
// (docs/calendar.md). The checks live in engine/calendar.h
// (ValidateCalendarFiles) and the derivation in engine/statutory_calendar.h,
// so the tests run them directly.
#include <iostream>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/calendar.h"
#include "engine/statutory_calendar.h"
#include "tools/calendar_cmd.h"

namespace casegrid::tools {

int RunCalendarValidate(const GlobalOptions& g, const std::vector<std::string>& files) {
  const std::string calendars = ResolveConfigDir(g) + "/calendars";
  auto reports = engine::ValidateCalendarFiles(files, calendars);
  if (!reports.ok()) return Fail(reports.status());
  int rc = 0;
  for (const auto& report : *reports) {
    if (!report.unreadable.ok()) {
      std::cout.flush();
      rc = 2;
      Fail(report.unreadable);
      continue;
    }
    for (const auto& line : report.problems) std::cout << line << "\n";
    if (!report.problems.empty()) {
      if (rc == 0) rc = 1;
      continue;
    }
    std::cout << report.file << ": ok (" << report.summary << ")\n";
  }
  std::cout.flush();
  return rc;
}

int RunCalendarShow(const GlobalOptions& g, const std::string& id, int year) {
  auto cal = engine::BusinessCalendar::LoadDir(ResolveConfigDir(g) + "/calendars", id);
  if (!cal.ok()) return Fail(cal.status());
  std::vector<int> years = year != 0 ? std::vector<int>{year} : cal->Years();
  std::cout << cal->Describe() << "\n";
  for (int y : years) {
    auto text = cal->FormatYear(y);
    if (!text.ok()) {
      std::cout.flush();
      std::cerr << "casegrid: " << text.status().message() << "\n";
      return 1;
    }
    std::cout << "\n" << *text;
  }
  return 0;
}

int RunCalendarDerive(const GlobalOptions& g, const std::string& id, int year) {
  auto cal = engine::BusinessCalendar::LoadDir(ResolveConfigDir(g) + "/calendars", id);
  if (!cal.ok()) return Fail(cal.status());
  if (!cal->extends().empty()) {
    return Fail(Status::InvalidArgument(
        "calendar " + id + " extends " + cal->extends() + ": the statutory days are " +
        cal->extends() + "'s; derive its year, then add " + id + "'s own file for the year"));
  }
  engine::DeriveOptions options;
  options.calendar = id;
  options.working_hours = cal->PublishedWorkingHoursNear(year);
  auto yaml = engine::DeriveStatutoryYearYaml(year, options);
  if (!yaml.ok()) return Fail(yaml.status());
  const int32_t jan1 = timeutil::DaysFromCivil(year, 1, 1);
  if (cal->Covers(jan1) && !cal->IsProvisional(jan1)) {
    std::cerr << "casegrid: note: " << cal->Describe() << " has the published " << year
              << " schedule; the derived year below is for comparison only\n";
  }
  std::cout << *yaml;
  return 0;
}

}  // namespace casegrid::tools
