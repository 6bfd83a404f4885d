// The embedded LMDB journal: the default Log on one machine.
// Layout (docs/journal_format.md, docs/keys.md):
//   events      seq:u64be -> record
//   case_runs   case_id:str first:u64be -> positions (events/case_index.h)
//   merkle      the tree over the records (events/merkle.h): leaf seq - 1
//   checkpoints signed tree heads (events/checkpoint.h)
// The engine keeps its state store in the same environment
// (engine/state_store.h), so its changes commit with the events.
#include <algorithm>
#include <mutex>
#include <optional>

#include "base/codec.h"
#include "base/crash_point.h"
#include "base/env.h"
#include "base/lmdb.h"
#include "events/case_index.h"
#include "events/checkpoint.h"
#include "events/log.h"
#include "events/merkle.h"

namespace casegrid::events {
namespace {

struct Dbis {
  MDB_dbi events;
  std::optional<CaseIndex> cases;
  std::optional<merkle::TreeStore> tree;  // absent only in an old journal opened read-only
  std::optional<CheckpointStore> checkpoints;
};

class JournalBatch final : public Batch {
 public:
  JournalBatch(lmdb::Txn& txn, const Dbis& dbi, uint64_t last_seq)
      : txn_(txn), dbi_(dbi), first_seq_(last_seq + 1), next_seq_(last_seq + 1) {}

  Status Append(std::string_view case_id, uint64_t case_seq, std::string_view record) override {
    CASEGRID_RETURN_IF_ERROR(CheckRecordSize(case_id, case_seq, record));
    const uint64_t seq = next_seq_;
    CASEGRID_RETURN_IF_ERROR(txn_.Put(dbi_.events, codec::EventKey(seq), record, MDB_APPEND));
    indexed_.push_back({std::string(case_id), {case_seq, seq}});
    leaves_.push_back(merkle::RecordLeafHash(record));
    ++next_seq_;
    return Status::Ok();
  }

  uint64_t last_seq() const { return next_seq_ - 1; }

  lmdb::Txn& txn() override { return txn_; }
  void OnDurable(DurableHook hook) override { hook_ = std::move(hook); }

  // The events are in the transaction: they join the case index, each
  // case's at once and the cases in key order (a command's events share a
  // run: one get and put for them), their leaves join the tree (the event
  // at position seq is leaf seq - 1), and the hook runs, before it commits.
  Status Finish() {
    std::stable_sort(indexed_.begin(), indexed_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0, end = 0; i < indexed_.size(); i = end) {
      entries_.clear();
      for (end = i; end < indexed_.size() && indexed_[end].first == indexed_[i].first; ++end) {
        entries_.push_back(indexed_[end].second);
      }
      CASEGRID_RETURN_IF_ERROR(dbi_.cases->Add(txn_, indexed_[i].first, entries_));
    }
    CASEGRID_RETURN_IF_ERROR(dbi_.tree->Append(txn_, 0, first_seq_ - 1, leaves_));
    if (!hook_) return Status::Ok();
    std::vector<BatchEnd> ends;
    if (next_seq_ != first_seq_) ends.push_back({0, next_seq_});
    return hook_(txn_, ends);
  }

 private:
  lmdb::Txn& txn_;
  const Dbis& dbi_;
  const uint64_t first_seq_;
  uint64_t next_seq_;
  std::vector<std::string> leaves_;  // of the events appended, in order
  // Each event appended: its case and its index entry, in order (Finish).
  std::vector<std::pair<std::string, codec::CaseRunEntry>> indexed_;
  std::vector<codec::CaseRunEntry> entries_;  // Finish's scratch: one case's
  DurableHook hook_;
};

class Journal final : public Log {
 public:
  Journal(std::unique_ptr<lmdb::Environment> env, Dbis dbi, CheckpointPolicy policy,
          std::unique_ptr<NoteSigner> signer, uint64_t last_checkpoint_size)
      : env_(std::move(env)),
        dbi_(dbi),
        policy_(std::move(policy)),
        signer_(std::move(signer)),
        last_checkpoint_size_(last_checkpoint_size),
        last_checkpoint_micros_(Clock().NowMicros()) {}

  Status RunBatch(const std::function<Status(Batch&)>& body) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!fatal_.ok()) return fatal_;
    bool committing = false;
    uint64_t signed_size = 0;
    Status s = env_->RunWrite([&](lmdb::Txn& txn) -> Status {
      committing = false;
      uint64_t last = 0;
      {
        auto c = lmdb::Cursor::Open(txn, dbi_.events);
        if (!c.ok()) return c.status();
        if ((*c)->Last()) last = codec::DecodeU64BE((*c)->key().data());
      }
      JournalBatch batch(txn, dbi_, last);
      Status b = body(batch);
      if (b.ok()) b = batch.Finish();
      signed_size = 0;
      if (b.ok() && CheckpointDue(batch.last_seq())) {
        signed_size = batch.last_seq();
        b = WriteCheckpoint(txn, *dbi_.tree, *dbi_.checkpoints, *signer_, 0, 1, signed_size)
                .status();
      }
      committing = b.ok();
      if (committing) CASEGRID_CRASH_POINT("journal.commit.before");
      return b;
    });
    if (!s.ok() && committing && !s.IsInvalidArgument()) {
      // The body succeeded, so the commit (or map growth) failed: what reached
      // the disk is unknown until the journal is reopened. Refuse writes.
      fatal_ = Status::Fatal("journal write failed, reopen to recover: " + s.ToString());
      return fatal_;
    }
    if (s.ok()) CASEGRID_CRASH_POINT("journal.commit.after");
    if (s.ok() && signed_size != 0) {
      last_checkpoint_size_ = signed_size;
      last_checkpoint_micros_ = Clock().NowMicros();
    }
    return s;
  }

  int32_t Partitions() const override { return 1; }
  int32_t PartitionOf(std::string_view) const override { return 0; }

  Result<std::vector<uint64_t>> EndOffsets() override {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbi_.events));
    return std::vector<uint64_t>{cur->Last() ? codec::DecodeU64BE(cur->key().data()) + 1 : 1};
  }

  Result<uint64_t> Scan(int32_t partition, uint64_t from, uint64_t end, uint64_t limit,
                        const EventVisitor& visit) override {
    if (partition != 0) {
      return Status::InvalidArgument("the journal has one partition, not " +
                                     std::to_string(partition));
    }
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbi_.events));
    uint64_t n = 0;
    // Positions are dense from 1: a hole (a lost record, or a key damaged
    // into another number) is Corruption here, for every reader, never a
    // scan that silently skips what it cannot see.
    uint64_t expect = std::max<uint64_t>(from, 1);
    for (bool ok = cur->Seek(codec::EventKey(from)); ok; ok = cur->Next()) {
      if (cur->key().size() != 8) {
        return Status::Corruption("journal: an events key of " + std::to_string(cur->key().size()) +
                                  " bytes, not 8, after position " + std::to_string(expect - 1));
      }
      const uint64_t seq = codec::DecodeU64BE(cur->key().data());
      if (seq >= end) break;
      if (seq != expect) {
        return Status::Corruption("journal: position " + std::to_string(expect) +
                                  " is missing (the next event is at position " +
                                  std::to_string(seq) + ")");
      }
      ++expect;
      if (n == limit) return seq;
      ++n;
      if (!visit(seq, cur->value())) return seq + 1;
    }
    if (end != UINT64_MAX && expect < end) {
      // The range ended early: its last positions are missing.
      return Status::Corruption("journal: positions " + std::to_string(expect) + " to " +
                                std::to_string(end - 1) + " are missing");
    }
    return end;
  }

  Status ReadCase(std::string_view case_id, const EventVisitor& visit) override {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::vector<codec::CaseRunEntry> entries;
    Status read = dbi_.cases->Read(*txn, case_id, &entries);
    if (read.IsNotFound()) {
      return Status::NotFound("no case " + std::string(case_id) + " in " + Describe());
    }
    CASEGRID_RETURN_IF_ERROR(read.WithContext(Describe()));
    for (const codec::CaseRunEntry& entry : entries) {
      const uint64_t seq = entry.position;
      std::string_view record;
      Status s = txn->Get(dbi_.events, codec::EventKey(seq), &record);
      if (s.IsNotFound()) {
        return Status::Corruption("case " + std::string(case_id) +
                                  " index points to missing event " + std::to_string(seq));
      }
      CASEGRID_RETURN_IF_ERROR(s);
      if (!visit(seq, record)) break;
    }
    return Status::Ok();
  }

  bool Writes(int32_t partition) const override { return partition == 0; }
  lmdb::Environment& local_store() override { return *env_; }

  Result<LogStats> Stats() override {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    LogStats stats;
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbi_.events));
    if (cur->Last()) stats.events = codec::DecodeU64BE(cur->key().data());
    stats.map_bytes = env_->map_bytes();
    return stats;
  }

  std::string Describe() const override { return "journal at " + env_->dir(); }
  std::string Identity() const override { return "journal"; }
  std::string DescribePosition(uint64_t position) const override {
    return "position " + std::to_string(position);
  }

  Result<std::string> Witness(int32_t partition, uint64_t end_offset) override {
    if (partition != 0 || !dbi_.tree) return std::string();
    const uint64_t events = end_offset > 0 ? end_offset - 1 : 0;  // positions start at 1
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t size, dbi_.tree->Size(*txn, 0));
    if (size < events) {
      return Status::NotFound("the journal has " + std::to_string(size) + " events, not " +
                              std::to_string(events));
    }
    return dbi_.tree->Root(*txn, 0, events);
  }

  Result<std::vector<uint64_t>> UpdateTrees() override {
    if (!dbi_.tree) return Log::UpdateTrees();  // an old journal opened read-only
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t size, dbi_.tree->Size(*txn, 0));
    return std::vector<uint64_t>{size};
  }

  Result<uint64_t> LeafIndex(lmdb::Txn& txn, int32_t partition, uint64_t offset) override {
    if (!dbi_.tree) return Log::LeafIndex(txn, partition, offset);
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t size, dbi_.tree->Size(txn, 0));
    if (partition != 0 || offset == 0 || offset > size) {
      return Status::NotFound("the journal's Merkle tree has no leaf for " +
                              DescribePosition(offset));
    }
    return offset - 1;
  }

 private:
  const Env& Clock() const { return policy_.clock != nullptr ? *policy_.clock : *Env::Default(); }

  // Whether a batch ending at `size` signs a checkpoint (CheckpointPolicy).
  bool CheckpointDue(uint64_t size) const {
    if (signer_ == nullptr || size <= last_checkpoint_size_) return false;
    const uint64_t every = std::max<uint64_t>(policy_.every_events, 1);
    return size / every > last_checkpoint_size_ / every ||
           Clock().NowMicros() - last_checkpoint_micros_ >= policy_.every_micros;
  }

  std::unique_ptr<lmdb::Environment> env_;
  Dbis dbi_;
  const CheckpointPolicy policy_;
  const std::unique_ptr<NoteSigner> signer_;
  std::mutex write_mu_;
  Status fatal_;                    // GUARDED_BY(write_mu_): set once a commit failed
  uint64_t last_checkpoint_size_;   // GUARDED_BY(write_mu_)
  int64_t last_checkpoint_micros_;  // GUARDED_BY(write_mu_)
};

// Brings the tree up to the events: a journal written before trees were
// kept gets its leaves here, in bounded transactions.
Status CatchUpTree(lmdb::Environment& env, const Dbis& dbi) {
  constexpr uint64_t kChunk = 65536;
  for (bool done = false; !done;) {
    CASEGRID_RETURN_IF_ERROR(env.RunWrite([&](lmdb::Txn& txn) -> Status {
      CASEGRID_ASSIGN_OR_RETURN(uint64_t size, dbi.tree->Size(txn, 0));
      CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, dbi.events));
      std::vector<std::string> leaves;
      bool damaged = false;
      for (bool ok = cur->Seek(codec::EventKey(size + 1)); ok && leaves.size() < kChunk;
           ok = cur->Next()) {
        const uint64_t seq = size + 1 + leaves.size();
        if (cur->key().size() != 8 || codec::DecodeU64BE(cur->key().data()) != seq) {
          // A hole or a damaged key: the tree stops before it, and verify,
          // reading the events, names the damage.
          damaged = true;
          break;
        }
        leaves.push_back(merkle::RecordLeafHash(cur->value()));
      }
      done = damaged || leaves.size() < kChunk;
      return dbi.tree->Append(txn, 0, size, leaves);
    }));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Log>> OpenJournal(const std::string& dir, const JournalOptions& options) {
  lmdb::Options o;
  o.sync = options.sync;
  o.initial_map_bytes = options.initial_map_bytes;
  o.read_only = options.read_only;
  o.fail_commit = options.fail_commit;
  CASEGRID_ASSIGN_OR_RETURN(auto env, lmdb::Environment::Open(dir, o));
  if (options.check_pages) CASEGRID_RETURN_IF_ERROR(env->CheckPages());
  Dbis dbi;
  CASEGRID_ASSIGN_OR_RETURN(dbi.events, env->OpenDb("events"));
  CASEGRID_ASSIGN_OR_RETURN(dbi.cases,
                            CaseIndex::Open(*env, [](std::string_view value, uint64_t* position) {
                              if (value.size() != 8) return false;
                              *position = codec::DecodeU64BE(value.data());
                              return true;
                            }));
  auto tree = merkle::TreeStore::Open(*env);
  auto checkpoints = CheckpointStore::Open(*env);
  if (options.read_only && (tree.status().IsNotFound() || checkpoints.status().IsNotFound())) {
    return std::unique_ptr<Log>(new Journal(std::move(env), dbi, {}, nullptr, 0));
  }
  CASEGRID_RETURN_IF_ERROR(tree.status());
  CASEGRID_RETURN_IF_ERROR(checkpoints.status());
  dbi.tree = *tree;
  dbi.checkpoints = *checkpoints;
  std::unique_ptr<NoteSigner> signer;
  uint64_t last_checkpoint = 0;
  if (!options.read_only) {
    CASEGRID_RETURN_IF_ERROR(CatchUpTree(*env, dbi));
    if (!options.checkpoints.key_path.empty()) {
      std::string origin;
      CASEGRID_RETURN_IF_ERROR(env->RunWrite([&](lmdb::Txn& txn) -> Status {
        CASEGRID_ASSIGN_OR_RETURN(origin, dbi.checkpoints->Origin(txn));
        CASEGRID_ASSIGN_OR_RETURN(auto latest, dbi.checkpoints->Latest(txn, 0));
        if (latest) last_checkpoint = latest->first;
        return Status::Ok();
      }));
      CASEGRID_ASSIGN_OR_RETURN(signer,
                                NoteSigner::LoadOrCreate(options.checkpoints.key_path, origin));
    }
  }
  return std::unique_ptr<Log>(
      new Journal(std::move(env), dbi, options.checkpoints, std::move(signer), last_checkpoint));
}

}  // namespace casegrid::events
