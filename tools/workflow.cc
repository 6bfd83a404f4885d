// casegrid workflow validate FILE...: checks workflow definitions with the
// rules of workflows/validate.h against the configuration's organisation and
// calendars (docs/workflows.md, "Validating a definition").
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "tools/commands.h"
#include "workflows/org.h"
#include "workflows/validate.h"

namespace casegrid::tools {

int RunWorkflowValidate(const GlobalOptions& g, const std::vector<std::string>& files) {
  const std::string config = ResolveConfigDir(g);
  auto org = workflows::Organisation::Load(config + "/org/reference-district.yaml");
  if (!org.ok()) return Fail(org.status());
  const std::string calendars = config + "/calendars";
  std::error_code ec;
  if (!std::filesystem::is_directory(calendars, ec)) {
    return Fail(Status::NotFound("cannot list calendar directory " + calendars));
  }
  // Each calendar is loaded (and so checked) once, however many files name it.
  std::map<std::string, Status> loaded;
  workflows::ValidateOptions options;
  options.org = &*org;
  options.find_calendar = [&](const std::string& id) {
    auto it = loaded.find(id);
    if (it == loaded.end()) {
      it = loaded.emplace(id, engine::BusinessCalendar::LoadDir(calendars, id).status()).first;
    }
    return it->second;
  };
  int rc = 0;
  for (const auto& file : files) {
    auto report = workflows::ValidateFile(file, options);
    if (!report.ok()) {
      // A file that cannot be read, or a calendar that does not load: the
      // file was not checked.
      std::cout.flush();
      rc = 2;
      Fail(report.status());
      continue;
    }
    for (const auto& line : report->problems) std::cout << line << "\n";
    if (!report->problems.empty()) {
      if (rc == 0) rc = 1;
      continue;
    }
    const auto& def = report->definition;
    std::cout << file << ": ok (workflow " << def.id() << " v" << def.version() << ": "
              << def.states_size() << " states, " << def.actions_size() << " actions, "
              << def.deadlines_size() << " deadlines)\n";
  }
  std::cout.flush();
  return rc;
}

}  // namespace casegrid::tools
