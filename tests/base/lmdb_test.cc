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
