// Test helper: rewrites a store's case index (`case_runs`,
// events/case_index.h) as a casegrid before 2026-12-06 kept it: the table
// `case_index`, one entry per event, its position encoded by `encode`.
#ifndef CASEGRID_TESTS_EVENTS_LEGACY_CASE_INDEX_H_
#define CASEGRID_TESTS_EVENTS_LEGACY_CASE_INDEX_H_

#include <lmdb.h>

#include <functional>
#include <string>
#include <vector>

#include "base/codec.h"
#include "base/lmdb.h"
#include "tests/test_util.h"

namespace casegrid::test {

// Runs `edit` in a write transaction on the store at `path` with its two
// index tables, `case_runs` and `case_index` (each created when missing),
// as damage or an interrupted migration would leave them.
inline void EditCaseIndex(
    const std::string& path,
    const std::function<Status(lmdb::Txn&, MDB_dbi runs, MDB_dbi old)>& edit) {
  auto env = lmdb::Environment::Open(path, {});
  REQUIRE_OK(env);
  auto runs = (*env)->OpenDb("case_runs");
  auto old = (*env)->OpenDb("case_index");
  REQUIRE_OK(runs);
  REQUIRE_OK(old);
  REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) { return edit(txn, *runs, *old); }));
}

// A run's value holding `entries` (codec::AppendCaseRun).
inline std::string EncodeCaseRun(uint64_t first, const std::vector<codec::CaseRunEntry>& entries) {
  std::string value;
  codec::CaseRunEntry last;
  for (const auto& e : entries) {
    codec::AppendCaseRun(&value, first, last, e);
    last = e;
  }
  return value;
}

inline void MakeLegacyCaseIndex(const std::string& path,
                                const std::function<std::string(uint64_t)>& encode) {
  EditCaseIndex(path, [&](lmdb::Txn& txn, MDB_dbi runs, MDB_dbi old) -> Status {
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, runs));
    for (bool ok = cur->First(); ok; ok = cur->Next()) {
      std::string_view id;
      uint64_t first = 0;
      REQUIRE(codec::ParseCaseSeqKey(cur->key(), &id, &first));
      std::vector<codec::CaseRunEntry> entries;
      REQUIRE(codec::ParseCaseRun(cur->value(), first, &entries));
      for (const auto& e : entries) {
        CASEGRID_RETURN_IF_ERROR(
            txn.Put(old, codec::CaseSeqKey(id, e.case_seq), encode(e.position)));
      }
    }
    cur.reset();
    // The older store had no case_runs table at all.
    return lmdb::FromRc(mdb_drop(txn.raw(), runs, 1), "drop case_runs");
  });
}

// Entries of `table` in the LMDB environment at `path` (0 when it has no
// such table).
inline uint64_t TableEntries(const std::string& path, const std::string& table) {
  lmdb::Options o;
  o.read_only = true;
  auto env = lmdb::Environment::Open(path, o);
  REQUIRE_OK(env);
  auto dbi = (*env)->OpenDb(table);
  if (!dbi.ok()) return 0;
  auto txn = lmdb::Txn::Begin(env->get(), false);
  REQUIRE_OK(txn);
  MDB_stat st;
  REQUIRE(mdb_stat((*txn)->raw(), *dbi, &st) == 0);
  return st.ms_entries;
}

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_EVENTS_LEGACY_CASE_INDEX_H_
