// casegrid calendar validate FILE... and casegrid calendar show ID [--year Y]:
// the business calendar's data files (docs/calendar.md). The checks live in
// engine/calendar.h (ValidateCalendarFiles), so the tests run them directly.
#include <iostream>
#include <string>
#include <vector>

#include "engine/calendar.h"
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

}  // namespace casegrid::tools
