// Publishing the official year of a calendar (`calendar publish`): the year
// takes the place of the provisional file, and the open deadlines counted
// over it are recounted from their own anchors and listed. Dates worked by
// hand below.
#include "engine/recount.h"
#include "engine/engine.h"
#include "engine/verify.h"
#include "events/log.h"
#include "tests/engine/engine_fixture.h"
#include "workflows/yaml_proto.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

// The "official" 2027 of this test: the shipped provisional year with New
// Year's Day made Fri 1 .. Mon 4 January, made up on Sat 9 January.
casegrid::v1::CalendarYear Official2027() {
  casegrid::v1::CalendarYear year;
  REQUIRE_OK(workflows::LoadYamlFile(SourcePath("workflows/calendars/cn-2027.yaml"), &year));
  REQUIRE(year.provisional());
  year.set_provisional(false);
  year.set_source("test: a notice for 2027");
  for (auto& h : *year.mutable_holidays()) {
    if (h.from() == "2027-01-01") h.set_to("2027-01-04");
  }
  auto* makeup = year.add_makeup_working_days();
  makeup->set_date("2027-01-09");
  makeup->set_for_(year.holidays(0).name());
  return year;
}

const casegrid::v1::CaseDeadline* Find(const casegrid::v1::CaseState& s, const std::string& name) {
  for (const auto& d : s.deadlines()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

engine::RecountRequest Request() {
  engine::RecountRequest r;
  r.calendar = "cn-mainland";
  r.change = RuleChangeBy("sup01", "the State Council's 2027 notice");
  return r;
}

}  // namespace

TEST_CASE("publishing the official year recounts the deadlines counted over the provisional one",
          "[calendar][recount]") {
  JournalRig rig;  // the clock reads 2026-12-31T00:00+08:00
  // P-1, simple, dispatched Wed 30 December 2026: contact by the end of Thu
  // 31 December (2026 only: published); response 5 working days after the
  // dispatch day: 31 Dec, (1 Jan off), 4, 5, 6, 7 January -> 7 January,
  // counted over provisional 2027.
  // P-2 runs in September 2026 only.
  auto answers =
      rig.Apply({Cmd("P-1", "intake", kWindow, "2026-12-30T09:00:00+08:00", IntakeData(), "p1-1"),
                 Cmd("P-1", "dispatch", kCentre, "2026-12-30T10:00:00+08:00", "{}", "p1-2"),
                 Cmd("P-2", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), "p2-1")});
  for (const auto& a : answers) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  auto before = rig.engine->CaseState("P-1");
  REQUIRE_OK(before);
  REQUIRE(Find(*before, "response") != nullptr);
  CHECK(Find(*before, "response")->due_micros() == At("2027-01-07T23:59:59.999999+08:00"));
  CHECK(Find(*before, "response")->provisional_calendar());
  CHECK_FALSE(Find(*before, "contact")->provisional_calendar());

  SECTION("a provisional year is not an official notice") {
    auto year = Official2027();
    year.set_provisional(true);
    auto refused =
        engine::PublishCalendarYear(*rig.engine, year, "", "cn-2027.yaml", Request().change);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() ==
          "calendar cn-mainland 2027 is marked provisional: publish the State Council's notice (a "
          "file without `provisional: true`)");
  }

  SECTION("published, then recounted: the response moves to Fri 8 January, no longer provisional") {
    const uint64_t events_before = rig.Events();
    auto published = engine::PublishCalendarYear(*rig.engine, Official2027(), "yaml",
                                                 "cn-2027.yaml", Request().change);
    REQUIRE_OK(published);
    CHECK(published->calendar_published().year() == 2027);
    CHECK(rig.Events() == events_before + 1);
    // The year is in force for new counts at once.
    const auto& cal = *rig.engine->config().calendars.at("cn-mainland");
    CHECK_FALSE(cal.IsProvisional(timeutil::DaysFromCivil(2027, 1, 1)));
    CHECK_FALSE(cal.IsWorkingDay(timeutil::DaysFromCivil(2027, 1, 4)));
    CHECK(cal.IsWorkingDay(timeutil::DaysFromCivil(2027, 1, 9)));
    // The same days again are refused.
    auto again = engine::PublishCalendarYear(*rig.engine, Official2027(), "yaml", "cn-2027.yaml",
                                             Request().change);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().message() ==
          "calendar cn-mainland 2027 is already in force with these days and hours");

    auto cases = engine::CasesToRecount(*rig.engine, "cn-mainland");
    REQUIRE_OK(cases);
    CHECK(*cases == std::vector<std::string>{"P-1"});

    auto dry = Request();
    dry.dry_run = true;
    const uint64_t events_published = rig.Events();
    auto plan = engine::Recount(*rig.engine, dry);
    REQUIRE_OK(plan);
    CHECK(rig.Events() == events_published);

    auto recounted = engine::Recount(*rig.engine, Request());
    REQUIRE_OK(recounted);
    REQUIRE(recounted->size() == 1);
    const auto& d = (*recounted)[0];
    CHECK(d.case_id == "P-1");
    CHECK(d.name == "response");
    CHECK(d.due_before == At("2027-01-07T23:59:59.999999+08:00"));
    CHECK(d.due_after == At("2027-01-08T23:59:59.999999+08:00"));
    CHECK_FALSE(d.provisional_after);
    CHECK(d.calendar_after == "cn-mainland (published schedule)");
    CHECK(plan->size() == 1);
    CHECK((*plan)[0].due_after == d.due_after);

    auto after = rig.engine->CaseState("P-1");
    REQUIRE_OK(after);
    CHECK(Find(*after, "response")->due_micros() == At("2027-01-08T23:59:59.999999+08:00"));
    CHECK_FALSE(Find(*after, "response")->provisional_calendar());
    // Recorded from the dispatch, as before: the anchor did not move.
    CHECK(Find(*after, "response")->anchor_event_id() ==
          Find(*before, "response")->anchor_event_id());
    CHECK(Find(*after, "contact")->due_micros() == Find(*before, "contact")->due_micros());

    // Nothing is left to recount; a recount command on the case is refused.
    auto none = engine::Recount(*rig.engine, Request());
    REQUIRE_OK(none);
    CHECK(none->empty());
    auto direct = engine::RecountCommands(Request(), {"P-1"});
    std::vector<engine::Answer> refused;
    REQUIRE_OK(rig.engine->Apply(direct, &refused));
    CHECK(refused[0].kind == engine::Answer::Kind::kRejected);
    CHECK(refused[0].status.message() ==
          "case P-1 has no open deadline counted over a provisional calendar year");

    auto verified = engine::VerifyLog(*rig.log);
    REQUIRE_OK(verified);
    CHECK(verified->first_problem.ok());
    // A configuration loaded from the log has the published year in place.
    auto config = engine::LoadConfig(SourcePath("workflows"), rig.log.get());
    REQUIRE_OK(config);
    CHECK(config->published_years.size() == 1);
    CHECK_FALSE(
        config->calendars.at("cn-mainland")->IsWorkingDay(timeutil::DaysFromCivil(2027, 1, 4)));
  }
}

TEST_CASE("a recount command comes from a supervisor, with a reason", "[calendar][recount]") {
  JournalRig rig;
  REQUIRE(rig.Apply({Cmd("P-1", "intake", kWindow, "2026-12-30T09:00:00+08:00", IntakeData()),
                     Cmd("P-1", "dispatch", kCentre, "2026-12-30T10:00:00+08:00", "{}")})[1]
              .kind == engine::Answer::Kind::kAccepted);
  auto cmd = engine::RecountCommands(Request(), {"P-1"})[0];
  cmd.mutable_actor()->set_role("centre");
  auto answers = rig.Apply({cmd});
  CHECK(answers[0].status.message() ==
        "recount: only a supervisor recounts deadlines (actor role \"centre\")");
  cmd = engine::RecountCommands(Request(), {"P-1"})[0];
  (*cmd.mutable_data()->mutable_fields())["reason"].set_string_value("");
  answers = rig.Apply({cmd});
  CHECK(answers[0].status.message() == "data.reason: required (why the deadlines are recounted)");
  // Under the provisional year the count is unchanged, and the mark stays.
  answers = rig.Apply({engine::RecountCommands(Request(), {"P-1"})[0]});
  REQUIRE(answers[0].kind == engine::Answer::Kind::kAccepted);
  auto state = rig.engine->CaseState("P-1");
  REQUIRE_OK(state);
  CHECK(Find(*state, "response")->due_micros() == At("2027-01-07T23:59:59.999999+08:00"));
  CHECK(Find(*state, "response")->provisional_calendar());
}
