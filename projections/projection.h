// Projections: casegrid's read models (case views, unit inboxes, the overdue
// index, statistics, the audit index), derived from the Log and stored in their
// own LMDB environment (by convention <data dir>/projections; docs/keys.md).
// CatchUp applies the Log's events after the stored per-partition offsets, one
// write transaction per batch with the partition's new offset in the same
// transaction, so each event takes effect exactly once even across crashes and
// concurrent processes.
// Everything here can be dropped and rebuilt from the Log (Rebuild).
// Thread-safety: a ReadModels may be shared by threads; queries run in read
// transactions and see the last committed batch; writers are serialised by LMDB.
#ifndef CASEGRID_PROJECTIONS_PROJECTION_H_
#define CASEGRID_PROJECTIONS_PROJECTION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "events/log.h"
#include "projections/read_models.pb.h"

namespace casegrid::lmdb {
class Environment;
}
namespace casegrid::events {
class KeyStore;
}

namespace casegrid::projections {

using CaseView = casegrid::v1::CaseView;

struct Options {
  bool sync = true;  // false: a batch may be lost on power loss (benchmarks, tests)
  size_t initial_map_bytes = size_t{64} << 20;
  bool read_only = false;  // queries only; CatchUp and Rebuild return InvalidArgument
  // Walk every page first (lmdb::Environment::CheckPages): Corruption instead
  // of reading a damaged file (`verify --read-models`). O(file).
  bool check_pages = false;
  uint64_t batch_events = 1000;  // events per write transaction (>= 1)
  // Test seam: called inside a batch's write transaction after each event is
  // applied in memory. A non-OK Status aborts the batch (none of it is written)
  // and CatchUp returns that Status.
  std::function<Status(uint64_t global_seq)> fault_hook;
  // The key store (not owned) that opens the events' sealed personal values
  // and seals them again in the case views (events/personal.h). Null: the
  // views hold "[sealed]" where an event's value was sealed.
  events::KeyStore* keys = nullptr;
  // The record as the system knew it (`--as-of`): events recorded after this
  // time (Event.recorded_micros) are passed over, as if not yet written.
  // 0: every event.
  int64_t recorded_until = 0;
  // The record as it stood when the journal held its first N events
  // (`--as-of N`, the size a signed checkpoint names): later events are
  // passed over. 0: every event. The journal's only: on Kafka a position is
  // per partition.
  uint64_t position_until = 0;
  // Statistics count each event on the local day it was recorded (`stats
  // --by recorded`: the figures a report printed then can be reconciled)
  // instead of the day it says it happened.
  bool stats_by_recorded = false;
};

// One open case in a unit's inbox.
struct InboxEntry {
  std::string case_id;
  std::string unit;  // the unit whose inbox holds it
  std::string state;
  std::string category;
  std::string level;
  std::optional<int64_t> next_due_micros;  // none: no open deadline
  std::string next_deadline;               // the name of that deadline
  bool overdue = false;                    // that deadline is breached
  bool warned = false;                     // that deadline's warning happened (deadline_warned)
  int64_t opened_micros = 0;
  std::string summary;  // what the case is about (case_reported)
};

// One open deadline due before the query time.
struct OverdueEntry {
  int64_t due_micros = 0;
  std::string case_id;
  std::string deadline;
  std::string unit;        // the case's current responsible unit
  std::string owner_unit;  // the unit the deadline binds
  std::string state;
  bool breached = false;  // false: due but not yet ticked by the engine
  std::string rule;
  int64_t warn_micros = 0;  // its warning time; 0 = none
  bool warned = false;      // its deadline_warned event happened
  // Listed for its warning (Overdue with warnings): the warning time is
  // before the query time, the due time is not.
  bool warning = false;
};

// Counts of one slice of the statistics. Rates are absent when undefined.
struct Counters {
  uint64_t received = 0, accepted = 0, rejected = 0, closed = 0, closed_on_time = 0, escalated = 0,
           reopened = 0, rated = 0, satisfied = 0, breached = 0;
  // Served at reception (case_served): neither accepted nor rejected.
  uint64_t served = 0;
  // Handed down to a unit below (hand_down), under the unit that handed it.
  uint64_t handed_down = 0;
  // Taken in as a repeat demand (重信重访: engine/petitioner.h); the first
  // visits are received - repeats.
  uint64_t repeats = 0;
  // Asked to support a lead unit (协办: support_requested), under the unit
  // asked; its support deadlines' figures are under its name as owner.
  uint64_t supporting = 0;
  // Patrol reports filed (民情巡察信息: information, not cases, so only in
  // the totals and by day), and the cases raised from one.
  uint64_t patrol_reports = 0;
  uint64_t from_patrol = 0;
  std::optional<double> SatisfactionRate() const;  // satisfied / rated
  std::optional<double> OnTimeRate() const;        // closed_on_time / closed
};

struct DeadlineCounters {
  uint64_t set = 0, met = 0, met_on_time = 0, breached = 0;
};

// Statistics over local civil days [from_day, to_day] (base/time.h), counted
// by each event's occurred time. Breakdowns use the case's channel, category,
// unit and level as of the event (a case_closed counts under its own level,
// an escalation under the unit and level it left: the unit that missed the
// deadline); an empty value (the unit of a case not yet dispatched) is left
// out of that breakdown, so breakdowns may sum to less than the total.
// `by_owner` counts deadlines under the unit each binds (owner_unit): a
// breach is charged to the unit bound when it happened, whoever meets it
// later; a deadline is credited as met to the unit it bound or, when the
// case was escalated away from that unit and the deadline stayed open for
// the unit above, to the unit that met it.
struct StatsReport {
  int32_t from_day = 0, to_day = 0;
  bool by_recorded = false;  // days are those the events were recorded (Options::stats_by_recorded)
  Counters total;
  std::map<std::string, Counters> by_channel, by_category, by_unit, by_level;
  std::map<int32_t, Counters> by_day;                 // days with at least one count
  std::map<std::string, DeadlineCounters> deadlines;  // by deadline name
  std::map<std::string, DeadlineCounters> by_owner;   // by the unit the deadline binds
  std::map<std::string, uint64_t> served_by_outcome;  // cases served, by CaseServed.outcome
  // Patrol reports by the inspector (user) who filed them, by day; by topic.
  std::map<std::string, std::map<int32_t, uint64_t>> patrol_by_inspector;
  std::map<std::string, uint64_t> patrol_by_topic;
};

struct AuditEntry {
  uint64_t global_seq = 0;
  std::string case_id;
  uint64_t case_seq = 0;
  std::string action;
  int64_t occurred_micros = 0;
  std::string role;
  std::string unit;
  std::string state;
  // From the event itself, when the caller read it from the log (`casegrid
  // audit` does): when it was recorded, the login that typed it, and what it
  // says ("summary: ...; petitioner.name: ..."). detailed is false otherwise.
  bool detailed = false;
  int64_t recorded_micros = 0;
  std::string os_account;
  std::string content;
};

using Progress = std::function<void(uint64_t done, uint64_t total)>;

class ReadModels {
 public:
  // Opens (creating if needed, unless read-only) the read models in `dir`.
  // IOError when the directory or the environment cannot be opened; NotFound
  // when opened read-only before any read model was created there;
  // InvalidArgument when options.batch_events is 0.
  static Result<std::unique_ptr<ReadModels>> Open(const std::string& dir);
  static Result<std::unique_ptr<ReadModels>> Open(const std::string& dir, const Options& options);
  ~ReadModels();
  ReadModels(const ReadModels&) = delete;
  ReadModels& operator=(const ReadModels&) = delete;

  // Applies the events of `log` after the stored offsets, up to each
  // partition's end when the call starts, in batches of Options::batch_events
  // from one partition. Each batch commits its model changes and the
  // partition's new offset in one transaction, durable on return (unless sync
  // is off). Returns the number of events applied. On error the failing batch
  // is not written: earlier batches stay applied and the next CatchUp resumes
  // after them. Corruption when an event does not parse or a case's events are
  // out of order; InvalidArgument when the models were built from another log
  // (Log::Identity), or from events this log no longer holds (a journal
  // restored from an older copy or replaced: CheckWitness), until rebuilt. `progress` (optional) is
  // called after each batch with the events applied so far and the number there were to apply.
  Result<uint64_t> CatchUp(events::Log& log, const Progress& progress = {});

  // Drops every read model and the offsets in one transaction, then CatchUp
  // from the first event. If it stops midway, the models are those of the
  // events up to the stored offsets, and the next CatchUp continues.
  Status Rebuild(events::Log& log, const Progress& progress = {});

  // What CatchUp checks before applying anything: InvalidArgument when the
  // models were built from another log, or reflect events `log` no longer
  // holds (CheckWitness). Writers call it before writing, so a command is
  // refused whole rather than applied and then reported as failed.
  Status CheckLog(events::Log& log);

  // The number of events applied (0 = none). For the journal it is the last
  // sequence applied.
  Result<uint64_t> Checkpoint();
  // The next offset to apply of partitions [0, partitions).
  Result<std::vector<uint64_t>> Offsets(size_t partitions);

  // The case as of the checkpoint. NotFound when no event of it was applied.
  Result<CaseView> GetCase(std::string_view case_id);
  // Every case not ended (closed or rejected and not reopened) on this
  // workflow version, by case id.
  Result<std::vector<CaseView>> OpenCases(std::string_view workflow_id, int32_t version);
  // Visits the cases after `after` in case id order ("" = from the first),
  // each opened as GetCase opens it, until `visit` returns false.
  Status ScanCases(std::string_view after, const std::function<bool(const CaseView&)>& visit);
  // The unit's open (not closed or rejected) cases, by next due time; cases
  // without an open deadline last, then by case id.
  Result<std::vector<InboxEntry>> Inbox(std::string_view unit);
  // The open cases of every unit of `units`, read in one transaction, in
  // the same order.
  Result<std::vector<InboxEntry>> Inbox(const std::vector<std::string>& units);
  // Every open deadline (breached or not yet ticked) due strictly before
  // `at_micros`; with `warnings`, also every open, unbreached deadline whose
  // warning time is strictly before `at_micros` but not its due time
  // (warned, or not yet ticked; OverdueEntry::warning). By due time, then
  // case id, then deadline name.
  Result<std::vector<OverdueEntry>> Overdue(int64_t at_micros, bool warnings = false);
  // Statistics over local days [from_day, to_day]; InvalidArgument if from > to.
  Result<StatsReport> Stats(int32_t from_day, int32_t to_day);
  // Every event whose actor.user is `actor_user`, by global seq.
  Result<std::vector<AuditEntry>> Audit(std::string_view actor_user);

  // Every table's entries in key order, as lines "<table> <hex key> <hex value>":
  // two builds from the same events compare equal byte for byte (a case
  // view with its sealed values opened and its seal left out, since each
  // build seals with nonces of its own).
  Result<std::string> Dump();

 private:
  struct Dbs;
  class BatchApplier;
  // Records the log's identity on first use; InvalidArgument for another log.
  Status CheckSource(events::Log& log);
  // InvalidArgument unless the log still holds the events the models
  // reflect: no stored offset past a partition's end, and the log's witness
  // (Log::Witness) at each stored offset equal to the one recorded there.
  Status CheckWitness(events::Log& log, const std::vector<uint64_t>& ends,
                      const std::vector<uint64_t>& offsets);
  ReadModels(std::unique_ptr<lmdb::Environment> env, std::unique_ptr<Dbs> dbs, Options options);

  std::unique_ptr<lmdb::Environment> env_;
  std::unique_ptr<Dbs> dbs_;
  Options options_;
};

// ---- Renderers for the CLI (docs/queries.md). Text is aligned tables with
// times from FormatTimestamp; JSON uses snake_case keys. ----
std::string FormatCase(const CaseView& view, bool json);
// The other cases of case_id's petitioner (`case linked`, engine/petitioner.h),
// oldest first; `hidden` more are out of the reader's reach.
std::string FormatLinked(std::string_view case_id, const std::vector<CaseView>& linked,
                         size_t hidden, bool json);
// `subtree`: the entries are of `unit` and the units under it (a UNIT column).
std::string FormatInbox(std::string_view unit, const std::vector<InboxEntry>& entries, bool json,
                        bool subtree = false);
std::string FormatOverdue(int64_t at_micros, const std::vector<OverdueEntry>& entries, bool json);
std::string FormatStats(const StatsReport& stats, bool json);
std::string FormatAudit(std::string_view actor_user, const std::vector<AuditEntry>& entries,
                        bool json);
// "open", "met", "met_late", "breached", "cancelled", "warned".
std::string_view DeadlineStatusName(casegrid::v1::DeadlineStatus status);

}  // namespace casegrid::projections

#endif  // CASEGRID_PROJECTIONS_PROJECTION_H_
