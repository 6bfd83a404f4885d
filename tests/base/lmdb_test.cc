// base/lmdb.h opening what an operator may leave behind: an empty or a
// truncated data.mdb (a failed copy, a full disk, a restore cut short) is a
// clear error, never a fresh store over it and never a SIGBUS; and what it
// creates is the owner's alone.
#include "base/lmdb.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;

namespace {

// A store of `n` records of 1 KiB in `dir`.
void Fill(const std::string& dir, int n) {
  auto env = lmdb::Environment::Open(dir, {});
  REQUIRE_OK(env);
  auto dbi = (*env)->OpenDb("t", 0);
  REQUIRE_OK(dbi);
  auto txn = lmdb::Txn::Begin(env->get(), true);
  REQUIRE_OK(txn);
  for (int i = 0; i < n; ++i) {
    REQUIRE_OK((*txn)->Put(*dbi, "key" + std::to_string(i), std::string(1024, 'v')));
  }
  REQUIRE_OK((*txn)->Commit());
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("a new store is the owner's alone: directories 0700, files 0600", "[lmdb]") {
  test::TempDir dir;
  Fill(dir.Sub("data/journal"), 1);
  CHECK(Mode(dir.Sub("data")) == 0700);
  CHECK(Mode(dir.Sub("data/journal")) == 0700);
  CHECK(Mode(dir.Sub("data/journal/data.mdb")) == 0600);
}

TEST_CASE("an empty or truncated data.mdb is an error naming the file, not a fresh store",
          "[lmdb]") {
  test::TempDir dir;
  const std::string store = dir.Sub("store");
  Fill(store, 200);
  const std::string data = store + "/data.mdb";
  const auto full = std::filesystem::file_size(data);

  SECTION("truncated to half") {
    std::filesystem::resize_file(data, full / 2);
    auto env = lmdb::Environment::Open(store, {});
    REQUIRE_FALSE(env.ok());
    CHECK(env.status().IsCorruption());
    CHECK(env.status().message().find(data + " is truncated: " + std::to_string(full / 2) +
                                      " bytes, its last page ends at byte ") == 0);
  }
  SECTION("empty, and shorter than its meta pages") {
    for (const uintmax_t size : {uintmax_t{0}, uintmax_t{100}}) {
      std::filesystem::resize_file(data, size);
      for (const bool read_only : {false, true}) {
        lmdb::Options options;
        options.read_only = read_only;
        auto env = lmdb::Environment::Open(store, options);
        REQUIRE_FALSE(env.ok());
        CHECK(env.status().message().find(data + " is " + std::to_string(size) +
                                          " bytes, too short to be an LMDB database") == 0);
      }
      CHECK(std::filesystem::file_size(data) == size);  // left as it was
    }
  }
}

TEST_CASE("a full disk is said as \"disk full\", with what to do", "[lmdb]") {
  for (int rc : {ENOSPC, EDQUOT}) {
    const Status s = lmdb::FromRc(rc, "commit in /srv/casegrid/journal");
    CHECK(s.code() == Status::Code::kIOError);
    CHECK(s.message() ==
          "disk full (lmdb commit in /srv/casegrid/journal: " + std::string(std::strerror(rc)) +
              "): nothing of this transaction was written; free space, then run "
              "the same command again");
  }
  CHECK(lmdb::FromRc(EIO, "commit").message() == "lmdb commit: " + std::string(std::strerror(EIO)));
}

TEST_CASE("a reader whose map another process outgrew adopts the new size (MDB_MAP_RESIZED)",
          "[lmdb]") {
  test::TempDir dir;
  lmdb::Options o;
  o.initial_map_bytes = size_t{1} << 20;
  o.sync = false;
  auto env = lmdb::Environment::Open(dir.path(), o);
  REQUIRE_OK(env);
  auto dbi = (*env)->OpenDb("t");
  REQUIRE_OK(dbi);
  auto key = [](int i) { return "k" + std::to_string(1000 + i); };
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Another process (an import) writes 4 MiB, growing the 1 MiB map.
    auto other = lmdb::Environment::Open(dir.path(), o);
    if (!other.ok()) ::_exit(2);
    auto t = (*other)->OpenDb("t");
    if (!t.ok()) ::_exit(3);
    for (int i = 0; i < 64; ++i) {
      Status s = (*other)->RunWrite(
          [&](lmdb::Txn& txn) { return txn.Put(*t, key(i), std::string(size_t{64} << 10, 'x')); });
      if (!s.ok()) ::_exit(4);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // This process still maps 1 MiB of a larger file: its next read
  // transaction adopts the new size instead of failing.
  CHECK((*env)->map_bytes() == size_t{1} << 20);
  auto txn = lmdb::Txn::Begin(env->get(), false);
  REQUIRE_OK(txn);
  std::string_view value;
  REQUIRE_OK((*txn)->Get(*dbi, key(63), &value));
  CHECK(value.size() == size_t{64} << 10);
  CHECK((*env)->map_bytes() > size_t{4} << 20);
}

namespace {

// The pages of `bytes` (a data.mdb) whose header names their own number
// and has `flag` set (0x02 leaf, 0x04 overflow), reachable or freed.
std::vector<size_t> FindPages(const std::string& bytes, uint16_t flag) {
  const size_t psize = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<size_t> pages;
  for (size_t p = 2; (p + 1) * psize <= bytes.size(); ++p) {
    uint64_t pgno = 0;
    uint16_t flags = 0;
    std::memcpy(&pgno, bytes.data() + p * psize, 8);
    std::memcpy(&flags, bytes.data() + p * psize + 10, 2);
    if (pgno == p && (flags & flag) != 0) pages.push_back(p);
  }
  return pages;
}

}  // namespace

TEST_CASE("CheckPages passes a sound file and names the page LMDB would read outside of",
          "[lmdb]") {
  test::TempDir dir;
  lmdb::Options o;
  o.sync = false;
  {
    auto env = lmdb::Environment::Open(dir.path(), o);
    REQUIRE_OK(env);
    auto dbi = (*env)->OpenDb("t");
    REQUIRE_OK(dbi);
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
      for (int i = 0; i < 300; ++i) {
        CASEGRID_RETURN_IF_ERROR(
            txn.Put(*dbi, "k" + std::to_string(1000 + i), std::string(40, 'v')));
      }
      // Larger than half a page: stored in an overflow run.
      return txn.Put(*dbi, "big", std::string(20000, 'b'));
    }));
    REQUIRE_OK((*env)->CheckPages());
  }
  const std::string path = dir.Sub("data.mdb");
  const std::string sound = test::ReadFile(path);
  const size_t psize = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Flips `x` into byte `at` of each page in `pages` (the freed ones among
  // them are never read), then checks the file.
  auto check_damaged = [&](const std::vector<size_t>& pages, size_t at, uint8_t x) {
    REQUIRE_FALSE(pages.empty());
    std::string bytes = sound;
    for (size_t page : pages) {
      bytes[page * psize + at] = static_cast<char>(bytes[page * psize + at] ^ x);
    }
    test::WriteFile(path, bytes);
    lmdb::Options ro;
    ro.read_only = true;
    auto env = lmdb::Environment::Open(dir.path(), ro);
    REQUIRE_OK(env);
    return (*env)->CheckPages();
  };
  SECTION("a node offset pointing past the page (LMDB: SIGBUS or garbage)") {
    Status s = check_damaged(FindPages(sound, 0x02), 17, 0xf8);
    INFO(s.ToString());
    CHECK(s.IsCorruption());
    CHECK(test::Contains(s.message(), "outside the page"));
  }
  SECTION("an overflow run longer than the file") {
    Status s = check_damaged(FindPages(sound, 0x04), 14, 0x40);
    INFO(s.ToString());
    CHECK(s.IsCorruption());
    CHECK(test::Contains(s.message(), "past the snapshot's last page"));
  }
  SECTION("a page that names another number") {
    Status s = check_damaged(FindPages(sound, 0x02), 0, 0x01);
    INFO(s.ToString());
    CHECK(s.IsCorruption());
    CHECK(test::Contains(s.message(), "names another page number"));
  }
}

TEST_CASE("a meta page naming another page size is refused before LMDB maps by it", "[lmdb]") {
  test::TempDir dir;
  lmdb::Options o;
  o.sync = false;
  {
    auto env = lmdb::Environment::Open(dir.path(), o);
    REQUIRE_OK(env);
    REQUIRE_OK((*env)->OpenDb("t").status());
  }
  const std::string path = dir.Sub("data.mdb");
  std::string bytes = test::ReadFile(path);
  // Meta page 1's page size, 4096 -> 69632 (found by fuzz/fuzz_journal.cc:
  // mdb_env_open read past the file's end, SIGBUS).
  const size_t psize = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  bytes[psize + 16 + 24 + 2] = static_cast<char>(bytes[psize + 16 + 24 + 2] ^ 0x01);
  test::WriteFile(path, bytes);
  auto env = lmdb::Environment::Open(dir.path(), o);
  REQUIRE_FALSE(env.ok());
  INFO(env.status().ToString());
  CHECK(env.status().IsCorruption());
  CHECK(test::Contains(env.status().message(), "meta page 1 names a page size of"));
  CHECK(test::Contains(env.status().message(), "restore the file from a backup"));
}
