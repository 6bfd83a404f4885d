// A thin RAII layer over LMDB shared by the journal and the read models.
// Environment: one per directory; clears stale reader slots at open and grows
// the map when a write transaction hits MDB_MAP_FULL (RunWrite retries the
// whole transaction after growing, so callers never see a partial write).
// Thread-safety: as LMDB's. An Environment may be shared by threads; a Txn and
// its cursors belong to one thread. Only one write Txn at a time (LMDB's lock
// serialises writers across threads and processes).
#ifndef CASEGRID_BASE_LMDB_H_
#define CASEGRID_BASE_LMDB_H_

#include <lmdb.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace casegrid::lmdb {

// "lmdb <what>: <mdb_strerror>" as the right Status code (NotFound for
// MDB_NOTFOUND); a full disk or quota (ENOSPC, EDQUOT) is an IOError that
// starts "disk full" and says nothing of the transaction was written.
Status FromRc(int rc, std::string_view what);

inline MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

struct Options {
  size_t initial_map_bytes = size_t{256} << 20;
  unsigned max_dbs = 16;
  bool sync = true;  // false: MDB_NOSYNC (benchmarks only; not durable)
  // false: MDB_NOMETASYNC, one flush per commit instead of two. A system
  // crash may undo the last committed transaction, never corrupt the store:
  // for stores derived from a record that is kept elsewhere.
  bool meta_sync = true;
  bool read_only = false;
  // The storage fault seam (tests only, as leveldb's fault-injection Env):
  // called before each write transaction of this environment commits, with
  // the environment's directory. A non-OK Status aborts the transaction and
  // is what its Commit returns, as a failed write or sync would; nothing of
  // it reaches the disk.
  std::function<Status(const std::string& dir)> fail_commit;
};

class Txn;

class Environment {
 public:
  // Creates `dir` if missing (each directory it creates mode 0700; the
  // files 0600), opens the environment and clears stale readers left by
  // crashed processes (mdb_reader_check). Corruption, naming the file, when
  // data.mdb is shorter than its two meta pages (an empty file included) or
  // than the last page its meta page names: never a fresh store over a
  // damaged one, never a SIGBUS when a page past the end is read.
  static Result<std::unique_ptr<Environment>> Open(const std::string& dir, const Options& options);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  MDB_env* raw() const { return env_; }
  const std::string& dir() const { return dir_; }
  bool read_only() const { return options_.read_only; }
  const Options& options() const { return options_; }

  // Opens (creating unless read-only) the named database. Call before other
  // transactions run; the handle stays valid for the environment's life.
  Result<MDB_dbi> OpenDb(const std::string& name, unsigned flags = 0);

  // Runs `body` in a write transaction and commits it (durable when this
  // environment syncs). On MDB_MAP_FULL the transaction is aborted, the map
  // doubled and `body` run again from the start; so `body` must derive all it
  // writes from what it reads in the transaction. Any other failure aborts.
  Status RunWrite(const std::function<Status(Txn&)>& body);

  // Walks every page the current snapshot reaches (each table's B-tree,
  // overflow runs, the free list) through a read-only mapping of exactly the
  // file's size, checking what LMDB trusts: page numbers inside the file and
  // the snapshot, each page's own number and kind, node offsets and key and
  // data sizes inside their page, overflow runs inside the file, no page
  // reached twice, depth at most 64. Corruption names the page and what is
  // wrong. Run it before letting LMDB read a file that may be damaged
  // (`verify`): LMDB itself reads wherever a damaged offset points, and a
  // read past the file's end is a SIGBUS. Reads the whole tree: O(file).
  Status CheckPages() const;

  // Doubles the map size. No transaction of this process may be open.
  Status Grow();
  size_t map_bytes() const;

 private:
  Environment(MDB_env* env, std::string dir, Options options)
      : env_(env), dir_(std::move(dir)), options_(options) {}
  MDB_env* env_;
  std::string dir_;
  Options options_;
};

class Cursor;

class Txn {
 public:
  // Begins a transaction; read-only unless `write`.
  static Result<std::unique_ptr<Txn>> Begin(Environment* env, bool write);
  ~Txn();  // aborts if neither committed nor aborted
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // NotFound when absent. The view is valid until the transaction ends or the
  // next write in it.
  Status Get(MDB_dbi dbi, std::string_view key, std::string_view* value);
  Status Put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // OK when deleted or already absent.
  Status Del(MDB_dbi dbi, std::string_view key);
  Status Drop(MDB_dbi dbi);  // empties the database, keeps the handle
  Status Commit();
  bool writable() const { return write_; }
  void Abort();

  bool map_full() const { return map_full_; }
  MDB_txn* raw() const { return txn_; }

 private:
  Txn(MDB_txn* txn, Environment* env, bool write) : txn_(txn), env_(env), write_(write) {}
  Status Check(int rc, std::string_view what);
  MDB_txn* txn_;
  Environment* env_;
  bool write_;
  bool map_full_ = false;
};

// Forward iteration with seek. Invalid once its transaction ends.
class Cursor {
 public:
  static Result<std::unique_ptr<Cursor>> Open(Txn& txn, MDB_dbi dbi);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  bool First();
  bool Last();
  bool Seek(std::string_view key);  // first key >= key
  bool Next();
  bool Prev();
  bool valid() const { return valid_; }
  std::string_view key() const { return View(key_); }
  std::string_view value() const { return View(value_); }

 private:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  bool Move(MDB_cursor_op op);
  MDB_cursor* cursor_;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
  bool valid_ = false;
};

}  // namespace casegrid::lmdb

#endif  // CASEGRID_BASE_LMDB_H_
