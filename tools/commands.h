// The casegrid subcommands' adapters, each in the tools/ file named after its
// command (README.md, "Folders"); each returns the process exit status
// (0 ok, 1 something was rejected or did not verify, 2 could not run).
#ifndef CASEGRID_TOOLS_COMMANDS_H_
#define CASEGRID_TOOLS_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "server/worker.h"
#include "tools/session.h"

namespace casegrid::tools {

struct SubmitOptions {
  std::string file;    // path or "-"
  size_t batch = 512;  // commands per group commit
  bool quiet = false;
};
int RunSubmit(const GlobalOptions& g, const SubmitOptions& o);

struct ActOptions {
  std::string case_id, action, by, payload_json, at, id, workflow;
  int64_t expect = -1;
};
int RunAct(const GlobalOptions& g, const ActOptions& o);

int RunTick(const GlobalOptions& g, const std::string& now);

// `casegrid attach CASE FILE --by USER:ROLE:UNIT`: the file checked and
// stored in the blob store (sealed when --personal), then the case's attach
// action naming it (engine/attachments.h). 0 accepted, 1 refused.
struct AttachOptions {
  std::string case_id, file, by, media_type, name, note, id, at;
  std::string action = "attach";
  bool personal = false;
  size_t max_bytes = 10 * 1024 * 1024;
};
int RunAttach(const GlobalOptions& g, const AttachOptions& o);
// `casegrid attachment CASE [SHA256] [-o FILE]`: a case's attachments
// listed, or one's content (to standard output without -o), read for
// GlobalOptions::reader as `replay` is (personal ones recorded, withheld
// out of reach).
int RunAttachment(const GlobalOptions& g, const std::string& case_id, const std::string& sha256,
                  const std::string& output);

// `casegrid erase CASE --by USER --reason R`: the erase command
// (engine/decider.h kEraseAction), then the case's data key destroyed. Run
// again on an erased case, it destroys the key (an interrupted erasure).
struct EraseOptions {
  std::string case_id, by, reason, at;
  // Instead of one case: every ended case past its definition's
  // retention_years (docs/security.md, "Retention"), as of --at or now.
  bool due = false;
  bool dry_run = false;  // with `due`: list them, write nothing
};
int RunErase(const GlobalOptions& g, const EraseOptions& o);

// `casegrid export`: case histories for a report (docs/audit.md, "Export"):
// one case (hash-checked), or every case taken in on the local days
// [from, to]; NDJSON (one event per line, as protobuf JSON, personal values
// opened) or CSV (one row per event, its content as replay says it).
struct ExportOptions {
  std::string case_id, from, to, format = "ndjson", output;
};
int RunExport(const GlobalOptions& g, const ExportOptions& o);

// The read models' queries (docs/queries.md), each after bringing the read
// models up to the log; 2 when DIR holds no log or the query fails.
// `as_of` (all four): an RFC 3339 time, the answer from the events recorded
// by then; or N, from the journal's first N events (the size a checkpoint
// names); on read models built afresh (docs/queries.md, "As of a moment").
int RunCaseShow(const GlobalOptions& g, const std::string& case_id, bool json,
                const std::string& as_of);
// `casegrid case linked CASE`: the other cases of its petitioner, those in
// the reader's reach (`--by`) shown, the others counted.
int RunCaseLinked(const GlobalOptions& g, const std::string& case_id, bool json);
// 2 naming the unit when the organisation has no such unit. `subtree`:
// also the open cases of every unit under it (a town with its stations).
int RunInbox(const GlobalOptions& g, const std::string& unit, bool json, const std::string& as_of,
             bool subtree = false);
// Cases with a deadline due before `at` (RFC 3339; empty: now). `group`:
// "" a list; "town" the list in sections per town (the town of the unit the
// deadline binds; district-level units in one section).
int RunOverdue(const GlobalOptions& g, const std::string& at, bool warned, bool json,
               const std::string& as_of, const std::string& group = "");
// stats and scorecard. Local days YYYY-MM-DD, both included; empty: from
// 2000-01-01, to 2100-01-01. `by`: a comma-separated list of at most one
// day basis, "occurred" (the default: each event on the day it says it
// happened) or "recorded" (the day it was recorded; read models built
// afresh), and at most one grouping, "unit", "town" or "department"
// (projections/rollup.h); 2 naming a value that is neither.
struct StatsArgs {
  std::string from, to, as_of, by;
  bool json = false;
};
int RunStats(const GlobalOptions& g, const StatsArgs& args);
// The scorecard (projections::Scorecard) of the grouping `args.by` names,
// by town when it names none.
int RunScorecard(const GlobalOptions& g, const StatsArgs& args);
// `casegrid patrol`: the public inspectors' daily roll (projections::RollPatrol)
// over --from .. --to (default: the days with a report) on the patrol
// definition's calendar; `at_least` reports make a working day not short.
// The directory's users granted patrol_inspector who filed nothing are
// listed too, every working day short.
int RunPatrol(const GlobalOptions& g, const StatsArgs& args, uint64_t at_least);
int RunAudit(const GlobalOptions& g, const std::string& actor, bool json);
// `projections rebuild`: drops the read models and rebuilds them from the log.
int RunProjectionsRebuild(const GlobalOptions& g);
// `org units`, `org grids` or `org responsibilities`: the organisation in
// force (the log's, else the configuration's file).
enum class OrgListing { kUnits, kGrids, kResponsibilities };
int RunOrg(const GlobalOptions& g, OrgListing listing, bool json);
// `org route CATEGORY GRID [--workflow ID]`: where a dispatch naming no unit
// sends a case of CATEGORY in GRID (engine::RouteOf, with the latest
// version of ID's routing rules when given). 0 routed, 1 refused.
int RunOrgRoute(const GlobalOptions& g, const std::string& category, const std::string& grid,
                const std::string& workflow, bool json);
// `org publish FILE --by USER --reason TEXT [--effective T]`: the
// organisation in FILE in force from the log (engine::PublishOrganisation),
// or proposed. 0 published or proposed, 1 refused, 2 could not run.
struct RuleChangeOptions;
int RunOrgPublish(const GlobalOptions& g, const std::string& file,
                  const RuleChangeOptions& options);

// Copies DIR/journal to the Kafka topic (docs/operations.md); 1 if it does not verify.
int RunMigrateLog(const GlobalOptions& g);
// `verify`: every hash and chain link, the Merkle tree, the state store and,
// given a checkpoint FILE (and the verifier KEY, text or file; default the
// data directory's own key), that the log extends it. 1 on any finding.
// With `read_models`, also that the read models equal a rebuild from the log.
int RunVerify(const GlobalOptions& g, const std::string& checkpoint = "",
              const std::string& key = "", bool read_models = false);
// `checkpoint`: signs each partition's current tree head (unless its newest
// checkpoint covers it; on Kafka after reading the topic into the trees) and
// prints the notes, a blank line between them, or with `public_key` the
// verifier key; to `out` when given (written atomically).
int RunCheckpoint(const GlobalOptions& g, const std::string& out, bool public_key);
struct ProveOptions {
  std::string case_id, checkpoint, key, out;
};
// `prove`: the case's events the checkpoint covers, each with its inclusion
// proof, as JSON for tools/verify_offline.py; 1 when the checkpoint does not
// verify or the case has no covered event.
int RunProve(const GlobalOptions& g, const ProveOptions& o);
// The verifier key `key` names (text or file), or the data directory's own.
Result<events::NoteVerifier> LoadVerifier(const GlobalOptions& g, events::Log& log,
                                          const std::string& key);
// A saved checkpoint: one partition's signed note (the journal has one).
struct SavedCheckpoint {
  int32_t partition = 0;
  events::Checkpoint checkpoint;
  std::string note;  // as signed
};
// The checkpoint notes in `file` (one per partition at most, as `casegrid
// checkpoint` prints them), each signature checked by `verifier` and each
// origin naming one of the log's `partitions`.
Result<std::vector<SavedCheckpoint>> LoadCheckpoints(const std::string& file,
                                                     const events::NoteVerifier& verifier,
                                                     int32_t partitions);
// `json`: one JSON document, each event with both its times, what it says
// and its hashes (docs/queries.md).
int RunReplay(const GlobalOptions& g, const std::string& case_id, bool json = false);
// Prints a case's events with the state after each; 1 if a hash fails.
// With `withhold`, personal values read "[withheld]" (engine/access.h).
int PrintReplay(events::Log& log, const std::string& case_id, const events::KeyStore* keys,
                bool withhold = false, bool json = false);

// `casegrid demo`: the district simulation (sim/simulation.h) in DIR, which
// the demo owns (empty, or written by an earlier demo), then its report.
struct DemoOptions {
  int days = 30;
  uint64_t seed = 2026;
  std::string start = "2026-09-01";
  bool quiet = false;
};
int RunDemo(const GlobalOptions& g, const DemoOptions& o);

// `casegrid bench`: bench::Run on the log of `g` (its cluster, topic prefix
// and partitions with --log kafka); `o` holds the benchmark's own flags.
int RunBench(const GlobalOptions& g, bench::Options o);

// Writes events/casegrid.proto and its imports, imports first, as a
// google.protobuf.FileDescriptorSet without source info: binary, or protobuf
// text format when `text` (the committed baseline, docs/events.md). Returns 2
// naming the path when the file cannot be written.
int RunSchema(const std::string& descriptor_set_path, bool text = false);

// `casegrid kafka-dev`: librdkafka's mock Kafka cluster (events/kafka_mock.h)
// for development and tests, with topics PREFIX.events, .commands and .answers.
// Prints the bootstrap address as the first line on stdout; writes it (one
// line) to bootstrap_file atomically when given; serves until SIGINT or
// SIGTERM, then removes bootstrap_file and returns 0. While serving it warns on
// stderr when a partition nears the mock's limits, and logs an error when the
// mock has dropped a partition's oldest data. Returns 2 if it cannot start.
struct KafkaDevOptions {
  int brokers = 3;
  int partitions = 12;  // per topic
  std::string bootstrap_file;
  std::string topic_prefix = "casegrid";
};
int RunKafkaDev(const KafkaDevOptions& o);

// `casegrid worker` (docs/operations.md): a server::Worker in the consumer
// group on PREFIX.commands; serves until SIGINT or SIGTERM (then 0), 2 when
// it cannot run on or was fenced by another worker. `o` holds the worker's
// own flags; the cluster, topics and DIR come from `g`.
int RunWorker(const GlobalOptions& g, server::WorkerOptions o);

// `casegrid serve` (docs/http.md): the HTTP API on DIR's engine (the
// embedded journal; on Kafka it reads, and the workers apply the commands
// it sends them), until SIGINT or SIGTERM (then 0); 2 when it cannot start.
// Its first line on stdout is "listening on http://HOST:PORT".
struct ServeOptions {
  std::string listen = "127.0.0.1:8080";  // port 0: any free one
  size_t max_body = 4 * 1024 * 1024;
  size_t attachment_max_bytes = 10 * 1024 * 1024;  // POST /v1/cases/{id}/attachments
  std::string tls_cert, tls_key;                   // both or neither
  double rate_limit = 50;                          // requests a second per client; 0: none
  double public_rate = 6;         // citizens' demands a minute per address; 0: none
  std::string public_token_file;  // the public door's API token (HttpOptions::public_token)
  int answer_timeout = 30;        // on Kafka: seconds a request waits for the workers' answers
  // Webhooks (server/webhooks.h): every case event POSTed to this URL,
  // signed with the secret in the file; empty: none.
  std::string webhook_url, webhook_secret_file;
  bool webhook_from_start = false;
  std::string console;  // the console's files; empty: ConsoleDir()
  int tick_ms = 1000;   // how often deadlines fire on the journal (HttpOptions::tick_ms)
};
int RunServe(const GlobalOptions& g, const ServeOptions& o);

// `casegrid send`: produces an NDJSON file of commands to PREFIX.commands,
// keyed by case id; 1 if a line is not a command (named, not sent).
struct SendOptions {
  std::string file;  // path or "-"
};
int RunSend(const GlobalOptions& g, const SendOptions& o);

// The directory of people (engine/directory.h, docs/security.md). Changes
// act with the authority of the OS account running casegrid on DIR (recorded
// in each event); `by` names who makes them (default: that account). Each
// change prints what it wrote: 0 written, 1 refused (nothing written, the
// reason printed), 2 could not run.
struct DirectoryOptions {
  std::string by, reason;
};
int RunUsersAdd(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                const std::string& name);
// `users grant USER ROLE UNIT`, or with `revoke` `users revoke` (--reason required).
int RunUsersGrant(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                  const std::string& role, const std::string& unit, bool revoke);
// `users enforce on|off --reason R`: the checks against the directory
// (engine::SetEnforced).
int RunUsersEnforce(const GlobalOptions& g, const DirectoryOptions& o, const std::string& state);
// The users, after a line saying whether the checks are on.
int RunUsersList(const GlobalOptions& g, bool json);
// 2 when there is no such user.
int RunUsersShow(const GlobalOptions& g, const std::string& user, bool json);
// Prints the new token alone on stdout, shown this once; `expires` RFC 3339
// or empty (until revoked).
int RunTokensIssue(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                   const std::string& label, const std::string& expires);
int RunTokensRevoke(const GlobalOptions& g, const DirectoryOptions& o, const std::string& id);
// `users passwd USER`: the new password typed twice with the echo off, or
// the first line of stdin (engine::SetPassword).
int RunUsersPasswd(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user);
// `login USER [--label L] [--hours N]`: the password as for passwd; prints a
// token valid N hours (engine::LogIn). 0 signed in, 1 refused, 2 could not run.
int RunLogin(const GlobalOptions& g, const std::string& user, const std::string& label, int hours);
// Every token (of `user` when given): id, user, label and state; never a secret.
int RunTokensList(const GlobalOptions& g, const std::string& user, bool json);
// `casegrid workflow validate FILE...` (docs/workflows.md): prints every
// problem of each workflow definition as "FILE:LINE:COL: message", or
// "FILE: ok (workflow ID vN: S states, A actions, D deadlines)" for a valid
// one, checked against the configuration's organisation and calendars.
// Returns 0 if every file is valid, 1 if any has a problem, 2 if the
// configuration cannot be read or a file cannot be read (the others are
// still checked).
int RunWorkflowValidate(const GlobalOptions& g, const std::vector<std::string>& files);

// The definitions in force (docs/workflows.md): the configuration's files and,
// when DIR holds a log, the versions published on its definitions chain. A
// version of 0 means the newest. Each returns 2 naming what is missing (an
// unknown id or version) and 0 otherwise.
int RunWorkflowList(const GlobalOptions& g);
// Prints the definition's YAML as written, after a line naming its source.
int RunWorkflowShow(const GlobalOptions& g, const std::string& id, int32_t version);
// The semantic diff from version a to version b (workflows/diff.h).
int RunWorkflowDiff(const GlobalOptions& g, const std::string& id, int32_t a, int32_t b);
// The diagram (workflows/graph.h) as DOT, or as SVG through Graphviz's `dot`;
// to `output`, or stdout when empty.
int RunWorkflowGraph(const GlobalOptions& g, const std::string& id, int32_t version,
                     const std::string& format, const std::string& output);

// `workflow publish FILE --by USER --reason TEXT [--effective T]`: validates
// FILE as `validate` does (its problem lines, exit 1) and publishes it as an
// event on the log's definitions chain (engine::Publish), or proposes it
// (the two-person rule, docs/security.md). 0 published or proposed, 1
// refused (nothing written), 2 could not run.
struct RuleChangeOptions {
  std::string by, reason;
  // publish: leave open cases of the version before in states this version
  // lacks on their version (otherwise such a publication is refused).
  bool no_migration = false;
  std::string effective;  // RFC 3339 time the change takes effect; empty: at once
};
// The engine's RuleChange for `options` (InvalidArgument for a bad --effective).
Result<engine::RuleChange> ToRuleChange(const RuleChangeOptions& options);
// Prints what a rule change wrote: in force, proposed, approved or scheduled.
void PrintRuleChange(const casegrid::v1::Event& event);
int RunWorkflowPublish(const GlobalOptions& g, const std::string& file,
                       const RuleChangeOptions& change);
// `workflow proposals [--json]`: every rule-change proposal and its state.
int RunWorkflowProposals(const GlobalOptions& g, bool json);
// `workflow adopt`: the configuration in force from files recorded on the
// log; its files are candidates from then on (engine::AdoptConfiguration).
int RunWorkflowAdopt(const GlobalOptions& g, const RuleChangeOptions& change);
// `workflow approve N --by USER --reason TEXT [--effective T]` and
// `workflow withdraw N --by USER --reason TEXT` (engine::Approve,
// engine::Withdraw). 0 done, 1 refused (nothing written), 2 could not run.
int RunWorkflowApprove(const GlobalOptions& g, uint64_t proposal, const RuleChangeOptions& change);
int RunWorkflowWithdraw(const GlobalOptions& g, uint64_t proposal, const RuleChangeOptions& change);
// `workflow pin ID CATEGORY --version N`: new cases of CATEGORY take version N
// (0 lifts the pin). 0 done, 1 refused, 2 could not run.
// `workflow migrate ID --from A --to B --map OLD=NEW[,...] [--cases QUERY]
// [--dry-run]`: moves the open cases of vA that QUERY selects
// (KEY=VALUE[,...] over state, category, unit, grid, station, case) to vB
// (engine::Engine::Migrate), printing one line per case. 0 migrated (or a dry
// run), 1 refused (nothing written), 2 could not run.
struct MigrateOptions {
  std::string id, map, cases, at;
  int32_t from = 0, to = 0;
  bool dry_run = false;
  bool send = false;  // check here, then send one migrate command per case to the workers
};
int RunWorkflowMigrate(const GlobalOptions& g, const MigrateOptions& o,
                       const RuleChangeOptions& change);
// `workflow whatif DRAFT.yaml [--from D --to D]`: the recorded cases of the
// draft's workflow opened in the period, run again through the draft
// (engine/whatif.h); prints the figures side by side. 0 ran, 1 the draft has
// problems, 2 could not run.
int RunWorkflowWhatIf(const GlobalOptions& g, const std::string& draft, const std::string& from,
                      const std::string& to, int threads);
int RunWorkflowPin(const GlobalOptions& g, const std::string& id, const std::string& category,
                   int32_t version, const RuleChangeOptions& change);

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_COMMANDS_H_
