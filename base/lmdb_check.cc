// Environment::CheckPages (base/lmdb.h): a bounds-checked walk of an LMDB
// file, so that damage is a Status before LMDB's unchecked reads can fault.
// The layout is LMDB 0.9's (mdb.c): pages of mm_psize bytes; a 16-byte page
// header (pgno u64, pad u16, flags u16, lower u16 and upper u16 or, on an
// overflow page, the run's page count u32); node offsets (u16) after it; a
// node is lo u16, hi u16, flags u16, ksize u16, key, data.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/lmdb.h"

namespace casegrid::lmdb {
namespace {

constexpr size_t kPageHeader = 16;
constexpr size_t kNodeHeader = 8;
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04, kMeta = 0x08;
constexpr uint16_t kBigData = 0x01, kSubData = 0x02, kDupData = 0x04;
constexpr uint32_t kMagic = 0xBEEFC0DE;
constexpr uint64_t kInvalidPage = ~uint64_t{0};
constexpr int kMaxDepth = 64;
constexpr size_t kDbBytes = 48;  // MDB_db

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// An MDB_db record: flags u16 at 4, depth u16 at 6, root u64 at 40.
struct Db {
  uint16_t depth = 0;
  uint64_t root = kInvalidPage;
};
Db ReadDb(const uint8_t* p) { return {Load<uint16_t>(p + 6), Load<uint64_t>(p + 40)}; }

class Walker {
 public:
  Walker(const uint8_t* map, uint64_t pages, size_t psize, uint64_t last, std::string file)
      : map_(map), psize_(psize), last_(last), file_(std::move(file)), seen_(pages, false) {}

  Status Tree(const Db& db, const std::string& table) {
    if (db.root == kInvalidPage) return Status::Ok();
    return Page(db.root, table, 0);
  }

 private:
  Status Bad(uint64_t pgno, const std::string& table, const std::string& what) const {
    return Status::Corruption(file_ + ": page " + std::to_string(pgno) + " (table " + table +
                              ") is damaged: " + what +
                              "; restore the file from a backup (docs/journal_format.md)");
  }

  Status Reach(uint64_t pgno, const std::string& table, uint64_t count) {
    if (pgno > last_ || count > last_ + 1 - pgno) {
      return Bad(pgno, table, "it lies past the snapshot's last page " + std::to_string(last_));
    }
    for (uint64_t i = 0; i < count; ++i) {
      if (seen_[pgno + i]) return Bad(pgno + i, table, "it is reached twice");
      seen_[pgno + i] = true;
    }
    return Status::Ok();
  }

  Status Page(uint64_t pgno, const std::string& table, int depth) {
    if (depth > kMaxDepth) return Bad(pgno, table, "the tree is deeper than 64");
    CASEGRID_RETURN_IF_ERROR(Reach(pgno, table, 1));
    const uint8_t* page = map_ + pgno * psize_;
    if (Load<uint64_t>(page) != pgno) return Bad(pgno, table, "it names another page number");
    const uint16_t flags = Load<uint16_t>(page + 10);
    const bool branch = (flags & kBranch) != 0, leaf = (flags & kLeaf) != 0;
    if (branch == leaf || (flags & (kOverflow | kMeta)) != 0) {
      return Bad(pgno, table,
                 "it is neither a branch nor a leaf page (flags " + std::to_string(flags) + ")");
    }
    const size_t lower = Load<uint16_t>(page + 12), upper = Load<uint16_t>(page + 14);
    if (lower < kPageHeader || lower > upper || upper > psize_ || (lower - kPageHeader) % 2 != 0) {
      return Bad(pgno, table, "its free-space bounds are out of range");
    }
    const size_t keys = (lower - kPageHeader) / 2;
    if (branch && keys == 0) return Bad(pgno, table, "a branch page without children");
    for (size_t i = 0; i < keys; ++i) {
      const size_t at = Load<uint16_t>(page + kPageHeader + 2 * i);
      if (at < upper || at + kNodeHeader > psize_) {
        return Bad(pgno, table, "node " + std::to_string(i) + " lies outside the page");
      }
      const uint8_t* node = page + at;
      const uint32_t lo = Load<uint16_t>(node), hi = Load<uint16_t>(node + 2);
      const uint16_t node_flags = Load<uint16_t>(node + 4);
      const size_t ksize = Load<uint16_t>(node + 6);
      if (at + kNodeHeader + ksize > psize_) {
        return Bad(pgno, table, "the key of node " + std::to_string(i) + " runs past the page");
      }
      if (branch) {
        const uint64_t child = uint64_t{lo} | uint64_t{hi} << 16 | uint64_t{node_flags} << 32;
        CASEGRID_RETURN_IF_ERROR(Page(child, table, depth + 1));
        continue;
      }
      const size_t dsize = size_t{lo} | size_t{hi} << 16;
      const uint8_t* data = node + kNodeHeader + ksize;
      if ((node_flags & kDupData) != 0) {
        return Bad(pgno, table, "node " + std::to_string(i) + " has duplicate data, never written");
      }
      if ((node_flags & kBigData) != 0) {
        if (at + kNodeHeader + ksize + 8 > psize_) {
          return Bad(pgno, table, "node " + std::to_string(i) + " runs past the page");
        }
        CASEGRID_RETURN_IF_ERROR(Overflow(Load<uint64_t>(data), dsize, table));
        continue;
      }
      if (at + kNodeHeader + ksize + dsize > psize_) {
        return Bad(pgno, table, "the data of node " + std::to_string(i) + " runs past the page");
      }
      if ((node_flags & kSubData) != 0) {
        if (dsize != kDbBytes) return Bad(pgno, table, "a table record of the wrong size");
        const std::string name(reinterpret_cast<const char*>(node + kNodeHeader), ksize);
        CASEGRID_RETURN_IF_ERROR(Tree(ReadDb(data), name));
      }
    }
    return Status::Ok();
  }

  Status Overflow(uint64_t pgno, size_t dsize, const std::string& table) {
    if (pgno > last_) return Bad(pgno, table, "an overflow run starts past the last page");
    const uint8_t* page = map_ + pgno * psize_;
    const uint32_t count = Load<uint32_t>(page + 12);
    if (Load<uint64_t>(page) != pgno || (Load<uint16_t>(page + 10) & kOverflow) == 0 ||
        count == 0 || dsize > count * psize_ - kPageHeader) {
      return Bad(pgno, table, "an overflow run's header does not match its value");
    }
    return Reach(pgno, table, count);
  }

  const uint8_t* map_;
  size_t psize_;
  uint64_t last_;
  std::string file_;
  std::vector<bool> seen_;
};

}  // namespace

Status Environment::CheckPages() const {
  // The snapshot to walk: a read transaction pins its pages against reuse.
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return Status::IOError("lmdb txn_begin in " + dir_ + ": " + mdb_strerror(rc));
  const uint64_t txnid = mdb_txn_id(txn);
  const std::string file = dir_ + "/data.mdb";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    mdb_txn_abort(txn);
    return Status::IOError("cannot read " + file + ": " + std::strerror(errno));
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* mapped = size == 0 ? MAP_FAILED : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) {
    mdb_txn_abort(txn);
    return Status::Corruption(file + " cannot be mapped (" + std::to_string(size) + " bytes)");
  }
  const auto* map = static_cast<const uint8_t*>(mapped);
  Status result = [&]() -> Status {
    // The meta page of the snapshot: LMDB reads transaction N's tree from
    // meta page N & 1 (the slot it wrote it to), whatever the other says;
    // a page in that slot naming another transaction is damage (a walk of
    // the page that names N would check a tree LMDB does not read).
    const size_t system_page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t m = txnid & 1;
    const size_t offset = m * system_page;
    if (offset + kPageHeader + 8 + 16 + 2 * kDbBytes + 16 > size ||
        Load<uint32_t>(map + offset + kPageHeader) != kMagic ||
        Load<uint64_t>(map + offset + kPageHeader + 24 + 2 * kDbBytes + 8) != txnid) {
      return Status::Corruption(file + ": meta page " + std::to_string(m) +
                                " does not describe transaction " + std::to_string(txnid) +
                                ", which LMDB reads from it");
    }
    const uint8_t* meta = map + offset + kPageHeader;
    const size_t psize = Load<uint32_t>(meta + 24);  // mm_dbs[FREE].md_pad: the page size
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0 || psize != system_page) {
      return Status::Corruption(file + ": meta page " + std::to_string(m) +
                                " names a page size of " + std::to_string(psize));
    }
    const uint64_t last = Load<uint64_t>(meta + 24 + 2 * kDbBytes);
    const uint64_t pages = size / psize;
    if (last >= pages) {
      return Status::Corruption(file + " is truncated: its last page is " + std::to_string(last) +
                                ", the file holds " + std::to_string(pages));
    }
    Walker walker(map, pages, psize, last, file);
    CASEGRID_RETURN_IF_ERROR(walker.Tree(ReadDb(meta + 24), "(free pages)"));
    return walker.Tree(ReadDb(meta + 24 + kDbBytes), "(main)");
  }();
  ::munmap(mapped, size);
  mdb_txn_abort(txn);
  return result;
}

}  // namespace casegrid::lmdb
