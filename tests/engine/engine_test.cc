// The engine over a real journal: group commit, idempotency, rejection in a
// batch, deadlines by watermark and tick, history replays to the same events.
#include <algorithm>

#include "engine/verify.h"
#include "events/log.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::Command;

namespace {

struct Rig : JournalRig {
  uint64_t LastSeq() { return Events(); }
  std::string AllRecords() {
    std::string all;
    REQUIRE_OK(events::ScanAll(*log, [&](uint64_t, std::string_view r) {
      all.append(r);
      return true;
    }));
    return all;
  }
};

}  // namespace

TEST_CASE("a command id applied before is answered duplicate and writes nothing", "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  auto first = rig.Apply(cmds);
  for (const auto& a : first) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  const uint64_t events = rig.LastSeq();
  auto again = rig.Apply(cmds);
  for (const auto& a : again) REQUIRE(a.kind == engine::Answer::Kind::kDuplicate);
  REQUIRE(again[5].case_seq == first[5].case_seq);
  REQUIRE(rig.LastSeq() == events);
}

TEST_CASE("a command id sent again with another body is a conflict, not a duplicate", "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  const auto first = rig.Apply(cmds);
  for (const auto& a : first) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  const uint64_t events = rig.LastSeq();
  // The same id: on a new case; at another time; by another actor.
  std::vector<Command> reused(3, cmds[0]);
  reused[0].set_case_id("LS-2");
  reused[1].set_at_micros(cmds[0].at_micros() + 1);
  reused[2].mutable_actor()->set_user("someone-else");
  auto answers = rig.Apply(reused);
  for (const auto& a : answers) {
    REQUIRE(a.kind == engine::Answer::Kind::kRejected);
    CHECK(a.status.IsConflict());
    CHECK(a.status.message() == "command id \"" + cmds[0].id() +
                                    "\" was first used for another command, on case LS-1 (its "
                                    "version " +
                                    std::to_string(first[0].case_seq) +
                                    " then); give this command a new id");
  }
  CHECK(rig.LastSeq() == events);
  CHECK(rig.engine->CaseState("LS-2").status().IsNotFound());
  // The very same body again is still a resend.
  CHECK(rig.Apply({cmds[0]})[0].kind == engine::Answer::Kind::kDuplicate);
  // The digest is on the command's first event, and only there.
  std::vector<v1::Event> written;
  REQUIRE_OK(rig.log->ReadCase("LS-1", [&](uint64_t, std::string_view r) {
    written.emplace_back();
    REQUIRE(written.back().ParseFromArray(r.data(), static_cast<int>(r.size())));
    return true;
  }));
  CHECK(written[0].command_digest() == engine::CommandDigest(cmds[0]));
  CHECK(written[0].command_digest().size() == 16);
  for (size_t i = 1; i < written.size(); ++i) {
    CHECK(written[i].command_digest().empty() ==
          (written[i].correlation_id() == written[i - 1].correlation_id()));
  }
}

TEST_CASE(
    "digests given with the commands (the decoder's) are recorded and checked as the "
    "engine's own",
    "[engine]") {
  Rig with, without;
  const auto cmds = Lifecycle("LS-1");
  std::vector<std::string> digests;
  for (const Command& c : cmds) digests.push_back(engine::CommandDigest(c));
  std::vector<engine::Answer> answers;
  REQUIRE_OK(with.engine->Apply(cmds, &answers, nullptr, {.digests = digests}));
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  without.Apply(cmds);
  auto digests_of = [](Rig& rig) {
    std::vector<std::string> out;
    REQUIRE_OK(rig.log->ReadCase("LS-1", [&](uint64_t, std::string_view r) {
      v1::Event e;
      REQUIRE(e.ParseFromArray(r.data(), static_cast<int>(r.size())));
      out.push_back(e.command_digest());
      return true;
    }));
    return out;
  };
  CHECK(digests_of(with) == digests_of(without));
  // A resend with its digest is a duplicate; another body under the id, with
  // its own digest, a conflict.
  std::vector<Command> resend = {cmds[0]};
  REQUIRE_OK(with.engine->Apply(resend, &answers, nullptr, {.digests = {&digests[0], 1}}));
  CHECK(answers[0].kind == engine::Answer::Kind::kDuplicate);
  resend[0].set_at_micros(cmds[0].at_micros() + 1);
  const std::string other = engine::CommandDigest(resend[0]);
  REQUIRE_OK(with.engine->Apply(resend, &answers, nullptr, {.digests = {&other, 1}}));
  CHECK(answers[0].status.IsConflict());
}

TEST_CASE("a command's digest covers everything but its id", "[engine]") {
  const Command base = Lifecycle("LS-1")[1];
  Command renamed = base;
  renamed.set_id("another-id");
  CHECK(engine::CommandDigest(renamed) == engine::CommandDigest(base));
  Command no_id = base;
  no_id.clear_id();
  CHECK(engine::CommandDigest(no_id) == engine::CommandDigest(base));
  Command changed = base;
  (*changed.mutable_data()->mutable_fields())["note"].set_string_value("x");
  CHECK(engine::CommandDigest(changed) != engine::CommandDigest(base));
  changed = base;
  changed.set_has_expect(true);
  CHECK(engine::CommandDigest(changed) != engine::CommandDigest(base));
}

TEST_CASE("a rejected command in a batch writes nothing and the rest of the batch applies",
          "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  cmds.insert(cmds.begin() + 2, Cmd("LS-1", "plan", UnitActor(kStation),
                                    "2026-09-01T10:30:00+08:00", "{\"plan\":\"p\"}", "bad-1"));
  auto answers = rig.Apply(cmds);
  REQUIRE(answers[2].kind == engine::Answer::Kind::kRejected);
  REQUIRE(answers[2].status.message().find("not allowed in state \"dispatched\"") !=
          std::string::npos);
  for (size_t i : {0, 1, 3, 4, 5, 6}) REQUIRE(answers[i].kind == engine::Answer::Kind::kAccepted);
  engine::CommandAnswer answer;
  REQUIRE(rig.engine->state_store().ReadCommandAnswer("bad-1", &answer).IsNotFound());
  REQUIRE(rig.engine->CaseState("LS-1")->state() == "closed");
}

TEST_CASE("a command far in the future first fires the deadlines it passes", "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  // Taken in and dispatched on Tuesday 09-01: contact due the end of 09-02,
  // the answer the end of 09-08 (the 5th working day after the visit).
  rig.Apply({cmds[0], cmds[1]});
  auto other =
      rig.Apply({Cmd("LS-2", "intake", kWindow, "2026-09-09T09:00:00+08:00", IntakeData())});
  REQUIRE(other[0].kind == engine::Answer::Kind::kAccepted);
  auto state = rig.engine->CaseState("LS-1");
  REQUIRE_OK(state);
  // The contact missed at the village took the case to the town, late; the
  // answer missed there took it to the district: both passed before 09-09
  // 09:00.
  REQUIRE(state->unit() == kDistrict);
  REQUIRE(state->escalated_from_size() == 2);
  REQUIRE(state->breached_any());
}

TEST_CASE("tick turns every deadline due by then into events, once", "[engine]") {
  Rig rig;
  rig.Apply({Lifecycle("LS-1")[0]});
  auto none = rig.engine->Tick(At("2026-09-01T12:00:00+08:00"));
  REQUIRE_OK(none);
  REQUIRE(none->events == 0);
  auto fired = rig.engine->Tick(At("2026-09-02T00:00:00+08:00"));
  REQUIRE_OK(fired);
  REQUIRE(fired->events == 1);  // dispatch breached: recorded, the centre owns it
  auto again = rig.engine->Tick(At("2026-09-03T00:00:00+08:00"));
  REQUIRE_OK(again);
  REQUIRE(again->events == 0);
}

TEST_CASE("importing the same history twice gives byte-identical journals", "[engine]") {
  Rig a, b;
  std::vector<Command> history;
  for (int i = 0; i < 20; ++i) {
    auto l = Lifecycle("LS-" + std::to_string(i));
    if (i % 3 == 0) l.resize(2);  // some never contacted: their deadlines fire
    history.insert(history.end(), l.begin(), l.end());
  }
  history.push_back(Cmd("LS-X", "intake", kWindow, "2026-09-20T09:00:00+08:00", IntakeData()));
  a.Apply(history);
  for (size_t i = 0; i < history.size(); i += 7) {
    b.Apply(
        std::vector<Command>(history.begin() + static_cast<long>(i),
                             history.begin() + static_cast<long>(std::min(i + 7, history.size()))));
  }
  REQUIRE(a.LastSeq() > 100);
  REQUIRE(a.AllRecords() == b.AllRecords());
}

TEST_CASE("read models built incrementally equal a rebuild byte for byte",
          "[engine][projections]") {
  Rig rig;
  auto models = projections::ReadModels::Open(rig.dir.Sub("projections"));
  REQUIRE_OK(models);
  for (int i = 0; i < 30; ++i) {
    auto l = Lifecycle("LS-" + std::to_string(i));
    if (i % 4 == 0) l.resize(3);
    rig.Apply(l);
    if (i % 7 == 0) REQUIRE_OK((*models)->CatchUp(*rig.log));
  }
  REQUIRE_OK(rig.engine->Tick(At("2026-09-30T00:00:00+08:00")));
  REQUIRE_OK((*models)->CatchUp(*rig.log));
  auto incremental = (*models)->Dump();
  REQUIRE_OK(incremental);
  auto rebuilt = projections::ReadModels::Open(rig.dir.Sub("rebuilt"));
  REQUIRE_OK(rebuilt);
  REQUIRE_OK((*rebuilt)->Rebuild(*rig.log));
  auto fresh = (*rebuilt)->Dump();
  REQUIRE_OK(fresh);
  REQUIRE(*incremental == *fresh);
  REQUIRE_OK((*models)->Rebuild(*rig.log));
  REQUIRE(*(*models)->Dump() == *fresh);
}

TEST_CASE("nobody but the ticker may breach a deadline", "[engine]") {
  Rig rig;
  rig.Apply({Lifecycle("LS-1")[0]});
  auto answers = rig.Apply({Cmd("LS-1", "breach", "x:system:", "2026-09-01T10:00:00+08:00",
                                "{\"deadline\":\"dispatch\"}")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  REQUIRE(answers[0].status.message() ==
          "action \"breach\" is reserved for the engine's deadline ticker");
  REQUIRE(rig.engine->CaseState("LS-1")->last_seq() == 2);
}

TEST_CASE("a rejected command does not move time: no deadline fires for it", "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  rig.Apply({cmds[0], cmds[1]});
  const uint64_t before = rig.LastSeq();
  auto answers = rig.Apply({Cmd("LS-1", "fly", kCentre, "2026-11-01T00:00:00+08:00")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  REQUIRE(rig.LastSeq() == before);
  REQUIRE(rig.engine->CaseState("LS-1")->unit() == kStation);
}

TEST_CASE("a command is decided on the case as its own passed deadlines left it", "[engine]") {
  Rig rig;
  auto cmds = Lifecycle("LS-1");
  rig.Apply({cmds[0], cmds[1]});  // contact due end of 09-02 at the village
  // On 09-03 the village station is no longer responsible: the case went to its town.
  auto late = rig.Apply({Cmd("LS-1", "contact", UnitActor(kStation), "2026-09-03T10:00:00+08:00")});
  REQUIRE(late[0].kind == engine::Answer::Kind::kRejected);
  REQUIRE(late[0].status.message().find("not the case's responsible unit \"371302-001\"") !=
          std::string::npos);
  auto town = rig.Apply({Cmd("LS-1", "contact", UnitActor(kTown), "2026-09-03T10:00:00+08:00")});
  REQUIRE(town[0].kind == engine::Answer::Kind::kAccepted);
}

TEST_CASE("a command dated in the future is rejected", "[engine]") {
  Rig rig;
  auto answers =
      rig.Apply({Cmd("LS-1", "intake", kWindow, "2027-06-01T09:00:00+08:00", IntakeData())});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  REQUIRE(answers[0].status.message().find("is in the future") != std::string::npos);
}

TEST_CASE("an intake names its workflow, the case keeps it and deadlines fire by its rules",
          "[engine]") {
  Rig rig;
  auto intake = HotlineIntake("H-1", "2026-09-01T09:00:00+08:00");
  intake.set_id("h-1");
  auto unknown = intake;
  unknown.set_case_id("H-2");
  unknown.set_id("h-2");
  unknown.set_workflow("hotline-99999");
  auto dispatch = Cmd("H-1", "dispatch", kCentre, "2026-09-01T11:00:00+08:00", "{}", "h-3");
  auto other = Cmd("H-1", "urge", kCentre, "2026-09-01T11:30:00+08:00", R"({"note":"x"})", "h-4");
  other.set_workflow("petition-125");
  auto answers = rig.Apply({intake, unknown, dispatch, other});
  CHECK(answers[0].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[1].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[1].status.message() == "no workflow \"hotline-99999\"");
  CHECK(answers[2].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[3].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[3].status.message() ==
        "workflow: case H-1 runs on hotline-12345, not petition-125");
  auto state = rig.engine->CaseState("H-1");
  REQUIRE_OK(state);
  CHECK(state->workflow_id() == "hotline-12345");
  CHECK(state->workflow_version() == 1);
  // Not signed by 14:30: the ticker warns the station at 13:30 (1 working
  // hour left), then urges it automatically.
  auto fired = rig.engine->Tick(At("2026-09-01T15:00:00+08:00"));
  REQUIRE_OK(fired);
  CHECK(fired->events == 3);  // warned, breached, urged
  std::vector<std::string> payloads;
  REQUIRE_OK(engine::ReplayCase(*rig.log, "H-1",
                                [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState&) {
                                  payloads.emplace_back(engine::PayloadName(e));
                                }));
  CHECK(payloads.back() == "urged");
}

TEST_CASE(
    "a case taken in as complex and dispatched as simple is simple for the engine and the "
    "read models alike",
    "[engine][projections]") {
  JournalRig rig;
  auto answers = rig.Apply({test::Cmd("CX-1", "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                                      test::IntakeData(/*complex=*/true)),
                            test::Cmd("CX-1", "dispatch", test::kCentre,
                                      "2026-09-01T10:00:00+08:00", "{\"complex\":false}")});
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  auto state = rig.engine->CaseState("CX-1");
  REQUIRE_OK(state);
  CHECK_FALSE(state->complex());
  // A simple case answers within 5 working days: no plan, no 30-day answer.
  std::vector<std::string> names;
  for (const auto& d : state->deadlines()) names.push_back(d.name());
  CHECK(std::find(names.begin(), names.end(), "response") != names.end());
  CHECK(std::find(names.begin(), names.end(), "plan") == names.end());
  CHECK(std::find(names.begin(), names.end(), "final_response") == names.end());
  auto models = projections::ReadModels::Open(rig.dir.Sub("projections"));
  REQUIRE_OK(models);
  REQUIRE_OK((*models)->CatchUp(*rig.log));
  auto view = (*models)->GetCase("CX-1");
  REQUIRE_OK(view);
  CHECK(view->facts().DebugString() == state->DebugString());
  CHECK_FALSE(view->facts().complex());
}

TEST_CASE("a failed journal commit stops intake until reopened, and writes nothing of its batch",
          "[engine][fault]") {
  test::TempDir dir;
  int commits = 0;
  bool failing = false;
  events::JournalOptions jo;
  jo.fail_commit = [&](const std::string&) {
    ++commits;
    return failing ? Status::IOError("injected: disk write failed") : Status::Ok();
  };
  const auto first = Lifecycle("FC-1"), second = Lifecycle("FC-2");
  uint64_t events_before = 0;
  {
    EngineRig rig;
    rig.Open(events::OpenJournal(dir.Sub("journal"), jo));
    rig.Apply({first[0], first[1]});
    events_before = rig.log->Stats()->events;
    failing = true;
    std::vector<engine::Answer> answers;
    const std::vector<v1::Command> batch = {first[2], second[0]}, alone = {second[0]};
    Status s = rig.engine->Apply(batch, &answers);
    CHECK(s.code() == Status::Code::kFatal);
    CHECK(test::Contains(s.ToString(), "injected: disk write failed"));
    // The latch: later batches are refused without touching the disk again.
    failing = false;
    const int commits_at_latch = commits;
    Status again = rig.engine->Apply(alone, &answers);
    CHECK(again.code() == Status::Code::kFatal);
    CHECK(commits == commits_at_latch);
    CHECK(rig.log->Stats()->events == events_before);
  }
  // Reopened: nothing of the failed batch is there, and it applies afresh.
  EngineRig rig;
  rig.Open(events::OpenJournal(dir.Sub("journal"), {}));
  CHECK(rig.log->Stats()->events == events_before);
  engine::CommandAnswer answer;
  CHECK(rig.engine->state_store().ReadCommandAnswer(first[2].id(), &answer).IsNotFound());
  const auto answers = rig.Apply({first[1], first[2], second[0]});
  CHECK(answers[0].kind == engine::Answer::Kind::kDuplicate);
  CHECK(answers[1].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[2].kind == engine::Answer::Kind::kAccepted);
  auto report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
}

// ---- Deadline warnings through the engine's ticker and watermark ----

namespace {

// The payloads of a case's stored events, with the deadline's name for the
// deadline events ("deadline_warned response").
std::vector<std::string> Payloads(Rig& rig, const std::string& case_id) {
  std::vector<std::string> out;
  REQUIRE_OK(engine::ReplayCase(*rig.log, case_id,
                                [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState&) {
                                  std::string p(engine::PayloadName(e));
                                  if (e.has_deadline_warned())
                                    p += " " + e.deadline_warned().name();
                                  if (e.has_deadline_breached())
                                    p += " " + e.deadline_breached().name();
                                  out.push_back(p);
                                }));
  return out;
}

// A simple petition dispatched Wednesday 09-23 and contacted on 09-24: its
// response is due at the end of 10-08 (Mid-Autumn 09-25..27 and National
// Day 10-01..07 off) and warned at the end of 09-30.
void DispatchedBeforeNationalDay(Rig& rig) {
  auto answers =
      rig.Apply({Cmd("LS-1", "intake", kWindow, "2026-09-23T09:00:00+08:00", IntakeData()),
                 Cmd("LS-1", "dispatch", kCentre, "2026-09-23T10:00:00+08:00"),
                 Cmd("LS-1", "contact", UnitActor(kStation), "2026-09-24T10:00:00+08:00")});
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
}

}  // namespace

TEST_CASE("the ticker warns once at the warning time, then breaches at the due time",
          "[engine][warn]") {
  Rig rig;
  DispatchedBeforeNationalDay(rig);
  const int64_t warn = At("2026-09-30T23:59:59.999999+08:00");
  auto early = rig.engine->Tick(warn - 1);
  REQUIRE_OK(early);
  REQUIRE(early->events == 0);
  auto fired = rig.engine->Tick(warn);
  REQUIRE_OK(fired);
  REQUIRE(fired->events == 1);
  REQUIRE(fired->deadline_events == 1);
  auto state = rig.engine->CaseState("LS-1");
  REQUIRE_OK(state);
  REQUIRE(state->deadlines_size() == 1);
  CHECK(state->deadlines(0).warned());
  CHECK(state->deadlines(0).warned_micros() == warn);
  CHECK(state->last_micros() == warn);
  // Nothing more until it is due.
  auto quiet = rig.engine->Tick(At("2026-10-08T23:00:00+08:00"));
  REQUIRE_OK(quiet);
  REQUIRE(quiet->events == 0);
  // Due: breached and escalated to the town, which takes the case late
  // with the promise where the visit put it (petition-125 v2, rearm:
  // remaining): nothing armed again, nothing more to warn of.
  REQUIRE_OK(rig.engine->Tick(At("2026-10-09T00:00:00+08:00")));
  state = rig.engine->CaseState("LS-1");
  REQUIRE(state->unit() == kTown);
  REQUIRE(state->deadlines_size() == 1);
  REQUIRE(state->deadlines(0).due_micros() == At("2026-10-08T23:59:59.999999+08:00"));
  REQUIRE(state->deadlines(0).breached());
  auto later = rig.engine->Tick(At("2026-10-20T00:00:00+08:00"));
  REQUIRE_OK(later);
  REQUIRE(later->events == 0);
  const std::vector<std::string> expected = {"case_reported",
                                             "deadline_set",
                                             "case_dispatched",
                                             "deadline_met",
                                             "deadline_set",
                                             "deadline_set",
                                             "petitioner_contacted",
                                             "deadline_met",
                                             "deadline_warned response",
                                             "deadline_breached response",
                                             "escalated"};
  REQUIRE(Payloads(rig, "LS-1") == expected);
}

TEST_CASE("a command after the warning time first writes the warning, then its own events",
          "[engine][warn]") {
  Rig rig;
  DispatchedBeforeNationalDay(rig);
  auto answers = rig.Apply({Cmd("LS-1", "respond", UnitActor(kStation), "2026-10-08T09:00:00+08:00",
                                R"({"answer":"paid"})")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  const auto payloads = Payloads(rig, "LS-1");
  REQUIRE(payloads.size() == 11);
  CHECK(payloads[8] == "deadline_warned response");
  CHECK(payloads[9] == "responded");
  CHECK(payloads[10] == "deadline_met");
}

TEST_CASE("a deadline met before its warning time is never warned by the ticker",
          "[engine][warn]") {
  Rig rig;
  rig.Apply(Lifecycle("LS-1"));  // the response is met on 09-03, its warning was 09-07
  REQUIRE_OK(rig.engine->Tick(At("2026-12-01T00:00:00+08:00")));
  const auto payloads = Payloads(rig, "LS-1");
  REQUIRE(payloads.size() > 6);
  REQUIRE(std::count(payloads.begin(), payloads.end(), "deadline_warned response") == 0);
}

TEST_CASE("nobody but the ticker may warn", "[engine][warn]") {
  Rig rig;
  DispatchedBeforeNationalDay(rig);
  auto answers = rig.Apply({Cmd("LS-1", "warn", "x:system:", "2026-09-26T10:00:00+08:00",
                                "{\"deadline\":\"response\"}")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  REQUIRE(answers[0].status.message() ==
          "action \"warn\" is reserved for the engine's deadline ticker");
}

TEST_CASE("poisoned text is refused at the engine's door, alone, and nothing later fails",
          "[engine][text]") {
  // Each of these once reached the store and bricked it (issue 13): a NUL in
  // a case id, GBK bytes in a user name, a 489-byte case id, data nested
  // deeper than any parser should recurse. They come in through the NDJSON
  // decoder or straight as commands (a worker's topic, `act`): the engine
  // checks them all the same.
  JournalRig rig;
  auto with = [](casegrid::v1::Command c, auto edit) {
    edit(c);
    return c;
  };
  const auto good = Cmd("T-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), "t1");
  std::string deep = "\"x\"";
  for (int i = 0; i < 70; ++i) deep = "[" + deep + "]";
  auto deep_cmd = Cmd("T-4", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), "t4");
  {
    google::protobuf::Value v;
    v.set_string_value("x");
    for (int i = 0; i < 70; ++i) {
      google::protobuf::Value outer;
      *outer.mutable_list_value()->add_values() = v;
      v = outer;
    }
    (*deep_cmd.mutable_data()->mutable_fields())["nested"] = v;
  }
  const std::vector<casegrid::v1::Command> batch = {
      with(good, [](auto& c) { c.set_case_id(std::string("T-\0x", 4)); }),
      with(good,
           [](auto& c) {
             c.set_case_id("T-2");
             c.mutable_actor()->set_user("\xD6\xD0\xCE\xC4");
           }),
      with(good, [](auto& c) { c.set_case_id(std::string(489, 'x')); }),
      deep_cmd,
      with(good,
           [](auto& c) {
             c.set_case_id("T-5");
             (*c.mutable_data()->mutable_fields())["summary"].set_string_value("\xC3\x28");
           }),
      good,
  };
  auto answers = rig.Apply(batch);
  REQUIRE(answers.size() == 6);
  CHECK(answers[0].status.message() == "case: control character U+0000 at offset 2");
  CHECK(answers[1].status.message() ==
        "actor.user: not valid UTF-8 (byte 0xD6 at offset 0; text must be UTF-8, not GBK)");
  CHECK(answers[2].status.message() == "case: 489 bytes, more than the 128 an identifier may have");
  std::string path = "data.nested";
  for (int i = 0; i < 64; ++i) path += "[]";
  CHECK(answers[3].status.message() == path + ": nested more than 64 levels deep");
  CHECK(answers[4].status.message() ==
        "data.summary: not valid UTF-8 (byte 0xC3 at offset 0; text must be UTF-8, not GBK)");
  for (int i = 0; i < 5; ++i) CHECK(answers[i].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[5].kind == engine::Answer::Kind::kAccepted);

  // The store answers every later read and write.
  REQUIRE(rig.Apply({Cmd("T-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00")})[0].kind ==
          engine::Answer::Kind::kAccepted);
  auto verified = engine::VerifyLog(*rig.log);
  REQUIRE_OK(verified);
  CHECK(verified->first_problem.ok());
  CHECK(verified->cases == 1);
  REQUIRE_OK(rig.engine->state_store().Stats());

  // The NDJSON door refuses a line nested too deep before it parses it.
  auto line = engine::ParseCommandJson("{\"case\":\"T-6\",\"data\":{\"a\":" + deep + "}}");
  REQUIRE_FALSE(line.ok());
  CHECK(line.status().message() == "line: nested more than 66 levels deep");
  std::string huge_nest(20000, '[');
  CHECK(engine::ParseCommandJson(huge_nest).status().message() ==
        "line: nested more than 66 levels deep");
  CHECK(engine::ParseCommandJson(std::string(engine::kMaxLineBytes + 1, ' ')).status().message() ==
        "line: 1048577 bytes, more than the 1048576 a command line may have");
}

TEST_CASE("a time before 2000 is refused, never replaced by the clock", "[engine][text]") {
  // 1970-01-01T08:00:00+08:00 is 0 micros, which inside a Command means
  // "no time given": it once became "now" and fired every pending deadline.
  auto zero = engine::ParseCommandJson(
      R"({"case":"T-1","action":"intake","at":"1970-01-01T08:00:00+08:00","actor":{"user":"w","role":"window"}})");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() ==
        "at: 1970-01-01T08:00:00+08:00 is before 2000-01-01T00:00:00+08:00, earlier than any "
        "time casegrid records");
  JournalRig rig;
  auto cmd = Cmd("T-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData());
  cmd.set_at_micros(At("1999-12-31T23:59:59+08:00"));
  auto answers = rig.Apply({cmd});
  CHECK(answers[0].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[0].status.message() ==
        "at: 1999-12-31T23:59:59+08:00 is before 2000-01-01T00:00:00+08:00, earlier than any "
        "time casegrid records");
  // From 2000 on the time passes this check; the calendar then has its say.
  cmd.set_at_micros(At("2000-01-01T00:00:00+08:00"));
  const auto in_range = rig.Apply({cmd})[0];
  CHECK(in_range.status.message().rfind("deadline dispatch: ", 0) == 0);
}
