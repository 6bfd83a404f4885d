// casegrid workflow: the configuration's workflow definitions for the people
// who write them (docs/workflows.md). `validate FILE...` checks files with the
// rules of workflows/validate.h against the organisation and calendars;
// `list`, `show`, `diff` (workflows/diff.h) and `graph` (workflows/graph.h)
// read the definitions in the configuration's definitions/ folder.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "base/time.h"
#include "engine/calendar.h"
#include "engine/command_json.h"
#include "engine/decider.h"
#include "engine/migration.h"
#include "engine/whatif.h"
#include "events/kafka_log.h"
#include "server/command_sender.h"
#include "tools/commands.h"
#include "tools/session.h"
#include "workflows/definition.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
#include "workflows/org.h"
#include "workflows/validate.h"

namespace casegrid::tools {

namespace {

Result<engine::Config> LoadDefinitions(const GlobalOptions& g);

// Validates definition files against the organisation and calendars in
// force (the log's when the data directory holds one: once adopted, the
// folder's own files are candidates), each calendar loaded (and so checked)
// once however many files name it.
class FileValidator {
 public:
  Status Open(const GlobalOptions& g) {
    CASEGRID_ASSIGN_OR_RETURN(config_, LoadDefinitions(g));
    options_.org = config_->org.get();
    options_.find_calendar = [this](const std::string& id) {
      auto it = loaded_.find(id);
      if (it == loaded_.end()) {
        it = loaded_.emplace(id, engine::LoadCalendarAsOfLog(*config_, id).status()).first;
      }
      return it->second;
    };
    return Status::Ok();
  }
  Result<workflows::FileReport> Check(const std::string& file) {
    return workflows::ValidateFile(file, options_);
  }

 private:
  std::optional<engine::Config> config_;
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
// DIR holds a log (a query never creates one), as in force now.
Result<engine::Config> LoadDefinitions(const GlobalOptions& g) {
  if (!CheckLogExists(g).ok() && g.log != "kafka") return engine::LoadConfig(ResolveConfigDir(g));
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  CASEGRID_ASSIGN_OR_RETURN(auto config, engine::LoadConfig(ResolveConfigDir(g), log.get()));
  CASEGRID_RETURN_IF_ERROR(engine::FoldDue(&config, Env::Default()->NowMicros()).status());
  return config;
}

// A time to the second, for tables.
std::string Seconds(int64_t micros) { return timeutil::FormatTimestamp(micros - micros % 1000000); }

// The definitions in force, and the candidate files beside them (after
// adoption) under versions the log does not hold: show, diff and graph
// read both.
Result<workflows::Registry> LoadRegistry(const GlobalOptions& g) {
  CASEGRID_ASSIGN_OR_RETURN(auto config, LoadDefinitions(g));
  return config.WithCandidates();
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
  for (const auto& def : config->candidates) {
    std::printf("candidate: %s v%d (%s) is not in force: casegrid workflow publish it\n",
                def->id().c_str(), def->version(), def->source().c_str());
  }
  if (config->adopted) {
    std::printf("adopted: only what the log holds is in force; the files of %s are candidates\n",
                config->dir.c_str());
  }
  for (const auto& [key, version] : config->pins) {
    std::printf("pinned: new %s cases of category %s take v%d\n", key.first.c_str(),
                key.second.c_str(), version);
  }
  for (const auto& p : engine::Proposals(*config)) {
    if (p.state != engine::Proposal::State::kPending &&
        p.state != engine::Proposal::State::kScheduled) {
      continue;
    }
    std::printf("%s: #%llu %s (casegrid workflow proposals)\n", engine::ProposalStateName(p.state),
                static_cast<unsigned long long>(p.id), p.what.c_str());
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
  std::string text = dot;
  if (format != "dot") {
    auto svg = workflows::RenderSvg(dot);
    if (!svg.ok()) return Fail(svg.status());
    text = std::move(svg).value();
  }
  if (output.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(output, std::ios::binary);
  out << text;
  out.close();
  if (!out) return Fail(Status::IOError("cannot write " + output));
  return 0;
}

}  // namespace casegrid::tools

namespace casegrid::tools {
namespace {}  // namespace

Result<engine::RuleChange> ToRuleChange(const RuleChangeOptions& o) {
  engine::RuleChange change;
  change.by.set_user(o.by);
  change.by.set_role("supervisor");
  change.reason = o.reason;
  if (!o.effective.empty()) {
    auto t = timeutil::ParseTimestamp(o.effective);
    if (!t.ok()) return t.status().WithContext("--effective");
    change.effective_micros = *t;
  }
  return change;
}

void PrintRuleChange(const casegrid::v1::Event& e) {
  const std::string by = " by " + e.actor().user();
  if (e.has_workflow_published()) {
    const auto& p = e.workflow_published();
    std::cout << "published " << p.workflow_id() << " v" << p.version() << " (sha256 " << p.sha256()
              << ") as event " << e.event_id() << by << "\n";
  } else if (e.has_calendar_published()) {
    const auto& p = e.calendar_published();
    std::cout << "published " << p.calendar() << " " << p.year() << " (sha256 " << p.sha256()
              << ") as event " << e.event_id() << by << "\n";
  } else if (e.has_organisation_published()) {
    const auto& p = e.organisation_published();
    std::cout << "published the organisation of " << p.file() << " (sha256 " << p.sha256()
              << ") as event " << e.event_id() << by << "\n";
  } else if (e.has_category_pinned()) {
    const auto& p = e.category_pinned();
    if (p.version() == 0) {
      std::cout << "unpinned: new " << p.workflow_id() << " cases of category " << p.category()
                << " take the newest version (event " << e.event_id() << ")\n";
    } else {
      std::cout << "pinned: new " << p.workflow_id() << " cases of category " << p.category()
                << " take v" << p.version() << " (event " << e.event_id() << ")\n";
    }
  } else if (e.has_configuration_adopted()) {
    const auto& a = e.configuration_adopted();
    std::cout << "adopted the configuration as event " << e.event_id() << by << ":";
    for (const auto& what : a.adopted()) std::cout << "\n  " << what;
    std::cout << (a.adopted().empty() ? " all of it was on the log already" : "")
              << "\nfrom now on only the log's rules are in force; a changed file is a candidate "
                 "until published\n";
  } else if (e.has_rule_change_proposed()) {
    std::cout << "proposed as #" << e.case_seq() << " (event " << e.event_id() << ")" << by
              << ": nothing changes until another supervisor approves it with `casegrid "
                 "workflow approve "
              << e.case_seq() << " --by USER --reason TEXT [--effective TIME]`\n";
  } else if (e.has_rule_change_approved()) {
    const auto& a = e.rule_change_approved();
    std::cout << "approved #" << a.proposal() << " (event " << e.event_id() << ")" << by << ": "
              << (a.effective_micros() > e.occurred_micros()
                      ? "in force from " + timeutil::FormatTimestamp(a.effective_micros())
                      : std::string("in force now"))
              << "\n";
  } else if (e.has_rule_change_withdrawn()) {
    std::cout << "withdrew #" << e.rule_change_withdrawn().proposal() << " (event " << e.event_id()
              << ")" << by << "\n";
  }
}

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
  // The file as written, kept in the event (the limit engine::Publish* holds).
  auto yaml = ReadSmallFile(file, 1 << 20);
  if (!yaml.ok()) return Fail(yaml.status());
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  // Open cases of the versions before that sit in a state this one lacks
  // would be stranded by a migration: named here, and refused by Publish
  // unless --no-migration says they stay on their versions.
  const auto& def = report->definition;
  auto stranded = engine::StrandedBy(*session->engine, def);
  if (!stranded.ok()) return Fail(stranded.status());
  for (const auto& s : *stranded) {
    const uint64_t n = s.cases;
    std::cout << (options.no_migration ? "note: " : "") << file << ": " << n
              << (n == 1 ? " open case" : " open cases") << " of " << def.id() << " v" << s.version
              << " in state " << s.state << ", which v" << def.version()
              << " does not have: " << (n == 1 ? "it stays" : "they stay") << " on v" << s.version
              << " until `casegrid workflow migrate " << def.id() << " --from " << s.version
              << " --to " << def.version() << " --map " << s.state << "=NEW`\n";
  }
  auto event = engine::Publish(*session->engine, report->definition, *yaml, file, *change,
                               options.no_migration);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument() && !event.status().IsConflict()) {
      return Fail(event.status());
    }
    std::cout << "not published: " << event.status().message() << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  return 0;
}

namespace {

// "a=b,c=d" -> {a: b, c: d}; InvalidArgument names the bad item.
Result<std::map<std::string, std::string>> ParsePairs(const std::string& text,
                                                      const std::string& option) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status::InvalidArgument(option + ": \"" + item + "\" is not KEY=VALUE");
    }
    if (!out.emplace(item.substr(0, eq), item.substr(eq + 1)).second) {
      return Status::InvalidArgument(option + ": " + item.substr(0, eq) + " is given twice");
    }
    start = end + 1;
  }
  return out;
}

// Whether the case matches every KEY=VALUE of the --cases query.
Result<bool> Matches(const projections::CaseView& c,
                     const std::map<std::string, std::string>& query) {
  bool match = true;  // every key is checked, so an unknown one is always named
  for (const auto& [key, value] : query) {
    const std::string* field = key == "state"      ? &c.facts().state()
                               : key == "category" ? &c.facts().category()
                               : key == "unit"     ? &c.facts().unit()
                               : key == "grid"     ? &c.facts().grid()
                               : key == "station"  ? &c.facts().station()
                               : key == "case"     ? &c.facts().case_id()
                                                   : nullptr;
    if (field == nullptr) {
      return Status::InvalidArgument("--cases: unknown key " + key +
                                     " (state, category, unit, grid, station, case)");
    }
    if (*field != value) match = false;
  }
  return match;
}

// A case's open deadlines that are not breached: "NAME DUE, ..." or "none".
std::string Deadlines(const casegrid::v1::CaseState& state) {
  std::string out;
  for (const auto& d : state.deadlines()) {
    if (d.breached()) continue;
    out += (out.empty() ? "" : ", ") + d.name() + " " + timeutil::FormatTimestamp(d.due_micros());
  }
  return out.empty() ? "none" : out;
}

// The deadlines a move arms that are already past when it happens (the
// migrate event's time), so that they breach at once: "NAME due T, ...";
// empty when none. A deadline already past under the old version is not
// the move's doing.
std::string Retroactive(const casegrid::v1::CaseState& before, const casegrid::v1::CaseState& after,
                        const std::vector<casegrid::v1::Event>& events) {
  int64_t moved = 0;
  for (const auto& e : events) {
    if (e.has_migrated()) moved = e.occurred_micros();
  }
  std::string out;
  for (const auto& d : after.deadlines()) {
    if (d.breached() || d.due_micros() > moved) continue;
    const bool was_past =
        std::any_of(before.deadlines().begin(), before.deadlines().end(),
                    [&](const auto& b) { return b.name() == d.name() && b.due_micros() <= moved; });
    if (was_past) continue;
    out +=
        (out.empty() ? "" : ", ") + d.name() + " due " + timeutil::FormatTimestamp(d.due_micros());
  }
  return out;
}

}  // namespace

int RunWorkflowMigrate(const GlobalOptions& g, const MigrateOptions& o,
                       const RuleChangeOptions& options) {
  auto map = ParsePairs(o.map, "--map");
  if (!map.ok()) return Fail(map.status());
  auto query = ParsePairs(o.cases, "--cases");
  if (!query.ok()) return Fail(query.status());
  if (auto checked = Matches(projections::CaseView(), *query); !checked.ok()) {
    return Fail(checked.status());
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  if (Status s = CatchUpModels(*session, /*quiet=*/true); !s.ok()) return Fail(s);
  auto open = session->models->OpenCases(o.id, o.from);
  if (!open.ok()) return Fail(open.status());
  engine::MigrationRequest request;
  request.workflow_id = o.id;
  request.from_version = o.from;
  request.to_version = o.to;
  request.state_map = *map;
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  request.change = *change;
  request.dry_run = o.dry_run || o.send;
  if (!o.at.empty()) {
    auto at = timeutil::ParseTimestamp(o.at);
    if (!at.ok()) return Fail(at.status().WithContext("--at"));
    request.at_micros = *at;
  }
  for (const auto& c : *open) {
    auto match = Matches(c, *query);
    if (!match.ok()) return Fail(match.status());
    if (*match) request.case_ids.push_back(c.facts().case_id());
  }
  auto moved = engine::Migrate(*session->engine, request);
  if (!moved.ok()) {
    if (!moved.status().IsInvalidArgument() && !moved.status().IsNotFound())
      return Fail(moved.status());
    std::cout << moved.status().message() << "\n";
    return 1;
  }
  size_t breaching = 0;
  for (const auto& m : *moved) {
    casegrid::v1::CaseState after = m.before;
    for (const auto& e : m.events) engine::Evolve(&after, e);
    std::cout << m.case_id << "  " << m.from_state << " -> " << m.to_state << "  deadlines "
              << Deadlines(m.before) << "  ->  " << Deadlines(after) << "\n";
    const std::string past = Retroactive(m.before, after, m.events);
    if (!past.empty()) {
      ++breaching;
      std::cout << "  " << m.case_id << " would breach at once, the deadline already past: " << past
                << "\n";
    }
  }
  if (breaching > 0) {
    std::cout << breaching << (breaching == 1 ? " case" : " cases")
              << " would breach a deadline the moment it moves (its new due time is "
                 "already past)\n";
  }
  if (moved->empty()) {
    std::cout << "no open case of " << o.id << " v" << o.from
              << (o.cases.empty() ? "" : " matches --cases " + o.cases) << "; nothing written\n";
    return 0;
  }
  const std::string cases = std::to_string(moved->size()) +
                            (moved->size() == 1 ? " case" : " cases") + " of " + o.id + " from v" +
                            std::to_string(o.from) + " to v" + std::to_string(o.to);
  if (o.dry_run) {
    std::cout << "dry run: would migrate " << cases << "; nothing written\n";
    return 0;
  }
  if (!o.send) {
    std::cout << "migrated " << cases << "\n";
    return 0;
  }
  // The workers own the cases' partitions: each gets its migrate command,
  // with an id, so a resend is answered as a duplicate.
  if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
  auto sending = SenderOptionsFor(g);
  if (!sending.ok()) return Fail(sending.status());
  auto sender = server::CommandSender::Open(*sending);
  if (!sender.ok()) return Fail(sender.status());
  // The dry run accepted every selected case, so the request's cases are the moved ones.
  if (request.at_micros == 0) request.at_micros = Env::Default()->NowMicros();
  for (auto& cmd : engine::MigrationCommands(request)) {
    cmd.set_id("migrate:" + cmd.case_id() + ":v" + std::to_string(o.from) + "-v" +
               std::to_string(o.to) + ":" + std::to_string(request.at_micros));
    if (Status s = (*sender)->Send(cmd.case_id(), engine::CommandJson(cmd)); !s.ok()) {
      return Fail(s);
    }
  }
  if (Status s = (*sender)->Flush(); !s.ok()) return Fail(s);
  std::cout << "sent " << (*sender)->sent() << " migrate commands (" << cases << ") to "
            << (*sender)->topic() << "; the workers answer each on "
            << events::AnswersTopic(g.topic_prefix) << "\n";
  return 0;
}

namespace {

void Row(const char* label, uint64_t a, uint64_t b) {
  std::printf("  %-34s %10llu %10llu\n", label, static_cast<unsigned long long>(a),
              static_cast<unsigned long long>(b));
}

}  // namespace

int RunWorkflowWhatIf(const GlobalOptions& g, const std::string& draft_file,
                      const std::string& from, const std::string& to, int threads) {
  engine::WhatIfOptions options;
  options.threads = threads;
  for (const auto& [text, day, name] :
       {std::tuple{&from, &options.from_day, "--from"}, std::tuple{&to, &options.to_day, "--to"}}) {
    if (text->empty()) continue;
    auto parsed = timeutil::ParseDate(*text);
    if (!parsed.ok()) return Fail(parsed.status().WithContext(name));
    *day = *parsed;
  }
  FileValidator validator;
  if (Status s = validator.Open(g); !s.ok()) return Fail(s);
  auto report = validator.Check(draft_file);
  if (!report.ok()) return Fail(report.status());
  if (!report->problems.empty()) {
    for (const auto& line : report->problems) std::cout << line << "\n";
    return 1;
  }
  auto draft = workflows::Definition::FromProto(report->definition, draft_file);
  if (!draft.ok()) return Fail(draft.status());
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto config = engine::LoadConfig(ResolveConfigDir(g), log->get());
  if (!config.ok()) return Fail(config.status());
  auto scratch = ScratchDir::Make("whatif");
  if (!scratch.ok()) return Fail(scratch.status());
  options.scratch_dir = (*scratch)->path();
  auto r = engine::WhatIf(**log, *config, *draft, options);
  if (!r.ok()) return Fail(r.status());
  std::printf("what-if: %s v%d (%s) over %llu cases opened %s..%s, %.1f s; nothing written\n",
              (*draft)->id().c_str(), (*draft)->version(), draft_file.c_str(),
              static_cast<unsigned long long>(r->recorded.cases),
              from.empty() ? "the start" : from.c_str(), to.empty() ? "now" : to.c_str(),
              r->seconds);
  std::printf("  %-34s %10s %10s\n", "", "in force", "draft");
  Row("cases opened", r->recorded.cases, r->draft.cases);
  Row("commands applied", r->recorded.commands, r->draft.commands);
  Row("commands the draft refuses", r->recorded.rejected, r->draft.rejected);
  Row("cases with a refused command", 0, r->rejected_cases.size());
  Row("deadlines breached", r->recorded.breaches, r->draft.breaches);
  std::set<std::string> names;
  for (const auto& [name, n] : r->recorded.breaches_by_deadline) names.insert(name);
  for (const auto& [name, n] : r->draft.breaches_by_deadline) names.insert(name);
  for (const auto& name : names) {
    const std::string label = "  " + name;
    Row(label.c_str(), r->recorded.breaches_by_deadline[name], r->draft.breaches_by_deadline[name]);
  }
  Row("escalations", r->recorded.escalations, r->draft.escalations);
  Row("cases closed", r->recorded.closed, r->draft.closed);
  // Units by their larger peak, then code; the ten busiest.
  std::vector<std::pair<uint64_t, std::string>> units;
  std::set<std::string> all;
  for (const auto& [unit, n] : r->recorded.peak_backlog) all.insert(unit);
  for (const auto& [unit, n] : r->draft.peak_backlog) all.insert(unit);
  for (const auto& unit : all) {
    units.emplace_back(std::max(r->recorded.peak_backlog[unit], r->draft.peak_backlog[unit]), unit);
  }
  std::sort(units.begin(), units.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::printf("  peak backlog, the %zu busiest of %zu units:\n", std::min<size_t>(10, units.size()),
              units.size());
  for (size_t i = 0; i < units.size() && i < 10; ++i) {
    const std::string label = "  " + units[i].second;
    Row(label.c_str(), r->recorded.peak_backlog[units[i].second],
        r->draft.peak_backlog[units[i].second]);
  }
  if (!r->rejections.empty()) {
    std::printf("refused by the draft:\n");
    for (const auto& [reason, n] : r->rejections) {
      std::printf("  %8llu  %s\n", static_cast<unsigned long long>(n), reason.c_str());
    }
    std::printf("for example:\n");
    for (const auto& line : r->examples) std::printf("  %s\n", line.c_str());
  }
  return 0;
}

int RunWorkflowPin(const GlobalOptions& g, const std::string& id, const std::string& category,
                   int32_t version, const RuleChangeOptions& options) {
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = engine::Pin(*session->engine, id, category, version, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument() && !event.status().IsNotFound())
      return Fail(event.status());
    std::cout << "not pinned: " << event.status().message() << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  return 0;
}

int RunWorkflowAdopt(const GlobalOptions& g, const RuleChangeOptions& options) {
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = engine::AdoptConfiguration(*session->engine, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument()) return Fail(event.status());
    std::cout << "not adopted: " << event.status().message() << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  return 0;
}

int RunWorkflowProposals(const GlobalOptions& g, bool json) {
  auto config = LoadDefinitions(g);
  if (!config.ok()) return Fail(config.status());
  const auto proposals = engine::Proposals(*config);
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    std::printf("%5s  %-9s  %-40s  %-32s  %s\n", "#", "STATE", "CHANGE", "PROPOSED", "DECIDED");
  }
  for (const auto& p : proposals) {
    const auto& e = p.proposed;
    const std::string proposed = e.actor().user() + " " + Seconds(e.occurred_micros());
    std::string decided;
    int64_t effective = 0;
    if (p.decided.has_rule_change_approved()) {
      effective = p.decided.rule_change_approved().effective_micros();
      decided =
          "approved by " + p.decided.actor().user() + " " + Seconds(p.decided.occurred_micros());
      if (effective > p.decided.occurred_micros()) {
        decided += ", in force from " + Seconds(effective);
      }
    } else if (p.decided.has_rule_change_withdrawn()) {
      decided =
          "withdrawn by " + p.decided.actor().user() + " " + Seconds(p.decided.occurred_micros());
    }
    if (json) {
      nlohmann::json row = {{"id", p.id},
                            {"state", engine::ProposalStateName(p.state)},
                            {"change", p.what},
                            {"proposed_by", e.actor().user()},
                            {"proposed_at", timeutil::FormatTimestamp(e.occurred_micros())},
                            {"proposal_event", e.event_id()}};
      if (p.decided.case_seq() != 0) {
        row["decided_by"] = p.decided.actor().user();
        row["decided_at"] = timeutil::FormatTimestamp(p.decided.occurred_micros());
        row["decision_event"] = p.decided.event_id();
      }
      if (effective != 0) row["effective"] = timeutil::FormatTimestamp(effective);
      out.push_back(std::move(row));
    } else {
      std::printf("%5llu  %-9s  %-40s  %-32s  %s\n", static_cast<unsigned long long>(p.id),
                  engine::ProposalStateName(p.state), p.what.c_str(), proposed.c_str(),
                  decided.c_str());
    }
  }
  if (json) std::cout << out.dump(2) << "\n";
  return 0;
}

namespace {

int DecideProposal(const GlobalOptions& g, uint64_t proposal, const RuleChangeOptions& options,
                   bool approve) {
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = approve ? engine::Approve(*session->engine, proposal, *change)
                       : engine::Withdraw(*session->engine, proposal, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument() && !event.status().IsNotFound() &&
        !event.status().IsConflict()) {
      return Fail(event.status());
    }
    std::cout << (approve ? "not approved: " : "not withdrawn: ") << event.status().message()
              << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  return 0;
}

}  // namespace

int RunWorkflowApprove(const GlobalOptions& g, uint64_t proposal, const RuleChangeOptions& change) {
  return DecideProposal(g, proposal, change, true);
}

int RunWorkflowWithdraw(const GlobalOptions& g, uint64_t proposal,
                        const RuleChangeOptions& change) {
  return DecideProposal(g, proposal, change, false);
}

}  // namespace casegrid::tools
