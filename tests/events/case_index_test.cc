// The case index (events/case_index.h): runs of a case's positions, their
// encoding at its edges, an event indexed twice, and a journal written
// before the runs (one case_index entry per event) read as it is and
// migrated when opened for writing.
#include <lmdb.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/codec.h"
#include "base/lmdb.h"
#include "engine/verify.h"
#include "events/case_index.h"
#include "events/log.h"
#include "tests/engine/engine_fixture.h"
#include "tests/events/legacy_case_index.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::v1::Event;

namespace {

using Entries = std::vector<codec::CaseRunEntry>;

std::vector<std::pair<uint64_t, uint64_t>> Pairs(const Entries& entries) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& e : entries) out.emplace_back(e.case_seq, e.position);
  return out;
}

bool NoLegacy(std::string_view, uint64_t*) { return false; }

// Writes `n` chained events of each case into the journal at `path`.
void WriteCases(const std::string& path, const std::vector<std::string>& cases, int n) {
  auto log = events::OpenJournal(path, {});
  REQUIRE_OK(log);
  REQUIRE_OK((*log)->RunBatch([&](events::Batch& b) -> Status {
    for (int seq = 1; seq <= n; ++seq) {
      for (const std::string& id : cases) {
        Event e;
        e.set_case_id(id);
        e.set_case_seq(static_cast<uint64_t>(seq));
        e.set_event_id(id + "/" + std::to_string(seq));
        e.mutable_urged()->set_note("note");
        CASEGRID_RETURN_IF_ERROR(b.Append(id, e.case_seq(), events::SealEvent(&e)));
      }
    }
    return Status::Ok();
  }));
}

// The journal's positions of a case, read through the Log.
std::vector<uint64_t> Positions(events::Log& log, const std::string& id) {
  std::vector<uint64_t> out;
  Status s = log.ReadCase(id, [&](uint64_t seq, std::string_view record) {
    Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    CHECK(e.case_id() == id);
    CHECK(e.case_seq() == out.size() + 1);
    out.push_back(seq);
    return true;
  });
  REQUIRE_OK(s);
  return out;
}

// The journal's index as a casegrid before 2026-12-06 kept it.
void MakeLegacy(const std::string& path) {
  test::MakeLegacyCaseIndex(path, [](uint64_t position) { return codec::EncodeU64BE(position); });
}

}  // namespace

TEST_CASE("a case run encodes positions rising, falling and at 64 bits, and refuses damage",
          "[case_index]") {
  const uint64_t first = codec::CaseRunFirst(40);
  REQUIRE(first == 33);
  CHECK(codec::CaseRunFirst(1) == 1);
  CHECK(codec::CaseRunFirst(32) == 1);
  CHECK(codec::CaseRunFirst(33) == 33);
  const Entries written = {{33, 5}, {34, 4}, {36, UINT64_MAX}, {37, 0}, {40, uint64_t{1} << 63},
                           {64, 7}};
  const std::string value = test::EncodeCaseRun(first, written);
  Entries read;
  REQUIRE(codec::ParseCaseRun(value, first, &read));
  CHECK(Pairs(read) == Pairs(written));

  Entries ignored;
  CHECK_FALSE(codec::ParseCaseRun("", first, &ignored));                              // no entry
  CHECK_FALSE(codec::ParseCaseRun(std::string("\x00\x80", 2), 1, &ignored));          // cut varint
  CHECK_FALSE(codec::ParseCaseRun(std::string("\x20\x01", 2), 1, &ignored));          // index 32
  CHECK_FALSE(codec::ParseCaseRun(std::string("\x03\x01\x03\x02", 4), 1, &ignored));  // repeat
  CHECK_FALSE(codec::ParseCaseRun(std::string("\x03\x01\x02\x02", 4), 1, &ignored));  // falls
  CHECK_FALSE(codec::ParseCaseRun(std::string("\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11),
                                  1, &ignored));  // > 64 bits
}

TEST_CASE(
    "the case index keeps a case's 70 versions in three runs, added one at a time or several at "
    "once, and refuses one twice",
    "[case_index]") {
  test::TempDir dir;
  auto env = lmdb::Environment::Open(dir.Sub("store"), {});
  REQUIRE_OK(env);
  auto index = events::CaseIndex::Open(**env, NoLegacy);
  REQUIRE_OK(index);
  auto runs = (*env)->OpenDb("case_runs");  // the index's own table
  REQUIRE_OK(runs);
  REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
    for (uint64_t seq = 1; seq <= 70; ++seq) {
      CASEGRID_RETURN_IF_ERROR(index->Add(txn, "LS-1", seq, 1000 + 3 * seq));
      CASEGRID_RETURN_IF_ERROR(index->Add(txn, "LS-10", seq, 1001 + 3 * seq));
    }
    return Status::Ok();
  }));
  auto txn = lmdb::Txn::Begin(env->get(), true);
  REQUIRE_OK(txn);
  MDB_stat st;
  REQUIRE(mdb_stat((*txn)->raw(), *runs, &st) == 0);
  CHECK(st.ms_entries == 6);
  Entries entries;
  REQUIRE_OK(index->Read(**txn, "LS-1", &entries));
  REQUIRE(entries.size() == 70);
  for (uint64_t seq = 1; seq <= 70; ++seq) {
    CHECK(entries[seq - 1].case_seq == seq);
    CHECK(entries[seq - 1].position == 1000 + 3 * seq);
  }
  Entries none;
  CHECK(index->Read(**txn, "LS-", &none).IsNotFound());
  CHECK(index->Read(**txn, "LS-100", &none).IsNotFound());
  // Again, or before the run's last: an event indexed twice.
  CHECK(index->Add(**txn, "LS-1", 70, 9).IsConflict());
  CHECK(index->Add(**txn, "LS-1", 65, 9).IsConflict());
  CHECK(index->Add(**txn, "LS-1", 1, 9).IsConflict());
  Entries again;
  REQUIRE_OK(index->Read(**txn, "LS-1", &again));
  CHECK(Pairs(again) == Pairs(entries));
  // A version after a gap starts where its run says.
  REQUIRE_OK(index->Add(**txn, "LS-1", 100, 5000));
  again.clear();
  REQUIRE_OK(index->Read(**txn, "LS-1", &again));
  REQUIRE(again.size() == 71);
  CHECK(again.back().case_seq == 100);
  CHECK(again.back().position == 5000);

  // Versions 1-40 of LS-2 one at a time and of LS-3 in four calls (one
  // crossing the run boundary at 33): the same entries either way.
  Entries all;
  for (uint64_t seq = 1; seq <= 40; ++seq) {
    REQUIRE_OK(index->Add(**txn, "LS-2", seq, 7 * seq));
    all.push_back({seq, 7 * seq});
  }
  for (const auto& [from, to] : {std::pair<size_t, size_t>{0, 1}, {1, 30}, {30, 35}, {35, 40}}) {
    REQUIRE_OK(index->Add(**txn, "LS-3",
                          std::span<const codec::CaseRunEntry>(all).subspan(from, to - from)));
  }
  Entries two, three;
  REQUIRE_OK(index->Read(**txn, "LS-2", &two));
  REQUIRE_OK(index->Read(**txn, "LS-3", &three));
  REQUIRE(three.size() == 40);
  CHECK(Pairs(three) == Pairs(two));
  // A version again within the call, or one the index has: Conflict, and
  // that run is as it was.
  const Entries repeated = {{41, 1}, {42, 2}, {42, 3}};
  CHECK(index->Add(**txn, "LS-3", repeated).IsConflict());
  const Entries old = {{40, 9}};
  CHECK(index->Add(**txn, "LS-3", old).IsConflict());
  Entries after;
  REQUIRE_OK(index->Read(**txn, "LS-3", &after));
  CHECK(Pairs(after) == Pairs(three));
}

TEST_CASE("a damaged case run is named when its case is read", "[case_index]") {
  test::TempDir dir;
  const std::string path = dir.Sub("journal");
  WriteCases(path, {"LS-A", "LS-B"}, 3);
  test::EditCaseIndex(path, [](lmdb::Txn& txn, MDB_dbi runs, MDB_dbi) {
    return txn.Put(runs, codec::CaseSeqKey("LS-A", 1), std::string("\x00\x81", 2));
  });
  auto log = events::OpenJournal(path, {});
  REQUIRE_OK(log);
  Status s = (*log)->ReadCase("LS-A", [](uint64_t, std::string_view) { return true; });
  CHECK(s.IsCorruption());
  CHECK(s.message().find("case_runs: malformed entry LS-A") != std::string::npos);
  CHECK(Positions(**log, "LS-B") == std::vector<uint64_t>{2, 4, 6});
}

TEST_CASE(
    "a journal indexed one entry an event (before 2026-12-06) is read as it is read-only and "
    "migrated when opened for writing",
    "[case_index]") {
  test::TempDir dir;
  const std::string path = dir.Sub("journal");
  WriteCases(path, {"LS-A", "LS-B", "LS-C"}, 40);
  std::vector<uint64_t> want_a, want_c;
  {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    want_a = Positions(**log, "LS-A");
    want_c = Positions(**log, "LS-C");
  }
  REQUIRE(want_a.size() == 40);
  CHECK(want_a[1] == 4);
  MakeLegacy(path);
  REQUIRE(test::TableEntries(path, "case_index") == 120);
  REQUIRE(test::TableEntries(path, "case_runs") == 0);
  {
    events::JournalOptions ro;
    ro.read_only = true;
    auto log = events::OpenJournal(path, ro);
    REQUIRE_OK(log);
    CHECK(Positions(**log, "LS-A") == want_a);
  }
  CHECK(test::TableEntries(path, "case_index") == 120);  // read-only: untouched
  {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    CHECK(Positions(**log, "LS-A") == want_a);
    CHECK(Positions(**log, "LS-C") == want_c);
    // And it goes on from there.
    REQUIRE_OK((*log)->RunBatch([&](events::Batch& b) -> Status {
      Event e;
      e.set_case_id("LS-A");
      e.set_case_seq(41);
      e.set_event_id("LS-A/41");
      return b.Append("LS-A", 41, events::SealEvent(&e));
    }));
    CHECK(Positions(**log, "LS-A").back() == 121);
  }
  CHECK(test::TableEntries(path, "case_index") == 0);
  CHECK(test::TableEntries(path, "case_runs") == 6);
}

TEST_CASE(
    "a migration cut short after a case's tenth version is read whole read-only and finished "
    "by the next writable open",
    "[case_index]") {
  test::TempDir dir;
  const std::string path = dir.Sub("journal");
  WriteCases(path, {"LS-A", "LS-B"}, 40);
  std::vector<uint64_t> want_a, want_b;
  {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    want_a = Positions(**log, "LS-A");
    want_b = Positions(**log, "LS-B");
  }
  MakeLegacy(path);
  {
    // What a kill leaves when a transaction moved LS-A's first ten versions
    // (the migration moves entries in key order).
    test::EditCaseIndex(path, [&](lmdb::Txn& txn, MDB_dbi runs, MDB_dbi old) -> Status {
      Entries moved;
      for (uint64_t seq = 1; seq <= 10; ++seq) {
        moved.push_back({seq, want_a[seq - 1]});
        CASEGRID_RETURN_IF_ERROR(txn.Del(old, codec::CaseSeqKey("LS-A", seq)));
      }
      return txn.Put(runs, codec::CaseSeqKey("LS-A", 1), test::EncodeCaseRun(1, moved));
    });
  }
  REQUIRE(test::TableEntries(path, "case_index") == 70);
  {
    events::JournalOptions ro;
    ro.read_only = true;
    auto log = events::OpenJournal(path, ro);
    REQUIRE_OK(log);
    CHECK(Positions(**log, "LS-A") == want_a);
    CHECK(Positions(**log, "LS-B") == want_b);
  }
  {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    CHECK(Positions(**log, "LS-A") == want_a);
    CHECK(Positions(**log, "LS-B") == want_b);
  }
  CHECK(test::TableEntries(path, "case_index") == 0);
  CHECK(test::TableEntries(path, "case_runs") == 4);
}

TEST_CASE("an older journal's malformed case_index entry is named and nothing is migrated",
          "[case_index]") {
  test::TempDir dir;
  const std::string path = dir.Sub("journal");
  WriteCases(path, {"LS-A"}, 3);
  MakeLegacy(path);
  test::EditCaseIndex(path, [](lmdb::Txn& txn, MDB_dbi, MDB_dbi old) {
    return txn.Put(old, codec::CaseSeqKey("LS-A", 2), "short");
  });
  auto log = events::OpenJournal(path, {});
  REQUIRE(log.status().IsCorruption());
  CHECK(log.status().message().find("case_index: malformed entry LS-A") != std::string::npos);
  CHECK(test::TableEntries(path, "case_index") == 3);
  CHECK(test::TableEntries(path, "case_runs") == 0);
}

TEST_CASE("verify names a case whose index lost its last event or points at another case's",
          "[case_index][verify]") {
  struct Damage {
    const char* what;
    // From SS-1's run (its versions and positions), the run written back.
    std::function<void(Entries*)> edit;
    const char* expected;
  };
  const std::vector<Damage> damages = {
      {"its last version dropped", [](Entries* run) { run->pop_back(); },
       "state store: the state of case SS-1 is not the fold of its events"},
      {"version 2 pointed at SS-2's first event",
       [](Entries* run) { run->at(1).position = run->back().position + 1; },
       "case SS-1: the case index gives SS-2/1 (case SS-2) as its version 2"},
  };
  for (const Damage& d : damages) {
    INFO(d.what);
    test::JournalRig rig;
    rig.Apply(test::Lifecycle("SS-1"));
    rig.Apply(test::Lifecycle("SS-2"));
    REQUIRE_OK(rig.engine->Flush());  // the store as a clean stop leaves it
    auto& env = rig.log->local_store();
    auto runs = env.OpenDb("case_runs");
    REQUIRE_OK(runs);
    REQUIRE_OK(env.RunWrite([&](lmdb::Txn& txn) -> Status {
      const std::string key = codec::CaseSeqKey("SS-1", 1);
      std::string_view stored;
      CASEGRID_RETURN_IF_ERROR(txn.Get(*runs, key, &stored));
      Entries run;
      REQUIRE(codec::ParseCaseRun(stored, 1, &run));
      d.edit(&run);
      return txn.Put(*runs, key, test::EncodeCaseRun(1, run));
    }));
    auto report = engine::VerifyLog(*rig.log);
    REQUIRE_OK(report);
    REQUIRE(report->first_problem.ok());  // the walk reads the events, not the index
    auto checked = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
    REQUIRE_OK(checked);
    REQUIRE(checked->checked);
    INFO(checked->first_problem.ToString());
    CHECK(checked->first_problem.IsCorruption());
    CHECK_THAT(checked->first_problem.message(), Catch::Contains(d.expected));
  }
}
