// The rules in force: the configuration an engine decides with, and the
// changes a supervisor makes to it. Definitions, the organisation and the
// calendars are files (the shipped workflows/ folder); every publication and
// pin is an event on the log's definitions chain (events::kDefinitionsChain),
// so the log is the record of which rules were in force when.
//
//   LoadConfig           the files, then the chain: the rules as of now
//   ChainFollower        keeps a running engine's rules and directory up to date
//   Publish, Pin, PublishOrganisation, PublishCalendarYear
//                        append a change to the chain and put it in force,
//                        or propose it (the two-person rule, below)
//   Approve, Withdraw    a second supervisor's decision on a proposal
//   FoldDue              puts approved changes in force when their time comes
//   StrandedBy           the open cases a new version would strand
//
// The two-person rule (docs/security.md, "Rule changes"): while the
// directory's checks are on, a change is recorded as a RuleChangeProposed and
// is in force only once another supervisor approves it, at once or from a
// named time. With the checks off a change is in force when recorded, or,
// given a time, recorded as a proposal its author approves.
//
// Thread-safety: Config is a value; Publish and Pin use the Engine, one
// thread at a time.
#ifndef CASEGRID_ENGINE_RULES_H_
#define CASEGRID_ENGINE_RULES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/calendar.h"
#include "engine/decider.h"
#include "engine/directory.h"
#include "events/casegrid.pb.h"
#include "events/log.h"
#include "workflows/definition.h"
#include "workflows/org.h"

namespace casegrid::engine {

class Engine;

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
  // Calendar years put in force by CalendarPublished events, in order: each
  // takes the place of the file of its calendar and year.
  std::vector<casegrid::v1::CalendarYear> published_years;
  // The definitions chain (events::kDefinitionsChain) as read, in order.
  std::vector<casegrid::v1::Event> definition_events;
  // Approved changes waiting for their time, soonest first (FoldDue).
  struct Scheduled {
    int64_t effective_micros = 0;
    uint64_t proposal = 0;  // the proposal's case_seq on the chain
    // The proposal event with its change as the payload, as if published.
    casegrid::v1::Event change;
  };
  std::vector<Scheduled> scheduled;
  // Set by a ConfigurationAdopted event (`workflow adopt`): only what the
  // definitions chain holds is in force (definitions, calendar years, the
  // organisation); the configuration folder's files are candidates.
  bool adopted = false;
  // After adoption: definition files of the folder not in force as they
  // are (a version never published, or one that differs from the log's),
  // for `workflow list`. LoadConfig fills it.
  std::vector<std::shared_ptr<const workflows::Definition>> candidates;
  // The directory of people (events::kDirectoryChain) as read; null without
  // a log. Its checks, when on, apply to commands and rule changes.
  std::shared_ptr<const Directory> directory;
  // A command dated more than this before the engine records it is
  // backdated (docs/security.md): marked where it is shown and, with the
  // directory's checks on, taken only from a user granted role `import`.
  int64_t backdate_window_micros = kBackdateWindowMicros;
  std::string dir;  // the configuration directory it was loaded from

  // The definitions in force with the candidate files beside them, under
  // versions the log does not hold: what `workflow show`, `diff`, `graph`
  // and GET /v1/workflows/{id} read.
  workflows::Registry WithCandidates() const;
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

// Keeps a Config up to date with the log's own chains, the definitions
// (events::kDefinitionsChain) and the directory of people (kDirectoryChain),
// by reading each chain's partition (Log::PartitionOf), for an engine that
// runs while others change them: a Kafka worker, whose log sees only its own
// partition's cases.
class ChainFollower {
 public:
  // Folds into *config every event of both chains from where the last call
  // stopped (the first call: the start) to their partitions' end as of now,
  // then loads the calendars new versions name; config->directory is
  // replaced by a new Directory when its chain moved. Events *config already
  // holds (LoadConfig with a log) are checked and skipped. Returns how many
  // were folded in (0: *config is unchanged). Corruption when an event does
  // not continue its chain (case_seq, hash); the events before it stay
  // folded in and the next call meets it again.
  Result<int> CatchUp(events::Log& log, Config* config);

  // Where reading a chain stands.
  struct Cursor {
    uint64_t next_offset = 0;  // in the chain's partition
    std::string last_hash;     // of the chain's last event read
  };

 private:
  Cursor definitions_, directory_;
};

// Who changes the rules, and why: both required.
struct RuleChange {
  casegrid::v1::Actor by;  // role "supervisor" when empty
  std::string reason;
  // In force from this time (the engine's clock, micros) instead of at once
  // (0). Must not be in the past. Publish, Pin, PublishCalendarYear with the
  // checks off record a proposal approved by its author; Approve schedules.
  int64_t effective_micros = 0;
};

// Folds into *config every scheduled change (Config::scheduled) whose time
// is at or before `now_micros`, soonest first, then loads the calendars they
// name. Returns how many. The engine calls it before each batch it decides.
Result<int> FoldDue(Config* config, int64_t now_micros);

// A rule change proposed on the definitions chain, and what became of it.
struct Proposal {
  enum class State { kPending, kScheduled, kInForce, kWithdrawn };
  uint64_t id = 0;  // its case_seq on the definitions chain
  State state = State::kPending;
  std::string what;  // "workflow petition-125 v3", "calendar cn-mainland 2027", "pin ..."
  casegrid::v1::Event proposed;  // the RuleChangeProposed event
  casegrid::v1::Event decided;   // the approval or withdrawal, if any
};
// Every proposal on `config`'s chain, oldest first.
std::vector<Proposal> Proposals(const Config& config);
const char* ProposalStateName(Proposal::State state);  // pending | scheduled | in force | withdrawn

// Open cases of an earlier version that sit in a state a new version lacks:
// no migration could move them without a state map.
struct Stranded {
  int32_t version = 0;  // the earlier version they run on
  std::string state;    // the state the new version lacks
  uint64_t cases = 0;
};

// For each version of `def`'s id older than it in `engine`'s configuration,
// oldest first, and each state in name order: the open cases (the engine's
// state store; a case is open while its state is not final in its version)
// in a state `def` does not declare. Empty when nothing would be stranded.
Result<std::vector<Stranded>> StrandedBy(Engine& engine,
                                         const casegrid::v1::WorkflowDefinition& def);

// Puts `def` in force on `engine`: appends a WorkflowPublished event (the
// full definition, its SHA-256, `yaml` and `file` as written, who and why)
// to the definitions chain and adds it to the engine's configuration; or,
// under the two-person rule or with change.effective_micros, records it as
// a proposal (the event returned is then a RuleChangeProposed, or the
// author's RuleChangeApproved).
// Refused (InvalidArgument, nothing written) when the definition breaks a
// rule (Definition::FromProto), names a calendar not loaded, or its version
// is already published, differs from a file of that version, or is not newer
// than every version of its id; and (Conflict, nothing written, naming the
// versions and states) when it would strand open cases (StrandedBy) unless
// `leave_stranded` says they stay on their versions until migrated. Recording a file's version
// unchanged is allowed once. Returns the event.
Result<casegrid::v1::Event> Publish(Engine& engine, const casegrid::v1::WorkflowDefinition& def,
                                    const std::string& yaml, const std::string& file,
                                    const RuleChange& change, bool leave_stranded = false);

// Calendar `id` as the rules have it: its files in the configuration's
// calendars/ folder with the years published on the log in their place
// (`calendar show`; the engine's own calendars are loaded the same way).
Result<BusinessCalendar> LoadCalendarAsOfLog(const Config& config, const std::string& id);

// Puts `year` in force on `engine` in place of the file of its calendar and
// year (the State Council's notice for a provisional year): appends a
// CalendarPublished event (the year, its SHA-256, `yaml` and `file` as
// written, who and why) and reloads the calendars. Refused (InvalidArgument,
// nothing written) when the year is marked provisional, its calendar is not
// one the configuration's files or the log have, the calendar with it in
// place does not load (the checks of BusinessCalendar::FromYears), or it
// equals the year in force. Deadlines already counted over the year are not
// changed here: engine/recount.h recounts them. Returns the event.
Result<casegrid::v1::Event> PublishCalendarYear(Engine& engine,
                                                const casegrid::v1::CalendarYear& year,
                                                const std::string& yaml, const std::string& file,
                                                const RuleChange& change);

// Puts `org` in force on `engine` in place of the configuration's org file
// (the district's units and grid cells): an OrganisationPublished event, or
// a proposal as Publish. Refused (InvalidArgument, nothing written) when it
// does not validate (Organisation::FromProto), equals the one in force, a
// definition's routing names a unit it lacks, or an open case sits in a unit
// or grid cell it lacks. Returns the event.
Result<casegrid::v1::Event> PublishOrganisation(Engine& engine,
                                                const casegrid::v1::Organisation& org,
                                                const std::string& yaml, const std::string& file,
                                                const RuleChange& change);

// Records the configuration in force from the folder's files on the
// definitions chain, as one ConfigurationAdopted event: every definition
// version not yet published (as published, with its YAML), every calendar
// year in force, and the organisation when none was published. From then on
// LoadConfig puts in force only what the chain holds, and a file that
// differs is a candidate until published (docs/workflows.md, "Adopting the
// configuration"). It changes no rule in force, so one supervisor makes it,
// the two-person rule aside. InvalidArgument (nothing written) when it was
// adopted already or `change` is not a rule change CheckRuleChange allows.
Result<casegrid::v1::Event> AdoptConfiguration(Engine& engine, const RuleChange& change);

// New cases of `category` on `workflow_id` take `version` (0: the newest
// again). Refused when that version does not exist. Returns the event.
Result<casegrid::v1::Event> Pin(Engine& engine, const std::string& workflow_id,
                                const std::string& category, int32_t version,
                                const RuleChange& change);

// Approves proposal `id` (Proposals) for `change.effective_micros` (0: at
// once): appends a RuleChangeApproved and folds it (in force now, or
// scheduled). The change is checked again against the rules as they stand
// now, as when it was proposed. NotFound when `id` is no proposal;
// InvalidArgument (nothing written) when it was approved or withdrawn
// already, the time is in the past, the change no longer holds, or, with
// the checks on, the approver is its proposer or holds no supervisor grant.
Result<casegrid::v1::Event> Approve(Engine& engine, uint64_t id, const RuleChange& change);

// Withdraws proposal `id`, pending or scheduled: a RuleChangeWithdrawn.
// NotFound / InvalidArgument as Approve (any supervisor may withdraw).
Result<casegrid::v1::Event> Withdraw(Engine& engine, uint64_t id, const RuleChange& change);

// InvalidArgument unless `change` names who (an identifier, base/text.h) and
// why (text) and, with the directory's checks on, who holds supervisor.
Status CheckRuleChange(const Config& config, const RuleChange& change);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_RULES_H_
