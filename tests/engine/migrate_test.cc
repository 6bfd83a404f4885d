// Migration of open cases (`Engine::Migrate`): a migrated event per case, its
// open deadlines re-armed by the new version's rules from their own anchors,
// every problem named before anything is written, a dry run that writes
// nothing, and a log that still verifies.
#include "engine/migration.h"
#include "engine/verify.h"
#include "events/log.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::WorkflowDefinition;

namespace {

struct Rig : JournalRig {
  Rig() { clock.SetMicros(At("2026-09-02T09:00:00+08:00")); }  // migrations happen now
};

// hotline-12345 v2: "signed" is called "accepted", and the answer is due in 4
// working days.
WorkflowDefinition HotlineV2() {
  WorkflowDefinition def = (*ShippedConfig().workflows->Latest("hotline-12345"))->proto();
  def.set_version(2);
  for (auto& s : *def.mutable_states()) {
    if (s.name() == "signed") s.set_name("accepted");
  }
  for (auto& a : *def.mutable_actions()) {
    for (auto& f : *a.mutable_from()) {
      if (f == "signed") f = "accepted";
    }
    if (a.to() == "signed") a.set_to("accepted");
  }
  for (auto& d : *def.mutable_deadlines()) {
    if (d.name() == "answer") d.set_working_days(4);
  }
  return def;
}

// H-1 received, H-2 signed (answer due 2026-09-08), H-3 closed.
void ThreeCases(Rig& rig) {
  const std::string unit = UnitActor(kStation);
  auto answers =
      rig.Apply({HotlineIntake("H-1", "2026-09-01T09:00:00+08:00"),
                 HotlineIntake("H-2", "2026-09-01T09:00:00+08:00"),
                 HotlineIntake("H-3", "2026-09-01T09:00:00+08:00"),
                 Cmd("H-2", "dispatch", kCentre, "2026-09-01T10:00:00+08:00"),
                 Cmd("H-2", "sign", unit, "2026-09-01T10:30:00+08:00"),
                 Cmd("H-3", "dispatch", kCentre, "2026-09-01T10:00:00+08:00"),
                 Cmd("H-3", "sign", unit, "2026-09-01T10:30:00+08:00"),
                 Cmd("H-3", "answer", unit, "2026-09-01T11:00:00+08:00", R"({"answer":"a"})"),
                 Cmd("H-3", "callback", "h01:hotline:371302", "2026-09-01T11:30:00+08:00",
                     R"({"satisfied":true})")});
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
}

// A case's events as replayed, "ACTION:PAYLOAD" each.
std::vector<std::string> Steps(Rig& rig, const std::string& case_id) {
  std::vector<std::string> steps;
  REQUIRE_OK(engine::ReplayCase(
      *rig.log, case_id, [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState&) {
        steps.push_back(e.action() + ":" + std::string(engine::PayloadName(e)));
      }));
  return steps;
}

// H-2 (signed on v1) as the move to v2 leaves it: accepted, its answer due
// 4 working days after the sign day (was 5), from the same anchor.
void CheckH2Moved(Rig& rig) {
  auto h2 = rig.engine->CaseState("H-2");
  REQUIRE_OK(h2);
  CHECK(h2->workflow_version() == 2);
  CHECK(h2->state() == "accepted");
  REQUIRE(h2->deadlines_size() == 1);
  CHECK(h2->deadlines(0).due_micros() == At("2026-09-07T23:59:59.999999+08:00"));
  CHECK(h2->deadlines(0).anchor_action() == "sign");
}

engine::MigrationRequest Request(std::vector<std::string> cases) {
  engine::MigrationRequest r;
  r.workflow_id = "hotline-12345";
  r.from_version = 1;
  r.to_version = 2;
  r.case_ids = std::move(cases);
  r.change = RuleChangeBy("sup01", "rename signed, 4-day answers");
  return r;
}

}  // namespace

TEST_CASE("migrating moves open cases with a mapped state and recomputed deadlines", "[migrate]") {
  Rig rig;
  ThreeCases(rig);
  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"),
                             /*leave_stranded=*/true));
  auto request = Request({"H-1", "H-2"});
  request.state_map = {{"signed", "accepted"}};
  auto moved = engine::Migrate(*rig.engine, request);
  REQUIRE_OK(moved);
  REQUIRE(moved->size() == 2);
  CHECK((*moved)[1].from_state == "signed");
  CHECK((*moved)[1].to_state == "accepted");
  CheckH2Moved(rig);
  CHECK(rig.engine->CaseState("H-1")->workflow_version() == 2);

  // Replay shows the migration; the chain verifies; the case goes on under v2.
  const std::vector<std::string> steps = Steps(rig, "H-2");
  CHECK(std::find(steps.begin(), steps.end(), "migrate:migrated") != steps.end());
  const auto& migrated = *std::find_if(moved->at(1).events.begin(), moved->at(1).events.end(),
                                       [](const auto& e) { return e.has_migrated(); });
  CHECK(migrated.migrated().from_version() == 1);
  const auto& rearmed = *std::find_if(moved->at(1).events.begin(), moved->at(1).events.end(),
                                      [](const auto& e) { return e.has_deadline_set(); });
  CHECK(rearmed.action() == "migrate");
  CHECK(rearmed.deadline_set().rule() ==
        "deadline answer: end of the 4th working day after the sign day");
  CHECK(rearmed.deadline_set().workflow_version() == 2);
  CHECK(migrated.migrated().reason() == "rename signed, 4-day answers");
  CHECK(migrated.actor().user() == "sup01");
  auto verified = engine::VerifyLog(*rig.log);
  REQUIRE_OK(verified);
  CHECK(verified->first_problem.ok());
  auto next = rig.Apply({Cmd("H-2", "answer", UnitActor(kStation), "2026-09-02T09:01:00+08:00",
                             R"({"answer":"done"})")});
  INFO(next[0].status.ToString());
  CHECK(next[0].kind == engine::Answer::Kind::kAccepted);
}

TEST_CASE("a migration with any problem names them all and writes nothing", "[migrate]") {
  Rig rig;
  ThreeCases(rig);
  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"),
                             /*leave_stranded=*/true));
  const uint64_t events = rig.Events();
  auto request = Request({"H-1", "H-2", "H-3", "H-9"});
  request.state_map = {{"received", "closed"}};
  auto refused = engine::Migrate(*rig.engine, request);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "nothing migrated:\n"
        "  --map received=closed: closed is a final state of v2 (migration moves open cases, it "
        "does not close them)\n"
        "  state signed has no mapping: v2 has no such state; add --map signed=NEW (case H-2)\n"
        "  case H-3 is closed: only open cases move\n"
        "  no case \"H-9\"");
  CHECK(rig.Events() == events);
  CHECK(rig.engine->CaseState("H-1")->workflow_version() == 1);

  SECTION("a dry run returns the plan and writes nothing") {
    auto dry = Request({"H-2"});
    dry.state_map = {{"signed", "accepted"}};
    dry.dry_run = true;
    auto plan = engine::Migrate(*rig.engine, dry);
    REQUIRE_OK(plan);
    REQUIRE(plan->size() == 1);
    CHECK(plan->at(0).to_state == "accepted");
    CHECK(rig.Events() == events);
    CHECK(rig.engine->CaseState("H-2")->workflow_version() == 1);
  }
}

TEST_CASE("a migrate command is checked, deduplicated and decided like any command", "[migrate]") {
  Rig rig;
  ThreeCases(rig);
  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"),
                             /*leave_stranded=*/true));
  const std::string sup = "s01:supervisor:371302";
  const char* at = "2026-09-02T09:00:00+08:00";
  const std::string order = R"({"from":1,"to":2,"map":{"signed":"accepted"},"reason":"r"})";
  auto answers = rig.Apply({
      Cmd("H-2", "migrate", UnitActor(kStation), at, order),
      Cmd("H-2", "migrate", sup, at, R"({"from":1,"to":2,"map":{"signed":"accepted"}})"),
      Cmd("H-2", "migrate", sup, at, R"({"from":1,"to":2,"reason":"r","when":"now"})"),
      Cmd("H-2", "migrate", sup, at, R"({"from":1,"to":"two","reason":"r"})"),
      Cmd("H-1", "migrate", sup, at, R"({"from":2,"to":1,"reason":"r"})"),
      Cmd("H-2", "migrate", sup, at, order, "M-1"),
      Cmd("H-2", "migrate", sup, at, order, "M-1"),
  });
  const std::vector<std::string> why = {
      "migrate: only a supervisor moves cases to another version (actor role \"unit\")",
      "data.reason: required (why the cases move)",
      "data.when: unknown field for action \"migrate\" (allowed: from, to, map, reason)",
      "data.to: expected a version number (1, 2, ...)",
      "case H-1 is on hotline-12345 v1, not hotline-12345 v2"};
  for (size_t i = 0; i < why.size(); ++i) {
    INFO(i);
    CHECK(answers[i].kind == engine::Answer::Kind::kRejected);
    CHECK(answers[i].status.message() == why[i]);
  }
  CHECK(answers[5].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[6].kind == engine::Answer::Kind::kDuplicate);
  CheckH2Moved(rig);
}

TEST_CASE("a migration first meets the deadlines due before it, as any command does", "[migrate]") {
  Rig rig;
  ThreeCases(rig);
  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"),
                             /*leave_stranded=*/true));
  // H-2's answer was due at the end of 2026-09-08; the cases move on the 10th.
  rig.clock.SetMicros(At("2026-09-10T09:00:00+08:00"));
  auto request = Request({"H-2"});
  request.state_map = {{"signed", "accepted"}};
  auto moved = engine::Migrate(*rig.engine, request);
  REQUIRE_OK(moved);
  // What the case met: answer breached (v1's rule, recorded before the move).
  REQUIRE(moved->at(0).before.deadlines_size() == 1);
  CHECK(moved->at(0).before.deadlines(0).breached());
  const std::vector<std::string> steps = Steps(rig, "H-2");
  const auto breached = std::find(steps.begin(), steps.end(), "breach:deadline_breached");
  const auto migrated = std::find(steps.begin(), steps.end(), "migrate:migrated");
  REQUIRE(breached != steps.end());
  REQUIRE(migrated != steps.end());
  CHECK(breached < migrated);
  // The breached deadline stays as it is: not re-armed, still overdue.
  CHECK(migrated + 1 == steps.end());
  auto h2 = rig.engine->CaseState("H-2");
  REQUIRE_OK(h2);
  REQUIRE(h2->deadlines_size() == 1);
  CHECK(h2->deadlines(0).breached());
  CHECK(h2->deadlines(0).due_micros() == At("2026-09-08T23:59:59.999999+08:00"));
}

TEST_CASE("a migration keeps the working days an extension granted", "[migrate]") {
  Rig rig;
  ThreeCases(rig);
  // H-2's answer (5 working days after the 09-01 sign day: 09-08) extended by 2: 09-10.
  const std::string unit = UnitActor(kStation);
  auto granted = rig.Apply({Cmd("H-2", "request_extension", unit, "2026-09-01T15:00:00+08:00",
                                R"({"working_days":2,"reason":"parts"})"),
                            Cmd("H-2", "grant_extension", kCentre, "2026-09-01T16:00:00+08:00",
                                R"({"deadline":"answer","working_days":2,"reason":"agreed"})")});
  for (const auto& a : granted) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  auto before = rig.engine->CaseState("H-2");
  REQUIRE_OK(before);
  REQUIRE(before->deadlines_size() == 1);
  CHECK(before->deadlines(0).due_micros() == At("2026-09-10T23:59:59.999999+08:00"));
  // The extension keeps the deadline's anchor (the sign) and adds its days.
  CHECK(before->deadlines(0).anchor_action() == "sign");
  CHECK(before->deadlines(0).extension_days() == 2);

  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"),
                             /*leave_stranded=*/true));
  auto request = Request({"H-2"});
  request.state_map = {{"signed", "accepted"}};
  auto moved = engine::Migrate(*rig.engine, request);
  REQUIRE_OK(moved);
  // v2: 4 working days after the sign day (09-07), plus the 2 granted: 09-09.
  auto h2 = rig.engine->CaseState("H-2");
  REQUIRE_OK(h2);
  REQUIRE(h2->deadlines_size() == 1);
  CHECK(h2->deadlines(0).due_micros() == At("2026-09-09T23:59:59.999999+08:00"));
  CHECK(h2->deadlines(0).extension_days() == 2);
  const auto& events = moved->at(0).events;
  const auto rearmed = std::find_if(events.begin(), events.end(),
                                    [](const auto& e) { return e.has_deadline_set(); });
  REQUIRE(rearmed != events.end());
  CHECK(rearmed->deadline_set().rule() ==
        "deadline answer: end of the 4th working day after the sign day, extended by 2 working "
        "days");
}

TEST_CASE("the engine refuses a publication that strands open cases, whoever calls it",
          "[migrate][publish]") {
  Rig rig;
  ThreeCases(rig);  // H-2 is open in `signed`, which v2 renames; H-3 is closed
  auto stranded = engine::StrandedBy(*rig.engine, HotlineV2());
  REQUIRE_OK(stranded);
  REQUIRE(stranded->size() == 1);
  CHECK((*stranded)[0].version == 1);
  CHECK((*stranded)[0].state == "signed");
  CHECK((*stranded)[0].cases == 1);

  const size_t chain_before = rig.engine->config().definition_events.size();
  auto refused =
      engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsConflict());
  CHECK(refused.status().message() ==
        "open cases would be stranded; publish with --no-migration to leave them on v1, then "
        "migrate them");
  CHECK(rig.engine->config().definition_events.size() == chain_before);
  CHECK_FALSE(rig.engine->config().workflows->Find("hotline-12345", 2).ok());

  // Once H-2 leaves `signed` (answered: the state v2 also has), nothing strands.
  REQUIRE(rig.Apply({Cmd("H-2", "answer", UnitActor(kStation), "2026-09-01T12:00:00+08:00",
                         R"({"answer":"a"})")})[0]
              .kind == engine::Answer::Kind::kAccepted);
  auto none = engine::StrandedBy(*rig.engine, HotlineV2());
  REQUIRE_OK(none);
  CHECK(none->empty());
  REQUIRE_OK(engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "v2")));
  CHECK(rig.engine->config().workflows->Find("hotline-12345", 2).ok());
}

// The shipped petition-125 v2 counts the 125 promise from the visit; a case
// opened on v1 (counted from the dispatch) moves to it with `migrate`, no
// state map, and its deadlines are counted again from its intake.
TEST_CASE("a petition-125 v1 case moves to v2 and its promise counts from the visit", "[migrate]") {
  Rig rig;
  rig.clock.SetMicros(At("2026-09-29T12:00:00+08:00"));  // the migration's time
  REQUIRE_OK(engine::Pin(*rig.engine, "petition-125", "village-affairs", 1,
                         RuleChangeBy("sup01", "labour disputes stay on v1 for now")));
  // Taken in on Thursday 24 September 2026, dispatched late on Tuesday 29.
  auto answers =
      rig.Apply({Cmd("LS-1", "intake", kWindow, "2026-09-24T09:00:00+08:00", IntakeData()),
                 Cmd("LS-1", "dispatch", kCentre, "2026-09-29T10:00:00+08:00")});
  for (const auto& a : answers) {
    INFO(a.status.ToString());
    REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  }
  auto due = [&](const std::string& name) -> int64_t {
    const Result<casegrid::v1::CaseState> state = rig.engine->CaseState("LS-1");
    if (!state.ok()) return -1;
    for (const auto& d : state->deadlines()) {
      if (d.name() == name) return d.due_micros();
    }
    return 0;
  };
  auto version = [&] {
    const Result<casegrid::v1::CaseState> state = rig.engine->CaseState("LS-1");
    return state.ok() ? state->workflow_version() : -1;
  };
  REQUIRE(version() == 1);
  // v1, from the dispatch day: contact the end of Wednesday 30 September;
  // the answer the 5th working day after it: 30 September, 8, 9, Saturday
  // 10 October (a make-up working day), Monday 12 October.
  CHECK(due("contact") == At("2026-09-30T23:59:59.999999+08:00"));
  CHECK(due("response") == At("2026-10-12T23:59:59.999999+08:00"));

  REQUIRE_OK(engine::Pin(*rig.engine, "petition-125", "village-affairs", 0,
                         RuleChangeBy("sup01", "the pin lifted")));
  engine::MigrationRequest request;
  request.workflow_id = "petition-125";
  request.from_version = 1;
  request.to_version = 2;
  request.case_ids = {"LS-1"};
  request.change = RuleChangeBy("sup01", "the 125 clock starts at the visit");
  auto moved = engine::Migrate(*rig.engine, request);
  REQUIRE_OK(moved);
  REQUIRE(moved->size() == 1);
  CHECK(version() == 2);
  // v2, from the visit day: the answer the end of Friday 9 October (28, 29,
  // 30 September, 8, 9 October); the contact the end of Monday 28 September,
  // already passed when the case moved.
  CHECK(due("response") == At("2026-10-09T23:59:59.999999+08:00"));
  bool contact_rearmed = false;
  for (const auto& e : moved->at(0).events) {
    if (!e.has_deadline_set()) continue;
    CHECK(e.deadline_set().workflow_version() == 2);
    CHECK(Contains(e.deadline_set().rule(), "after the intake day"));
    if (e.deadline_set().name() == "contact") {
      contact_rearmed = true;
      CHECK(e.deadline_set().due_micros() == At("2026-09-28T23:59:59.999999+08:00"));
    }
  }
  CHECK(contact_rearmed);
  auto verified = engine::VerifyLog(*rig.log);
  REQUIRE_OK(verified);
  CHECK(verified->first_problem.ok());
}
