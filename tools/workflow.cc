// casegrid workflow: the configuration's workflow definitions for the people
// who write them (docs/workflows.md). `validate FILE...` checks files with the
// rules of workflows/validate.h against the organisation and calendars;
// `list`, `show`, `diff` (workflows/diff.h) and `graph` (workflows/graph.h)
// read the definitions in the configuration's definitions/ folder.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "tools/commands.h"
#include "workflows/definition.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
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

namespace casegrid::tools {
namespace {

Result<workflows::Registry> LoadRegistry(const GlobalOptions& g) {
  return workflows::Registry::LoadDir(ResolveConfigDir(g) + "/definitions");
}

Result<std::shared_ptr<const workflows::Definition>> FindDefinition(
    const workflows::Registry& registry, const std::string& id, int32_t version) {
  return version == 0 ? registry.Latest(id) : registry.Find(id, version);
}

}  // namespace

int RunWorkflowList(const GlobalOptions& g) {
  auto registry = LoadRegistry(g);
  if (!registry.ok()) return Fail(registry.status());
  std::printf("%-16s %7s  %-10s %6s %7s %9s  %s\n", "ID", "VERSION", "CALENDAR", "STATES",
              "ACTIONS", "DEADLINES", "TITLE");
  for (const auto& def : registry->All()) {
    const auto& p = def->proto();
    std::printf("%-16s %7d  %-10s %6d %7d %9d  %s\n", p.id().c_str(), p.version(),
                p.calendar().c_str(), p.states_size(), p.actions_size(), p.deadlines_size(),
                p.title().c_str());
  }
  return 0;
}

int RunWorkflowShow(const GlobalOptions& g, const std::string& id, int32_t version) {
  auto registry = LoadRegistry(g);
  if (!registry.ok()) return Fail(registry.status());
  auto def = FindDefinition(*registry, id, version);
  if (!def.ok()) return Fail(def.status());
  std::ifstream in((*def)->source(), std::ios::binary);
  if (!in) return Fail(Status::NotFound("cannot read " + (*def)->source()));
  std::cout << "# " << (*def)->source() << "\n" << in.rdbuf();
  return 0;
}

int RunWorkflowDiff(const GlobalOptions& g, const std::string& id, int32_t a, int32_t b) {
  auto registry = LoadRegistry(g);
  if (!registry.ok()) return Fail(registry.status());
  auto from = registry->Find(id, a);
  if (!from.ok()) return Fail(from.status());
  auto to = registry->Find(id, b);
  if (!to.ok()) return Fail(to.status());
  std::cout << id << " v" << a << " -> v" << b << "\n"
            << workflows::FormatDiff(workflows::DiffDefinitions((*from)->proto(), (*to)->proto()));
  return 0;
}

int RunWorkflowGraph(const GlobalOptions& g, const std::string& id, int32_t version,
                     const std::string& format, const std::string& output) {
  auto registry = LoadRegistry(g);
  if (!registry.ok()) return Fail(registry.status());
  auto def = FindDefinition(*registry, id, version);
  if (!def.ok()) return Fail(def.status());
  const std::string dot = workflows::DefinitionDot((*def)->proto());
  if (format == "dot") {
    if (output.empty()) {
      std::cout << dot;
      return 0;
    }
    std::ofstream out(output, std::ios::binary);
    out << dot;
    out.close();
    if (!out) return Fail(Status::IOError("cannot write " + output));
    return 0;
  }
  // SVG: Graphviz renders it.
  std::cout.flush();
  const std::string command = "dot -Tsvg" + (output.empty() ? "" : " -o '" + output + "'");
  FILE* pipe = ::popen(command.c_str(), "w");
  if (pipe == nullptr) return Fail(Status::Unavailable("cannot run Graphviz's dot"));
  std::fwrite(dot.data(), 1, dot.size(), pipe);
  const int status = ::pclose(pipe);
  if (status != 0) {
    return Fail(Status::Unavailable(
        WIFEXITED(status) && WEXITSTATUS(status) == 127
            ? "Graphviz's dot is not installed (apt-get install graphviz); --format dot needs "
              "nothing"
            : "Graphviz's dot failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")"));
  }
  return 0;
}

}  // namespace casegrid::tools
