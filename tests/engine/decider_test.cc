// The decider as a pure function: given a case's history, a command gives
// events or a rejection. No journal, no clock.
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

// Intake + dispatch (to the grid's station) at the given times.
void Open(DeciderHarness& h, const char* intake_at, const char* dispatch_at, bool complex = false) {
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, intake_at, IntakeData(complex))));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, dispatch_at)));
}

}  // namespace

TEST_CASE("intake on a working day arms the dispatch deadline for the end of that day",
          "[decider]") {
  DeciderHarness h;
  auto events = h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-30T10:00:00+08:00", IntakeData()));
  REQUIRE_OK(events);
  REQUIRE(Count(*events, "case_reported") == 1);
  REQUIRE(h.state().state() == "received");
  REQUIRE(h.state().station() == kStation);
  REQUIRE(h.Due("dispatch") == At("2026-09-30T23:59:59.999999+08:00"));
}

TEST_CASE("a citizen takes their own demand in online, and only online", "[decider]") {
  const char* citizen = "citizen:petitioner:";
  const std::string online =
      R"({"channel":"online","category":"noise","grid":"371302-001-001-01","summary":"s"})";
  {
    DeciderHarness h;
    auto events = h.Do(Cmd("N-1", "intake", citizen, "2026-09-30T10:00:00+08:00", online));
    REQUIRE_OK(events);
    REQUIRE(Count(*events, "case_reported") == 1);
    CHECK(events->front().case_reported().channel() == "online");
    CHECK(h.state().station() == kStation);
  }
  DeciderHarness h;
  std::string window = online;
  window.replace(window.find("online"), 6, "window");
  CHECK(Rejection(h, Cmd("N-2", "intake", citizen, "2026-09-30T10:00:00+08:00", window)) ==
        "data.channel: \"window\" is a staff channel; a citizen's own demand comes in online");
  // A citizen has no other door to open a case with: a grid incident is
  // staff's alone.
  DeciderHarness incidents("grid-incident");
  auto refused = incidents.Do(Cmd("N-3", "report", citizen, "2026-09-30T10:00:00+08:00", online));
  CHECK_FALSE(refused.ok());
}

TEST_CASE("a visitor served at the window ends the case served, meeting the centre's same day",
          "[decider][served]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-30T10:00:00+08:00", IntakeData())));
  auto events = h.Do(Cmd("LS-1", "serve", kWindow, "2026-09-30T10:20:00+08:00",
                         R"({"outcome":"legal_advice","note":"duty lawyer on the lease"})"));
  REQUIRE_OK(events);
  REQUIRE(Count(*events, "case_served") == 1);
  const auto& served = events->front().case_served();
  CHECK(served.outcome() == "legal_advice");
  CHECK(served.note() == "duty lawyer on the lease");
  CHECK(served.unit() == kDistrict);
  CHECK(Count(*events, "deadline_met") == 1);  // dispatch, the same day
  CHECK(h.state().state() == "served");
  CHECK(h.state().deadlines_size() == 0);
  CHECK(h.state().unit().empty());  // no unit was given a case
  // Nothing moves a served case on; an outcome the definition does not list
  // is refused, and so is serving without one.
  CHECK(Contains(Rejection(h, Cmd("LS-1", "dispatch", kCentre, "2026-09-30T11:00:00+08:00")),
                 "not allowed in state \"served\""));
  DeciderHarness other;
  REQUIRE_OK(other.Do(Cmd("LS-2", "intake", kWindow, "2026-09-30T10:00:00+08:00", IntakeData())));
  CHECK(Rejection(other, Cmd("LS-2", "serve", kWindow, "2026-09-30T10:20:00+08:00",
                             R"({"outcome":"rejected"})")) ==
        "data.outcome: \"rejected\" is not one of consultation, guidance, legal_advice");
  CHECK(Contains(Rejection(other, Cmd("LS-2", "serve", kWindow, "2026-09-30T10:20:00+08:00")),
                 "data.outcome: required"));
  // A unit does not serve at reception.
  CHECK_FALSE(other
                  .Do(Cmd("LS-2", "serve", UnitActor(kStation), "2026-09-30T10:20:00+08:00",
                          R"({"outcome":"consultation"})"))
                  .ok());
}

TEST_CASE("intake on a National Day holiday is due for dispatch on the next working day",
          "[decider]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-10-03T10:00:00+08:00", IntakeData())));
  REQUIRE(h.Due("dispatch") == At("2026-10-08T23:59:59.999999+08:00"));
}

TEST_CASE(
    "the 5-working-day response skips National Day but counts the make-up Saturday 2026-10-10",
    "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-30T09:00:00+08:00", "2026-09-30T11:00:00+08:00");
  REQUIRE(h.state().unit() == kStation);
  REQUIRE(h.Due("contact") == At("2026-10-08T23:59:59.999999+08:00"));
  REQUIRE(h.Due("response") == At("2026-10-13T23:59:59.999999+08:00"));
  REQUIRE(h.Due("plan") == -1);
  REQUIRE(h.Due("dispatch") == -1);
}

TEST_CASE("dispatch the day before Spring Festival 2026: contact is due on the make-up Saturday",
          "[decider]") {
  DeciderHarness h;
  Open(h, "2026-02-13T09:00:00+08:00", "2026-02-13T10:00:00+08:00");
  REQUIRE(h.Due("contact") == At("2026-02-14T23:59:59.999999+08:00"));
  REQUIRE(h.Due("response") == At("2026-02-27T23:59:59.999999+08:00"));
}

TEST_CASE(
    "a complex case has a 5-working-day plan and a final answer 30 calendar days after intake",
    "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-30T09:00:00+08:00", "2026-09-30T11:00:00+08:00", /*complex=*/true);
  REQUIRE(h.Due("plan") == At("2026-10-13T23:59:59.999999+08:00"));
  REQUIRE(h.Due("final_response") == At("2026-10-30T23:59:59.999999+08:00"));
  REQUIRE(h.Due("response") == -1);
}

TEST_CASE(
    "a deadline event says which rule of which definition set it, from which event, with which "
    "calendar",
    "[decider]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-30T09:00:00+08:00", IntakeData())));
  auto events = h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-30T11:00:00+08:00"));
  REQUIRE_OK(events);
  const casegrid::v1::DeadlineSet* contact = nullptr;
  for (const auto& e : *events) {
    if (e.has_deadline_set() && e.deadline_set().name() == "contact") contact = &e.deadline_set();
  }
  REQUIRE(contact != nullptr);
  REQUIRE(contact->workflow_id() == "petition-125");
  REQUIRE(contact->workflow_version() == 6);
  // Counted from the visit: the intake's event, not the dispatch's.
  REQUIRE(contact->anchor_event_id() == "LS-1/1");
  REQUIRE(contact->anchor_action() == "intake");
  REQUIRE(contact->rule().find("1st working day after the intake day") != std::string::npos);
  REQUIRE(contact->calendar().find("cn-mainland") != std::string::npos);
  REQUIRE(contact->owner_unit() == kStation);
}

TEST_CASE("a missed contact escalates village -> town -> district, then is only recorded",
          "[decider]") {
  // v1 arms the breached contact again for each level (rearm: fresh).
  DeciderHarness h("petition-125", 1);
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  auto first = h.Breach("contact");
  REQUIRE_OK(first);
  REQUIRE(Count(*first, "deadline_breached") == 1);
  REQUIRE(Count(*first, "escalated") == 1);
  REQUIRE(h.state().unit() == kTown);
  for (const auto& e : *first) {
    if (e.has_escalated()) {
      REQUIRE(e.escalated().from_level() == "village");
      REQUIRE(e.escalated().to_level() == "town");
      REQUIRE(e.escalated().notified_unit() == kTown);
    }
  }
  // Re-armed for the town: the first working day after the breach day (09-02).
  REQUIRE(h.Due("contact") == At("2026-09-03T23:59:59.999999+08:00"));
  auto second = h.Breach("contact");
  REQUIRE_OK(second);
  REQUIRE(h.state().unit() == kDistrict);
  auto third = h.Breach("contact");
  REQUIRE_OK(third);
  REQUIRE(Count(*third, "deadline_breached") == 1);
  REQUIRE(Count(*third, "escalated") == 0);
  REQUIRE(h.state().unit() == kDistrict);
}

TEST_CASE("a missed final response is recorded against the unit and does not move the case",
          "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00", /*complex=*/true);
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", UnitActor(kStation), "2026-09-02T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "plan", UnitActor(kStation), "2026-09-03T10:00:00+08:00",
                      "{\"plan\":\"mediate\"}")));
  auto breach = h.Breach("final_response");
  REQUIRE_OK(breach);
  REQUIRE(Count(*breach, "escalated") == 0);
  REQUIRE(breach->front().deadline_breached().owner_unit() == kStation);
  REQUIRE(h.state().unit() == kStation);
  REQUIRE(h.state().breached_any());
}

TEST_CASE("the whole 125 path closes on time and a late step closes not on time", "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "acknowledge", unit, "2026-09-01T11:00:00+08:00")));
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "contact", unit, "2026-09-02T10:00:00+08:00", "{\"method\":\"visit\"}")));
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "respond", unit, "2026-09-04T10:00:00+08:00", "{\"answer\":\"paid\"}")));
  auto close = h.Do(Cmd("LS-1", "close", kCentre, "2026-09-05T10:00:00+08:00"));
  REQUIRE_OK(close);
  REQUIRE(close->front().case_closed().on_time());
  REQUIRE(close->front().case_closed().level() == "village");
  REQUIRE(h.state().state() == "closed");
  REQUIRE(h.state().deadlines_size() == 0);

  DeciderHarness late;
  Open(late, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  REQUIRE_OK(late.Breach("contact"));  // escalated to the town
  const std::string town = UnitActor(kTown);
  REQUIRE_OK(late.Do(Cmd("LS-1", "contact", town, "2026-09-03T10:00:00+08:00")));
  REQUIRE_OK(
      late.Do(Cmd("LS-1", "respond", town, "2026-09-04T10:00:00+08:00", "{\"answer\":\"paid\"}")));
  auto late_close = late.Do(Cmd("LS-1", "close", kCentre, "2026-09-05T10:00:00+08:00"));
  REQUIRE_OK(late_close);
  REQUIRE_FALSE(late_close->front().case_closed().on_time());
  REQUIRE(late_close->front().case_closed().level() == "town");
}

TEST_CASE("an unsatisfied rating within 15 days of closure reopens the case once", "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", unit, "2026-09-02T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-03T10:00:00+08:00", "{\"answer\":\"a\"}")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "close", kCentre, "2026-09-04T10:00:00+08:00")));
  auto rate = h.Do(Cmd("LS-1", "rate", "p1:petitioner:", "2026-09-10T10:00:00+08:00",
                       "{\"satisfied\":false,\"score\":2}"));
  REQUIRE_OK(rate);
  REQUIRE(Count(*rate, "rated") == 1);
  REQUIRE(Count(*rate, "reopened") == 1);
  REQUIRE(h.state().state() == "reopened");
  REQUIRE(h.Due("redo") > 0);
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-11T10:00:00+08:00", "{\"answer\":\"b\"}")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "close", kCentre, "2026-09-12T10:00:00+08:00")));
  auto again = h.Do(
      Cmd("LS-1", "rate", "p1:petitioner:", "2026-09-13T10:00:00+08:00", "{\"satisfied\":false}"));
  REQUIRE_OK(again);
  REQUIRE(Count(*again, "reopened") == 0);
  REQUIRE(h.state().state() == "closed");
}

TEST_CASE("an unsatisfied rating more than 15 days after closure does not reopen", "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", unit, "2026-09-02T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-03T10:00:00+08:00", "{\"answer\":\"a\"}")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "close", kCentre, "2026-09-04T10:00:00+08:00")));
  auto rate = h.Do(
      Cmd("LS-1", "rate", "p1:petitioner:", "2026-09-20T10:00:00+08:00", "{\"satisfied\":false}"));
  REQUIRE_OK(rate);
  REQUIRE(Count(*rate, "reopened") == 0);
}

TEST_CASE("a mis-routed case returned by the unit goes back to the centre for dispatch",
          "[decider]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00",
                      "{\"unit\":\"371302-002-001\"}")));
  REQUIRE(h.state().unit() == "371302-002-001");
  auto ret = h.Do(Cmd("LS-1", "return", UnitActor("371302-002-001"), "2026-09-01T11:00:00+08:00",
                      "{\"reason\":\"not ours\"}"));
  REQUIRE_OK(ret);
  REQUIRE(h.state().state() == "received");
  REQUIRE(h.state().unit().empty());
  REQUIRE(h.Due("contact") == -1);
  REQUIRE(h.Due("dispatch") == At("2026-09-01T23:59:59.999999+08:00"));
}

TEST_CASE("the centre grants one extension and only one", "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "extend", kCentre, "2026-09-02T09:00:00+08:00",
               "{\"deadline\":\"response\",\"working_days\":5,\"reason\":\"site survey\"}")));
  REQUIRE(h.Due("response") == At("2026-09-15T23:59:59.999999+08:00"));
  REQUIRE(Rejection(h, Cmd("LS-1", "extend", kCentre, "2026-09-02T10:00:00+08:00",
                           "{\"deadline\":\"response\",\"working_days\":2,\"reason\":\"again\"}"))
              .find("at most 1 time") != std::string::npos);
}

TEST_CASE("escalation stops at the district level", "[decider]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00", "{\"unit\":\"371302\"}")));
  REQUIRE(Rejection(h, Cmd("LS-1", "escalate", UnitActor(kDistrict), "2026-09-01T11:00:00+08:00",
                           "{\"reason\":\"too hard\"}")) ==
          "the case is already at the district level: no level above");
}

TEST_CASE("bad commands are rejected with a message naming what is wrong", "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  const std::string unit = UnitActor(kStation);
  CHECK(Rejection(h, Cmd("LS-1", "plan", unit, "2026-09-01T11:00:00+08:00", "{\"plan\":\"x\"}")) ==
        "action \"plan\" is not allowed in state \"dispatched\" (allowed from: contacted)");
  CHECK(Rejection(h, Cmd("LS-1", "urge", unit, "2026-09-01T11:00:00+08:00", "{\"note\":\"n\"}")) ==
        "role \"unit\" may not \"urge\" (allowed: centre)");
  CHECK(Rejection(
            h, Cmd("LS-1", "contact", UnitActor("371302-002-001"), "2026-09-01T11:00:00+08:00")) ==
        "unit \"371302-002-001\" is not the case's responsible unit \"371302-001-001\"");
  CHECK(Rejection(h,
                  Cmd("LS-1", "contact", unit, "2026-09-01T11:00:00+08:00", "{\"mood\":\"ok\"}")) ==
        "data.mood: unknown field for action \"contact\" (allowed: method, note)");
  CHECK(Rejection(
            h, Cmd("LS-1", "contact", unit, "2026-09-01T11:00:00+08:00", "{\"method\":\"fax\"}")) ==
        "data.method: \"fax\" is not one of visit, phone, at_centre, video");
  CHECK(
      Rejection(h, Cmd("LS-1", "contact", unit, "2026-09-01T08:00:00+08:00")) ==
      "time 2026-09-01T08:00:00+08:00 is before the case's last event at 2026-09-01T10:00:00+08:00 "
      "(times must not go back within a case)");
  CHECK(Rejection(h, Cmd("LS-1", "fly", unit, "2026-09-01T11:00:00+08:00"))
            .find("unknown action \"fly\"") == 0);
  CHECK(Rejection(h, Cmd("LS-1", "intake", kWindow, "2026-09-01T11:00:00+08:00", IntakeData())) ==
        "case \"LS-1\" already exists");
  auto stale = Cmd("LS-1", "contact", unit, "2026-09-01T11:00:00+08:00");
  stale.set_has_expect(true);
  stale.set_expect(2);
  auto r = h.Do(stale);
  REQUIRE(r.status().IsConflict());
  CHECK(r.status().message() == "case \"LS-1\" is at version 6, command expected 2");
  REQUIRE(h.state().last_seq() == 6);  // nothing was applied
}

TEST_CASE("intake data is checked: missing field, wrong type, unknown grid cell", "[decider]") {
  DeciderHarness h;
  CHECK(Rejection(
            h, Cmd("LS-2", "intake", kWindow, "2026-09-01T09:00:00+08:00",
                   "{\"channel\":\"window\",\"category\":\"x\",\"grid\":\"371302-001-001-01\"}")) ==
        "data.summary: required by action \"intake\"");
  CHECK(Rejection(h, Cmd("LS-2", "intake", kWindow, "2026-09-01T09:00:00+08:00",
                         "{\"channel\":\"window\",\"category\":\"x\",\"grid\":\"371302-001-001-"
                         "01\",\"summary\":\"s\",\"complex\":\"yes\"}")) ==
        "data.complex: expected a boolean, got a string");
  CHECK(Rejection(h, Cmd("LS-2", "intake", kWindow, "2026-09-01T09:00:00+08:00",
                         IntakeData(false, "999"))) == "data.grid: unknown grid cell \"999\"");
  CHECK(Rejection(h, Cmd("LS-2", "intake", "w:window:nowhere", "2026-09-01T09:00:00+08:00",
                         IntakeData())) == "actor.unit: unknown unit \"nowhere\"");
  CHECK(h.Do(Cmd("LS-2", "dispatch", kCentre, "2026-09-01T09:00:00+08:00")).status().IsNotFound());
}

namespace {

// petition-125 with contact and response counted from the visit (intake)
// and `policy` for escalations, one decision at a time (no clock: breaches
// are the commands given).
DeciderHarness PromiseCase(const casegrid::v1::EscalationPolicy& policy) {
  auto proto = (*ShippedConfig().workflows->Latest("petition-125"))->proto();
  for (auto& d : *proto.mutable_deadlines()) {
    if (d.name() == "contact" || d.name() == "response") d.set_anchor("intake");
  }
  *proto.mutable_escalation() = policy;
  auto def = workflows::Definition::FromProto(proto, "test");
  REQUIRE_OK(def);
  return DeciderHarness(*std::move(def));
}

// Applies `cmd`, which the decider must take; its events.
std::vector<casegrid::v1::Event> Step(DeciderHarness& h, const casegrid::v1::Command& cmd) {
  auto events = h.Do(cmd);
  REQUIRE_OK(events);
  return *std::move(events);
}

casegrid::v1::EscalationPolicy Policy(casegrid::v1::EscalationPolicy::Rearm rearm, int cap = 0) {
  casegrid::v1::EscalationPolicy p;
  p.set_rearm(rearm);
  p.set_cap_calendar_days(cap);
  return p;
}

// Taken in on Thursday 2026-09-24, the day before the Mid-Autumn holiday
// (Friday 25 to Sunday 27 September), dispatched late on Tuesday 29: the
// contact is due the end of the first working day after the visit, Monday
// 28; the answer the end of the 5th, Friday 9 October (28, 29, 30 September,
// then National Day from 1 to 7 October, then 8 and 9).
void OpenLate(DeciderHarness& c) {
  Step(c, Cmd("LS-1", "intake", kWindow, "2026-09-24T09:00:00+08:00", IntakeData()));
  Step(c, Cmd("LS-1", "dispatch", kCentre, "2026-09-29T10:00:00+08:00"));
  REQUIRE(c.Open("contact") != nullptr);
  REQUIRE(c.Open("contact")->due_micros() == At("2026-09-28T23:59:59.999999+08:00"));
  REQUIRE(c.Open("response")->due_micros() == At("2026-10-09T23:59:59.999999+08:00"));
}

}  // namespace

TEST_CASE("a breached deadline with an anchor is re-armed from the escalation, not the anchor",
          "[decider]") {
  // petition-125 with `contact` counted from intake: after a breach it must
  // give the next level a day, not fall due again at once and climb every
  // level in the same instant.
  DeciderHarness h = PromiseCase(Policy(casegrid::v1::EscalationPolicy::FRESH));
  Step(h, Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData()));
  Step(h, Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00"));
  auto events = Step(h, Cmd("LS-1", "breach", "system:system:", "2026-09-02T23:59:59.999999+08:00",
                            R"({"deadline":"contact"})"));
  CHECK(Count(events, "escalated") == 1);
  CHECK(h.state().unit() == kTown);
  CHECK(h.Due("contact") == At("2026-09-03T23:59:59.999999+08:00"));
}

TEST_CASE("rearm: remaining hands the case up late, with what is left of the promise",
          "[decider]") {
  DeciderHarness c = PromiseCase(Policy(casegrid::v1::EscalationPolicy::REMAINING));
  OpenLate(c);
  // The late dispatch left the contact already passed: breached at once.
  auto events = Step(c, Cmd("LS-1", "breach", "system:system:", "2026-09-29T10:00:01+08:00",
                            R"({"deadline":"contact"})"));
  CHECK(Count(events, "escalated") == 1);
  CHECK(Count(events, "deadline_set") == 0);
  CHECK(c.state().unit() == kTown);
  // Not armed again: open, late, until the town meets it; the answer is
  // still due where the visit put it.
  REQUIRE(c.Open("contact") != nullptr);
  CHECK(c.Open("contact")->breached());
  CHECK(c.Open("contact")->due_micros() == At("2026-09-28T23:59:59.999999+08:00"));
  CHECK(c.Open("response")->due_micros() == At("2026-10-09T23:59:59.999999+08:00"));
  events = Step(c, Cmd("LS-1", "contact", UnitActor(kTown), "2026-09-29T15:00:00+08:00",
                       R"({"method":"visit"})"));
  REQUIRE(Count(events, "deadline_met") == 1);
  for (const auto& e : events) {
    if (e.has_deadline_met()) CHECK(e.deadline_met().late());
  }
  CHECK(c.Open("contact") == nullptr);
  CHECK(c.Open("response")->due_micros() == At("2026-10-09T23:59:59.999999+08:00"));
}

TEST_CASE("rearm: fresh gives the unit above a full period, no later than the cap after the visit",
          "[decider]") {
  auto breach_answer = [](DeciderHarness& c) {
    Step(c, Cmd("LS-1", "contact", UnitActor(kStation), "2026-09-29T11:00:00+08:00",
                R"({"method":"visit"})"));
    auto events =
        Step(c, Cmd("LS-1", "breach", "system:system:", "2026-10-09T23:59:59.999999+08:00",
                    R"({"deadline":"response"})"));
    CHECK(Count(events, "escalated") == 1);
    CHECK(c.state().unit() == kTown);
    REQUIRE(c.Open("response") != nullptr);
    CHECK_FALSE(c.Open("response")->breached());
    return c.Open("response");
  };
  // Five working days from the escalation day, Friday 9 October: Saturday
  // 10 (a make-up working day for National Day), Monday 12 to Thursday 15.
  DeciderHarness fresh = PromiseCase(Policy(casegrid::v1::EscalationPolicy::FRESH));
  OpenLate(fresh);
  CHECK(breach_answer(fresh)->due_micros() == At("2026-10-15T23:59:59.999999+08:00"));
  // Capped at the end of the 20th calendar day after the visit day,
  // Thursday 24 September: Wednesday 14 October.
  DeciderHarness capped = PromiseCase(Policy(casegrid::v1::EscalationPolicy::FRESH, 20));
  OpenLate(capped);
  const auto* d = breach_answer(capped);
  CHECK(d->due_micros() == At("2026-10-14T23:59:59.999999+08:00"));
  CHECK(Contains(d->rule(), "capped at the end of the 20th calendar day after the intake day"));
  // A cap the fresh period does not reach changes nothing.
  DeciderHarness loose = PromiseCase(Policy(casegrid::v1::EscalationPolicy::FRESH, 30));
  OpenLate(loose);
  CHECK(breach_answer(loose)->due_micros() == At("2026-10-15T23:59:59.999999+08:00"));
}

// docs/design-notes.md: a breach escalates "at most once per level";
// docs/workflows.md: "the second escalation from the same level is refused
// (action) or not made (breach)".
TEST_CASE("a case escalated from the village and sent back there is not escalated from it again",
          "[decider]") {
  // v1: the breached contact is armed again, and again at the redispatch.
  DeciderHarness h("petition-125", 1);
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  auto first = h.Breach("contact");  // 2026-09-02 end of day: village -> town
  REQUIRE_OK(first);
  REQUIRE(Count(*first, "escalated") == 1);
  REQUIRE(h.state().unit() == kTown);
  // The town hands it back (mis-routed) and the centre dispatches it to the
  // grid cell's village station again, which misses the re-armed contact.
  REQUIRE_OK(h.Do(Cmd("LS-1", "return", UnitActor(kTown), "2026-09-03T10:00:00+08:00",
                      "{\"reason\":\"a village matter\"}")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-03T11:00:00+08:00")));
  REQUIRE(h.state().unit() == kStation);
  REQUIRE(h.Due("contact") == At("2026-09-04T23:59:59.999999+08:00"));
  auto second = h.Breach("contact");
  REQUIRE_OK(second);
  CHECK(Count(*second, "deadline_breached") == 1);
  CHECK(Count(*second, "escalated") == 0);
  CHECK(Count(*second, "deadline_set") == 0);  // not re-armed either: nothing moved
  CHECK(h.state().unit() == kStation);
  CHECK(h.state().escalated_from_size() == 1);
  // Nor may the station escalate it by hand.
  CHECK(Rejection(h, Cmd("LS-1", "escalate", UnitActor(kStation), "2026-09-05T10:00:00+08:00",
                         "{\"reason\":\"too hard\"}")) ==
        "the case was already escalated from the village level once");
  CHECK(h.state().unit() == kStation);
}

TEST_CASE("a station that escalated by hand gets no second escalation from a later breach",
          "[decider]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  auto by_hand = h.Do(Cmd("LS-1", "escalate", UnitActor(kStation), "2026-09-01T11:00:00+08:00",
                          "{\"reason\":\"a town matter\"}"));
  REQUIRE_OK(by_hand);
  REQUIRE(Count(*by_hand, "escalated") == 1);
  REQUIRE(h.state().unit() == kTown);
  REQUIRE_OK(h.Do(Cmd("LS-1", "return", UnitActor(kTown), "2026-09-01T14:00:00+08:00",
                      "{\"reason\":\"the station can settle it\"}")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T15:00:00+08:00")));
  REQUIRE(h.state().unit() == kStation);
  auto missed = h.Breach("contact");
  REQUIRE_OK(missed);
  CHECK(Count(*missed, "deadline_breached") == 1);
  CHECK(Count(*missed, "escalated") == 0);
  CHECK(h.state().unit() == kStation);
  // The town level was never escalated from: the same rule lets it go up once.
  REQUIRE_OK(h.Do(Cmd("LS-1", "return", UnitActor(kStation), "2026-09-03T10:00:00+08:00",
                      "{\"reason\":\"not ours\"}")));
  REQUIRE_OK(h.Do(
      Cmd("LS-1", "dispatch", kCentre, "2026-09-03T11:00:00+08:00", "{\"unit\":\"371302-001\"}")));
  auto town = h.Breach("contact");
  REQUIRE_OK(town);
  CHECK(Count(*town, "escalated") == 1);
  CHECK(h.state().unit() == kDistrict);
}

// ---- Deadline warnings (warn_before; docs/workflows.md, "Deadline warnings") ----

TEST_CASE("a dispatch arms the response with a warning at the end of the working day before it",
          "[decider][warn]") {
  DeciderHarness h;
  // Dispatched Wednesday 09-23: 09-24, (Mid-Autumn 09-25..27 off) 09-28,
  // 09-29, 09-30, (National Day 10-01..07 off) 10-08 is the 5th working
  // day. 1 working day before it is 09-30.
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-23T09:00:00+08:00", IntakeData())));
  auto events = h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-23T10:00:00+08:00"));
  REQUIRE_OK(events);
  REQUIRE(h.Due("response") == At("2026-10-08T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("response") == At("2026-09-30T23:59:59.999999+08:00"));
  // The deadline_set records it.
  bool found = false;
  for (const auto& e : *events) {
    if (e.has_deadline_set() && e.deadline_set().name() == "response") {
      found = true;
      CHECK(e.deadline_set().warn_micros() == At("2026-09-30T23:59:59.999999+08:00"));
    }
  }
  REQUIRE(found);
  // contact has no warn_before: no warning.
  REQUIRE(h.WarnAt("contact") == 0);
}

TEST_CASE("a complex case's 30-calendar-day final answer warns 3 working days before",
          "[decider][warn]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00", true);
  // Intake 09-01 + 30 calendar days: 10-01, a holiday. 3 working days before
  // it: 09-30, 09-29, 09-28.
  REQUIRE(h.Due("final_response") == At("2026-10-01T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("final_response") == At("2026-09-28T23:59:59.999999+08:00"));
  // plan: 5 working days after 09-01 is Tuesday 09-08; warned Monday 09-07.
  REQUIRE(h.Due("plan") == At("2026-09-08T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("plan") == At("2026-09-07T23:59:59.999999+08:00"));
}

TEST_CASE("a warning time at or before the arming time means no warning", "[decider][warn]") {
  DeciderHarness h;
  // Dispatched late, on 09-29: the final answer (from intake 09-01) is still
  // due 10-01, and its warning time, 09-28, has passed when it is armed.
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-29T10:00:00+08:00", true);
  REQUIRE(h.Due("final_response") == At("2026-10-01T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("final_response") == 0);
  REQUIRE_FALSE(h.Warn("final_response").ok());
}

TEST_CASE("a warning is one deadline_warned event at the warning time, and only once",
          "[decider][warn]") {
  DeciderHarness h;
  Open(h, "2026-09-23T09:00:00+08:00", "2026-09-23T10:00:00+08:00");
  const std::string state = h.state().state();
  auto warned = h.Warn("response");
  REQUIRE_OK(warned);
  REQUIRE(warned->size() == 1);
  const auto& e = (*warned)[0];
  REQUIRE(e.has_deadline_warned());
  CHECK(e.action() == "warn");
  CHECK(e.actor().user() == "system");
  CHECK(e.occurred_micros() == At("2026-09-30T23:59:59.999999+08:00"));
  CHECK(e.state() == state);
  CHECK(e.deadline_warned().name() == "response");
  CHECK(e.deadline_warned().due_micros() == At("2026-10-08T23:59:59.999999+08:00"));
  CHECK(e.deadline_warned().warn_micros() == At("2026-09-30T23:59:59.999999+08:00"));
  CHECK(e.deadline_warned().owner_unit() == kStation);
  CHECK(e.deadline_warned().rule() ==
        "deadline response: end of the 5th working day after the intake day");
  // The deadline stays open and unbreached, marked warned.
  const casegrid::v1::CaseDeadline* d = nullptr;
  for (const auto& open : h.state().deadlines()) {
    if (open.name() == "response") d = &open;
  }
  REQUIRE(d != nullptr);
  CHECK(d->warned());
  CHECK(d->warned_micros() == At("2026-09-30T23:59:59.999999+08:00"));
  CHECK_FALSE(d->breached());
  CHECK_FALSE(h.state().breached_any());
  for (const auto& m : h.state().marks()) CHECK(m.action() != "warn");
  // Once.
  REQUIRE(Rejection(h, [&] {
            auto cmd = Cmd("LS-1", "warn", "system:system:", "2026-10-01T09:00:00+08:00",
                           R"({"deadline":"response"})");
            return cmd;
          }()) == "deadline \"response\" has no warning pending on case LS-1");
}

TEST_CASE("a deadline met before its warning time is never warned", "[decider][warn]") {
  DeciderHarness h;
  Open(h, "2026-09-23T09:00:00+08:00", "2026-09-23T10:00:00+08:00");
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", UnitActor(kStation), "2026-09-24T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", UnitActor(kStation), "2026-09-28T10:00:00+08:00",
                      R"({"answer":"paid"})")));
  REQUIRE(h.WarnAt("response") == -1);  // met: not open
  REQUIRE_FALSE(h.Warn("response").ok());
}

TEST_CASE("an extended deadline gets its own warning for its new due time", "[decider][warn]") {
  DeciderHarness h;
  Open(h, "2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00");
  REQUIRE(h.WarnAt("response") == At("2026-09-07T23:59:59.999999+08:00"));
  REQUIRE_OK(h.Warn("response"));
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "extend", kCentre, "2026-09-08T09:00:00+08:00",
               "{\"deadline\":\"response\",\"working_days\":5,\"reason\":\"site survey\"}")));
  // 09-08 + 5 working days: 09-15 (Tuesday); warned at the end of Monday 09-14.
  REQUIRE(h.Due("response") == At("2026-09-15T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("response") == At("2026-09-14T23:59:59.999999+08:00"));
  auto again = h.Warn("response");
  REQUIRE_OK(again);
  REQUIRE(Count(*again, "deadline_warned") == 1);
}

TEST_CASE("hotline: the 2-working-hour sign deadline warns 1 working hour before, over a weekend",
          "[decider][warn]") {
  DeciderHarness h("hotline-12345");
  REQUIRE_OK(h.Do(HotlineIntake("H-1", "2026-09-11T15:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("H-1", "dispatch", kCentre, "2026-09-11T16:00:00+08:00")));
  // Friday 16:00-17:30 (1.5), Monday 08:30-09:00 (0.5): due Monday 09:00.
  // 1 hour before: Monday 08:30-09:00 (0.5), Friday 17:30-17:00 (0.5).
  REQUIRE(h.Due("sign") == At("2026-09-14T09:00:00+08:00"));
  REQUIRE(h.WarnAt("sign") == At("2026-09-11T17:00:00+08:00"));
  // Signed Monday 09-14: 5 working days are 09-15..09-18 and the make-up
  // Sunday 09-20, so the answer is due 09-20; the working day before it is
  // Friday 09-18 (Saturday 09-19 is off).
  REQUIRE_OK(h.Do(Cmd("H-1", "sign", UnitActor(kStation), "2026-09-14T08:40:00+08:00")));
  REQUIRE(h.Due("answer") == At("2026-09-20T23:59:59.999999+08:00"));
  REQUIRE(h.WarnAt("answer") == At("2026-09-18T23:59:59.999999+08:00"));
}
