// Rating codes (engine/rating_code.h, docs/security.md "Ratings"): a
// citizen's rating needs the code printed at intake, once per answer; the
// log keeps only its digest.
#include "engine/rating_code.h"
#include "engine/directory.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

constexpr const char* kCode = "7KQ3-M9XD-2PHF";

std::string IntakeWithCode(const std::string& code) {
  std::string data = IntakeData();
  data.pop_back();
  return data + ",\"rating_code\":\"" + code + "\"}";
}

std::string Rating(bool satisfied, const std::string& code) {
  std::string data = std::string("{\"satisfied\":") + (satisfied ? "true" : "false");
  if (!code.empty()) data += ",\"rating_code\":\"" + code + "\"";
  return data + "}";
}

// LS-1 taken in with kCode, dispatched, answered and closed.
void Answered(DeciderHarness& h) {
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode(kCode))));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00")));
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", unit, "2026-09-02T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-03T10:00:00+08:00", R"({"answer":"a"})")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "close", kCentre, "2026-09-04T10:00:00+08:00")));
}

}  // namespace

TEST_CASE("a rating code is read as Crockford reads it, and nothing else is one", "[rating_code]") {
  auto same = engine::NormalizeRatingCode("7kq3 m9xd-2phf");
  REQUIRE_OK(same);
  CHECK(*same == "7KQ3M9XD2PHF");
  CHECK(*engine::NormalizeRatingCode("OIL0-1111-1111") == "011011111111");
  for (const std::string& bad :
       {std::string(""), std::string("7KQ3-M9XD-2PH"), std::string("7KQ3-M9XD-2PHF-0"),
        std::string("7KQ3-M9XD-2PHU"), std::string("7KQ3\0M9XD2PHF", 13),
        std::string("\xd5\xc5\xc8\xfd-M9XD-2PHF"), std::string(100000, '7')}) {
    auto r = engine::NormalizeRatingCode(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
    CHECK(r.status().message().find("M9XD") == std::string::npos);  // never echoes the text
  }
  auto drawn = engine::NewRatingCode();
  REQUIRE_OK(drawn);
  CHECK(drawn->size() == 14);
  CHECK((*drawn)[4] == '-');
  CHECK(engine::NormalizeRatingCode(*drawn).ok());
  CHECK(*engine::NewRatingCode() != *drawn);
}

TEST_CASE("intake keeps the rating code's digest, never the code", "[decider][rating_code]") {
  DeciderHarness h;
  auto opened =
      h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode(kCode)));
  REQUIRE_OK(opened);
  const auto& reported = opened->front().case_reported();
  CHECK(reported.rating_code_digest() == engine::RatingCodeDigest("LS-1", "7KQ3M9XD2PHF"));
  CHECK(reported.rating_code_digest().size() == 32);
  const std::string bytes = opened->front().SerializeAsString();
  CHECK(bytes.find("7KQ3") == std::string::npos);
  CHECK(bytes.find("M9XD") == std::string::npos);
  CHECK(h.state().rating_code_digest() == reported.rating_code_digest());
  // Without one, the case has none.
  DeciderHarness plain;
  auto none = plain.Do(Cmd("LS-2", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData()));
  REQUIRE_OK(none);
  CHECK(none->front().case_reported().rating_code_digest().empty());
}

TEST_CASE("a citizen rates only with the case's code, once per answer", "[decider][rating_code]") {
  DeciderHarness h;
  Answered(h);
  const char* at = "2026-09-05T10:00:00+08:00";
  auto missing = h.Do(Cmd("LS-1", "rate", "p1:petitioner:", at, Rating(true, "")));
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(),
             Catch::StartsWith("data.rating_code: required: the rating code printed on the "
                               "petitioner's receipt"));
  auto wrong = h.Do(Cmd("LS-1", "rate", "p1:petitioner:", at, Rating(true, "7KQ3-M9XD-2PHG")));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message() == "data.rating_code: not the rating code of case \"LS-1\"");
  auto malformed = h.Do(Cmd("LS-1", "rate", "p1:petitioner:", at, Rating(true, "12")));
  REQUIRE_FALSE(malformed.ok());
  CHECK_THAT(malformed.status().message(), Catch::StartsWith("data.rating_code: a rating code"));
  auto number =
      h.Do(Cmd("LS-1", "rate", "p1:petitioner:", at, R"({"satisfied":true,"rating_code":12})"));
  REQUIRE_FALSE(number.ok());
  CHECK(number.status().message() == "data.rating_code: expected a string, got a number");

  auto rated = h.Do(Cmd("LS-1", "rate", "p1:petitioner:", at, Rating(false, "7kq3m9xd2phf")));
  REQUIRE_OK(rated);
  const auto* rating = FindPayload(*rated, "rated");
  REQUIRE(rating != nullptr);
  CHECK(rating->SerializeAsString().find("7KQ3") == std::string::npos);
  // Unsatisfied within 15 days: reopened, so a new answer may be rated again.
  REQUIRE(h.state().state() == "reopened");
  CHECK(h.state().rating_used_micros() == 0);
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-07T10:00:00+08:00", R"({"answer":"b"})")));
  REQUIRE_OK(h.Do(
      Cmd("LS-1", "rate", "p1:petitioner:", "2026-09-08T10:00:00+08:00", Rating(true, kCode))));
  CHECK(h.state().rating_used_micros() == At("2026-09-08T10:00:00+08:00"));
  auto twice =
      h.Do(Cmd("LS-1", "rate", "p1:petitioner:", "2026-09-09T10:00:00+08:00", Rating(true, kCode)));
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().message() ==
        "the rating code of case \"LS-1\" was used by the rating at 2026-09-08T10:00:00+08:00; it "
        "can be used again once the case is reopened and answered again");
}

TEST_CASE("only an intake and a rating carry a rating code", "[decider][rating_code]") {
  DeciderHarness h;
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode(kCode))));
  auto refused = h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00",
                          std::string("{\"rating_code\":\"") + kCode + "\"}"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "data.rating_code: only a case's intake and its rating carry a rating code, not "
        "\"dispatch\"");
  DeciderHarness bad;
  auto malformed =
      bad.Do(Cmd("LS-2", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode("ABC")));
  REQUIRE_FALSE(malformed.ok());
  CHECK_THAT(malformed.status().message(), Catch::StartsWith("data.rating_code: "));
}

TEST_CASE("a case without a code is rated as sent until the directory's checks are on",
          "[decider][rating_code]") {
  DeciderHarness h;
  REQUIRE_OK(h.Do(Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())));
  REQUIRE_OK(h.Do(Cmd("LS-1", "dispatch", kCentre, "2026-09-01T10:00:00+08:00")));
  const std::string unit = UnitActor(kStation);
  REQUIRE_OK(h.Do(Cmd("LS-1", "contact", unit, "2026-09-02T10:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("LS-1", "respond", unit, "2026-09-03T10:00:00+08:00", R"({"answer":"a"})")));
  engine::Directory checks;
  casegrid::v1::Event on;
  on.mutable_authorization_set()->set_enforced(true);
  REQUIRE_OK(checks.Apply(on));
  h.set_directory(&checks);
  auto refused =
      h.Do(Cmd("LS-1", "rate", "p:petitioner:", "2026-09-04T10:00:00+08:00", Rating(true, "")));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(),
             Catch::Contains("was taken in without a rating code, and with the directory's checks "
                             "on a citizen's rating needs the code"));
  h.set_directory(nullptr);
  REQUIRE_OK(
      h.Do(Cmd("LS-1", "rate", "p:petitioner:", "2026-09-04T10:00:00+08:00", Rating(true, ""))));
}

TEST_CASE("a 12345 callback is the operator's rating, without the code", "[decider][rating_code]") {
  DeciderHarness h("hotline-12345");
  const std::string order = std::string("{\"category\":\"noise\",\"grid\":\"") + kGrid +
                            "\",\"summary\":\"s\",\"rating_code\":\"" + kCode + "\"}";
  const char* hotline = "h01:hotline:371302";
  REQUIRE_OK(h.Do(Cmd("H-1", "intake", hotline, "2026-09-01T09:00:00+08:00", order)));
  CHECK_FALSE(h.state().rating_code_digest().empty());
  REQUIRE_OK(h.Do(Cmd("H-1", "dispatch", kCentre, "2026-09-01T11:00:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("H-1", "sign", UnitActor(kStation), "2026-09-01T13:40:00+08:00")));
  REQUIRE_OK(h.Do(Cmd("H-1", "answer", UnitActor(kStation), "2026-09-03T10:00:00+08:00",
                      R"({"answer":"done"})")));
  REQUIRE_OK(h.Do(Cmd("H-1", "callback", hotline, "2026-09-04T09:00:00+08:00",
                      R"({"satisfied":true,"score":5})")));
}

TEST_CASE("a command's digest leaves its rating code out", "[decider][rating_code]") {
  auto one = Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode(kCode));
  auto two =
      Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeWithCode("0000-0000-0000"));
  auto none = Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData());
  CHECK(engine::CommandDigest(one) == engine::CommandDigest(two));
  CHECK(engine::CommandDigest(one) == engine::CommandDigest(none));
  auto other = Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(true));
  CHECK(engine::CommandDigest(one) != engine::CommandDigest(other));
}
