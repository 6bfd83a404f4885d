// The embedded journal: append, read back, the hash chain, tamper detection,
// map growth.
#include <lmdb.h>

#include <functional>

#include "base/codec.h"
#include "base/lmdb.h"
#include "engine/engine.h"
#include "engine/verify.h"
#include "events/log.h"
#include "tests/engine/engine_fixture.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::v1::Event;

namespace {

// Appends `n` chained events of `case_id` in one batch.
Status AppendChain(events::Log& log, const std::string& case_id, int n, std::string* last_hash,
                   uint64_t* case_seq) {
  // The body may run again (after the map grew): it starts from the
  // caller's values each time, which change only once the batch is in.
  std::string prev;
  uint64_t seq = 0;
  Status s = log.RunBatch([&](events::Batch& b) -> Status {
    prev = *last_hash;
    seq = *case_seq;
    for (int i = 0; i < n; ++i) {
      Event e;
      e.set_case_id(case_id);
      e.set_case_seq(++seq);
      e.set_event_id(case_id + "/" + std::to_string(seq));
      e.set_occurred_micros(1000 * static_cast<int64_t>(seq));
      e.mutable_urged()->set_note(std::string(100, 'x'));
      e.set_prev_hash(prev);
      std::string record = events::SealEvent(&e);
      CASEGRID_RETURN_IF_ERROR(b.Append(case_id, seq, record));
      prev = e.hash();
    }
    return Status::Ok();
  });
  if (s.ok()) {
    *last_hash = prev;
    *case_seq = seq;
  }
  return s;
}

// Replaces the stored bytes of global event `global_seq` in the journal at
// `dir` with `record`, through the lmdb C API, as someone with write access
// to the file could. The journal must not be open in this process.
void SubstituteRecord(const std::string& dir, uint64_t global_seq, const std::string& record) {
  struct Env {
    MDB_env* env = nullptr;
    ~Env() { mdb_env_close(env); }
  } e;
  REQUIRE(mdb_env_create(&e.env) == 0);
  REQUIRE(mdb_env_set_maxdbs(e.env, 16) == 0);
  REQUIRE(mdb_env_open(e.env, dir.c_str(), 0, 0644) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(e.env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn, "events", 0, &dbi);
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(global_seq >> (56 - 8 * i));
  MDB_val k{key.size(), key.data()};
  MDB_val old{};
  if (rc == 0) rc = mdb_get(txn, dbi, &k, &old);  // a substitution, not an insertion
  MDB_val v{record.size(), const_cast<char*>(record.data())};
  if (rc == 0) rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc != 0) mdb_txn_abort(txn);
  INFO(mdb_strerror(rc));
  REQUIRE(rc == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
}

// A journal written by the engine: LS-A's and LS-B's lifecycles.
struct EngineJournal {
  test::TempDir dir;
  std::string path = dir.Sub("journal");
  EngineJournal() {
    test::EngineRig writer;
    writer.Open(events::OpenJournal(path, {}));
    writer.Apply(test::Lifecycle("LS-A"));
    writer.Apply(test::Lifecycle("LS-B"));
  }
  // (global seq, record) of the case's events in case order.
  std::vector<std::pair<uint64_t, std::string>> Case(const std::string& case_id) {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    std::vector<std::pair<uint64_t, std::string>> out;
    REQUIRE_OK((*log)->ReadCase(case_id, [&](uint64_t seq, std::string_view record) {
      out.emplace_back(seq, std::string(record));
      return true;
    }));
    return out;
  }
};

// Parses a stored record, lets `edit` rewrite the event and seals it again
// (a correct hash of its new bytes over the prev_hash it then has).
std::string Reseal(const std::string& record, const std::function<void(Event*)>& edit) {
  Event e;
  REQUIRE(e.ParseFromString(record));
  edit(&e);
  return events::SealEvent(&e);
}

// Edits the events table of the journal in `dir` with the LMDB API, as
// damage or a careless tool would, outside the journal's own code.
void EditEvents(const std::string& dir, const std::function<Status(lmdb::Txn&, MDB_dbi)>& edit) {
  auto env = lmdb::Environment::Open(dir, {});
  REQUIRE_OK(env);
  auto dbi = (*env)->OpenDb("events");
  REQUIRE_OK(dbi);
  REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) { return edit(txn, *dbi); }));
}

}  // namespace

TEST_CASE("events are numbered densely and read back by case in case order", "[journal]") {
  test::TempDir dir;
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  std::string ha, hb;
  uint64_t sa = 0, sb = 0;
  REQUIRE_OK(AppendChain(**log, "A", 3, &ha, &sa));
  REQUIRE_OK(AppendChain(**log, "B", 2, &hb, &sb));
  REQUIRE_OK(AppendChain(**log, "A", 1, &ha, &sa));
  std::vector<uint64_t> seqs;
  REQUIRE_OK(events::ScanAll(**log, [&](uint64_t seq, std::string_view) {
    seqs.push_back(seq);
    return true;
  }));
  REQUIRE(seqs == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
  std::vector<uint64_t> a;
  REQUIRE_OK((*log)->ReadCase("A", [&](uint64_t seq, std::string_view) {
    a.push_back(seq);
    return true;
  }));
  REQUIRE(a == std::vector<uint64_t>{1, 2, 3, 6});
  REQUIRE((*log)->ReadCase("C", [](uint64_t, std::string_view) { return true; }).IsNotFound());
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.ok());
  REQUIRE(report->events == 6);
  REQUIRE(report->cases == 2);
}

TEST_CASE("a batch whose body fails writes nothing", "[journal]") {
  test::TempDir dir;
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  // A caller's own table in the local store (as the engine's state store).
  auto probe = (*log)->local_store().OpenDb("probe");
  REQUIRE_OK(probe);
  bool hook_ran = false;
  Status s = (*log)->RunBatch([&](events::Batch& b) -> Status {
    CASEGRID_RETURN_IF_ERROR(b.txn().Put(*probe, "c1", "1"));
    CASEGRID_RETURN_IF_ERROR(b.Append("A", 1, "record"));
    b.OnDurable([&](lmdb::Txn&, const std::vector<events::BatchEnd>&) {
      hook_ran = true;
      return Status::Ok();
    });
    return Status::IOError("injected");
  });
  REQUIRE(s.code() == Status::Code::kIOError);
  REQUIRE_FALSE(hook_ran);
  auto stats = (*log)->Stats();
  REQUIRE_OK(stats);
  REQUIRE(stats->events == 0);
  auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
  REQUIRE_OK(txn);
  std::string_view value;
  REQUIRE((*txn)->Get(*probe, "c1", &value).IsNotFound());
}

TEST_CASE("a batch's durable hook sees where its events ended, in its transaction", "[journal]") {
  test::TempDir dir;
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  auto probe = (*log)->local_store().OpenDb("probe");
  REQUIRE_OK(probe);
  std::vector<events::BatchEnd> seen;
  REQUIRE_OK((*log)->RunBatch([&](events::Batch& b) -> Status {
    CASEGRID_RETURN_IF_ERROR(b.Append("A", 1, "r1"));
    CASEGRID_RETURN_IF_ERROR(b.Append("B", 1, "r2"));
    b.OnDurable([&](lmdb::Txn& txn, const std::vector<events::BatchEnd>& ends) {
      seen = ends;
      return txn.Put(*probe, "end", std::to_string(ends.at(0).next_offset));
    });
    return Status::Ok();
  }));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].partition == 0);
  CHECK(seen[0].next_offset == 3);  // positions 1 and 2 written
  auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
  REQUIRE_OK(txn);
  std::string_view value;
  REQUIRE_OK((*txn)->Get(*probe, "end", &value));
  CHECK(value == "3");
  txn->reset();
  // A failing hook abandons the batch: nothing is written.
  Status s = (*log)->RunBatch([&](events::Batch& b) -> Status {
    CASEGRID_RETURN_IF_ERROR(b.Append("A", 2, "r3"));
    b.OnDurable([](lmdb::Txn&, const std::vector<events::BatchEnd>&) {
      return Status::IOError("hook failed");
    });
    return Status::Ok();
  });
  REQUIRE(s.code() == Status::Code::kIOError);
  REQUIRE((*log)->Stats()->events == 2);
}

TEST_CASE("verify names the event whose stored byte was flipped", "[journal]") {
  test::TempDir dir;
  {
    auto log = events::OpenJournal(dir.path(), {});
    REQUIRE_OK(log);
    std::string ha, hb;
    uint64_t sa = 0, sb = 0;
    REQUIRE_OK(AppendChain(**log, "LS-A", 4, &ha, &sa));
    REQUIRE_OK(AppendChain(**log, "LS-B", 4, &hb, &sb));
  }
  {
    // Flip one byte inside the note of global event 6 (LS-B/2) with the LMDB API.
    auto env = lmdb::Environment::Open(dir.path(), {});
    REQUIRE_OK(env);
    auto dbi = (*env)->OpenDb("events");
    REQUIRE_OK(dbi);
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
      std::string_view v;
      CASEGRID_RETURN_IF_ERROR(txn.Get(*dbi, codec::EventKey(6), &v));
      std::string tampered(v);
      size_t pos = tampered.find(std::string(100, 'x'));
      tampered[pos + 50] = 'y';
      return txn.Put(*dbi, codec::EventKey(6), tampered);
    }));
  }
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.IsCorruption());
  INFO(report->first_problem.message());
  REQUIRE(report->first_problem.message().find("event LS-B/2 (case LS-B, seq 2)") !=
          std::string::npos);
  REQUIRE(report->first_problem.message().find("position 6") != std::string::npos);
  REQUIRE(report->events == 5);
}

TEST_CASE("a dropped event breaks the chain and verify names the gap", "[journal]") {
  test::TempDir dir;
  {
    auto log = events::OpenJournal(dir.path(), {});
    REQUIRE_OK(log);
    std::string h;
    uint64_t s = 0;
    REQUIRE_OK(AppendChain(**log, "LS-A", 3, &h, &s));
  }
  EditEvents(dir.path(),
             [](lmdb::Txn& txn, MDB_dbi events) { return txn.Del(events, codec::EventKey(2)); });
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.IsCorruption());
  CHECK(report->first_problem.message() ==
        "journal: position 2 is missing (the next event is at position 3)");
  CHECK(report->events == 1);
}

TEST_CASE("an event whose key byte flipped is a missing position, never a shorter journal",
          "[journal]") {
  // One flipped bit in the top byte of an events key moves the record 2^56
  // positions on: a scan in key order would see a journal without it (or,
  // for the last one, one that ends far away) and say ok over the rest.
  for (const uint64_t moved : {uint64_t{3}, uint64_t{6}}) {
    test::TempDir dir;
    {
      auto log = events::OpenJournal(dir.path(), {});
      REQUIRE_OK(log);
      std::string h;
      uint64_t s = 0;
      REQUIRE_OK(AppendChain(**log, "LS-A", 6, &h, &s));
    }
    EditEvents(dir.path(), [&](lmdb::Txn& txn, MDB_dbi events) -> Status {
      std::string_view v;
      CASEGRID_RETURN_IF_ERROR(txn.Get(events, codec::EventKey(moved), &v));
      const std::string record(v);
      CASEGRID_RETURN_IF_ERROR(txn.Del(events, codec::EventKey(moved)));
      return txn.Put(events, codec::EventKey(moved | (uint64_t{1} << 56)), record);
    });
    auto log = events::OpenJournal(dir.path(), {});
    REQUIRE_OK(log);
    auto report = engine::VerifyLog(**log);
    REQUIRE_OK(report);
    INFO("moved " << moved);
    REQUIRE(report->first_problem.IsCorruption());
    CHECK(report->first_problem.message() ==
          "journal: position " + std::to_string(moved) +
              " is missing (the next event is at position " +
              std::to_string(moved == 6 ? (moved | (uint64_t{1} << 56)) : moved + 1) + ")");
    CHECK(report->events == moved - 1);
  }
}

TEST_CASE("the journal grows its map instead of failing when it is full", "[journal]") {
  test::TempDir dir;
  events::JournalOptions o;
  o.initial_map_bytes = 1 << 20;  // 1 MiB: far too small for what follows
  o.sync = false;
  auto log = events::OpenJournal(dir.path(), o);
  REQUIRE_OK(log);
  std::string h;
  uint64_t s = 0;
  for (int i = 0; i < 40; ++i) REQUIRE_OK(AppendChain(**log, "BIG", 500, &h, &s));
  auto stats = (*log)->Stats();
  REQUIRE_OK(stats);
  REQUIRE(stats->events == 20000);
  REQUIRE(stats->map_bytes > (size_t{1} << 20));
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  INFO(report->first_problem.ToString());
  REQUIRE(report->first_problem.ok());
}

TEST_CASE("a rewritten event re-sealed with a correct hash no longer links the next one",
          "[journal]") {
  // LS-A's dispatch is rewritten to another station and sealed again over its
  // own prev_hash: the record verifies alone, but LS-A's next event still
  // carries the old hash, and verify and replay refuse the case there.
  EngineJournal j;
  const auto events_a = j.Case("LS-A");
  size_t k = 0;
  Event original;
  for (; k < events_a.size(); ++k) {
    REQUIRE(original.ParseFromString(events_a[k].second));
    if (original.has_case_dispatched()) break;
  }
  REQUIRE(k + 1 < events_a.size());
  const std::string forged = Reseal(events_a[k].second, [](Event* e) {
    e->mutable_case_dispatched()->set_unit("371302-002-001");
  });
  Event check;
  REQUIRE_OK(events::OpenRecord(forged, &original.prev_hash(), &check));  // well sealed
  REQUIRE(check.hash() != original.hash());
  SubstituteRecord(j.path, events_a[k].first, forged);

  auto log = events::OpenJournal(j.path, {});
  REQUIRE_OK(log);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  const Status& problem = report->first_problem;
  INFO(problem.ToString());
  REQUIRE(problem.IsCorruption());
  const std::string next =
      "event LS-A/" + std::to_string(k + 2) + " (case LS-A, seq " + std::to_string(k + 2) + ")";
  CHECK(test::Contains(problem.message(), next + ": prev_hash "));
  CHECK(test::Contains(problem.message(), "does not link"));
  CHECK(test::Contains(problem.message(), "position " + std::to_string(events_a[k + 1].first)));
  CHECK(report->events == events_a[k + 1].first - 1);

  int replayed = 0;
  const Status replay = engine::ReplayCase(
      **log, "LS-A", [&](const Event&, const casegrid::v1::CaseState&) { ++replayed; });
  INFO(replay.ToString());
  CHECK(replay.IsCorruption());
  CHECK(test::Contains(replay.message(), next));
  CHECK(replayed == static_cast<int>(k + 1));  // the forged event itself still opens
  // The other case is untouched.
  CHECK(
      engine::ReplayCase(**log, "LS-B", [](const Event&, const casegrid::v1::CaseState&) {}).ok());
}

TEST_CASE("a re-sealed event whose prev_hash points elsewhere is refused at that event",
          "[journal]") {
  // The event is re-sealed over a prev_hash that is not its predecessor's
  // hash (here LS-B's event at the same place): its own hash is right, the link is not.
  EngineJournal j;
  const auto events_a = j.Case("LS-A");
  const auto events_b = j.Case("LS-B");
  Event b1;
  REQUIRE(b1.ParseFromString(events_b[0].second));
  const std::string forged =
      Reseal(events_a[1].second, [&](Event* e) { e->set_prev_hash(b1.hash()); });
  SubstituteRecord(j.path, events_a[1].first, forged);

  auto log = events::OpenJournal(j.path, {});
  REQUIRE_OK(log);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  INFO(report->first_problem.ToString());
  REQUIRE(report->first_problem.IsCorruption());
  CHECK(test::Contains(report->first_problem.message(),
                       "event LS-A/2 (case LS-A, seq 2): prev_hash "));
  CHECK(test::Contains(report->first_problem.message(), "does not link"));
  const Status replay =
      engine::ReplayCase(**log, "LS-A", [](const Event&, const casegrid::v1::CaseState&) {});
  CHECK(replay.IsCorruption());
  CHECK(test::Contains(replay.message(), "event LS-A/2 (case LS-A, seq 2)"));
}

TEST_CASE("a record over the log's limit is refused by Append, and its batch writes nothing",
          "[journal]") {
  test::TempDir dir;
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  const Status s = (*log)->RunBatch([&](events::Batch& b) -> Status {
    CASEGRID_RETURN_IF_ERROR(b.Append("OK-1", 1, std::string(100, 'a')));
    return b.Append("BIG-1", 1, std::string(events::kMaxRecordBytes + 1, 'b'));
  });
  INFO(s.ToString());
  CHECK(s.IsInvalidArgument());
  CHECK(test::Contains(s.message(), "event 1 of case BIG-1 is 524289 bytes"));
  CHECK((*log)->Stats()->events == 0);
  // Exactly the limit is taken.
  REQUIRE_OK((*log)->RunBatch([&](events::Batch& b) {
    return b.Append("EDGE-1", 1, std::string(events::kMaxRecordBytes, 'c'));
  }));
  CHECK((*log)->Stats()->events == 1);
}
