// Moving open cases from one version of a workflow to another (`casegrid
// workflow migrate`, docs/workflows.md "Migrating open cases"). A migration
// is one migrate command per case (decider.h, kMigrateAction), applied in
// one batch: every case moves, or none does.
// Thread-safety: Migrate uses the Engine, one thread at a time.
#ifndef CASEGRID_ENGINE_MIGRATION_H_
#define CASEGRID_ENGINE_MIGRATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/case_state.pb.h"
#include "engine/rules.h"
#include "events/casegrid.pb.h"
#include "workflows/definition.h"

namespace casegrid::engine {

class Engine;

// A migrate command's data.
struct MigrationOrder {
  int32_t from_version = 0, to_version = 0;
  std::map<std::string, std::string> state_map;  // OLD -> NEW
  std::string reason;
};
// Reads a migrate command's data; InvalidArgument names the field.
Result<MigrationOrder> ParseMigrationOrder(const google::protobuf::Struct& data);
// The data of a migrate command for `order`.
google::protobuf::Struct MigrationOrderData(const MigrationOrder& order);
// The problems of a state map itself, one line each: a state `from` lacks,
// a state `to` lacks or has as final. Empty when it is sound.
std::vector<std::string> StateMapProblems(const workflows::Definition& from,
                                          const workflows::Definition& to,
                                          const std::map<std::string, std::string>& state_map);

struct MigrationRequest {
  std::string workflow_id;
  int32_t from_version = 0, to_version = 0;
  // OLD=NEW state pairs; a state the new version also has maps to itself
  // unless listed.
  std::map<std::string, std::string> state_map;
  std::vector<std::string> case_ids;  // the cases to move, each open on from_version
  RuleChange change;
  int64_t at_micros = 0;  // when the cases move; 0 = the engine's clock
  bool dry_run = false;
};

// The migrate commands of a request, one per case, in its order, without
// ids: Migrate applies them in one batch; `casegrid workflow migrate --send`
// gives them ids and sends them to the workers.
std::vector<casegrid::v1::Command> MigrationCommands(const MigrationRequest& request);

struct MigratedCase {
  std::string case_id;
  std::string from_state, to_state;
  casegrid::v1::CaseState before;           // open deadlines before
  std::vector<casegrid::v1::Event> events;  // the events it gets (written unless a dry run)
};

// Moves the request's cases to to_version on `engine`: each case first meets
// the deadlines due before it, as any command does. Every case or none:
// NotFound for an unknown version; else InvalidArgument lists every problem
// (the state map's own, then each rejection with its cases) and nothing is
// written. A dry run returns the same cases and events and writes nothing.
Result<std::vector<MigratedCase>> Migrate(Engine& engine, const MigrationRequest& request);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_MIGRATION_H_
