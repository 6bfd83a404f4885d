// HTTP routes of the rules in force: workflows (diff, what-if, graph), calendars, organisation.
#include "server/http_impl.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/scratch_dir.h"
#include "base/time.h"
#include "engine/calendar.h"
#include "engine/rules.h"
#include "engine/whatif.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
#include "workflows/org.h"
#include "workflows/validate.h"

namespace casegrid::server {

using internal::Dump;
using internal::json;
using internal::Problem;
using internal::ProblemOf;

// ---- the rules in force: definitions, calendars, the organisation ----

void HttpApi::Impl::Workflows(const httplib::Request& req, httplib::Response& res,
                              const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  const engine::Config& config = engine_->config();
  json list = json::array();
  for (const auto& def : config.workflows->All()) {
    const auto& p = def->proto();
    list.push_back(
        {{"id", p.id()},
         {"version", p.version()},
         {"title", p.title()},
         {"calendar", p.calendar()},
         {"states", p.states_size()},
         {"actions", p.actions_size()},
         {"deadlines", p.deadlines_size()},
         {"source", config.published.count({p.id(), p.version()}) > 0 ? "published" : "file"}});
  }
  json candidates = json::array();
  for (const auto& def : config.candidates) {
    candidates.push_back({{"id", def->id()}, {"version", def->version()}, {"file", def->source()}});
  }
  json pins = json::array();
  for (const auto& [key, version] : config.pins) {
    pins.push_back({{"workflow", key.first}, {"category", key.second}, {"version", version}});
  }
  json proposals = json::array();
  for (const auto& p : engine::Proposals(config)) {
    proposals.push_back(
        {{"id", p.id}, {"state", engine::ProposalStateName(p.state)}, {"what", p.what}});
  }
  res.set_content(Dump({{"workflows", std::move(list)},
                        {"candidates", std::move(candidates)},
                        {"adopted", config.adopted},
                        {"pins", std::move(pins)},
                        {"proposals", std::move(proposals)}}),
                  "application/json");
}

// The definition `id` at ?version=N (the latest when absent), in force or
// a candidate file beside them. Called under mu_.
Result<std::shared_ptr<const workflows::Definition>> HttpApi::Impl::Definition(
    const httplib::Request& req, const std::string& id, const char* param) {
  int32_t version = 0;
  if (req.has_param(param)) {
    auto v = Count(req, param);
    if (!v.ok()) return v.status();
    if (*v > 1000000) return Status::InvalidArgument(std::string(param) + ": no such version");
    version = static_cast<int32_t>(*v);
  }
  const workflows::Registry registry = engine_->config().WithCandidates();
  return version == 0 ? registry.Latest(id) : registry.Find(id, version);
}

void HttpApi::Impl::Workflow(const httplib::Request& req, httplib::Response& res,
                             const std::vector<std::string>& args) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  auto def = Definition(req, args[0], "version");
  if (!def.ok()) return ProblemOf(res, def.status());
  const auto& p = (*def)->proto();
  res.set_content(Dump({{"id", p.id()},
                        {"version", p.version()},
                        {"title", p.title()},
                        {"source", (*def)->source()},
                        {"in_force", engine_->config().published.count({p.id(), p.version()}) > 0 ||
                                         !engine_->config().adopted},
                        {"yaml", (*def)->yaml()},
                        {"actions", ActionsJson(p)}}),
                  "application/json");
}

// Every action of a definition with who takes it, from where, and its fields.
json HttpApi::Impl::ActionsJson(const casegrid::v1::WorkflowDefinition& p) {
  json out = json::array();
  for (const auto& a : p.actions()) {
    json fields = json::array();
    for (const auto& f : a.fields()) fields.push_back(FieldJson(f));
    out.push_back({{"name", a.name()},
                   {"description", a.description()},
                   {"effect", casegrid::v1::Effect_Name(a.effect())},
                   {"roles", std::vector<std::string>(a.roles().begin(), a.roles().end())},
                   {"from", std::vector<std::string>(a.from().begin(), a.from().end())},
                   {"to", a.to()},
                   {"fields", std::move(fields)}});
  }
  return out;
}

void HttpApi::Impl::WorkflowDiff(const httplib::Request& req, httplib::Response& res,
                                 const std::vector<std::string>& args) {
  if (!req.has_param("from") || !req.has_param("to")) {
    return Problem(res, 400, "invalid", "Invalid request", "a diff needs ?from=VERSION&to=VERSION");
  }
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  auto from = Definition(req, args[0], "from");
  if (!from.ok()) return ProblemOf(res, from.status());
  auto to = Definition(req, args[0], "to");
  if (!to.ok()) return ProblemOf(res, to.status());
  json changes = json::array();
  for (const workflows::Change& c : workflows::DiffDefinitions((*from)->proto(), (*to)->proto())) {
    static constexpr const char* kKinds[] = {"added", "removed", "changed"};
    changes.push_back({{"kind", kKinds[static_cast<int>(c.kind)]},
                       {"item", c.item},
                       {"name", c.name},
                       {"details", c.details}});
  }
  res.set_content(Dump({{"id", args[0]},
                        {"from", (*from)->version()},
                        {"to", (*to)->version()},
                        {"changes", std::move(changes)}}),
                  "application/json");
}

// GET /v1/workflows/{id}/graph.{svg,dot}: the diagram (workflows/graph.h).
void HttpApi::Impl::WorkflowGraph(const httplib::Request& req, httplib::Response& res,
                                  const std::vector<std::string>& args) {
  if (args[1] != "svg" && args[1] != "dot") {
    return Problem(res, 404, "no-route", "No such route",
                   "a diagram is graph.svg or graph.dot, not graph." + args[1]);
  }
  std::string dot;
  {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    auto def = Definition(req, args[0], "version");
    if (!def.ok()) return ProblemOf(res, def.status());
    dot = workflows::DefinitionDot((*def)->proto());
  }
  if (args[1] == "dot") return res.set_content(dot, "text/vnd.graphviz");
  auto svg = workflows::RenderSvg(dot);  // outside the lock: Graphviz takes its time
  if (!svg.ok()) return ProblemOf(res, svg.status());
  res.set_content(*svg, "image/svg+xml");
}

// One run's figures (engine::WhatIfFigures) as JSON.
json HttpApi::Impl::FiguresJson(const engine::WhatIfFigures& f) {
  return {{"cases", f.cases},
          {"commands", f.commands},
          {"rejected", f.rejected},
          {"breaches", f.breaches},
          {"escalations", f.escalations},
          {"closed", f.closed},
          {"breaches_by_deadline", f.breaches_by_deadline},
          {"peak_backlog", f.peak_backlog}};
}

// POST /v1/workflows/whatif?from=DAY&to=DAY: the draft definition in the
// body (YAML) run over the recorded cases of its workflow opened in the
// period, beside the figures of the rules in force (engine/whatif.h, as
// `casegrid workflow whatif`). A supervisor's, when the directory's checks
// are on; one at a time (409 busy); it runs outside the engine's lock, on
// one thread, so the door stays open meanwhile. Nothing is written.
void HttpApi::Impl::WorkflowWhatIf(const httplib::Request& req, httplib::Response& res,
                                   const std::vector<std::string>& /*args*/) {
  engine::WhatIfOptions options;
  options.threads = 1;
  const std::pair<const char*, int32_t*> days[] = {{"from", &options.from_day},
                                                   {"to", &options.to_day}};
  for (const auto& [name, day] : days) {
    if (!req.has_param(name)) continue;
    auto parsed = timeutil::ParseDate(req.get_param_value(name));
    if (!parsed.ok()) return ProblemOf(res, parsed.status().WithContext(name));
    *day = *parsed;
  }
  std::unique_lock running(whatif_mu_, std::try_to_lock);
  if (!running.owns_lock()) {
    return Problem(res, 409, "busy", "A what-if is running",
                   "one what-if runs at a time: try again when it is done");
  }
  std::optional<engine::Config> config;
  workflows::FileReport report;
  {
    std::lock_guard lock(mu_);
    auto user = Authenticate(req);
    if (!user.ok()) return ProblemOf(res, user.status());
    if (const engine::Directory* d = engine_->config().directory.get()) {
      if (Status held = d->CheckHolds(*user, "supervisor", "a what-if"); !held.ok()) {
        return Problem(res, 403, "forbidden", "Not within your reach", held.message());
      }
    }
    config = engine_->config();
    workflows::ValidateOptions checks;
    checks.org = config->org.get();
    checks.find_calendar = [&](const std::string& id) -> Status {
      if (config->calendars.count(id) > 0) return Status::Ok();
      return engine::LoadCalendarAsOfLog(*config, id).status();
    };
    auto checked = workflows::ValidateText(req.body, "draft", checks);
    if (!checked.ok()) return ProblemOf(res, checked.status());
    report = std::move(checked).value();
  }
  if (!report.problems.empty()) {
    json extra = {{"problems", report.problems}};
    return Problem(res, 422, "invalid-definition", "The draft is not a valid definition",
                   report.problems.front(), extra);
  }
  auto draft = workflows::Definition::FromProto(report.definition, "draft (POST)");
  if (!draft.ok()) return ProblemOf(res, draft.status());
  auto scratch = ScratchDir::Make("whatif");
  if (!scratch.ok()) return ProblemOf(res, scratch.status());
  options.scratch_dir = (*scratch)->path();
  auto r = engine::WhatIf(*engine_->log(), *config, *draft, options);
  if (!r.ok()) return ProblemOf(res, r.status());
  res.set_content(
      Dump({{"workflow", (*draft)->id()},
            {"version", (*draft)->version()},
            {"from", req.has_param("from") ? json(req.get_param_value("from")) : json(nullptr)},
            {"to", req.has_param("to") ? json(req.get_param_value("to")) : json(nullptr)},
            {"seconds", r->seconds},
            {"in_force", FiguresJson(r->recorded)},
            {"draft", FiguresJson(r->draft)},
            {"rejections", r->rejections},
            {"examples", r->examples},
            {"rejected_cases", r->rejected_cases.size()}}),
      "application/json");
}

void HttpApi::Impl::Calendars(const httplib::Request& req, httplib::Response& res,
                              const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  json list = json::array();
  for (const auto& [id, cal] : engine_->config().calendars) {
    list.push_back({{"id", id},
                    {"describe", cal->Describe()},
                    {"years", cal->Years()},
                    {"provisional_years", cal->ProvisionalYears()}});
  }
  res.set_content(Dump({{"calendars", std::move(list)}}), "application/json");
}

// GET /v1/calendars/{id}/{year}: the year's days as `calendar show` prints them.
void HttpApi::Impl::CalendarYear(const httplib::Request& req, httplib::Response& res,
                                 const std::vector<std::string>& args) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  const auto& calendars = engine_->config().calendars;
  auto it = calendars.find(args[0]);
  if (it == calendars.end()) {
    return Problem(res, 404, "not-found", "Not found",
                   "no calendar " + args[0] + " in force (GET /v1/calendars lists them)");
  }
  int year = 0;
  if (args[1].size() != 4 || args[1].find_first_not_of("0123456789") != std::string::npos) {
    return Problem(res, 400, "invalid", "Invalid request",
                   "year " + args[1] + ": expected four digits");
  }
  year = std::stoi(args[1]);
  auto text = it->second->FormatYear(year);
  if (!text.ok()) {
    return Problem(res, 404, "not-found", "Not found", text.status().message());
  }
  res.set_content(*text, "text/plain; charset=utf-8");
}

void HttpApi::Impl::Organisation(const httplib::Request& req, httplib::Response& res,
                                 const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  res.set_content(workflows::FormatUnits(*engine_->config().org, true), "application/json");
}

void HttpApi::Impl::Grids(const httplib::Request& req, httplib::Response& res,
                          const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
  res.set_content(workflows::FormatGrids(*engine_->config().org, true), "application/json");
}

}  // namespace casegrid::server
