// The embedded LMDB journal: the default Log on one machine.
// Layout (docs/journal_format.md):
//   events      seq:u64be -> record
//   case_index  case_id:str seq:u64be -> global_seq:u64be
// The engine keeps its state store in the same environment
// (engine/state_store.h), so its changes commit with the events.
#include <algorithm>
#include <mutex>

#include "base/codec.h"
#include "base/crash_point.h"
#include "base/lmdb.h"
#include "events/log.h"

namespace casegrid::events {
namespace {

struct Dbis {
  MDB_dbi events, case_index;
};

class JournalBatch final : public Batch {
 public:
  JournalBatch(lmdb::Txn& txn, const Dbis& dbi, uint64_t last_seq)
      : txn_(txn), dbi_(dbi), first_seq_(last_seq + 1), next_seq_(last_seq + 1) {}

  Status Append(std::string_view case_id, uint64_t case_seq, std::string_view record) override {
    const uint64_t seq = next_seq_;
    CASEGRID_RETURN_IF_ERROR(txn_.Put(dbi_.events, codec::EventKey(seq), record, MDB_APPEND));
    CASEGRID_RETURN_IF_ERROR(txn_.Put(dbi_.case_index, codec::CaseSeqKey(case_id, case_seq),
                                      codec::EncodeU64BE(seq), MDB_NOOVERWRITE));
    ++next_seq_;
    return Status::Ok();
  }

  lmdb::Txn& txn() override { return txn_; }
  void OnDurable(DurableHook hook) override { hook_ = std::move(hook); }

  // The events are in the transaction: the hook runs before it commits.
  Status Finish() {
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
  DurableHook hook_;
};

class Journal final : public Log {
 public:
  Journal(std::unique_ptr<lmdb::Environment> env, Dbis dbi) : env_(std::move(env)), dbi_(dbi) {}

  Status RunBatch(const std::function<Status(Batch&)>& body) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!fatal_.ok()) return fatal_;
    bool committing = false;
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
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbi_.case_index));
    const std::string prefix = codec::CasePrefix(case_id);
    bool any = false;
    for (bool ok = cur->Seek(prefix); ok && cur->key().substr(0, prefix.size()) == prefix;
         ok = cur->Next()) {
      any = true;
      uint64_t seq = codec::DecodeU64BE(cur->value().data());
      std::string_view record;
      Status s = txn->Get(dbi_.events, codec::EventKey(seq), &record);
      if (s.IsNotFound()) {
        return Status::Corruption("case " + std::string(case_id) +
                                  " index points to missing event " + std::to_string(seq));
      }
      CASEGRID_RETURN_IF_ERROR(s);
      if (!visit(seq, record)) break;
    }
    if (!any) return Status::NotFound("no case " + std::string(case_id) + " in " + Describe());
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

 private:
  std::unique_ptr<lmdb::Environment> env_;
  Dbis dbi_;
  std::mutex write_mu_;
  Status fatal_;  // GUARDED_BY(write_mu_): set once a commit failed
};

}  // namespace

Result<std::unique_ptr<Log>> OpenJournal(const std::string& dir, const JournalOptions& options) {
  lmdb::Options o;
  o.sync = options.sync;
  o.initial_map_bytes = options.initial_map_bytes;
  o.read_only = options.read_only;
  o.fail_commit = options.fail_commit;
  CASEGRID_ASSIGN_OR_RETURN(auto env, lmdb::Environment::Open(dir, o));
  Dbis dbi;
  CASEGRID_ASSIGN_OR_RETURN(dbi.events, env->OpenDb("events"));
  CASEGRID_ASSIGN_OR_RETURN(dbi.case_index, env->OpenDb("case_index"));
  return std::unique_ptr<Log>(new Journal(std::move(env), dbi));
}

}  // namespace casegrid::events
