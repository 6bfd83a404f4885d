// The calendar's coverage, working hours and extends, through the calendar,
// the decider and the engine; the calendar validator's corpus.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/calendar.h"
#include "events/log.h"
#include "tests/corpus_util.h"
#include "tests/engine/engine_fixture.h"
#include "workflows/yaml_proto.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::engine::BusinessCalendar;
using casegrid::v1::CalendarYear;

namespace {

// Fewer broken calendars than this means the corpus lost some.
constexpr size_t kMinBrokenCalendars = 8;

int32_t Day(const char* date) {
  Result<int32_t> d = timeutil::ParseDate(date);
  REQUIRE_OK(d);
  return *d;
}

int64_t EndOf(const std::string& date) { return At((date + "T23:59:59.999999+08:00").c_str()); }

// "2026-09-29 11:00" as a local time.
int64_t Local(const std::string& date_time) {
  std::string text = date_time;
  text[10] = 'T';
  return At((text + ":00+08:00").c_str());
}

const BusinessCalendar& Shipped() { return ShippedConfig().default_calendar(); }

std::string ShippedDir() { return SourcePath("workflows/calendars"); }

CalendarYear ParseYear(const std::string& yaml) {
  CalendarYear y;
  REQUIRE_OK(workflows::ParseYaml(yaml, "test.yaml", &y));
  return y;
}

std::string YearYaml(int year, const std::string& extra, const std::string& calendar = "t") {
  return "calendar: " + calendar + "\nyear: " + std::to_string(year) +
         "\ntime_zone: Asia/Shanghai\nsource: test\n" + extra;
}

constexpr const char* kHours =
    "working_hours: [{from: \"08:30\", to: \"12:00\"}, {from: \"13:30\", to: \"17:30\"}]\n";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

void CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  REQUIRE(in.good());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteFile(to, text);
}

// The shipped calendars plus the town calendar of tests/engine/calendars.
void WriteTownConfig(const TempDir& dir) {
  CopyFile(ShippedDir() + "/cn-2025.yaml", dir.Sub("cn-2025.yaml"));
  CopyFile(ShippedDir() + "/cn-2026.yaml", dir.Sub("cn-2026.yaml"));
  CopyFile(SourcePath("tests/engine/calendars/cn-mainland+town-x-2026.yaml"),
           dir.Sub("town-x-2026.yaml"));
}

const BusinessCalendar& Town() {
  static const Result<BusinessCalendar> cal = [] {
    TempDir dir;
    WriteTownConfig(dir);
    return BusinessCalendar::LoadDir(dir.path(), "cn-mainland+town-x");
  }();
  REQUIRE_OK(cal);
  return *cal;
}

std::string Message(const Result<int64_t>& r) {
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.status().IsInvalidArgument());
  return r.status().message();
}

}  // namespace

// ---- Coverage ----

TEST_CASE("a deadline past the last published year is an error naming calendar, date and years",
          "[calendar]") {
  REQUIRE(Message(Shipped().DueAfterWorkingDays(Day("2027-12-20"), 30)) ==
          "calendar cn-mainland covers 2025–2027 (2027 provisional); a deadline of 30 working "
          "days from 2027-12-20 falls past 2027-12-31: publish the 2028 schedule, or a "
          "provisional one from `casegrid calendar derive --year 2028` (docs/calendar.md)");
}

TEST_CASE("a deadline that ends on the last covered day is not an error", "[calendar]") {
  REQUIRE(*Shipped().DueAfterWorkingDays(Day("2026-12-24"), 5) == EndOf("2026-12-31"));
  REQUIRE(*Shipped().DueAfterWorkingDays(Day("2027-12-24"), 5) == EndOf("2027-12-31"));
  REQUIRE(*Shipped().DueAfterWorkingDays(Day("2026-12-31"), 0) == EndOf("2026-12-31"));
  REQUIRE(*Shipped().DueAfterWorkingDays(Day("2026-09-30"), 5) == EndOf("2026-10-13"));
}

TEST_CASE("a deadline before the first published year is an error", "[calendar]") {
  REQUIRE(Message(Shipped().DueAfterWorkingDays(Day("2024-12-30"), 5)) ==
          "calendar cn-mainland covers 2025–2027 (2027 provisional); a deadline of 5 working days "
          "from 2024-12-30 needs 2024-12-31, before 2025-01-01: publish the 2024 schedule "
          "(docs/calendar.md)");
}

TEST_CASE("a deadline through a gap between published years is an error", "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2025, kHours)), ParseYear(YearYaml(2027, kHours))});
  REQUIRE_OK(cal);
  REQUIRE(cal->CoveredYears() == "2025, 2027");
  REQUIRE(Message(cal->DueAfterWorkingDays(Day("2025-12-30"), 5)) ==
          "calendar t covers 2025, 2027; a deadline of 5 working days from 2025-12-30 needs "
          "2026-01-01, in 2026, which it does not cover: publish the 2026 schedule, or a "
          "provisional one from `casegrid calendar derive --year 2026` (docs/calendar.md)");
}

// ---- Working hours (cn-mainland: 08:30-12:00, 13:30-17:30) ----

TEST_CASE("working hours skip the lunch break", "[calendar]") {
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 11:00"), 2) ==
          Local("2026-09-29 14:30"));
}

TEST_CASE("working hours that end with a period end there, not when the next starts",
          "[calendar]") {
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 10:00"), 2) ==
          Local("2026-09-29 12:00"));
}

TEST_CASE("working hours skip the evening and start at opening time", "[calendar]") {
  // 16:30-17:30 (1), then 09-30 08:30-10:30 (2).
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 16:30"), 3) ==
          Local("2026-09-30 10:30"));
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 20:00"), 1) ==
          Local("2026-09-30 09:30"));
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 07:00"), 1) ==
          Local("2026-09-29 09:30"));
}

TEST_CASE("working hours skip a weekend", "[calendar]") {
  // Friday 17:00-17:30, then Monday 08:30-10:00.
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-11 17:00"), 2) ==
          Local("2026-09-14 10:00"));
}

TEST_CASE("working hours skip National Day and count make-up Saturday 10-10", "[calendar]") {
  // 09-30 16:00-17:30 (1.5), 10-01..07 off, 10-08 (7.5), 10-09 (7.5): 16.5;
  // make-up Saturday 10-10 08:30-12:00 (3.5), 13:30-16:30 (3): 23.
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-30 16:00"), 23) ==
          Local("2026-10-10 16:30"));
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-10-01 09:00"), 1) ==
          Local("2026-10-08 09:30"));
}

TEST_CASE("working hours count make-up Sunday 09-20", "[calendar]") {
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-18 17:00"), 2) ==
          Local("2026-09-20 10:00"));
}

TEST_CASE("zero working hours is the first working instant at or after the anchor", "[calendar]") {
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 12:30"), 0) ==
          Local("2026-09-29 13:30"));
  REQUIRE(*Shipped().DueAfterWorkingHours(Local("2026-09-29 09:15"), 0) ==
          Local("2026-09-29 09:15"));
}

TEST_CASE("working hours past the last published year are an error", "[calendar]") {
  REQUIRE(Message(Shipped().DueAfterWorkingHours(Local("2027-12-31 16:00"), 8)) ==
          "calendar cn-mainland covers 2025–2027 (2027 provisional); a deadline of 8 working "
          "hours from 2027-12-31 16:00 falls past 2027-12-31: publish the 2028 schedule, or a "
          "provisional one from `casegrid calendar derive --year 2028` (docs/calendar.md)");
}

// ---- Warnings counted backwards from the due time (cn-mainland 2026) ----

TEST_CASE("a warning N working hours before skips the lunch break backwards", "[calendar]") {
  // 13:30-14:30 (1), then 12:00-11:00 (1): 11:00, as 11:00 + 2 hours is 14:30.
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-09-29 14:30"), 2, Local("2026-09-29 09:00")) ==
      Local("2026-09-29 11:00"));
  // Inside one period.
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-09-29 17:00"), 1, Local("2026-09-29 09:00")) ==
      Local("2026-09-29 16:00"));
}

TEST_CASE("a warning whose hours end at a period's start is at the previous period's end",
          "[calendar]") {
  // 09-30 08:30-09:30 is the hour; 1 hour is also left from 09-29 17:30, earlier.
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-09-30 09:30"), 1, Local("2026-09-29 09:00")) ==
      Local("2026-09-29 17:30"));
  // 4 hours before 17:30 is 13:30; from 12:00 the same 4 hours are left.
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-09-30 17:30"), 4, Local("2026-09-29 09:00")) ==
      Local("2026-09-30 12:00"));
}

TEST_CASE("a warning in working hours crosses a weekend backwards", "[calendar]") {
  // Monday 09-14 08:30-10:00 (1.5), Friday 09-11 17:30-17:00 (0.5).
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-09-14 10:00"), 2, Local("2026-09-11 09:00")) ==
      Local("2026-09-11 17:00"));
}

TEST_CASE("a warning in working hours crosses National Day backwards", "[calendar]") {
  // 10-08 08:30-10:30 (2), 10-01..07 off, 09-30 17:30-16:30 (1).
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-10-08 10:30"), 3, Local("2026-09-30 09:00")) ==
      Local("2026-09-30 16:30"));
  REQUIRE(
      *Shipped().WarnBeforeWorkingHours(Local("2026-10-08 09:30"), 1, Local("2026-09-30 09:00")) ==
      Local("2026-09-30 17:30"));
}

TEST_CASE("a warning at or before the arming time is no warning (0)", "[calendar]") {
  const int64_t due = Local("2026-09-29 14:30");
  REQUIRE(*Shipped().WarnBeforeWorkingHours(due, 2, Local("2026-09-29 11:00")) == 0);
  REQUIRE(*Shipped().WarnBeforeWorkingHours(due, 2, Local("2026-09-29 11:00") - 1) ==
          Local("2026-09-29 11:00"));
  REQUIRE(*Shipped().WarnBeforeWorkingHours(due, 0, Local("2026-09-29 09:00")) == 0);
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-29"), 1, EndOf("2026-09-28")) == 0);
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-29"), 1, EndOf("2026-09-28") - 1) ==
          EndOf("2026-09-28"));
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-29"), 0, Local("2026-09-28 09:00")) == 0);
}

TEST_CASE("a warning N working days before is the end of the Nth working day before the due day",
          "[calendar]") {
  const int64_t armed = Local("2026-09-01 09:00");
  // Tuesday's due: Monday's end.
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-29"), 1, armed) == EndOf("2026-09-28"));
  // Monday's due: Friday's end, then Thursday's (the weekend skipped).
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-14"), 1, armed) == EndOf("2026-09-11"));
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-14"), 2, armed) == EndOf("2026-09-10"));
  // After National Day (10-01..07 off): 09-30's end.
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-10-08"), 1, armed) == EndOf("2026-09-30"));
  // Monday 09-21: the make-up Sunday 09-20 is a working day.
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-09-21"), 1, armed) == EndOf("2026-09-20"));
  // A calendar-day deadline on a holiday (10-04): 3 working days before are
  // 09-30, 09-29, 09-28.
  REQUIRE(*Shipped().WarnBeforeWorkingDays(EndOf("2026-10-04"), 3, armed) == EndOf("2026-09-28"));
}

TEST_CASE("a warning that needs a day the calendar does not cover is an error", "[calendar]") {
  // Due in 2028 (a calendar-day deadline may be): no schedule to count back on.
  REQUIRE(
      Message(Shipped().WarnBeforeWorkingDays(EndOf("2028-01-10"), 1, Local("2027-12-01 09:00"))) ==
      "calendar cn-mainland covers 2025–2027 (2027 provisional); a warning 1 working day "
      "before a deadline due 2028-01-10 falls past 2027-12-31: publish the 2028 schedule, or a "
      "provisional one from `casegrid calendar derive --year "
      "2028` (docs/calendar.md)");
}

TEST_CASE("a calendar's own working hours replace the default", "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears(
      {ParseYear(YearYaml(2026, "working_hours: [{from: \"09:00\", to: \"17:00\"}]\n"))});
  REQUIRE_OK(cal);
  REQUIRE(*cal->DueAfterWorkingHours(Local("2026-09-29 11:00"), 2) == Local("2026-09-29 13:00"));
}

// ---- Extends ----

TEST_CASE("a town calendar takes cn-mainland's days and adds its own day off", "[calendar]") {
  const BusinessCalendar& town = Town();
  REQUIRE(town.id() == "cn-mainland+town-x");
  REQUIRE(town.extends() == "cn-mainland");
  REQUIRE(town.Describe() == "cn-mainland+town-x (extends cn-mainland; covers 2026)");
  REQUIRE(Shipped().IsWorkingDay(Day("2026-03-18")));
  REQUIRE_FALSE(town.IsWorkingDay(Day("2026-03-18")));  // the town's fair day
  REQUIRE_FALSE(Shipped().IsWorkingDay(Day("2026-03-21")));
  REQUIRE(town.IsWorkingDay(Day("2026-03-21")));        // its make-up Saturday
  REQUIRE_FALSE(town.IsWorkingDay(Day("2026-10-01")));  // National Day still off
  REQUIRE(town.IsWorkingDay(Day("2026-10-10")));        // and its make-up day still works
  // 03-17 (Tue) -> 03-19 (1), 03-20 (2), 03-21 (3).
  REQUIRE(*town.DueAfterWorkingDays(Day("2026-03-17"), 3) == EndOf("2026-03-21"));
}

TEST_CASE("a town calendar inherits cn-mainland's working hours", "[calendar]") {
  // 03-17 16:00-17:30 (1.5), 03-18 off, 03-19 08:30-11:00 (2.5).
  REQUIRE(*Town().DueAfterWorkingHours(Local("2026-03-17 16:00"), 4) == Local("2026-03-19 11:00"));
}

TEST_CASE("a town calendar covers only the years it has a file for", "[calendar]") {
  REQUIRE(Shipped().Covers(Day("2025-06-02")));
  REQUIRE_FALSE(Town().Covers(Day("2025-06-02")));
  REQUIRE(Message(Town().DueAfterWorkingDays(Day("2026-12-30"), 3)) ==
          "calendar cn-mainland+town-x covers 2026; a deadline of 3 working days from 2026-12-30 "
          "falls past 2026-12-31: publish the 2027 schedule (docs/calendar.md)");
}

TEST_CASE("calendar show lists a year's days off and make-up days with their calendar",
          "[calendar]") {
  Result<std::string> text = Town().FormatYear(2026);
  REQUIRE_OK(text);
  INFO(*text);
  REQUIRE(text->rfind("calendar cn-mainland+town-x 2026 (extends cn-mainland)\n", 0) == 0);
  REQUIRE(text->find("working hours (cn-mainland): 08:30–12:00, 13:30–17:30\n") !=
          std::string::npos);
  REQUIRE(text->find("  2026-03-18 Wed  庙会  (1 day, cn-mainland+town-x)\n") != std::string::npos);
  REQUIRE(text->find("  2026-10-01 Thu – 2026-10-07 Wed  国庆节  (7 days, cn-mainland)\n") !=
          std::string::npos);
  REQUIRE(text->find("  2026-03-21 Sat  庙会  (cn-mainland+town-x)\n") != std::string::npos);
  REQUIRE(Town().FormatYear(2025).status().IsNotFound());
}

TEST_CASE("calendar show counts 248 working days in 2025 and in 2026", "[calendar]") {
  // 2025: 261 weekdays, 18 of them off, 5 make-up days; 2026: 261, 19 off, 6.
  REQUIRE(Shipped().FormatYear(2025)->find("working days: 248 of 365\n") != std::string::npos);
  REQUIRE(Shipped().FormatYear(2026)->find("working days: 248 of 365\n") != std::string::npos);
}

TEST_CASE("calendar show prints a small calendar exactly", "[calendar]") {
  Result<BusinessCalendar> cal = BusinessCalendar::FromYears({ParseYear(YearYaml(
      2026, std::string(kHours) + "holidays: [{name: 国庆节, from: 2026-10-01, to: 2026-10-07}]\n"
                                  "makeup_working_days: [{date: 2026-10-10, for: 国庆节}]\n"))});
  REQUIRE_OK(cal);
  // 2026 has 261 weekdays; 5 of them (10-01, 02, 05, 06, 07) are off; +1 make-up day.
  REQUIRE(*cal->FormatYear(2026) ==
          "calendar t 2026\n"
          "  source t: test\n"
          "working hours (t): 08:30–12:00, 13:30–17:30\n"
          "days off (besides weekends):\n"
          "  2026-10-01 Thu – 2026-10-07 Wed  国庆节  (7 days, t)\n"
          "make-up working days:\n"
          "  2026-10-10 Sat  国庆节  (t)\n"
          "working days: 257 of 365\n");
}

TEST_CASE("LoadDir rejects extends of an unknown calendar, a cycle, and an uncovered year",
          "[calendar]") {
  TempDir dir;
  CopyFile(ShippedDir() + "/cn-2026.yaml", dir.Sub("cn-2026.yaml"));
  WriteFile(dir.Sub("x.yaml"), YearYaml(2026, "extends: cn-mainlnd\n", "x"));
  WriteFile(dir.Sub("a.yaml"), YearYaml(2026, "extends: b\n", "a"));
  WriteFile(dir.Sub("b.yaml"), YearYaml(2026, "extends: a\n", "b"));
  WriteFile(dir.Sub("y.yaml"), YearYaml(2027, "extends: cn-mainland\n", "y"));
  REQUIRE(BusinessCalendar::LoadDir(dir.path(), "x").status().message() ==
          dir.Sub("x.yaml") + ": calendar x extends unknown calendar \"cn-mainlnd\" (no *.yaml " +
              "file in " + dir.path() + " has calendar: cn-mainlnd)");
  REQUIRE(BusinessCalendar::LoadDir(dir.path(), "a").status().message() ==
          dir.Sub("b.yaml") + ": calendar a, which extends b, which extends a: a cycle");
  REQUIRE(BusinessCalendar::LoadDir(dir.path(), "y").status().message() ==
          dir.Sub("y.yaml") +
              ": calendar y 2027 extends cn-mainland, which does not cover 2027 (it covers 2026)");
}

// ---- Deadlines in the decider and the engine ----

namespace {

// petition-125 v1 (counted from the dispatch, each level armed afresh), or
// `d`: these tests count hours and years, not the promise.
struct Decider {
  engine::DecideContext ctx;
  std::shared_ptr<const workflows::Definition> def;
  v1::CaseState state;
  bool started = false;

  explicit Decider(const BusinessCalendar* cal,
                   std::shared_ptr<const workflows::Definition> d = nullptr) {
    ctx.org = ShippedConfig().org.get();
    ctx.calendar = cal;
    def = d != nullptr ? d : *ShippedConfig().workflows->Find("petition-125", 1);
  }
  Result<std::vector<v1::Event>> Do(const v1::Command& cmd) {
    auto events = engine::Decide(started ? &state : nullptr, cmd, *def, ctx, cmd.at_micros());
    if (events.ok()) {
      for (const auto& e : *events) engine::Evolve(&state, e);
      started = true;
    }
    return events;
  }
  Result<std::vector<v1::Event>> Breach(const std::string& name) {
    v1::Command cmd;
    cmd.set_case_id(state.case_id());
    cmd.set_action("breach");
    cmd.mutable_actor()->set_user("system");
    cmd.mutable_actor()->set_role("system");
    (*cmd.mutable_data()->mutable_fields())["deadline"].set_string_value(name);
    for (const auto& d : state.deadlines()) {
      if (d.name() == name) cmd.set_at_micros(d.due_micros());
    }
    return Do(cmd);
  }
};

const v1::DeadlineSet* FindSet(const std::vector<v1::Event>& events, const std::string& name) {
  for (const auto& e : events) {
    if (e.has_deadline_set() && e.deadline_set().name() == name) return &e.deadline_set();
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a deadline in working hours is due that many working hours after its anchor time",
          "[calendar]") {
  v1::WorkflowDefinition proto = (*ShippedConfig().workflows->Find("petition-125", 1))->proto();
  for (auto& d : *proto.mutable_deadlines()) {
    if (d.name() == "contact") {
      d.set_working_days(0);
      d.set_working_hours(4);
    }
  }
  auto def = workflows::Definition::FromProto(proto, "test");
  REQUIRE_OK(def);
  Decider decider(&Shipped(), *def);
  REQUIRE_OK(decider.Do(Cmd("LS-1", "intake", kWindow, "2026-09-29T15:00:00+08:00", IntakeData())));
  auto events = decider.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-29T16:00:00+08:00"));
  REQUIRE_OK(events);
  const v1::DeadlineSet* contact = FindSet(*events, "contact");
  REQUIRE(contact != nullptr);
  // 16:00-17:30 (1.5), then 09-30 08:30-11:00 (2.5).
  REQUIRE(contact->due_micros() == Local("2026-09-30 11:00"));
  REQUIRE(contact->rule() == "deadline contact: 4 working hours after the dispatch time");
}

TEST_CASE("a command whose deadline falls past the covered years is rejected, nothing written",
          "[calendar]") {
  TempDir dir;
  EngineRig rig;
  rig.clock.SetMicros(At("2027-12-31T00:00:00+08:00"));
  rig.Open(events::OpenJournal(dir.Sub("journal"), {}));
  auto intake =
      rig.Apply({Cmd("LS-1", "intake", kWindow, "2027-12-29T09:00:00+08:00", IntakeData())});
  REQUIRE(intake[0].kind == engine::Answer::Kind::kAccepted);
  const uint64_t events = rig.log->Stats()->events;
  auto answers = rig.Apply(
      {Cmd("LS-1", "dispatch", kCentre, "2027-12-29T10:00:00+08:00", "{}", "dispatch-1")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  // The response deadline: 5 working days after Wednesday 2027-12-29.
  REQUIRE(answers[0].status.message() ==
          "deadline response: calendar cn-mainland covers 2025–2027 (2027 provisional); a "
          "deadline of 5 working days from 2027-12-29 falls past 2027-12-31: publish the 2028 "
          "schedule, or a provisional one from `casegrid calendar derive --year 2028` "
          "(docs/calendar.md)");
  REQUIRE(rig.log->Stats()->events == events);
  REQUIRE(rig.engine->CaseState("LS-1")->state() == "received");
  engine::CommandAnswer answer;
  REQUIRE(rig.engine->state_store().ReadCommandAnswer("dispatch-1", &answer).IsNotFound());
  // Ticking past the year's end fires what is due and does not fail.
  REQUIRE_OK(rig.engine->Tick(At("2027-12-31T00:00:00+08:00")));
}

TEST_CASE("a breach whose re-armed deadline needs an unpublished year is still escalated",
          "[calendar]") {
  // Armed on a calendar that has 2028, breached on the shipped one that has not.
  Result<BusinessCalendar> longer =
      BusinessCalendar::FromYears({ParseYear(YearYaml(2027, kHours, "cn-mainland")),
                                   ParseYear(YearYaml(2028, kHours, "cn-mainland"))});
  REQUIRE_OK(longer);
  Decider decider(&*longer);
  REQUIRE_OK(decider.Do(Cmd("LS-1", "intake", kWindow, "2027-12-29T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(decider.Do(Cmd("LS-1", "dispatch", kCentre, "2027-12-29T10:00:00+08:00")));
  decider.ctx.calendar = &Shipped();
  auto events = decider.Breach("response");
  REQUIRE_OK(events);
  REQUIRE(Count(*events, "deadline_breached") == 1);
  REQUIRE(Count(*events, "escalated") == 1);
  const v1::DeadlineSet* rearmed = FindSet(*events, "response");
  REQUIRE(rearmed != nullptr);
  INFO(rearmed->rule());
  REQUIRE(rearmed->rule().find("publish the 2028 schedule") != std::string::npos);
  REQUIRE(rearmed->rule().find("counted with weekends only meanwhile") != std::string::npos);
  REQUIRE(rearmed->calendar() == "cn-mainland (weekends only: year not published)");
}

TEST_CASE("a response across New Year 2027 is counted on the provisional 2027 and marked",
          "[calendar]") {
  Decider decider(&Shipped());
  REQUIRE_OK(decider.Do(Cmd("LS-1", "intake", kWindow, "2026-12-29T09:00:00+08:00", IntakeData())));
  auto events = decider.Do(Cmd("LS-1", "dispatch", kCentre, "2026-12-29T10:00:00+08:00"));
  REQUIRE_OK(events);
  // Contact: 1 working day after Tuesday 12-29, all in the published 2026.
  const v1::DeadlineSet* contact = FindSet(*events, "contact");
  REQUIRE(contact != nullptr);
  CHECK(contact->due_micros() == EndOf("2026-12-30"));
  CHECK_FALSE(contact->provisional_calendar());
  CHECK(contact->calendar() == "cn-mainland (published schedule)");
  // Response: 12-30 (1), 12-31 (2), 01-01 元旦 off, 01-04 (3), 01-05 (4), 01-06 (5).
  const v1::DeadlineSet* response = FindSet(*events, "response");
  REQUIRE(response != nullptr);
  CHECK(response->due_micros() == EndOf("2027-01-06"));
  CHECK(response->provisional_calendar());
  CHECK(response->calendar() ==
        "cn-mainland (provisional 2027: derived from the statutory rules, not published)");
}

TEST_CASE("deadlines that stay in a published year, or count calendar days, are not provisional",
          "[calendar]") {
  Decider decider(&Shipped());
  // A complex case: plan in 5 working days, final response 30 calendar days after intake.
  REQUIRE_OK(
      decider.Do(Cmd("LS-1", "intake", kWindow, "2026-12-21T09:00:00+08:00", IntakeData(true))));
  auto events = decider.Do(Cmd("LS-1", "dispatch", kCentre, "2026-12-21T10:00:00+08:00"));
  REQUIRE_OK(events);
  // Plan: 12-22 (1) .. 12-25 (4), 12-28 (5): inside 2026.
  const v1::DeadlineSet* plan = FindSet(*events, "plan");
  REQUIRE(plan != nullptr);
  CHECK(plan->due_micros() == EndOf("2026-12-28"));
  CHECK_FALSE(plan->provisional_calendar());
  // Final response: 2027-01-20, in 2027 but counted in calendar days.
  const v1::DeadlineSet* final_response = FindSet(*events, "final_response");
  REQUIRE(final_response != nullptr);
  CHECK(final_response->due_micros() == EndOf("2027-01-20"));
  CHECK_FALSE(final_response->provisional_calendar());
}

TEST_CASE("an extension into the provisional year marks the extended deadline", "[calendar]") {
  Decider decider(&Shipped());
  REQUIRE_OK(decider.Do(Cmd("LS-1", "intake", kWindow, "2026-12-22T09:00:00+08:00", IntakeData())));
  auto events = decider.Do(Cmd("LS-1", "dispatch", kCentre, "2026-12-22T10:00:00+08:00"));
  REQUIRE_OK(events);
  // Response: 12-23 (1), 12-24 (2), 12-25 (3), 12-28 (4), 12-29 (5).
  const v1::DeadlineSet* response = FindSet(*events, "response");
  REQUIRE(response != nullptr);
  CHECK(response->due_micros() == EndOf("2026-12-29"));
  CHECK_FALSE(response->provisional_calendar());
  events = decider.Do(Cmd("LS-1", "extend", kCentre, "2026-12-24T10:00:00+08:00",
                          R"({"deadline":"response","working_days":3,"reason":"site visit"})"));
  REQUIRE_OK(events);
  // 12-30 (1), 12-31 (2), 01-01 off, 01-04 (3).
  const v1::DeadlineSet* extended = FindSet(*events, "response");
  REQUIRE(extended != nullptr);
  CHECK(extended->due_micros() == EndOf("2027-01-04"));
  CHECK(extended->provisional_calendar());
}

TEST_CASE("the dispatch refused before 2027 was derived is accepted, its response provisional",
          "[calendar]") {
  TempDir dir;
  EngineRig rig;
  rig.Open(events::OpenJournal(dir.Sub("journal"), {}));
  auto answers = rig.Apply(
      {Cmd("LS-1", "intake", kWindow, "2026-12-29T09:00:00+08:00", IntakeData()),
       Cmd("LS-1", "dispatch", kCentre, "2026-12-29T10:00:00+08:00", "{}", "dispatch-1")});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  INFO(answers[1].status.ToString());
  REQUIRE(answers[1].kind == engine::Answer::Kind::kAccepted);
  auto state = rig.engine->CaseState("LS-1");
  REQUIRE_OK(state);
  bool found = false;
  for (const auto& d : state->deadlines()) {
    if (d.name() != "response") continue;
    found = true;
    CHECK(d.due_micros() == EndOf("2027-01-06"));
  }
  CHECK(found);
}

// ---- casegrid calendar validate ----

namespace {

// The validator's lines for `dir`/`name` against the shipped calendars, with
// "dir/" dropped and the shipped directory written "workflows/calendars".
std::vector<std::string> Validate(const std::string& dir, const std::string& name) {
  auto reports = engine::ValidateCalendarFiles({dir + "/" + name}, ShippedDir());
  REQUIRE_OK(reports);
  REQUIRE(reports->size() == 1);
  REQUIRE_OK((*reports)[0].unreadable);
  std::vector<std::string> lines = (*reports)[0].problems;
  if (lines.empty()) lines.push_back(dir + "/" + name + ": ok (" + (*reports)[0].summary + ")");
  for (std::string& line : lines) {
    REQUIRE(line.rfind(dir + "/", 0) == 0);
    line = line.substr(dir.size() + 1);
    for (size_t at; (at = line.find(ShippedDir())) != std::string::npos;) {
      line.replace(at, ShippedDir().size(), "workflows/calendars");
    }
  }
  return lines;
}

}  // namespace

TEST_CASE("every broken calendar in the corpus gives exactly its expected lines", "[calendar]") {
  const std::string dir = SourcePath("tests/engine/broken-calendars");
  CheckCorpus(dir, kMinBrokenCalendars,
              [&](const std::string& name) { return Validate(dir, name); });
}

TEST_CASE("the shipped calendars and the town example validate clean", "[calendar]") {
  REQUIRE(Validate(ShippedDir(), "cn-2025.yaml") ==
          std::vector<std::string>{
              "cn-2025.yaml: ok (calendar cn-mainland 2025: 6 holidays, 5 make-up working days, "
              "working hours 08:30–12:00, 13:30–17:30)"});
  REQUIRE(Validate(ShippedDir(), "cn-2026.yaml") ==
          std::vector<std::string>{
              "cn-2026.yaml: ok (calendar cn-mainland 2026: 7 holidays, 6 make-up working days, "
              "working hours 08:30–12:00, 13:30–17:30)"});
  REQUIRE(Validate(SourcePath("tests/engine/calendars"), "cn-mainland+town-x-2026.yaml") ==
          std::vector<std::string>{
              "cn-mainland+town-x-2026.yaml: ok (calendar cn-mainland+town-x 2026, extends "
              "cn-mainland: 1 holiday, 1 make-up working day, working hours of cn-mainland)"});
}

TEST_CASE("calendar validate finds a cycle of extends across the files given", "[calendar]") {
  TempDir dir;
  WriteFile(dir.Sub("a.yaml"), YearYaml(2026, "extends: b\n", "a"));
  WriteFile(dir.Sub("b.yaml"), YearYaml(2026, "extends: a\n", "b"));
  auto reports =
      engine::ValidateCalendarFiles({dir.Sub("a.yaml"), dir.Sub("b.yaml")}, ShippedDir());
  REQUIRE_OK(reports);
  REQUIRE((*reports)[0].problems ==
          std::vector<std::string>{dir.Sub("a.yaml") +
                                   ":5:10: calendar a, which extends b, which extends a: a cycle"});
  REQUIRE((*reports)[1].problems ==
          std::vector<std::string>{dir.Sub("b.yaml") +
                                   ":5:10: calendar b, which extends a, which extends b: a cycle"});
}

TEST_CASE("calendar validate reports a file it cannot read and checks the others", "[calendar]") {
  TempDir dir;
  auto reports = engine::ValidateCalendarFiles(
      {dir.Sub("absent.yaml"), ShippedDir() + "/cn-2026.yaml"}, ShippedDir());
  REQUIRE_OK(reports);
  REQUIRE((*reports)[0].unreadable.IsNotFound());
  REQUIRE((*reports)[1].problems.empty());
  REQUIRE(engine::ValidateCalendarFiles({}, dir.Sub("absent")).status().IsNotFound());
}
