// The journal's Merkle tree against an attacker who can write the file:
// verify names rewritten, removed and reordered events even when every
// chain hash was recomputed, and a saved checkpoint catches a rewrite that
// also rebuilt the tree.
#include <optional>

#include "base/codec.h"
#include "base/lmdb.h"
#include "engine/verify.h"
#include "events/checkpoint.h"
#include "events/log.h"
#include "events/merkle.h"
#include "tests/events/legacy_case_index.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::v1::Event;

namespace {

events::JournalOptions ReadOnly() {
  events::JournalOptions o;
  o.read_only = true;
  return o;
}

// Five events of case A at positions 1-5, then B's three at 6-8, then A's
// two more at 9-10: each chained, each with a note.
struct Journal {
  test::TempDir dir;
  std::string path = dir.Sub("journal");
  Journal() {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    Add(**log, "A", 5);
    Add(**log, "B", 3);
    Add(**log, "A", 2);
  }
  std::map<std::string, std::pair<uint64_t, std::string>> last;  // case -> (seq, hash)
  void Add(events::Log& log, const std::string& id, int n) {
    REQUIRE_OK(log.RunBatch([&](events::Batch& b) -> Status {
      auto& [seq, hash] = last[id];
      for (int i = 0; i < n; ++i) {
        Event e;
        e.set_case_id(id);
        e.set_case_seq(++seq);
        e.set_event_id(id + "/" + std::to_string(seq));
        e.mutable_urged()->set_note("note " + std::to_string(seq));
        e.set_prev_hash(hash);
        const std::string record = events::SealEvent(&e);
        CASEGRID_RETURN_IF_ERROR(b.Append(id, seq, record));
        hash = e.hash();
      }
      return Status::Ok();
    }));
  }
  // Edits one table of the closed journal through LMDB, as damage would.
  void Edit(const std::string& table, const std::function<Status(lmdb::Txn&, MDB_dbi)>& edit) {
    auto env = lmdb::Environment::Open(path, {});
    REQUIRE_OK(env);
    auto dbi = (*env)->OpenDb(table);
    REQUIRE_OK(dbi);
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) { return edit(txn, *dbi); }));
  }
  // Rewrites case A from its `from`-th event on (positions 3, 4, 5, 9, 10
  // for from = 3) with new notes, every hash and link recomputed: each
  // record and the chain verify alone.
  void RewriteA(uint64_t from) {
    Edit("events", [&](lmdb::Txn& txn, MDB_dbi events) -> Status {
      std::string hash;
      for (uint64_t position : {1, 2, 3, 4, 5, 9, 10}) {
        std::string_view v;
        CASEGRID_RETURN_IF_ERROR(txn.Get(events, codec::EventKey(position), &v));
        Event e;
        REQUIRE(e.ParseFromArray(v.data(), static_cast<int>(v.size())));
        if (e.case_seq() >= from) {
          e.set_prev_hash(hash);
          e.mutable_urged()->set_note("rewritten");
          const std::string record = events::SealEvent(&e);
          CASEGRID_RETURN_IF_ERROR(txn.Put(events, codec::EventKey(position), record));
        }
        hash = e.hash();
      }
      return Status::Ok();
    });
  }
  void DropTree() {
    Edit("merkle", [](lmdb::Txn& txn, MDB_dbi dbi) { return txn.Drop(dbi); });
  }
  // Removes the events at positions from..10 and their case index entries.
  void Truncate(uint64_t from) {
    std::vector<std::pair<std::string, uint64_t>> gone;
    Edit("events", [&](lmdb::Txn& txn, MDB_dbi events) -> Status {
      for (uint64_t p = from; p <= 10; ++p) {
        std::string_view v;
        CASEGRID_RETURN_IF_ERROR(txn.Get(events, codec::EventKey(p), &v));
        Event e;
        REQUIRE(e.ParseFromArray(v.data(), static_cast<int>(v.size())));
        gone.emplace_back(e.case_id(), e.case_seq());
        CASEGRID_RETURN_IF_ERROR(txn.Del(events, codec::EventKey(p)));
      }
      return Status::Ok();
    });
    // And from the case index, as a careful attacker would (events/case_index.h).
    Edit("case_runs", [&](lmdb::Txn& txn, MDB_dbi index) -> Status {
      for (const auto& [id, seq] : gone) {
        const uint64_t first = codec::CaseRunFirst(seq);
        const std::string key = codec::CaseSeqKey(id, first);
        std::string_view stored;
        CASEGRID_RETURN_IF_ERROR(txn.Get(index, key, &stored));
        std::vector<codec::CaseRunEntry> entries;
        REQUIRE(codec::ParseCaseRun(stored, first, &entries));
        std::erase_if(entries, [&](const codec::CaseRunEntry& e) { return e.case_seq == seq; });
        CASEGRID_RETURN_IF_ERROR(entries.empty()
                                     ? txn.Del(index, key)
                                     : txn.Put(index, key, test::EncodeCaseRun(first, entries)));
      }
      return Status::Ok();
    });
  }
  // Opens the journal (for writing: a dropped tree is rebuilt) and verifies
  // it with its stored tree and, when given, a checkpoint.
  engine::VerifyReport Verify(const events::Checkpoint* checkpoint = nullptr) {
    auto log = events::OpenJournal(path, {});
    REQUIRE_OK(log);
    auto tree = events::merkle::TreeStore::Open((*log)->local_store());
    REQUIRE_OK(tree);
    engine::VerifyOptions o;
    o.tree = &*tree;
    o.tree_env = &(*log)->local_store();
    if (checkpoint != nullptr) o.checkpoints[0] = *checkpoint;
    auto report = engine::VerifyLog(**log, o);
    REQUIRE_OK(report);
    return *report;
  }
  events::Checkpoint Head() {
    auto report = Verify();
    REQUIRE(report.first_problem.ok());
    return {"casegrid/test", report.heads.at(0)};
  }
};

}  // namespace

TEST_CASE("a sound journal verifies with its tree, and the tree's root is the records'",
          "[journal][merkle]") {
  Journal j;
  const engine::VerifyReport report = j.Verify();
  INFO(report.first_problem.ToString());
  CHECK(report.first_problem.ok());
  CHECK(report.tree_checked);
  CHECK(report.heads.at(0).size == 10);
  events::merkle::Frontier f;
  auto log = events::OpenJournal(j.path, {});
  REQUIRE_OK(log);
  REQUIRE_OK(events::ScanAll(**log, [&](uint64_t, std::string_view record) {
    f.Append(events::merkle::RecordLeafHash(record));
    return true;
  }));
  CHECK(f.Root() == report.heads.at(0).root);
  const events::Checkpoint at10 = j.Head();
  CHECK(j.Verify(&at10).first_problem.ok());
}

TEST_CASE(
    "a case rewritten with every chain hash recomputed is named at its first rewritten "
    "event",
    "[journal][merkle]") {
  Journal j;
  j.RewriteA(3);
  // Without the tree the rewrite is invisible: each record and link is sound.
  {
    auto log = events::OpenJournal(j.path, ReadOnly());
    REQUIRE_OK(log);
    auto plain = engine::VerifyLog(**log);
    REQUIRE_OK(plain);
    CHECK(plain->first_problem.ok());
  }
  const engine::VerifyReport report = j.Verify();
  INFO(report.first_problem.ToString());
  REQUIRE(report.first_problem.IsCorruption());
  CHECK(report.first_problem.message() ==
        "position 3: the event's bytes are not those the journal's Merkle tree recorded for it "
        "(the event was rewritten)");
  CHECK(report.events == 2);
}

TEST_CASE(
    "the journal's last events removed are named by the tree, and by a checkpoint when "
    "the tree went too",
    "[journal][merkle]") {
  Journal j;
  const events::Checkpoint at10 = j.Head();
  j.Truncate(7);
  engine::VerifyReport report = j.Verify();
  INFO(report.first_problem.ToString());
  REQUIRE(report.first_problem.IsCorruption());
  CHECK(report.first_problem.message() ==
        "the journal's Merkle tree holds 10 events but the journal only 6: position 7 and after "
        "were removed");
  // The tree dropped as well: the journal rebuilds it from what is left, and
  // only the checkpoint still knows there were ten.
  j.DropTree();
  CHECK(j.Verify().first_problem.ok());
  report = j.Verify(&at10);
  INFO(report.first_problem.ToString());
  REQUIRE(report.first_problem.IsCorruption());
  CHECK(report.first_problem.message() ==
        "the log has 6 events, fewer than the 10 the checkpoint covers: position 7 to 10 were "
        "removed");
}

TEST_CASE(
    "a rewrite that also rebuilt the tree passes alone but fails against a saved "
    "checkpoint",
    "[journal][merkle]") {
  Journal j;
  const events::Checkpoint at8 = {"casegrid/test", [&] {
                                    auto log = events::OpenJournal(j.path, {});
                                    REQUIRE_OK(log);
                                    auto tree =
                                        events::merkle::TreeStore::Open((*log)->local_store());
                                    REQUIRE_OK(tree);
                                    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
                                    REQUIRE_OK(txn);
                                    auto root = tree->Root(**txn, 0, 8);
                                    REQUIRE_OK(root);
                                    return events::merkle::TreeHead{8, *root};
                                  }()};
  // Events 9-10 only: the checkpoint of 8 does not cover them.
  j.RewriteA(6);
  j.DropTree();
  CHECK(j.Verify(&at8).first_problem.ok());
  // Event 3 on: covered.
  j.RewriteA(3);
  j.DropTree();
  CHECK(j.Verify().first_problem.ok());  // records, chains and rebuilt tree agree
  const engine::VerifyReport report = j.Verify(&at8);
  INFO(report.first_problem.ToString());
  REQUIRE(report.first_problem.IsCorruption());
  CHECK(report.first_problem.message() ==
        "the first 8 events do not hash to the checkpoint's root: an event it covers was "
        "rewritten, removed or reordered, and the journal's own Merkle tree was rebuilt to match");
}

TEST_CASE("damage to the stored tree itself is named: a node, a leaf, a short value",
          "[journal][merkle]") {
  struct Damage {
    std::string what;
    std::function<Status(lmdb::Txn&, MDB_dbi)> edit;
    std::string message;
  };
  const std::vector<Damage> damages = {
      {"a flipped inner node",
       [](lmdb::Txn& txn, MDB_dbi dbi) {
         // Subtrees of 16 leaves and up are stored; smaller ones are hashed
         // from their leaves.
         return txn.Put(dbi, codec::MerkleNodeKey(0, 4, 0), std::string(32, 'x'));
       },
       "the Merkle tree node at level 4 index 0: differs from the events under it (the tree was "
       "changed)"},
      {"a deleted leaf",
       [](lmdb::Txn& txn, MDB_dbi dbi) { return txn.Del(dbi, codec::MerkleNodeKey(0, 0, 4)); },
       "position 5: the journal's Merkle tree has no leaf for this event (its table was truncated "
       "or deleted)"},
      {"a short leaf",
       [](lmdb::Txn& txn, MDB_dbi dbi) {
         return txn.Put(dbi, codec::MerkleNodeKey(0, 0, 1), std::string(31, 'x'));
       },
       "position 2: merkle: the node at level 0 index 1 is 31 bytes, not 32"},
  };
  for (const Damage& d : damages) {
    Journal j;
    {
      auto log = events::OpenJournal(j.path, {});
      REQUIRE_OK(log);
      j.Add(**log, "C", 10);  // 20 events: one stored inner node
    }
    j.Edit("merkle", d.edit);
    const engine::VerifyReport report = j.Verify();
    INFO(d.what << ": " << report.first_problem.ToString());
    REQUIRE_FALSE(report.first_problem.ok());
    CHECK(report.first_problem.message() == d.message);
  }
}

TEST_CASE("a journal written before trees were kept gets its tree at the first write",
          "[journal][merkle]") {
  Journal j;
  const events::Checkpoint at10 = j.Head();
  j.DropTree();
  {
    auto log = events::OpenJournal(j.path, ReadOnly());
    REQUIRE_OK(log);
    auto tree = events::merkle::TreeStore::Open((*log)->local_store());
    REQUIRE_OK(tree);  // the table exists, empty
    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
    REQUIRE_OK(txn);
    CHECK(*tree->Size(**txn, 0) == 0);
  }
  const engine::VerifyReport report = j.Verify(&at10);  // opens for writing: rebuilt
  INFO(report.first_problem.ToString());
  CHECK(report.first_problem.ok());
  CHECK(report.heads.at(0).root == at10.head.root);
}
