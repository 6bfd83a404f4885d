#include "base/lmdb.h"

#include "base/crash_point.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace casegrid::lmdb {

Status FromRc(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  std::string m = "lmdb " + std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return Status::NotFound(m);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
      return Status::Corruption(m);
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
      return Status::Unavailable(m);
    case MDB_PANIC:
      return Status::Fatal(m);
    case MDB_KEYEXIST:
      return Status::Conflict(m);
    case ENOSPC:
    case EDQUOT:
      // Said first: an operator reads "disk full", not an errno's words.
      return Status::IOError("disk full (" + m +
                             "): nothing of this transaction was written; free space, then run "
                             "the same command again");
    default:
      return Status::IOError(m);
  }
}

namespace {

// The two meta pages of `file`, read with pread: LMDB trusts the page size
// they name and maps by it, so a damaged one faults in mdb_env_open. (The
// last page the current one names is checked against the file after the
// open.) Corruption names the page and the value.
Status CheckMetaPages(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Ok();  // mdb_env_open says why
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0;
  const auto size = static_cast<uint64_t>(st.st_size);
  Status result;
  uint64_t psize = 0;
  for (int m = 0; m < 2 && sized && result.ok(); ++m) {
    // MDB_meta after the 16-byte page header: magic u32, version u32,
    // address, mapsize, two MDB_db of 48 bytes (the first's md_pad is the
    // page size), ... Meta 1 sits one page in.
    uint8_t meta[16 + 136];
    const auto at = static_cast<off_t>(m == 0 ? 0 : psize);
    if (::pread(fd, meta, sizeof meta, at) != static_cast<ssize_t>(sizeof meta)) {
      result = Status::Corruption(file + ": meta page " + std::to_string(m) + " cannot be read");
      break;
    }
    uint32_t magic = 0, page = 0;
    std::memcpy(&magic, meta + 16, 4);
    std::memcpy(&page, meta + 16 + 24, 4);
    const std::string which = file + ": meta page " + std::to_string(m);
    if (magic != 0xBEEFC0DE) {
      result = Status::Corruption(which + " is not an LMDB meta page (damaged, or not LMDB)");
    } else if (page < 512 || page > 65536 || (page & (page - 1)) != 0 ||
               2 * uint64_t{page} > size || (m == 1 && page != psize)) {
      result = Status::Corruption(which + " names a page size of " + std::to_string(page));
    }
    psize = page;
  }
  ::close(fd);
  if (!result.ok()) {
    return Status::Corruption(result.message() +
                              "; restore the file from a backup (docs/journal_format.md)");
  }
  return result;
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("cannot sync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

// A new store is made whole or not at all. LMDB writes a new file's two meta
// pages just after creating it; a kill in between would leave an empty
// data.mdb, which Open then refuses for ever (it cannot tell that from a
// damaged file). So the file is made under a name of this process's own,
// synced, and linked into place; link() never replaces a file, so of two
// processes creating one store the second finds the first's and uses it.
Status CreateStore(const std::filesystem::path& data) {
  namespace fs = std::filesystem;
  const std::string tmp = data.string() + ".new-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);  // left by a process of the same pid, killed
  fs::remove(tmp + "-lock", ec);
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return FromRc(rc, "env_create");
  rc = mdb_env_open(env, tmp.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0600);
  mdb_env_close(env);
  if (rc != 0) return FromRc(rc, "open " + tmp);
  CASEGRID_CRASH_POINT("lmdb.store.created");
  Status synced = FsyncPath(tmp, O_RDONLY);
  if (synced.ok() && ::link(tmp.c_str(), data.c_str()) != 0 && errno != EEXIST) {
    synced = Status::IOError("cannot create " + data.string() + ": " + std::strerror(errno));
  }
  fs::remove(tmp, ec);
  fs::remove(tmp + "-lock", ec);
  CASEGRID_RETURN_IF_ERROR(synced);
  return FsyncPath(data.parent_path().string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace

Result<std::unique_ptr<Environment>> Environment::Open(const std::string& dir,
                                                       const Options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!options.read_only) {
    // Directories it creates are the owner's alone (0700): the store holds
    // citizens' names and phone numbers.
    fs::path first_missing;
    for (fs::path p = fs::path(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
      first_missing = p;
      if (p == p.parent_path()) break;
    }
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
    for (fs::path p = fs::path(dir); !first_missing.empty(); p = p.parent_path()) {
      fs::permissions(p, fs::perms::owner_all, fs::perm_options::replace, ec);
      if (p == first_missing || p == p.parent_path()) break;
    }
  }
  // A damaged file is an error here, never a signal later or a fresh store:
  // an empty data.mdb (a failed copy, a full disk) or one shorter than its
  // two meta pages would be silently recreated or fault when mapped.
  const fs::path data = fs::path(dir) / "data.mdb";
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto data_bytes = fs::exists(data, ec) ? fs::file_size(data, ec) : uintmax_t{0};
  if (fs::exists(data, ec) && !ec && data_bytes < 2 * static_cast<uintmax_t>(page)) {
    return Status::Corruption(data.string() + " is " + std::to_string(data_bytes) +
                              " bytes, too short to be an LMDB database (two " +
                              std::to_string(page) +
                              "-byte meta pages at least): restore it from a backup or move it "
                              "away; casegrid does not start a new store over it");
  }
  if (fs::exists(data, ec) && !ec) CASEGRID_RETURN_IF_ERROR(CheckMetaPages(data.string()));
  if (!options.read_only && !fs::exists(data, ec)) CASEGRID_RETURN_IF_ERROR(CreateStore(data));
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return FromRc(rc, "env_create");
  auto fail = [&](int code, const char* what) -> Status {
    mdb_env_close(env);
    return FromRc(code, std::string(what) + " " + dir);
  };
  if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != 0) return fail(rc, "set_maxdbs");
  if ((rc = mdb_env_set_mapsize(env, options.initial_map_bytes)) != 0)
    return fail(rc, "set_mapsize");
  if ((rc = mdb_env_set_maxreaders(env, 256)) != 0) return fail(rc, "set_maxreaders");
  unsigned flags = MDB_NOTLS;
  if (!options.sync) flags |= MDB_NOSYNC;
  if (!options.meta_sync) flags |= MDB_NOMETASYNC;
  if (options.read_only) flags |= MDB_RDONLY;
  if ((rc = mdb_env_open(env, dir.c_str(), flags, 0600)) != 0) return fail(rc, "open");
  // A file grown by another process is larger than our map: adopt its size.
  MDB_envinfo info;
  mdb_env_info(env, &info);
  MDB_stat stat;
  mdb_env_stat(env, &stat);
  const uintmax_t needed = (static_cast<uintmax_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  if (fs::exists(data, ec) && fs::file_size(data, ec) < needed && !ec) {
    const uintmax_t have = fs::file_size(data, ec);
    mdb_env_close(env);
    return Status::Corruption(data.string() + " is truncated: " + std::to_string(have) +
                              " bytes, its last page ends at byte " + std::to_string(needed) +
                              "; restore it from a backup");
  }
  if (info.me_mapsize < options.initial_map_bytes && !options.read_only) {
    mdb_env_set_mapsize(env, options.initial_map_bytes);
  }
  int dead = 0;
  mdb_reader_check(env, &dead);  // stale readers of crashed processes
  return std::unique_ptr<Environment>(new Environment(env, dir, options));
}

Environment::~Environment() { mdb_env_close(env_); }

size_t Environment::map_bytes() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Result<MDB_dbi> Environment::OpenDb(const std::string& name, unsigned flags) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, options_.read_only ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return FromRc(rc, "txn_begin for dbi " + name);
  MDB_dbi dbi;
  rc = mdb_dbi_open(txn, name.c_str(), flags | (options_.read_only ? 0 : MDB_CREATE), &dbi);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return FromRc(rc, "dbi_open " + name + " in " + dir_);
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return FromRc(rc, "commit dbi_open " + name);
  return dbi;
}

Status Environment::Grow() {
  size_t next = map_bytes() * 2;
  return FromRc(mdb_env_set_mapsize(env_, next), "grow map of " + dir_);
}

Status Environment::RunWrite(const std::function<Status(Txn&)>& body) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto txn = Txn::Begin(this, /*write=*/true);
    if (!txn.ok()) return txn.status();
    Status s = body(**txn);
    if (s.ok()) s = (*txn)->Commit();
    if (s.ok()) return s;
    bool full = (*txn)->map_full();
    (*txn)->Abort();
    if (!full) return s;
    CASEGRID_RETURN_IF_ERROR(Grow());
  }
  return Status::IOError("lmdb map of " + dir_ + " cannot grow enough");
}

Result<std::unique_ptr<Txn>> Txn::Begin(Environment* env, bool write) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env->raw(), nullptr, write ? 0 : MDB_RDONLY, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt the new size and retry.
    mdb_env_set_mapsize(env->raw(), 0);
    rc = mdb_txn_begin(env->raw(), nullptr, write ? 0 : MDB_RDONLY, &txn);
  }
  if (rc != 0) return FromRc(rc, "txn_begin in " + env->dir());
  return std::unique_ptr<Txn>(new Txn(txn, env, write));
}

Txn::~Txn() { Abort(); }

void Txn::Abort() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

Status Txn::Check(int rc, std::string_view what) {
  if (rc == MDB_MAP_FULL) map_full_ = true;
  return FromRc(rc, what);
}

Status Txn::Get(MDB_dbi dbi, std::string_view key, std::string_view* value) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("key");
  if (rc != 0) return Check(rc, "get");
  *value = View(v);
  return Status::Ok();
}

Status Txn::Put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = Val(key), v = Val(value);
  return Check(mdb_put(txn_, dbi, &k, &v, flags), "put");
}

Status Txn::Del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return Check(rc, "del");
}

Status Txn::Drop(MDB_dbi dbi) { return Check(mdb_drop(txn_, dbi, 0), "drop"); }

Status Txn::Commit() {
  if (write_ && env_->options().fail_commit) {
    Status injected = env_->options().fail_commit(env_->dir());
    if (!injected.ok()) {
      Abort();
      return injected;
    }
  }
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  return Check(rc, "commit");
}

Result<std::unique_ptr<Cursor>> Cursor::Open(Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.raw(), dbi, &c);
  if (rc != 0) return FromRc(rc, "cursor_open");
  return std::unique_ptr<Cursor>(new Cursor(c));
}

Cursor::~Cursor() { mdb_cursor_close(cursor_); }

bool Cursor::Move(MDB_cursor_op op) {
  valid_ = mdb_cursor_get(cursor_, &key_, &value_, op) == 0;
  return valid_;
}

bool Cursor::First() { return Move(MDB_FIRST); }
bool Cursor::Last() { return Move(MDB_LAST); }
bool Cursor::Next() { return Move(MDB_NEXT); }
bool Cursor::Prev() { return Move(MDB_PREV); }
bool Cursor::Seek(std::string_view key) {
  key_ = Val(key);
  return Move(MDB_SET_RANGE);
}

}  // namespace casegrid::lmdb
