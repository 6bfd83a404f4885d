// The Log: casegrid's system of record. Every case action is an event appended
// here; everything else is derived from it. Two backends implement it: the
// embedded LMDB journal (OpenJournal, the default on one machine) and a Kafka
// topic (OpenKafkaLog, events/kafka_log.h). The engine, projections and tools
// see only this interface.
//
// Positions: the log is split into partitions and a case lives in exactly one.
// Within a partition events have increasing offsets in append order. The
// journal has one partition whose offsets are the global sequence (1-based,
// dense); a Kafka topic has its partitions and the broker's offsets (0-based,
// with gaps where transaction markers sit). Within a case, events are ordered
// by case_seq (1-based, no gaps).
//
// Durability: a Batch's events, and what its body wrote in the log's local
// store (the engine's state store: engine/state_store.h), become visible and
// durable together when RunBatch returns OK, or none of them do. After a
// failed commit the log refuses further writes (Fatal): what reached the disk
// or the topic is known only after reopening.
//
// Thread-safety: one writer at a time (RunBatch serialises callers); reads
// (Scan, ReadCase, EndOffsets, ...) may run concurrently from any thread and
// see the last committed batch.
#ifndef CASEGRID_EVENTS_LOG_H_
#define CASEGRID_EVENTS_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "events/casegrid.pb.h"
#include "events/checkpoint.h"

namespace casegrid::events {

// What a batch reached in one partition: the offset after its last event.
struct BatchEnd {
  int32_t partition = 0;
  uint64_t next_offset = 0;
};

// Called once a batch's events are durable in the log (journal: appended;
// Kafka: every delivery report back), inside the batch's local transaction
// before it commits, with one BatchEnd per partition the batch appended to
// (none for a batch without events).
using DurableHook = std::function<Status(lmdb::Txn& txn, const std::vector<BatchEnd>& ends)>;

// The largest sealed record a log takes: below Kafka's default
// message.max.bytes (1 MiB), with room for the record's key and headers, so
// that no event can be refused by the broker after its batch began.
// Batch::Append refuses a larger one (InvalidArgument; the batch then writes
// nothing); the engine refuses the command that would make one before that,
// alone (engine/engine.h).
inline constexpr size_t kMaxRecordBytes = 512 * 1024;

// Append's refusal of a record over kMaxRecordBytes (both backends).
Status CheckRecordSize(std::string_view case_id, uint64_t case_seq, std::string_view record);

// One atomic unit of writing: the events appended and whatever the caller
// writes in the local transaction become durable together, or none of them.
class Batch {
 public:
  virtual ~Batch() = default;

  // Appends one sealed event record (see SealEvent) of `case_id`, after the
  // batch's earlier appends. Its offset is known once the batch is durable.
  virtual Status Append(std::string_view case_id, uint64_t case_seq, std::string_view record) = 0;

  // The write transaction of the log's local store (Log::local_store()) that
  // commits with the batch: a caller's tables there (the engine's state
  // store) change exactly when the batch's events are in the log. Valid
  // during the body only.
  virtual lmdb::Txn& txn() = 0;

  // Sets the hook this run of the body wants called once its events are
  // durable (replaces an earlier one). A failing hook abandons the commit;
  // on Kafka the events are then on the topic and the log refuses writes.
  virtual void OnDurable(DurableHook hook) = 0;
};

struct LogStats {
  uint64_t events = 0;   // events in the log (Kafka: sum of end offsets, markers included)
  size_t map_bytes = 0;  // the local LMDB map
};

// Called for each event read with its offset in the partition read; the view
// is valid only during the call. Return false to stop early.
using EventVisitor = std::function<bool(uint64_t offset, std::string_view record)>;

// One number for an event's place in the log, for read models and messages:
// partition << 40 | offset. For the journal (partition 0) it is the sequence.
constexpr uint64_t PackPosition(int32_t partition, uint64_t offset) {
  return (static_cast<uint64_t>(partition) << 40) | offset;
}
constexpr int32_t PositionPartition(uint64_t position) {
  return static_cast<int32_t>(position >> 40);
}
constexpr uint64_t PositionOffset(uint64_t position) {
  return position & ((uint64_t{1} << 40) - 1);
}

class Log {
 public:
  virtual ~Log() = default;

  // Runs `body` in one batch and commits it. Nothing of the batch is written
  // unless body and commit succeed. `body` may run more than once (a retry
  // after the journal grows its map), so it must derive everything it writes
  // from what it reads in the batch.
  virtual Status RunBatch(const std::function<Status(Batch&)>& body) = 0;

  // The number of partitions (journal: 1). Fixed while the log is open.
  virtual int32_t Partitions() const = 0;
  // The partition every event of `case_id` is in (journal: 0; Kafka: murmur2
  // of the case id, as the Java client's default partitioner).
  virtual int32_t PartitionOf(std::string_view case_id) const = 0;
  // For each partition, the offset after its last event as of now.
  virtual Result<std::vector<uint64_t>> EndOffsets() = 0;
  // EndOffsets()[partition]; a backend may answer it with one request.
  virtual Result<uint64_t> PartitionEnd(int32_t partition);
  // Visits the events of `partition` with from <= offset < end in order, at
  // most `limit` of them, and returns the offset to continue from: `end` once
  // the range is done, else the offset after the last event visited.
  virtual Result<uint64_t> Scan(int32_t partition, uint64_t from, uint64_t end, uint64_t limit,
                                const EventVisitor& visit) = 0;
  // Visits one case's events in case order. NotFound if the case has none.
  virtual Status ReadCase(std::string_view case_id, const EventVisitor& visit) = 0;
  // Whether this log appends to `partition` (a Kafka worker's log: only its
  // own); a reader of the log's tail (the engine's state store) folds those.
  virtual bool Writes(int32_t partition) const = 0;
  // The LMDB environment the log keeps beside its events (the journal's own;
  // Kafka: the state directory). Others may open their own tables in it and
  // write them in a Batch's txn(); the log's tables are its own.
  virtual lmdb::Environment& local_store() = 0;
  virtual Result<LogStats> Stats() = 0;
  // A short description for messages, e.g. "journal at ./casegrid-data/journal".
  virtual std::string Describe() const = 0;
  // Names what positions refer to ("journal", "kafka casegrid.events/12"):
  // read models built from one log refuse to continue from another.
  virtual std::string Identity() const = 0;
  // A packed position for messages, e.g. "position 12" or "partition 3 offset 7".
  virtual std::string DescribePosition(uint64_t position) const = 0;
  // What stands for the events of `partition` before `end_offset`, so that a
  // reader that recorded it (the read models) can tell later whether this
  // log still holds the same events: the journal's Merkle root over them
  // (events/merkle.h). Empty when the backend keeps no such commitment
  // (Kafka, a journal not yet given its tree); NotFound when the log holds
  // fewer events than that.
  virtual Result<std::string> Witness(int32_t partition, uint64_t end_offset);

  // ---- The Merkle trees (events/merkle.h): one per partition, in table
  // "merkle" of local_store() (merkle::TreeStore), leaves in offset order. ----

  // Brings every tree this log keeps up to the log's end as of the call and
  // returns each partition's leaf count. The journal grows its tree with
  // every batch; Kafka reads its partitions past what their trees cover (a
  // write to the local store; a worker's log: its own partition only, the
  // others stay as they are). NotFound when the backend keeps no trees.
  virtual Result<std::vector<uint64_t>> UpdateTrees();
  // The leaf index, in its partition's tree, of the event at `offset` of
  // `partition` (journal: offset - 1). NotFound when the tree does not reach
  // it yet (UpdateTrees brings it there).
  virtual Result<uint64_t> LeafIndex(lmdb::Txn& txn, int32_t partition, uint64_t offset);
};

struct JournalOptions {
  bool sync = true;  // false: not durable on power loss (benchmarks only)
  size_t initial_map_bytes = size_t{256} << 20;
  bool read_only = false;
  // Walk the file page by page before anything reads it
  // (lmdb::Environment::CheckPages): damage is Corruption, never a signal.
  bool check_pages = false;
  // Tests only: fails commits on demand (lmdb::Options::fail_commit).
  std::function<Status(const std::string& dir)> fail_commit;
  // When the journal signs checkpoints of its tree by itself (none unless
  // checkpoints.key_path is set). Ignored when read_only.
  CheckpointPolicy checkpoints;
};

// Opens (creating if needed) the embedded LMDB journal in `dir`.
// Layout: docs/journal_format.md. Opened for writing, it first brings its
// Merkle tree (events/merkle.h) up to its events (a journal written before
// trees were kept) and, with a checkpoint key path, creates the key if
// missing.
Result<std::unique_ptr<Log>> OpenJournal(const std::string& dir, const JournalOptions& options);

// Visits every event of the log up to its end as of the call, partition by
// partition in offset order. The visitor sees the event's packed position.
// Stops early when `visit` returns false.
using PositionVisitor = std::function<bool(uint64_t position, std::string_view record)>;
Status ScanAll(Log& log, const PositionVisitor& visit);

// ---- Reserved case ids ----
// The log's own chains use case ids starting with "casegrid:"; no command may
// name one. The definitions chain holds WorkflowPublished and CategoryPinned
// events (docs/workflows.md, "Publishing").
inline constexpr std::string_view kReservedCasePrefix = "casegrid:";
inline constexpr std::string_view kDefinitionsChain = "casegrid:workflows";
// The directory of people (engine/directory.h): users, their grants, tokens.
inline constexpr std::string_view kDirectoryChain = "casegrid:directory";
// Reads of personal data by people (PersonalDataViewed, docs/security.md).
inline constexpr std::string_view kAccessChain = "casegrid:access";
inline bool IsReservedCaseId(std::string_view case_id) {
  return case_id.substr(0, kReservedCasePrefix.size()) == kReservedCasePrefix;
}

// Lower-case hex SHA-256 of `bytes` (a published definition's hash).
std::string Sha256Hex(std::string_view bytes);
// SHA-256 of `bytes`: 32 raw bytes.
std::string Sha256(std::string_view bytes);
// SHA-256 of `parts` one after another: 32 raw bytes, without joining them.
std::string Sha256Concat(std::initializer_list<std::string_view> parts);

// ---- The hash chain (docs/journal_format.md) ----

// Serializes `event` (whose prev_hash must be set and hash empty) and appends
// the hash field: record := body 0x62 0x20 hash[32], with
// hash = SHA-256(prev_hash || body). Sets event->hash too.
std::string SealEvent(casegrid::v1::Event* event);

// The case id of a sealed record, read from its first fields without
// parsing the rest; nullopt when the record does not start as SealEvent
// writes one (event_id, then case_id): parse it to know.
std::optional<std::string_view> RecordCaseId(std::string_view record);

// Checks a record's hash against its bytes and, when `expected_prev_hash` is
// given, its chain link; parses it into *event. Corruption names the event.
Status OpenRecord(std::string_view record, const std::string* expected_prev_hash,
                  casegrid::v1::Event* event);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_LOG_H_
