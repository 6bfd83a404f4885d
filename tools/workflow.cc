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
#include <optional>
#include <string>
#include <vector>

#include <iterator>
#include "engine/calendar.h"
#include "tools/commands.h"
#include "tools/session.h"
#include "workflows/definition.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
#include "workflows/org.h"
#include "workflows/validate.h"

namespace casegrid::tools {

namespace {

// Validates definition files against the configuration's organisation and
// calendars, each calendar loaded (and so checked) once however many files
// name it.
class FileValidator {
 public:
  Status Open(const GlobalOptions& g) {
    const std::string config = ResolveConfigDir(g);
    CASEGRID_ASSIGN_OR_RETURN(
        org_, workflows::Organisation::Load(config + "/org/reference-district.yaml"));
    options_.org = &*org_;
    calendars_ = config + "/calendars";
    std::error_code ec;
    if (!std::filesystem::is_directory(calendars_, ec)) {
      return Status::NotFound("cannot list calendar directory " + calendars_);
    }
    options_.find_calendar = [this](const std::string& id) {
      auto it = loaded_.find(id);
      if (it == loaded_.end()) {
        it = loaded_.emplace(id, engine::BusinessCalendar::LoadDir(calendars_, id).status()).first;
      }
      return it->second;
    };
    return Status::Ok();
  }
  Result<workflows::FileReport> Check(const std::string& file) {
    return workflows::ValidateFile(file, options_);
  }

 private:
  std::optional<workflows::Organisation> org_;
  std::string calendars_;
  std::map<std::string, Status> loaded_;
  workflows::ValidateOptions options_;
};

}  // namespace

int RunWorkflowValidate(const GlobalOptions& g, const std::vector<std::string>& files) {
  FileValidator validator;
  if (Status s = validator.Open(g); !s.ok()) return Fail(s);
  int rc = 0;
  for (const auto& file : files) {
    auto report = validator.Check(file);
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

// The configuration's definitions, with the log's publications and pins when
// DIR holds a log (a query never creates one).
Result<engine::Config> LoadDefinitions(const GlobalOptions& g) {
  if (!CheckLogExists(g).ok() && g.log != "kafka") return engine::LoadConfig(ResolveConfigDir(g));
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  return engine::LoadConfig(ResolveConfigDir(g), log.get());
}

Result<workflows::Registry> LoadRegistry(const GlobalOptions& g) {
  CASEGRID_ASSIGN_OR_RETURN(auto config, LoadDefinitions(g));
  return *config.workflows;
}

Result<std::shared_ptr<const workflows::Definition>> FindDefinition(
    const workflows::Registry& registry, const std::string& id, int32_t version) {
  return version == 0 ? registry.Latest(id) : registry.Find(id, version);
}

}  // namespace

int RunWorkflowList(const GlobalOptions& g) {
  auto config = LoadDefinitions(g);
  if (!config.ok()) return Fail(config.status());
  std::printf("%-16s %7s  %-10s %6s %7s %9s  %-9s %s\n", "ID", "VERSION", "CALENDAR", "STATES",
              "ACTIONS", "DEADLINES", "SOURCE", "TITLE");
  for (const auto& def : config->workflows->All()) {
    const auto& p = def->proto();
    const bool published = config->published.count({p.id(), p.version()}) > 0;
    std::printf("%-16s %7d  %-10s %6d %7d %9d  %-9s %s\n", p.id().c_str(), p.version(),
                p.calendar().c_str(), p.states_size(), p.actions_size(), p.deadlines_size(),
                published ? "published" : "file", p.title().c_str());
  }
  for (const auto& [key, version] : config->pins) {
    std::printf("pinned: new %s cases of category %s take v%d\n", key.first.c_str(),
                key.second.c_str(), version);
  }
  return 0;
}

int RunWorkflowShow(const GlobalOptions& g, const std::string& id, int32_t version) {
  auto registry = LoadRegistry(g);
  if (!registry.ok()) return Fail(registry.status());
  auto def = FindDefinition(*registry, id, version);
  if (!def.ok()) return Fail(def.status());
  std::cout << "# " << (*def)->source() << "\n" << (*def)->yaml();
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

namespace casegrid::tools {
namespace {

Result<engine::RuleChange> ToRuleChange(const RuleChangeOptions& o) {
  engine::RuleChange change;
  change.by.set_user(o.by);
  change.by.set_role("supervisor");
  change.reason = o.reason;
  return change;
}

}  // namespace

int RunWorkflowPublish(const GlobalOptions& g, const std::string& file,
                       const RuleChangeOptions& options) {
  FileValidator validator;
  if (Status s = validator.Open(g); !s.ok()) return Fail(s);
  auto report = validator.Check(file);
  if (!report.ok()) return Fail(report.status());
  if (!report->problems.empty()) {
    for (const auto& line : report->problems) std::cout << line << "\n";
    std::cout << "not published: " << file << " has " << report->problems.size()
              << (report->problems.size() == 1 ? " problem\n" : " problems\n");
    return 1;
  }
  std::ifstream in(file, std::ios::binary);
  const std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto change = ToRuleChange(options);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = session->engine->Publish(report->definition, yaml, file, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument()) return Fail(event.status());
    std::cout << "not published: " << event.status().message() << "\n";
    return 1;
  }
  const auto& p = event->workflow_published();
  std::cout << "published " << p.workflow_id() << " v" << p.version() << " (sha256 " << p.sha256()
            << ") as event " << event->event_id() << " by " << event->actor().user() << "\n";
  return 0;
}

int RunWorkflowPin(const GlobalOptions& g, const std::string& id, const std::string& category,
                   int32_t version, const RuleChangeOptions& options) {
  auto change = ToRuleChange(options);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = session->engine->Pin(id, category, version, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument() && !event.status().IsNotFound())
      return Fail(event.status());
    std::cout << "not pinned: " << event.status().message() << "\n";
    return 1;
  }
  if (version == 0) {
    std::cout << "unpinned: new " << id << " cases of category " << category
              << " take the newest version (event " << event->event_id() << ")\n";
  } else {
    std::cout << "pinned: new " << id << " cases of category " << category << " take v" << version
              << " (event " << event->event_id() << ")\n";
  }
  return 0;
}

}  // namespace casegrid::tools
