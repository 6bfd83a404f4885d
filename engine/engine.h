// The engine: takes commands, decides with the workflow definitions, appends
// the resulting events to the Log and answers. One writer: Apply() runs a
// whole batch of commands in ONE log batch (one LMDB write transaction and one
// sync: group commit); a command is answered only after its events are
// durable. A rejected command writes nothing and does not disturb the rest of
// its batch. Deadlines are state: before each command the engine turns every
// deadline due before the command's time into events (the watermark), and
// Tick() does the same up to a given time.
// Thread-safety: an Engine is used by one thread at a time.
#ifndef CASEGRID_ENGINE_ENGINE_H_
#define CASEGRID_ENGINE_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "engine/calendar.h"
#include "engine/case_state.pb.h"
#include "engine/state_store.h"
#include "events/casegrid.pb.h"
#include "events/log.h"
#include "workflows/definition.h"
#include "workflows/org.h"

namespace casegrid::engine {

// Everything the engine is configured with, all of it data.
struct Config {
  std::shared_ptr<const workflows::Organisation> org;
  // Every calendar a definition of `workflows` names, by id.
  std::map<std::string, std::shared_ptr<const BusinessCalendar>, std::less<>> calendars;
  std::shared_ptr<const workflows::Registry> workflows;
  std::string default_workflow = "petition-125";
  // New cases of (workflow id, category) take this version, not the newest
  // (CategoryPinned events).
  std::map<std::pair<std::string, std::string>, int32_t> pins;
  // The (workflow id, version) pairs put in force by a WorkflowPublished event.
  std::set<std::pair<std::string, int32_t>> published;
  // The definitions chain (events::kDefinitionsChain) as read, in order.
  std::vector<casegrid::v1::Event> definition_events;
  std::string dir;  // the configuration directory it was loaded from

  // The calendar definition `def` counts with; nullptr if not loaded.
  const BusinessCalendar* CalendarFor(const workflows::Definition& def) const;
  // The default workflow's calendar (cn-mainland); never null after LoadConfig.
  const BusinessCalendar& default_calendar() const;
};

// Loads `dir`/definitions/*.yaml, `dir`/org/reference-district.yaml, then
// (when `log` is given) every publication and pin on the log's definitions
// chain, then from `dir`/calendars/*.yaml every calendar a definition names
// (dir is the shipped workflows/ folder). A published version takes the place
// of a file with the same id and version (the log is the record; a warning
// says when they differ). Corruption if the chain does not verify.
Result<Config> LoadConfig(const std::string& dir, events::Log* log = nullptr);

// Keeps a Config up to date with the log's definitions chain by reading the
// chain's partition (Log::PartitionOf), for an engine that runs while others
// publish: a Kafka worker, whose log sees only its own partition's cases.
class DefinitionsFollower {
 public:
  // Folds into *config every definitions chain event on the chain's partition
  // from where the last call stopped (the first call: the start) to the
  // partition's end as of now, then loads the calendars new versions name.
  // Events *config already holds (LoadConfig with a log) are checked and
  // skipped. Returns how many were folded in (0: *config is unchanged).
  // Corruption when an event does not continue the chain (case_seq, hash);
  // the events before it stay folded in.
  Result<int> CatchUp(events::Log& log, Config* config);

 private:
  uint64_t next_offset_ = 0;
};

// Who changes the rules, and why: both required.
struct RuleChange {
  casegrid::v1::Actor by;  // role "supervisor" when empty
  std::string reason;
};

struct Answer {
  enum class Kind { kAccepted, kDuplicate, kRejected };
  Kind kind = Kind::kRejected;
  Status status;          // why, when rejected
  uint64_t case_seq = 0;  // the case version after the command
  uint32_t events = 0;    // events it appended (0 for duplicates)
};

struct ApplyStats {
  uint64_t events = 0;           // all events appended, deadline events included
  uint64_t deadline_events = 0;  // events appended by deadlines that passed
};

// A move of open cases from one version of a workflow to another
// (`casegrid workflow migrate`, docs/workflows.md).
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

// The migrate commands (decider.h, kMigrateAction) of a request, one per
// case, in its order, without ids: Engine::Migrate applies them in one
// batch; `casegrid workflow migrate --send` gives them ids and sends them to
// the workers.
std::vector<casegrid::v1::Command> MigrationCommands(const MigrationRequest& request);

struct MigratedCase {
  std::string case_id;
  std::string from_state, to_state;
  casegrid::v1::CaseState before;           // open deadlines before
  std::vector<casegrid::v1::Event> events;  // the events it gets (written unless a dry run)
};

class Engine {
 public:
  // Opens the engine's state store in `log`'s local store and folds into it
  // the log's events it has not seen (StateStore::CatchUp; skipped on a
  // read-only log). `log` and `env` must outlive the engine. Corruption when
  // the log's events do not chain.
  static Result<std::unique_ptr<Engine>> Open(events::Log* log, Config config, Env* env);

  // Applies `commands` in order as one batch. On OK, answers[i] is the answer
  // to commands[i] and everything accepted is durable. On a non-OK Status (I/O,
  // Fatal) nothing of the batch was written and no answer is valid.
  Status Apply(std::span<const casegrid::v1::Command> commands, std::vector<Answer>* answers,
               ApplyStats* stats = nullptr);

  // As Apply, inside a batch the caller runs and commits (a worker's Kafka
  // transaction, which writes the answers with the events). `stats` is reset.
  Status ApplyInBatch(events::Batch& batch, std::span<const casegrid::v1::Command> commands,
                      std::vector<Answer>* answers, ApplyStats* stats);

  // Turns every deadline due before `now_micros` into events, in one batch.
  Result<ApplyStats> Tick(int64_t now_micros);

  // Puts `def` in force: appends a WorkflowPublished event (the full
  // definition, its SHA-256, `yaml` and `file` as written, who and why) to the
  // definitions chain and adds it to this engine's configuration. Refused
  // (InvalidArgument, nothing written) when the definition breaks a rule
  // (Definition::FromProto), names a calendar not loaded, or its version is
  // already published, differs from a file of that version, or is not newer
  // than every version of its id. Recording a file's version unchanged is
  // allowed once. Returns the event.
  Result<casegrid::v1::Event> Publish(const casegrid::v1::WorkflowDefinition& def,
                                      const std::string& yaml, const std::string& file,
                                      const RuleChange& change);
  // New cases of `category` on `workflow_id` take `version` (0: the newest
  // again). Refused when that version does not exist. Returns the event.
  Result<casegrid::v1::Event> Pin(const std::string& workflow_id, const std::string& category,
                                  int32_t version, const RuleChange& change);

  // Moves the request's cases to to_version: one migrate command per case
  // (decider.h, kMigrateAction), all applied in one batch, so each case first
  // meets the deadlines due before it, as any command does. Every case or
  // none: NotFound for an unknown version; else InvalidArgument lists every
  // problem (the state map's own, then each rejection with its cases) and
  // nothing is written. A dry run returns the same cases and events and
  // writes nothing.
  Result<std::vector<MigratedCase>> Migrate(const MigrationRequest& request);

  // The engine's state of a case (committed). NotFound if none.
  Result<casegrid::v1::CaseState> CaseState(std::string_view case_id);
  StateStore& state_store() { return *store_; }

  const Config& config() const { return config_; }
  // Decides later commands with `config` (a DefinitionsFollower's catch-up).
  void set_config(Config config) { config_ = std::move(config); }
  events::Log* log() const { return log_; }

 private:
  Engine(events::Log* log, std::unique_ptr<StateStore> store, Config config, Env* env);

  // Appends `event` (its case_seq and event_id set here) to the definitions
  // chain in one batch and folds it into config_.
  Result<casegrid::v1::Event> AppendDefinitionEvent(casegrid::v1::Event event);

  events::Log* log_;
  std::unique_ptr<StateStore> store_;
  Config config_;
  Env* env_;
};

// ---- The command input contract (docs/commands.md) ----

// Parses one NDJSON line into a Command: {"id","case","action","at","actor":
// {"user","role","unit"},"expect","data"}. InvalidArgument names the field;
// `at` stays 0 when absent (the engine then uses its clock).
Result<casegrid::v1::Command> ParseCommandJson(std::string_view line);
// The NDJSON line of `command`: ParseCommandJson(CommandJson(c)) equals c.
std::string CommandJson(const casegrid::v1::Command& command);
// "USER:ROLE:UNIT" (UNIT may be empty) -> Actor.
Result<casegrid::v1::Actor> ParseActor(std::string_view spec);

// Replays a case's stored events through OpenRecord (checking each hash and
// the chain) and Evolve. The visitor sees each event and the state after it.
Status ReplayCase(
    events::Log& log, std::string_view case_id,
    const std::function<void(const casegrid::v1::Event&, const casegrid::v1::CaseState&)>& visit);

struct VerifyReport {
  uint64_t events = 0;
  uint64_t cases = 0;
  Status first_problem;  // OK when the whole log verifies
};
// Walks the whole log in order, recomputing every hash and chain link and the
// case sequence; stops at the first problem and names its case and event.
Result<VerifyReport> VerifyLog(events::Log& log);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_ENGINE_H_
