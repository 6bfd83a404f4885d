// casegrid org units / org grids: the configuration's organisation
// (docs/organisation.md).
#include <iostream>

#include "engine/rules.h"
#include "tools/commands.h"
#include "workflows/org.h"
#include "workflows/yaml_proto.h"

namespace casegrid::tools {

namespace {

// The organisation in force: the one published on DIR's log last (now),
// else the configuration's file.
Result<std::shared_ptr<const workflows::Organisation>> OrgInForce(const GlobalOptions& g) {
  if (!CheckLogExists(g).ok()) {
    CASEGRID_ASSIGN_OR_RETURN(auto org, workflows::Organisation::Load(
                                            ResolveConfigDir(g) + "/org/reference-district.yaml"));
    return std::make_shared<const workflows::Organisation>(std::move(org));
  }
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  CASEGRID_ASSIGN_OR_RETURN(auto config, engine::LoadConfig(ResolveConfigDir(g), log.get()));
  CASEGRID_RETURN_IF_ERROR(engine::FoldDue(&config, Env::Default()->NowMicros()).status());
  return config.org;
}

}  // namespace

int RunOrg(const GlobalOptions& g, bool grids, bool json) {
  auto org = OrgInForce(g);
  if (!org.ok()) return Fail(org.status());
  std::cout << (grids ? workflows::FormatGrids(**org, json) : workflows::FormatUnits(**org, json));
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
