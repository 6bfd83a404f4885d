// The engine's state store (engine/state_store.h): it covers exactly the log
// positions it records, folds what it has not seen, and is rebuildable.
#include "engine/state_store.h"

#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <utility>

#include "base/codec.h"
#include "base/time.h"
#include "engine/engine.h"
#include "engine/verify.h"
#include "events/log.h"
#include "tests/engine/engine_fixture.h"
#include "tests/test_util.h"

namespace casegrid {
namespace {

using test::JournalRig;
using test::Lifecycle;

// Every case's stored state, serialized, by case id.
std::map<std::string, std::string> States(engine::Engine& engine,
                                          const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  for (const auto& id : ids) {
    auto s = engine.CaseState(id);
    REQUIRE_OK(s);
    out[id] = s->SerializeAsString();
  }
  return out;
}

TEST_CASE("the state store records the log position it covers with every batch", "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));
  auto positions = rig.engine->state_store().Positions();
  REQUIRE_OK(positions);
  REQUIRE(positions->size() == 1);
  auto ends = rig.log->EndOffsets();
  REQUIRE_OK(ends);
  CHECK((*positions)[0] == (*ends)[0]);
  auto counts = rig.engine->state_store().Stats();
  REQUIRE_OK(counts);
  CHECK(counts->cases == 1);
  CHECK(counts->commands == 6);
}

// The store's table and positions themselves, not what the engine reads.
struct Stored {
  std::set<std::string> cases, commands;
  uint64_t covered = 0;
};
Stored ReadStored(events::Log& log) {
  Stored out;
  auto& env = log.local_store();
  auto states = env.OpenDb("case_state");
  auto commands = env.OpenDb("commands");
  auto positions = env.OpenDb("engine_positions");
  REQUIRE_OK(states);
  REQUIRE_OK(commands);
  REQUIRE_OK(positions);
  auto txn = lmdb::Txn::Begin(&env, false);
  REQUIRE_OK(txn);
  for (auto [dbi, keys] : {std::pair{*states, &out.cases}, std::pair{*commands, &out.commands}}) {
    auto cur = lmdb::Cursor::Open(**txn, dbi);
    REQUIRE_OK(cur);
    for (bool ok = (*cur)->First(); ok; ok = (*cur)->Next()) keys->emplace((*cur)->key());
  }
  std::string key;
  codec::PutI32BE(&key, 0);
  std::string_view v;
  if ((*txn)->Get(*positions, key, &v).ok()) {
    out.covered = codec::DecodeU64BE(v.data());
  }
  return out;
}

// The whole store agrees with the log (engine/verify.h), flushed as a clean
// stop leaves it.
void CheckStoreAgrees(JournalRig& rig) {
  REQUIRE_OK(rig.engine->Flush());
  auto report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.ok());
  auto checked = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
  REQUIRE_OK(checked);
  REQUIRE(checked->checked);
  INFO(checked->first_problem.ToString());
  CHECK(checked->first_problem.ok());
}

TEST_CASE(
    "case states and command answers are held in memory between flushes, and every read "
    "sees them",
    "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));  // the first batch flushes
  rig.Apply(Lifecycle("SS-2"));  // the clock stands still: held
  const uint64_t end = (*rig.log->EndOffsets())[0];
  Stored stored = ReadStored(*rig.log);
  CHECK(stored.cases == std::set<std::string>{"SS-1"});
  CHECK(stored.commands.size() == 6);
  CHECK_FALSE(stored.commands.contains("SS-2-1"));
  CHECK(stored.covered < end);
  // A held answer answers a resend, and the reads of answers see it.
  for (const auto& a : rig.Apply(Lifecycle("SS-2"))) {
    CHECK(a.kind == engine::Answer::Kind::kDuplicate);
  }
  engine::CommandAnswer answer;
  REQUIRE_OK(rig.engine->state_store().ReadCommandAnswer("SS-2-6", &answer));
  CHECK(answer.case_id == "SS-2");
  // The engine's reads see the held state.
  auto held = rig.engine->CaseState("SS-2");
  REQUIRE_OK(held);
  CHECK(held->state() == "closed");
  std::vector<std::string> visited;
  REQUIRE_OK(rig.engine->state_store().ForEachCase(
      [&](const v1::CaseState& c) { visited.push_back(c.case_id()); }));
  CHECK(visited == std::vector<std::string>{"SS-1", "SS-2"});
  auto counts = rig.engine->state_store().Stats();
  REQUIRE_OK(counts);
  CHECK(counts->cases == 2);
  CHECK(counts->commands == 12);
  // A batch a second later flushes, and so does Flush.
  rig.clock.AdvanceMicros(1'000'000);
  auto answers = rig.Apply({Lifecycle("SS-3")[0]});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  stored = ReadStored(*rig.log);
  CHECK(stored.cases == std::set<std::string>{"SS-1", "SS-2", "SS-3"});
  CHECK(stored.commands.size() == 13);
  CHECK(stored.covered == (*rig.log->EndOffsets())[0]);
  rig.Apply({Lifecycle("SS-3")[1]});
  CHECK(ReadStored(*rig.log).covered < (*rig.log->EndOffsets())[0]);
  REQUIRE_OK(rig.engine->Flush());
  CHECK(ReadStored(*rig.log).covered == (*rig.log->EndOffsets())[0]);
}

TEST_CASE("an abandoned batch leaves nothing held, and a batch outside RunBatch writes nothing",
          "[state]") {
  JournalRig rig;
  rig.Apply({Lifecycle("SS-1")[0]});  // the first batch flushes
  rig.Apply({Lifecycle("SS-1")[1]});  // the clock stands still: held
  const std::string before = rig.engine->CaseState("SS-1")->SerializeAsString();
  const std::vector<v1::Command> dispatch = {Lifecycle("SS-1")[2]};
  std::vector<engine::Answer> answers;
  engine::ApplyStats stats;
  // A dry run: decided and abandoned.
  Status dry = rig.engine->RunBatch([&](events::Batch& batch) -> Status {
    CASEGRID_RETURN_IF_ERROR(rig.engine->ApplyInBatch(batch, dispatch, &answers, &stats));
    REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
    return Status::InvalidArgument("a dry run");
  });
  CHECK(dry.IsInvalidArgument());
  CHECK(rig.engine->CaseState("SS-1")->SerializeAsString() == before);
  // A dry run of a new case: neither its state nor its command's answer stays.
  const std::vector<v1::Command> intake = {Lifecycle("SS-2")[0]};
  dry = rig.engine->RunBatch([&](events::Batch& batch) -> Status {
    CASEGRID_RETURN_IF_ERROR(rig.engine->ApplyInBatch(batch, dispatch, &answers, &stats));
    CASEGRID_RETURN_IF_ERROR(rig.engine->ApplyInBatch(batch, intake, &answers, &stats));
    REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
    return Status::InvalidArgument("a dry run");
  });
  CHECK(dry.IsInvalidArgument());
  CHECK(rig.engine->CaseState("SS-2").status().IsNotFound());
  engine::CommandAnswer none;
  CHECK(rig.engine->state_store().ReadCommandAnswer(intake[0].id(), &none).IsNotFound());
  CHECK(rig.engine->CaseState("SS-1")->SerializeAsString() == before);
  // The log's own batch around the engine: refused before anything is written.
  const uint64_t events = rig.Events();
  Status outside = rig.log->RunBatch([&](events::Batch& batch) {
    return rig.engine->ApplyInBatch(batch, dispatch, &answers, &stats);
  });
  CHECK(outside.code() == Status::Code::kFatal);
  CHECK(rig.Events() == events);
  // The commands themselves still apply.
  CHECK(rig.Apply(dispatch)[0].kind == engine::Answer::Kind::kAccepted);
  CHECK(rig.Apply(intake)[0].kind == engine::Answer::Kind::kAccepted);
}

// The deadline index's stored entries, as "case name fires" lines.
std::vector<std::string> StoredDeadlines(engine::Engine& engine) {
  std::vector<std::string> out;
  REQUIRE_OK(engine.state_store().ForEachDeadline(
      [&](int64_t fires, std::string_view case_id, std::string_view name) {
        out.push_back(std::string(case_id) + " " + std::string(name) + " " + std::to_string(fires));
      }));
  return out;
}

TEST_CASE("an abandoned batch leaves the deadline index as it was, in memory and stored",
          "[state]") {
  // Two engines take the same commands; one also decides a batch that is
  // abandoned after it met a deadline and set others. Both then see every
  // deadline fire alike, and store the same index.
  JournalRig plain, abandoned;
  const auto life = Lifecycle("SS-D");
  for (JournalRig* rig : {&plain, &abandoned}) {
    rig->Apply({life[0]});
    rig->Apply({life[1]});
  }
  const std::vector<std::string> open = StoredDeadlines(*abandoned.engine);
  REQUIRE(!open.empty());
  std::vector<engine::Answer> answers;
  engine::ApplyStats stats;
  const std::vector<v1::Command> steps = {life[2], life[3], Lifecycle("SS-E")[0],
                                          Lifecycle("SS-E")[1]};
  Status dry = abandoned.engine->RunBatch([&](events::Batch& batch) -> Status {
    CASEGRID_RETURN_IF_ERROR(abandoned.engine->ApplyInBatch(batch, steps, &answers, &stats));
    for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
    return Status::InvalidArgument("a dry run");
  });
  CHECK(dry.IsInvalidArgument());
  CHECK(StoredDeadlines(*abandoned.engine) == open);
  // A batch that commits after it writes none of what was abandoned.
  for (JournalRig* rig : {&plain, &abandoned}) rig->Apply({Lifecycle("SS-F")[0]});
  CHECK(StoredDeadlines(*abandoned.engine) == StoredDeadlines(*plain.engine));
  // Held until the flush, counted with the stored ones meanwhile, and
  // written by it: a restart reads the same index from the table.
  const std::vector<std::string> held = StoredDeadlines(*abandoned.engine);
  REQUIRE(held.size() > open.size());
  CHECK(abandoned.engine->state_store().Stats()->open_deadlines == held.size());
  abandoned.Reopen();
  CHECK(StoredDeadlines(*abandoned.engine) == held);
  CHECK(abandoned.engine->state_store().Stats()->open_deadlines == held.size());
  // Every deadline fires, the ones the abandoned batch met among them.
  const int64_t later = timeutil::ParseTimestamp("2026-12-01T00:00:00+08:00").value();
  auto fired_plain = plain.engine->Tick(later);
  auto fired = abandoned.engine->Tick(later);
  REQUIRE_OK(fired_plain);
  REQUIRE_OK(fired);
  CHECK(fired->deadline_events > 0);
  CHECK(fired->deadline_events == fired_plain->deadline_events);
  CHECK(StoredDeadlines(*abandoned.engine) == StoredDeadlines(*plain.engine));
  CHECK(abandoned.engine->CaseState("SS-D")->SerializeAsString() ==
        plain.engine->CaseState("SS-D")->SerializeAsString());
}

TEST_CASE("two engines on one journal each fold the other's batches before deciding", "[state]") {
  JournalRig rig;  // engine A
  const auto life = Lifecycle("SS-1");
  rig.Apply({life[0]});
  rig.Apply({life[1]});  // held by A
  auto b = engine::Engine::Open(rig.log.get(), test::ShippedConfig(), &rig.clock);
  REQUIRE_OK(b);
  std::vector<engine::Answer> answers;
  // B folded what A held at its open, and decides on it.
  REQUIRE_OK((*b)->Apply(std::vector<v1::Command>{life[2]}, &answers));
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[0].case_seq == (*b)->CaseState("SS-1")->last_seq());
  // A's reads see B's batch at once (A held SS-1 from before it).
  auto read_by_a = rig.engine->CaseState("SS-1");
  REQUIRE_OK(read_by_a);
  CHECK(read_by_a->last_seq() == answers[0].case_seq);
  engine::CommandAnswer by_b;
  REQUIRE_OK(rig.engine->state_store().ReadCommandAnswer(life[2].id(), &by_b));
  CHECK(by_b.case_seq == answers[0].case_seq);
  // A finds B's batch and folds it first: its own state held from before
  // would put the contact on a case not yet acknowledged, at a version the
  // log already has.
  auto contact = rig.Apply({life[3]});
  REQUIRE(contact[0].kind == engine::Answer::Kind::kAccepted);
  auto a_state = rig.engine->CaseState("SS-1");
  REQUIRE_OK(a_state);
  CHECK(a_state->marks_size() > 0);
  CHECK(contact[0].case_seq == a_state->last_seq());
  // And B finds A's.
  REQUIRE_OK((*b)->Apply(std::vector<v1::Command>{life[4]}, &answers));
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  b->reset();  // B flushes at its close
  REQUIRE(rig.Apply({life[5]})[0].kind == engine::Answer::Kind::kAccepted);
  CheckStoreAgrees(rig);
  CHECK(rig.engine->CaseState("SS-1")->state() == "closed");
}

// A journal whose EndOffsets runs `after_end` once, after it read the end:
// another writer's batch between a fold's reading of the end and its fold.
class InterleavingLog final : public events::Log {
 public:
  InterleavingLog(events::Log& inner, std::function<void()> after_end)
      : inner_(inner), after_end_(std::move(after_end)) {}
  Status RunBatch(const std::function<Status(events::Batch&)>& body) override {
    return inner_.RunBatch(body);
  }
  int32_t Partitions() const override { return inner_.Partitions(); }
  int32_t PartitionOf(std::string_view id) const override { return inner_.PartitionOf(id); }
  Result<std::vector<uint64_t>> EndOffsets() override {
    auto ends = inner_.EndOffsets();
    if (after_end_) std::exchange(after_end_, nullptr)();
    return ends;
  }
  Result<uint64_t> Scan(int32_t p, uint64_t from, uint64_t end, uint64_t limit,
                        const events::EventVisitor& visit) override {
    return inner_.Scan(p, from, end, limit, visit);
  }
  Status ReadCase(std::string_view id, const events::EventVisitor& visit) override {
    return inner_.ReadCase(id, visit);
  }
  bool Writes(int32_t p) const override { return inner_.Writes(p); }
  lmdb::Environment& local_store() override { return inner_.local_store(); }
  Result<events::LogStats> Stats() override { return inner_.Stats(); }
  std::string Describe() const override { return inner_.Describe(); }
  std::string Identity() const override { return inner_.Identity(); }
  std::string DescribePosition(uint64_t position) const override {
    return inner_.DescribePosition(position);
  }

 private:
  events::Log& inner_;
  std::function<void()> after_end_;
};

TEST_CASE(
    "a fold that another writer's batch overtakes goes on to the end, and that writer folds "
    "after it",
    "[state]") {
  JournalRig rig;  // engine A
  const auto life = Lifecycle("SS-1");
  rig.Apply({life[0]});
  rig.Apply({life[1]});  // held by A; its deadlines are in the index
  // B opens, and reads the log's end just before A meets those deadlines:
  // B's fold puts them again, A's batch having deleted them.
  InterleavingLog late(*rig.log, [&] { rig.Apply({life[2], life[3], life[4]}); });
  auto b = engine::Engine::Open(&late, test::ShippedConfig(), &rig.clock);
  REQUIRE_OK(b);
  rig.clock.AdvanceMicros(1'000'000);  // A's next batch flushes
  REQUIRE(rig.Apply({life[5]})[0].kind == engine::Answer::Kind::kAccepted);
  b->reset();
  CheckStoreAgrees(rig);
}

TEST_CASE("events appended past the state store are folded in when the engine opens", "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));
  // Copy SS-1's events as case SS-1 of a second journal, written through the
  // log alone (as migrate-log or another writer would): no engine saw them.
  test::TempDir other;
  auto copy = events::OpenJournal(other.Sub("journal"), {});
  REQUIRE_OK(copy);
  std::vector<std::string> records;
  REQUIRE_OK(rig.log->ReadCase("SS-1", [&](uint64_t, std::string_view r) {
    records.emplace_back(r);
    return true;
  }));
  REQUIRE_OK((*copy)->RunBatch([&](events::Batch& b) -> Status {
    for (size_t i = 0; i < records.size(); ++i)
      CASEGRID_RETURN_IF_ERROR(b.Append("SS-1", i + 1, records[i]));
    return Status::Ok();
  }));
  auto opened = engine::Engine::Open(copy->get(), test::ShippedConfig(), &rig.clock);
  REQUIRE_OK(opened);
  CHECK(States(**opened, {"SS-1"}) == States(*rig.engine, {"SS-1"}));
  // The command answers came with them: the lifecycle again is all duplicates.
  std::vector<engine::Answer> answers;
  REQUIRE_OK((*opened)->Apply(Lifecycle("SS-1"), &answers));
  for (const auto& a : answers) CHECK(a.kind == engine::Answer::Kind::kDuplicate);
  // And so did the bodies they are bound to: an id reused is still refused.
  std::vector<v1::Command> reused = {Lifecycle("SS-1")[2]};
  reused[0].set_at_micros(reused[0].at_micros() + 1);
  REQUIRE_OK((*opened)->Apply(reused, &answers));
  CHECK(answers[0].status.IsConflict());
}

TEST_CASE("a state store without positions is rebuilt from the log", "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));
  rig.Apply(Lifecycle("SS-2"));
  const auto before = States(*rig.engine, {"SS-1", "SS-2"});
  // What a store written by an older casegrid looks like: state, no positions;
  // and a state that no longer matches the log, which the rebuild replaces.
  auto positions = rig.log->local_store().OpenDb("engine_positions");
  auto case_state = rig.log->local_store().OpenDb("case_state");
  REQUIRE_OK(positions);
  REQUIRE_OK(case_state);
  REQUIRE_OK(rig.log->local_store().RunWrite([&](lmdb::Txn& txn) -> Status {
    CASEGRID_RETURN_IF_ERROR(txn.Drop(*positions));
    return txn.Put(*case_state, "SS-1", "not a case state");
  }));
  auto opened = engine::Engine::Open(rig.log.get(), test::ShippedConfig(), &rig.clock);
  REQUIRE_OK(opened);
  CHECK(States(**opened, {"SS-1", "SS-2"}) == before);
}

TEST_CASE("a store that does not chain with the log is refused, naming the event", "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));
  // Append SS-1's first event again after its last: its chain link is wrong.
  std::string first;
  REQUIRE_OK(rig.log->ReadCase("SS-1", [&](uint64_t, std::string_view r) {
    first.assign(r);
    return false;
  }));
  const uint64_t position = rig.Events() + 1;
  REQUIRE_OK(rig.log->RunBatch([&](events::Batch& b) {
    return b.Append("SS-1", rig.engine->CaseState("SS-1")->last_seq() + 1, first);
  }));
  auto opened = engine::Engine::Open(rig.log.get(), test::ShippedConfig(), &rig.clock);
  REQUIRE_FALSE(opened.ok());
  INFO(opened.status().ToString());
  CHECK(opened.status().code() == Status::Code::kCorruption);
  CHECK(opened.status().ToString().find("position " + std::to_string(position)) !=
        std::string::npos);
}

}  // namespace
TEST_CASE("a damaged command answer is Corruption naming the id, never a duplicate", "[state]") {
  JournalRig rig;
  rig.Apply(Lifecycle("SS-1"));
  auto commands = rig.log->local_store().OpenDb("commands");
  REQUIRE_OK(commands);
  const v1::Command intake = Lifecycle("SS-1")[0];
  for (const char* damaged : {"", "x", "3 zz SS-1", "3 0a", "3 0a0b"}) {
    REQUIRE_OK(rig.log->local_store().RunWrite(
        [&](lmdb::Txn& txn) { return txn.Put(*commands, intake.id(), damaged); }));
    engine::CommandAnswer answer;
    Status s = rig.engine->state_store().ReadCommandAnswer(intake.id(), &answer);
    INFO(damaged);
    CHECK(s.IsCorruption());
    CHECK(s.message() ==
          "commands: the answer stored for command id " + intake.id() + " is not an answer");
    std::vector<engine::Answer> answers;
    CHECK(rig.engine->Apply(std::span(&intake, 1), &answers).IsCorruption());
  }
  // An answer stored before commands had digests: its version, nothing to
  // compare a body with, so any resend under that id is a duplicate.
  REQUIRE_OK(rig.log->local_store().RunWrite(
      [&](lmdb::Txn& txn) { return txn.Put(*commands, intake.id(), "7"); }));
  engine::CommandAnswer old;
  REQUIRE_OK(rig.engine->state_store().ReadCommandAnswer(intake.id(), &old));
  CHECK(old.case_seq == 7);
  CHECK(old.digest.empty());
  v1::Command changed = intake;
  changed.set_at_micros(intake.at_micros() + 1);
  std::vector<engine::Answer> answers;
  REQUIRE_OK(rig.engine->Apply(std::span(&changed, 1), &answers));
  CHECK(answers[0].kind == engine::Answer::Kind::kDuplicate);
  CHECK(answers[0].case_seq == 7);
}

// verify's second half (engine/verify.h): a store that disagrees with the
// log is named, whichever table was damaged.
TEST_CASE("verify finds a state store that disagrees with the log, naming what", "[state]") {
  struct Damage {
    const char* what;
    std::function<Status(lmdb::Txn&, MDB_dbi states, MDB_dbi commands, MDB_dbi deadlines)> apply;
    const char* expected;
  };
  const v1::Command intake = Lifecycle("SS-1")[0];
  // SS-1's stored state, changed by `change`, put under its (new) case id.
  auto edit_ss1 = [](lmdb::Txn& txn, MDB_dbi states,
                     const std::function<void(v1::CaseState*)>& change) -> Status {
    std::string_view v;
    CASEGRID_RETURN_IF_ERROR(txn.Get(states, "SS-1", &v));
    v1::CaseState s;
    if (!s.ParseFromArray(v.data(), static_cast<int>(v.size()))) return Status::Corruption("");
    change(&s);
    return txn.Put(states, s.case_id(), s.SerializeAsString());
  };
  const std::vector<Damage> damages = {
      {"a state edited",
       [&](lmdb::Txn& txn, MDB_dbi states, MDB_dbi, MDB_dbi) {
         return edit_ss1(txn, states, [](v1::CaseState* s) { s->set_unit("371302-999"); });
       },
       "state store: the state of case SS-1 is not the fold of its events"},
      {"a state of a case the log does not have",
       [&](lmdb::Txn& txn, MDB_dbi states, MDB_dbi, MDB_dbi) {
         return edit_ss1(txn, states, [](v1::CaseState* s) { s->set_case_id("SS-0"); });
       },
       "state store: case SS-0 has a state but no events in the log"},
      {"a state deleted",
       [](lmdb::Txn& txn, MDB_dbi states, MDB_dbi, MDB_dbi) { return txn.Del(states, "SS-2"); },
       "state store: states of 1 cases, but the log has 2"},
      {"an answer deleted",
       [&](lmdb::Txn& txn, MDB_dbi, MDB_dbi commands, MDB_dbi) {
         return txn.Del(commands, intake.id());
       },
       "has events but no answer"},
      {"an answer moved to another version",
       [&](lmdb::Txn& txn, MDB_dbi, MDB_dbi commands, MDB_dbi) -> Status {
         std::string_view v;
         CASEGRID_RETURN_IF_ERROR(txn.Get(commands, intake.id(), &v));
         std::string moved(v);
         moved[0] = moved[0] == '9' ? '8' : '9';
         return txn.Put(commands, intake.id(), moved);
       },
       "is not what its events say"},
      {"an answer for a command the log does not have",
       [](lmdb::Txn& txn, MDB_dbi, MDB_dbi commands, MDB_dbi) {
         return txn.Put(commands, "never-sent", "1");
       },
       "command answers, but the log's events name"},
      {"a deadline index entry deleted",
       [](lmdb::Txn& txn, MDB_dbi, MDB_dbi, MDB_dbi deadlines) -> Status {
         CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, deadlines));
         if (!cur->First()) return Status::NotFound("no deadline");
         return txn.Del(deadlines, std::string(cur->key()));
       },
       "missing from the deadline index"},
      {"a deadline index entry added",
       [](lmdb::Txn& txn, MDB_dbi, MDB_dbi, MDB_dbi deadlines) {
         return txn.Put(deadlines, codec::DeadlineKey(42, "SS-2", "contact"), {});
       },
       "the deadline index has contact of case SS-2 firing at 42"},
  };
  for (const Damage& d : damages) {
    INFO(d.what);
    JournalRig rig;
    auto cmds = Lifecycle("SS-1");
    cmds.resize(2);  // SS-1 intake and dispatch: deadlines open
    rig.Apply(cmds);
    rig.Apply(Lifecycle("SS-2"));
    REQUIRE_OK(rig.engine->Flush());  // the store as a clean stop leaves it
    auto report = engine::VerifyLog(*rig.log);
    REQUIRE_OK(report);
    REQUIRE(report->first_problem.ok());
    auto clean = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
    REQUIRE_OK(clean);
    REQUIRE(clean->checked);
    REQUIRE(clean->first_problem.ok());
    CHECK(clean->open_deadlines > 0);

    auto& env = rig.log->local_store();
    auto states = env.OpenDb("case_state");
    auto commands = env.OpenDb("commands");
    auto deadlines = env.OpenDb("deadlines");
    REQUIRE_OK(states);
    REQUIRE_OK(commands);
    REQUIRE_OK(deadlines);
    REQUIRE_OK(
        env.RunWrite([&](lmdb::Txn& txn) { return d.apply(txn, *states, *commands, *deadlines); }));
    auto damaged = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
    REQUIRE_OK(damaged);
    INFO(damaged->first_problem.ToString());
    CHECK(damaged->first_problem.IsCorruption());
    CHECK_THAT(damaged->first_problem.message(), Catch::Matchers::Contains(d.expected));
  }
}

TEST_CASE("a state store written to while verify read the log is not compared, nor called damaged",
          "[engine][verify]") {
  JournalRig rig;
  rig.Apply(Lifecycle("LS-1"));
  REQUIRE_OK(rig.engine->Flush());
  auto report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.ok());
  // A writer moves the log and the store on after the walk began.
  rig.Apply(Lifecycle("LS-2"));
  REQUIRE_OK(rig.engine->Flush());
  auto checked = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
  REQUIRE_OK(checked);
  CHECK(checked->first_problem.ok());
  CHECK_FALSE(checked->checked);
  CHECK_THAT(checked->skipped_why, Catch::Contains("written to meanwhile; run verify again"));
  // Read again, it compares, and agrees.
  report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  checked = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
  REQUIRE_OK(checked);
  CHECK(checked->checked);
  CHECK(checked->first_problem.ok());
}

}  // namespace casegrid
