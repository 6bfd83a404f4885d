// The engine's state store: what the engine needs at hand to decide, all of it
// derived from the log and rebuildable from it. It lives in the log's local
// LMDB store (events::Log::local_store()) beside the log's own tables:
//
//   case_state        case_id -> casegrid.v1.CaseState (engine/case_state.proto)
//   commands          command_id -> answer (the case_seq after it, decimal)
//   deadlines         fires:i64be case_id name -> "" (open, unbreached deadlines,
//                     keyed at their next firing time: FiresAt)
//   engine_positions  partition:i32be -> next offset:u64be (the log position
//                     the state covers; docs/keys.md)
//   petitioners       petitioner key, case_id -> opened, key check, category
//                     (engine/petitioner.h: the cases taken in with a key)
//
//   engine_writer     "writer" -> the id of the store object whose batch wrote
//                     last and its count of batches (writable stores only)
//
// Writes go through a Writer inside a batch that RunBatch runs, so they commit
// exactly when the batch's events are durable: on the journal in the same
// transaction, on Kafka after the delivery reports. The case states and the
// command answers are held in memory (write-back): a batch writes the
// deadline index and the petitioners, and the states and answers it changed
// only when it flushes: with the positions they cover, once a second (the
// caller's clock), when the held writes pass 16 MiB or 65,536, and at Flush.
// Between flushes the stored states and positions are the log as of the last
// flush; everything after is in the log, and CatchUp folds it (after a crash,
// at the next open; a fold of those tables that are ahead is idempotent). A
// batch of another process or store object on the same log (engine_writer)
// makes the next batch here drop what it holds and catch up first.
// CatchUp folds the log's events past the covered positions (a Kafka batch
// delivered but not committed locally, a fresh directory, an older store), as
// the read models do; the engine calls it before it writes anything.
// Thread-safety: reads from any thread, and they see the held states and
// (catching up first when another writer wrote) every writer's batches;
// batches from any thread, one at a time.
#ifndef CASEGRID_ENGINE_STATE_STORE_H_
#define CASEGRID_ENGINE_STATE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "engine/case_state.pb.h"
#include "engine/petitioner.h"
#include "events/log.h"

namespace casegrid::engine {

// (fires, deadline name) pairs of a case: what the deadline index holds for it.
using DeadlineList = std::vector<std::pair<int64_t, std::string>>;

// What a command id was answered: the case version after its events, and
// the digest of the command's body (CommandDigest) with its case: what the
// id is bound to. Digest and case are empty when it was stored by a
// casegrid before 2026-12-04, which recorded neither. Stored as
// "<case_seq>" or "<case_seq> <digest hex> <case_id>" (docs/keys.md).
struct CommandAnswer {
  uint64_t case_seq = 0;
  std::string digest;
  std::string case_id;
};

// When the engine's ticker next acts on an open, unbreached deadline: at its
// warning time while its warning is pending (set and not yet warned), else
// at its due time. The deadline index is keyed by it.
int64_t FiresAt(const casegrid::v1::CaseDeadline& deadline);

// The open, unbreached deadlines of `state` with FiresAt, in its order.
void OpenDeadlines(const casegrid::v1::CaseState& state, DeadlineList* out);

class StateStore {
 public:
  // Opens (creating unless the log's store is read-only) the engine's tables
  // in `log`'s local store. `log` must outlive the store. Reads nothing of the
  // log: call CatchUp before writing.
  static Result<std::unique_ptr<StateStore>> Open(events::Log* log);

  // Folds every event of the partitions the log writes (Log::Writes) past the
  // covered positions, up to the log's end as of the call, in batches of local
  // transactions, and records the new positions. Returns how many events it
  // folded. Corruption when an event does not continue its case's chain (the
  // store keeps what it folded before it). A store whose tables hold state
  // but no positions (written by casegrid before the store recorded them) is
  // emptied and folded from the start.
  Result<uint64_t> CatchUp();

  // The committed state of a case. NotFound if the store has none.
  Result<casegrid::v1::CaseState> ReadCase(std::string_view case_id);
  // Calls `visit` with every committed case state, in case id order (one
  // read transaction). Corruption when a state does not parse.
  Status ForEachCase(const std::function<void(const casegrid::v1::CaseState&)>& visit);
  // Calls `visit` with every deadline index entry (firing time, case, name),
  // in key order (one read transaction). Corruption when a key is malformed.
  Status ForEachDeadline(const std::function<void(int64_t fires_micros, std::string_view case_id,
                                                  std::string_view name)>& visit);
  // The committed deadline index's first firing time (FiresAt); nullopt
  // when it holds none. Corruption when its first key is malformed.
  Result<std::optional<int64_t>> FirstDeadline();
  // Appends to *out the committed cases taken in with petitioner key `key`
  // (engine/petitioner.h), in case id order.
  Status PetitionerCases(std::string_view key, std::vector<EarlierCase>* out);
  // events::KeyCheck of the petitioner key the index was made with (its
  // first entry's); empty when it holds none.
  Result<std::string> PetitionerKeyCheck();
  // The committed answer to a command id. NotFound if never applied.
  Status ReadCommandAnswer(std::string_view command_id, CommandAnswer* answer);

  struct Counts {
    uint64_t cases = 0, commands = 0, open_deadlines = 0;
  };
  Result<Counts> Stats();

  // The highest personal data key slot a case of the store was sealed
  // under (CaseState.personal_key), as its batches and folds recorded it
  // (engine_writer "key_slots"); 0 when none (a store written before
  // 2026-12-08 records it from its next new key on). A key store without
  // that slot would hand it out again (tools: refused at open).
  Result<uint64_t> HighestKeySlot();

  // The committed covered positions: for each partition the log has, the
  // offset after the last event folded in (0 when none).
  Result<std::vector<uint64_t>> Positions();

  // How a batch of the log begins: the log's RunBatch (the default), or a
  // worker's Kafka transaction (server/worker.cc). It runs the body given to
  // it, perhaps more than once (a retried transaction), and commits.
  using BatchRunner = std::function<Status(const std::function<Status(events::Batch&)>&)>;

  // Runs `body` as one batch of the log (`run`) with this store in it: the
  // one way to write the store beside the log (a Writer(store, batch) made
  // elsewhere refuses to load or store). `now_micros`, the caller's clock,
  // times the flushes. When another process or store object wrote a batch
  // since this one's last, the held states are dropped and CatchUp runs
  // before the body is (run again); Conflict if that keeps happening. On a
  // failure nothing of the batch is held.
  Status RunBatch(const std::function<Status(events::Batch&)>& body, int64_t now_micros,
                  const BatchRunner& run = {});
  // Writes the held case states and answers and the positions they cover, in
  // a batch of their own (with no events). OK when nothing is held.
  Status Flush();

  // The store inside one log batch. Valid during the batch's body only.
  class Writer : public PetitionerIndex {
   public:
    // Inside RunBatch's body: states are held, and written when it flushes.
    Writer(StateStore& store, events::Batch& batch);
    // Without a batch (CatchUp): states written through; no positions.
    Writer(StateStore& store, lmdb::Txn& txn);

    // Loads a case's state into *state; *found = false (state untouched)
    // when the store has none.
    Status Load(std::string_view case_id, casegrid::v1::CaseState* state, bool* found);
    // Stores a case's state and moves its deadline index entries from
    // `before` (its open deadlines when it was loaded) to its open deadlines.
    Status Store(const DeadlineList& before, const casegrid::v1::CaseState& state);

    // The answer recorded for a command id. NotFound when new; Corruption
    // when the stored value is not an answer.
    Status GetAnswer(std::string_view command_id, CommandAnswer* answer);
    Status PutAnswer(std::string_view command_id, const CommandAnswer& answer);

    // The open deadline that fires first (FiresAt), if it fires at or before
    // `until_micros`: *due_micros is that firing time. NotFound if none.
    Status FirstDeadlineDue(int64_t until_micros, int64_t* due_micros, std::string* case_id,
                            std::string* name);
    Status DropDeadline(int64_t due_micros, std::string_view case_id, std::string_view name);

    // The cases taken in with a petitioner key, as of this batch.
    Status CasesWith(std::string_view key, std::vector<EarlierCase>* out) override;
    // Indexes the petitioner keys of `reported`, a case_reported event.
    Status IndexPetitioner(const casegrid::v1::Event& reported);

    // Folds one sealed record into the store as the engine's Apply left it:
    // the case state (hash, chain link and case_seq checked), the deadline
    // index and the answer of the command that caused it (its correlation
    // id). Corruption when the record does not follow the case's last event.
    Status Fold(std::string_view record);

   private:
    StateStore& store_;
    lmdb::Txn& txn_;
    const bool held_;  // in a RunBatch batch: states go to store_.staged_
    std::unique_ptr<lmdb::Cursor> deadline_cursor_;
    std::unique_ptr<lmdb::Cursor> petitioner_cursor_;
    DeadlineList scratch_;
    std::string bytes_;
    std::string answer_bytes_;
  };

 private:
  struct Tables {
    MDB_dbi case_state, commands, deadlines, positions, petitioners;
    MDB_dbi writer = 0;  // 0: a read-only store without the table
  };
  StateStore(events::Log* log, Tables tables);
  // Empties the tables (an older store without positions).
  Status Reset();
  // Raises the stored position of `partition` to `next_offset` in `txn`.
  Status Advance(lmdb::Txn& txn, int32_t partition, uint64_t next_offset);
  // The engine_writer entry in `txn` ("" when none).
  Result<std::string> WriterToken(lmdb::Txn& txn);
  // The batch is durable: records this store as its writer and, when
  // `flush`, writes every held state and the positions they cover.
  Status Durable(lmdb::Txn& txn, const std::vector<events::BatchEnd>& ends, bool flush);
  // Records this object as the last writer in `txn`: the entry it wrote.
  Result<std::string> MarkWriter(lmdb::Txn& txn);
  // Drops every held write (their events are in the log, past the positions).
  void DropHeld();
  // DropHeld's work, for a caller holding mu_.
  void ClearDirty();

  events::Log* log_;
  Tables tables_;
  // This store object, in engine_writer: random, drawn at Open.
  std::string id_;
  // The engine_writer entry this store's view of the log is complete for:
  // read before its last CatchUp, or written by its last committed batch.
  // Written under batch_mu_ and mu_.
  std::string expected_writer_;
  uint64_t batches_ = 0;  // batches this object wrote (engine_writer's count)
  // The highest key slot known recorded (Writer::Store records a higher one).
  uint64_t key_slots_ = 0;

  // Key -> value, looked up by string_view.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  // A key's held values: what the committed batches left (readers see only
  // this) and what the running batch wrote (emptied after its commit, its
  // buffer kept for the next write: held memory is up to twice the held
  // bytes the flush counts).
  struct Held {
    std::string committed, staged;
    bool has_committed = false, has_staged = false;
  };
  using HeldMap = std::unordered_map<std::string, Held, IdHash, std::equal_to<>>;
  // One table's writes held in memory (case_state, commands), one entry a
  // key: one lookup finds the running batch's value or the committed one.
  // Entries are added and removed under mu_ (readers look up under it); the
  // staged halves are the batch's alone.
  struct HeldTable {
    HeldMap entries;
    std::vector<HeldMap::value_type*> staged;  // the entries the running batch wrote
    // The running batch's view: its own value, else the committed one.
    const std::string* Find(std::string_view key) const;
    // The committed values, in key order (readers, under mu_).
    std::vector<std::pair<std::string, std::string>> Snapshot() const;
  };

  // RunBatch and Flush, under batch_mu_; `force` flushes.
  Status RunLocked(const std::function<Status(events::Batch&)>& body, int64_t now_micros,
                   const BatchRunner& run, bool force);
  Result<uint64_t> CatchUpLocked();
  // The slot of `key` in `table`'s staged writes, emptied.
  std::string& Stage(HeldTable& table, std::string_view key);
  // Forgets the running batch's writes (its body failed, or runs again).
  void Unstage();
  // The running batch committed without a flush: its writes become the
  // committed values (under mu_).
  void CommitStaged();
  // The committed held value of `key` in `table` into *out (readers; takes mu_).
  bool ReadHeld(const HeldTable& table, std::string_view key, std::string* out) const;
  // Before a read: when another writer wrote since this object's view, drops
  // what it holds and catches up (under batch_mu_), so reads see every
  // process's batches.
  Status Current();
  void set_expected_writer(std::string token);

  // Batches run one at a time (RunBatch, Flush, CatchUp): every member below
  // is written under batch_mu_, and the dirty ones also under mu_, which
  // readers take.
  std::mutex batch_mu_;
  mutable std::mutex mu_;
  HeldTable states_, answers_;
  size_t dirty_bytes_ = 0;
  uint64_t dirty_writes_ = 0;
  std::map<int32_t, uint64_t> dirty_ends_;  // partition -> next offset they cover
  int64_t flushed_micros_ = 0;              // the caller's clock at the last flush
  // The batch being run: whether its body is running, and its writes.
  bool in_batch_ = false;
  size_t staged_bytes_ = 0;
  uint64_t staged_writes_ = 0;
};

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_STATE_STORE_H_
