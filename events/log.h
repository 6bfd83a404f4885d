// The Log: casegrid's system of record. Every case action is an event appended
// here; everything else is derived from it. Two backends implement it: the
// embedded LMDB journal (OpenJournal, the default on one machine) and Kafka (a
// later issue). The engine, projections and tools see only this interface.
//
// Positions: every event has a global sequence number, 1-based and dense, in
// append order. Within a case, events are ordered by case_seq (1-based, no gaps).
//
// Durability: a Batch's events, engine state, command answers and deadline
// index entries become visible and durable together when Commit() returns OK
// (the journal syncs once per batch unless opened with sync off), or not at
// all. After a failed commit the log refuses further writes (Fatal), as the
// state on disk is unknown until reopened.
//
// Thread-safety: one writer at a time (RunBatch serialises callers); reads
// (Scan, ReadCase, LastSeq) may run concurrently from any thread and see
// the last committed batch.
#ifndef CASEGRID_EVENTS_LOG_H_
#define CASEGRID_EVENTS_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "events/casegrid.pb.h"

namespace casegrid::events {

// One atomic unit of writing. Reads in a batch see the batch's own writes.
class Batch {
 public:
  virtual ~Batch() = default;

  // The engine's opaque per-case state. NotFound when the case has none.
  virtual Status GetCaseState(std::string_view case_id, std::string* state) = 0;
  virtual Status PutCaseState(std::string_view case_id, std::string_view state) = 0;

  // The answer recorded for a command id (deduplication). NotFound when new.
  virtual Status GetCommandAnswer(std::string_view command_id, std::string* answer) = 0;
  virtual Status PutCommandAnswer(std::string_view command_id, std::string_view answer) = 0;

  // The open-deadline index: (due, case, deadline name).
  virtual Status PutDeadline(int64_t due_micros, std::string_view case_id,
                             std::string_view name) = 0;
  virtual Status DelDeadline(int64_t due_micros, std::string_view case_id,
                             std::string_view name) = 0;
  // The earliest deadline due at or before `until_micros`. NotFound if none.
  virtual Status FirstDeadlineDue(int64_t until_micros, int64_t* due_micros, std::string* case_id,
                                  std::string* name) = 0;

  // Appends one sealed event record (see SealEvent) of `case_id`. Events are
  // numbered in the order they are appended; returns the global sequence.
  virtual Result<uint64_t> Append(std::string_view case_id, uint64_t case_seq,
                                  std::string_view record) = 0;
};

struct LogStats {
  uint64_t last_seq = 0;
  uint64_t cases = 0;
  uint64_t commands = 0;
  size_t map_bytes = 0;
};

// Called for each event read; the view is valid only during the call.
// Return false to stop early.
using EventVisitor = std::function<bool(uint64_t seq, std::string_view record)>;

class Log {
 public:
  virtual ~Log() = default;

  // Runs `body` in one batch and commits it. Nothing of the batch is written
  // unless body and commit succeed. `body` may run more than once (a retry
  // after the journal grows its map), so it must derive everything it writes
  // from what it reads in the batch.
  virtual Status RunBatch(const std::function<Status(Batch&)>& body) = 0;

  // Visits events with global sequence >= from_seq in order, at most `limit`.
  virtual Status Scan(uint64_t from_seq, uint64_t limit, const EventVisitor& visit) = 0;
  // Visits one case's events in case order. NotFound if the case has none.
  virtual Status ReadCase(std::string_view case_id, const EventVisitor& visit) = 0;
  // The case's stored engine state (committed). NotFound if none.
  virtual Status ReadCaseState(std::string_view case_id, std::string* state) = 0;
  // Whether a command id was applied, and its answer. NotFound if not.
  virtual Status ReadCommandAnswer(std::string_view command_id, std::string* answer) = 0;
  virtual Result<LogStats> Stats() = 0;
  // A short description for messages, e.g. "journal at ./casegrid-data/journal".
  virtual std::string Describe() const = 0;
};

struct JournalOptions {
  bool sync = true;  // false: not durable on power loss (benchmarks only)
  size_t initial_map_bytes = size_t{256} << 20;
  bool read_only = false;
};

// Opens (creating if needed) the embedded LMDB journal in `dir`.
// Layout: docs/journal_format.md.
Result<std::unique_ptr<Log>> OpenJournal(const std::string& dir, const JournalOptions& options);

// ---- The hash chain (docs/journal_format.md) ----

// Serializes `event` (whose prev_hash must be set and hash empty) and appends
// the hash field: record := body 0x62 0x20 hash[32], with
// hash = SHA-256(prev_hash || body). Sets event->hash too.
std::string SealEvent(casegrid::v1::Event* event);

// Checks a record's hash against its bytes and, when `expected_prev_hash` is
// given, its chain link; parses it into *event. Corruption names the event.
Status OpenRecord(std::string_view record, const std::string* expected_prev_hash,
                  casegrid::v1::Event* event);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_LOG_H_
