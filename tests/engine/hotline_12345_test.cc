// The shipped hotline-12345 definition, run through the decider: sign for it
// within 2 working hours or be urged, return a mis-routed order only in that
// window, one extension the centre grants or refuses, the callback, and at
// most two redos before the centre decides.
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

const char* kHotline = "h01:hotline:371302";

std::string OrderData() {
  return std::string("{\"category\":\"street-lighting\",\"grid\":\"") + kGrid +
         "\",\"summary\":\"Lamp out on the main road\"}";
}

// Taken in at 09:00 and dispatched to the grid's station at 11:00 on Tuesday
// 2026-09-01.
void Dispatched(DeciderHarness& h) {
  REQUIRE_OK(h.Do(Cmd("H-1", "intake", kHotline, "2026-09-01T09:00:00+08:00", OrderData())));
  REQUIRE_OK(h.Do(Cmd("H-1", "dispatch", kCentre, "2026-09-01T11:00:00+08:00")));
}

// ... signed at 13:40 and answered on Thursday.
void Answered(DeciderHarness& h) {
  Dispatched(h);
  REQUIRE_OK(h.Do(Cmd("H-1", "sign", UnitActor(kStation), "2026-09-01T13:40:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("H-1", "answer", UnitActor(kStation), "2026-09-03T10:00:00+08:00",
                      R"({"answer":"The lamp was replaced"})")));
}

}  // namespace

TEST_CASE("hotline: a dispatched order is due to be signed 2 working hours later, over lunch",
          "[hotline]") {
  DeciderHarness h("hotline-12345");
  Dispatched(h);
  REQUIRE(h.state().workflow_id() == "hotline-12345");
  REQUIRE(h.state().channel() == "hotline");  // no channel given: the role that took it in
  REQUIRE(h.state().unit() == kStation);
  // 11:00-12:00 and 13:30-14:30.
  REQUIRE(h.Due("sign") == At("2026-09-01T14:30:00+08:00"));
  REQUIRE(h.Due("answer") == -1);
}

TEST_CASE("hotline: an order not signed in time is urged automatically and can still be signed",
          "[hotline]") {
  DeciderHarness h("hotline-12345");
  Dispatched(h);
  auto fired = h.Breach("sign");
  REQUIRE_OK(fired);
  REQUIRE(Count(*fired, "deadline_breached") == 1);
  const auto* urged = FindPayload(*fired, "urged");
  REQUIRE(urged != nullptr);
  CHECK(urged->urged().deadline() == "sign");
  CHECK(urged->actor().role() == "system");
  CHECK(h.state().state() == "dispatched");
  auto signed_late = h.Do(Cmd("H-1", "sign", UnitActor(kStation), "2026-09-01T16:00:00+08:00"));
  REQUIRE_OK(signed_late);
  const auto* met = FindPayload(*signed_late, "deadline_met");
  REQUIRE(met != nullptr);
  CHECK(met->deadline_met().late());
  // Answer: 5 working days after the sign day.
  CHECK(h.Due("answer") == At("2026-09-08T23:59:59.999999+08:00"));
}

TEST_CASE("hotline: a mis-routed order is returned only within the sign-for window", "[hotline]") {
  SECTION("in time: back to the centre, which dispatches again") {
    DeciderHarness h("hotline-12345");
    Dispatched(h);
    REQUIRE_OK(h.Do(Cmd("H-1", "return", UnitActor(kStation), "2026-09-01T14:00:00+08:00",
                        R"({"reason":"street lighting is the town's"})")));
    CHECK(h.state().state() == "received");
    CHECK(h.state().unit().empty());
    CHECK(h.Due("sign") == -1);
    CHECK(h.Due("dispatch") == At("2026-09-01T23:59:59.999999+08:00"));
    REQUIRE_OK(h.Do(Cmd("H-1", "dispatch", kCentre, "2026-09-01T15:00:00+08:00",
                        std::string("{\"unit\":\"") + kTown + "\"}")));
    CHECK(h.state().unit() == kTown);
  }
  SECTION("too late") {
    DeciderHarness h("hotline-12345");
    Dispatched(h);
    CHECK(Rejection(h, Cmd("H-1", "return", UnitActor(kStation), "2026-09-01T14:31:00+08:00",
                           R"({"reason":"not ours"})")) ==
          "action \"return\" is allowed only within deadline \"sign\", which was due "
          "2026-09-01T14:30:00+08:00");
  }
  SECTION("without a reason") {
    DeciderHarness h("hotline-12345");
    Dispatched(h);
    CHECK(Rejection(h, Cmd("H-1", "return", UnitActor(kStation), "2026-09-01T14:00:00+08:00")) ==
          "data.reason: required by action \"return\"");
  }
}

TEST_CASE("hotline: one extension, which the centre grants or refuses", "[hotline]") {
  DeciderHarness h("hotline-12345");
  Dispatched(h);
  REQUIRE_OK(h.Do(Cmd("H-1", "sign", UnitActor(kStation), "2026-09-01T13:40:00+08:00")));
  const int64_t due = h.Due("answer");
  REQUIRE(due == At("2026-09-08T23:59:59.999999+08:00"));
  REQUIRE_OK(h.Do(Cmd("H-1", "request_extension", UnitActor(kStation), "2026-09-04T10:00:00+08:00",
                      R"({"working_days":3,"reason":"parts on order"})")));
  CHECK(h.state().state() == "extension_requested");
  SECTION("granted: the answer is due 3 working days later") {
    REQUIRE_OK(h.Do(Cmd("H-1", "grant_extension", kCentre, "2026-09-04T11:00:00+08:00",
                        R"({"deadline":"answer","working_days":3,"reason":"agreed"})")));
    CHECK(h.state().state() == "signed");
    CHECK(h.Due("answer") == At("2026-09-11T23:59:59.999999+08:00"));
  }
  SECTION("refused: the answer stays due when it was") {
    REQUIRE_OK(h.Do(Cmd("H-1", "refuse_extension", kCentre, "2026-09-04T11:00:00+08:00",
                        R"({"reason":"a lamp takes a day"})")));
    CHECK(h.state().state() == "signed");
    CHECK(h.Due("answer") == due);
  }
  CHECK(Rejection(h, Cmd("H-1", "request_extension", UnitActor(kStation),
                         "2026-09-04T12:00:00+08:00", R"({"working_days":2,"reason":"again"})")) ==
        "action \"request_extension\" may be taken at most 1 time(s) per case");
}

TEST_CASE("hotline: a satisfied callback closes the order", "[hotline]") {
  DeciderHarness h("hotline-12345");
  Answered(h);
  CHECK(h.Due("callback") == At("2026-09-07T23:59:59.999999+08:00"));
  auto events = h.Do(Cmd("H-1", "callback", kHotline, "2026-09-04T09:00:00+08:00",
                         R"({"satisfied":true,"score":5})"));
  REQUIRE_OK(events);
  REQUIRE(FindPayload(*events, "rated") != nullptr);
  const auto* closed = FindPayload(*events, "case_closed");
  REQUIRE(closed != nullptr);
  CHECK(closed->action() == "confirm");
  CHECK(closed->case_closed().level() == "village");
  CHECK(closed->case_closed().on_time());
  CHECK(h.state().state() == "closed");
  CHECK(h.state().deadlines_size() == 0);
}

TEST_CASE("hotline: unsatisfied twice means two redos, the third time the centre decides",
          "[hotline]") {
  DeciderHarness h("hotline-12345");
  Answered(h);
  const std::string unit = UnitActor(kStation);
  const char* unsatisfied = R"({"satisfied":false,"comment":"still dark"})";
  auto first = h.Do(Cmd("H-1", "callback", kHotline, "2026-09-04T09:00:00+08:00", unsatisfied));
  REQUIRE_OK(first);
  const auto* reopened = FindPayload(*first, "reopened");
  REQUIRE(reopened != nullptr);
  CHECK(reopened->action() == "send_back");
  CHECK(reopened->reopened().reason() == "callback: satisfied is false");
  CHECK(h.state().state() == "redoing");
  CHECK(h.Due("answer") == At("2026-09-11T23:59:59.999999+08:00"));

  REQUIRE_OK(
      h.Do(Cmd("H-1", "answer", unit, "2026-09-07T10:00:00+08:00", R"({"answer":"fixed"})")));
  REQUIRE_OK(h.Do(Cmd("H-1", "callback", kHotline, "2026-09-07T15:00:00+08:00", unsatisfied)));
  CHECK(h.state().state() == "redoing");
  REQUIRE_OK(h.Do(Cmd("H-1", "answer", unit, "2026-09-08T10:00:00+08:00", R"({"answer":"now"})")));
  auto third = h.Do(Cmd("H-1", "callback", kHotline, "2026-09-08T15:00:00+08:00", unsatisfied));
  REQUIRE_OK(third);
  CHECK(FindPayload(*third, "reopened") == nullptr);
  CHECK(h.state().state() == "centre_review");
  // The unit cannot answer now; the centre decides.
  CHECK(Rejection(
            h, Cmd("H-1", "answer", unit, "2026-09-08T16:00:00+08:00", R"({"answer":"again"})")) ==
        "action \"answer\" is not allowed in state \"centre_review\" (allowed from: signed, "
        "extension_requested, redoing)");
  SECTION("the centre closes it") {
    REQUIRE_OK(h.Do(Cmd("H-1", "close", kCentre, "2026-09-09T09:00:00+08:00",
                        R"({"note":"answered as far as the law allows"})")));
    CHECK(h.state().state() == "closed");
  }
  SECTION("the centre hands it to another unit, which signs for it within 2 working hours") {
    REQUIRE_OK(h.Do(Cmd("H-1", "reassign", kCentre, "2026-09-09T09:00:00+08:00",
                        std::string("{\"unit\":\"") + kTown + "\"}")));
    CHECK(h.state().state() == "dispatched");
    CHECK(h.state().unit() == kTown);
    CHECK(h.Due("sign") == At("2026-09-09T11:00:00+08:00"));
  }
}

TEST_CASE("hotline: only the hotline calls back, and only an answered order", "[hotline]") {
  DeciderHarness h("hotline-12345");
  Dispatched(h);
  CHECK(Rejection(h, Cmd("H-1", "callback", kHotline, "2026-09-01T12:00:00+08:00",
                         R"({"satisfied":true})")) ==
        "action \"callback\" is not allowed in state \"dispatched\" (allowed from: answered)");
  CHECK(Rejection(h, Cmd("H-1", "send_back", kCentre, "2026-09-01T12:00:00+08:00",
                         R"({"reason":"x"})")) ==
        "action \"send_back\" is not allowed in state \"dispatched\" (allowed from: answered)");
}
