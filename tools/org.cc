// casegrid org units / org grids: the configuration's organisation
// (docs/organisation.md).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "engine/decider.h"
#include "engine/rules.h"
#include "tools/commands.h"
#include "workflows/org.h"
#include "workflows/yaml_proto.h"

namespace casegrid::tools {

namespace {

// The rules in force: the organisation published on DIR's log last (now),
// else the configuration's files.
Result<engine::Config> ConfigInForce(const GlobalOptions& g) {
  if (!CheckLogExists(g).ok()) return engine::LoadConfig(ResolveConfigDir(g));
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  CASEGRID_ASSIGN_OR_RETURN(auto config, engine::LoadConfig(ResolveConfigDir(g), log.get()));
  CASEGRID_RETURN_IF_ERROR(engine::FoldDue(&config, Env::Default()->NowMicros()).status());
  return config;
}

}  // namespace

int RunOrg(const GlobalOptions& g, OrgListing listing, bool json) {
  auto config = ConfigInForce(g);
  if (!config.ok()) return Fail(config.status());
  const workflows::Organisation& org = *config->org;
  switch (listing) {
    case OrgListing::kUnits:
      std::cout << workflows::FormatUnits(org, json);
      break;
    case OrgListing::kGrids:
      std::cout << workflows::FormatGrids(org, json);
      break;
    case OrgListing::kResponsibilities:
      std::cout << workflows::FormatResponsibilities(org, json);
      break;
  }
  return 0;
}

int RunOrgRoute(const GlobalOptions& g, const std::string& category, const std::string& grid,
                const std::string& workflow, bool json) {
  auto config = ConfigInForce(g);
  if (!config.ok()) return Fail(config.status());
  const workflows::Organisation& org = *config->org;
  const auto* cell = org.FindGrid(grid);
  if (cell == nullptr) {
    std::cout << "grid " << text::Escape(grid)
              << ": not a grid cell of the organisation in force\n";
    return 1;
  }
  std::shared_ptr<const workflows::Definition> def;
  if (!workflow.empty()) {
    auto latest = config->workflows->Latest(workflow);
    if (!latest.ok()) {
      std::cout << "workflow " << text::Escape(workflow) << ": " << latest.status().message()
                << "\n";
      return 1;
    }
    def = *latest;
  }
  casegrid::v1::CaseState probe;
  probe.set_category(category);
  probe.set_grid(grid);
  probe.set_station(cell->station());
  auto route = engine::RouteOf(probe, def.get(), org);
  if (!route.ok()) {
    std::cout << route.status().message() << "\n";
    return 1;
  }
  const auto* unit = org.FindUnit(route->unit);
  const auto& m = route->matter;
  if (json) {
    nlohmann::ordered_json doc = {{"category", category},  {"grid", grid},
                                  {"unit", route->unit},   {"name", unit->name()},
                                  {"level", route->level}, {"routed_by", route->routed_by},
                                  {"matter", nullptr}};
    if (!m.category().empty()) {
      doc["matter"] = {{"category", m.category()},
                       {"title", m.title()},
                       {"source", workflows::SourceName(m.source())},
                       {"handled_by", workflows::HandledByName(m.handled_by())},
                       {"shared_with", m.shared_with()}};
    }
    std::cout << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << text::Escape(category) << " in " << grid << ": " << route->unit << " "
            << unit->name() << " (" << route->level << "), ";
  if (route->routed_by == "list") {
    std::cout << "by the responsibility list: " << (m.title().empty() ? m.category() : m.title())
              << " (" << workflows::SourceName(m.source()) << ")";
    if (m.shared_with_size() > 0) {
      std::cout << ", shared with";
      for (const auto& code : m.shared_with()) std::cout << " " << code;
    }
  } else if (route->routed_by == "category") {
    std::cout << "by workflow " << def->id() << " v" << def->version() << "'s routing rule";
  } else {
    std::cout << "the grid cell's station: the responsibility list has no matter "
              << text::Escape(category);
  }
  std::cout << "\n";
  return 0;
}

int RunOrgPublish(const GlobalOptions& g, const std::string& file,
                  const RuleChangeOptions& options) {
  casegrid::v1::Organisation org;
  if (Status s = workflows::LoadYamlFile(file, &org); !s.ok()) {
    std::cout << "not published: " << s.message() << "\n";
    return 1;
  }
  if (auto checked = workflows::Organisation::FromProto(org); !checked.ok()) {
    std::cout << "not published: " << file << ": " << checked.status().message() << "\n";
    return 1;
  }
  // The file as written, kept in the event (the limit engine::Publish* holds).
  auto yaml = ReadSmallFile(file, 8 << 20);
  if (!yaml.ok()) return Fail(yaml.status());
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto event = engine::PublishOrganisation(*session->engine, org, *yaml, file, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument()) return Fail(event.status());
    std::cout << "not published: " << event.status().message() << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  return 0;
}

}  // namespace casegrid::tools
