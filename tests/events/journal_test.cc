// The embedded journal: append, read back, the hash chain, tamper detection,
// map growth.
#include "base/codec.h"
#include "base/lmdb.h"
#include "engine/engine.h"
#include "events/log.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::v1::Event;

namespace {

// Appends `n` chained events of `case_id` in one batch.
Status AppendChain(events::Log& log, const std::string& case_id, int n, std::string* last_hash,
                   uint64_t* case_seq) {
  return log.RunBatch([&](events::Batch& b) -> Status {
    std::string prev = *last_hash;
    uint64_t seq = *case_seq;
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
    *last_hash = prev;
    *case_seq = seq;
    return Status::Ok();
  });
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
  {
    auto env = lmdb::Environment::Open(dir.path(), {});
    REQUIRE_OK(env);
    auto dbi = (*env)->OpenDb("events");
    REQUIRE_OK(dbi);
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) { return txn.Del(*dbi, codec::EventKey(2)); }));
  }
  auto log = events::OpenJournal(dir.path(), {});
  REQUIRE_OK(log);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.IsCorruption());
  REQUIRE(report->first_problem.message().find("LS-A/3") != std::string::npos);
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
  REQUIRE(report->first_problem.ok());
}
