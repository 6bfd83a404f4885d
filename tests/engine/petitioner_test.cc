// Petitioners and repeat demands (engine/petitioner.h): identifiers
// normalized and keyed, a repeat marked against the index, the 125 steps
// for first visits only (petition-125 v5), the index kept across restarts,
// and a petitioner key that is not the log's refused.
#include <catch2/catch.hpp>

#include "engine/petitioner.h"
#include "events/personal.h"
#include "tests/engine/engine_fixture.h"

namespace casegrid {
namespace {

using test::At;
using test::Cmd;

constexpr const char* kId = "11010519491231002X";  // a valid check digit

std::string Secret(char fill = 's') { return std::string(engine::kPetitionerSecretBytes, fill); }

std::string Intake(const std::string& category, const std::string& who) {
  return R"({"channel":"window","category":")" + category + R"(","grid":")" + test::kGrid +
         R"(","summary":"s","petitioner":)" + who + "}";
}

// The case_reported event of `case_id`.
casegrid::v1::CaseReported Reported(events::Log& log, const std::string& case_id) {
  casegrid::v1::CaseReported found;
  REQUIRE_OK(log.ReadCase(case_id, [&](uint64_t, std::string_view record) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    if (e.has_case_reported()) found = e.case_reported();
    return true;
  }));
  return found;
}

std::vector<std::string> OpenDeadlines(engine::Engine& engine, const std::string& case_id) {
  auto state = engine.CaseState(case_id);
  REQUIRE_OK(state);
  std::vector<std::string> names;
  for (const auto& d : state->deadlines()) names.push_back(d.name());
  return names;
}

TEST_CASE("a phone number is read as its digits, with or without the country code") {
  for (const char* text : {"13800000000", "138 0000 0000", "138-0000-0000", "+86 138 0000 0000",
                           "0086 13800000000", "8613800000000", "(+86) 138.0000.0000"}) {
    INFO(text);
    auto n = engine::NormalizePhone(text);
    REQUIRE_OK(n);
    CHECK(*n == "13800000000");
  }
  CHECK(*engine::NormalizePhone("0538-1234567") == "05381234567");
  CHECK(*engine::NormalizePhone("+44 20 7946 0958") == "+442079460958");
  CHECK(*engine::NormalizePhone("12345") == "12345");
  for (const char* text :
       {"", "138", "abc", "1380000000012345", "138+0000", "无", "++8613800000000"}) {
    INFO(text);
    auto n = engine::NormalizePhone(text);
    REQUIRE(n.status().IsInvalidArgument());
    const bool echoed =
        std::string_view(text).size() >= 2 && n.status().message().find(text) != std::string::npos;
    CHECK_FALSE(echoed);
  }
}

TEST_CASE("a resident identity number needs 18 characters and its check digit") {
  CHECK(*engine::NormalizeIdNumber(kId) == kId);
  CHECK(*engine::NormalizeIdNumber("11010519491231002x") == kId);
  CHECK(*engine::NormalizeIdNumber("110105 19491231 002X") == kId);
  auto wrong = engine::NormalizeIdNumber("110105194912310021");
  REQUIRE(wrong.status().IsInvalidArgument());
  CHECK_THAT(wrong.status().message(), Catch::Contains("check digit"));
  CHECK(wrong.status().message().find("110105") == std::string::npos);
  CHECK_THAT(engine::NormalizeIdNumber("11010519491231002").status().message(),
             Catch::Contains("17 characters"));
  CHECK_THAT(engine::NormalizeIdNumber("1101051949123100AX").status().message(),
             Catch::Contains("digits"));
}

TEST_CASE("a petitioner key depends on the secret, the kind and the identifier") {
  const std::string a = engine::PetitionerKey(Secret(), "phone", "13800000000");
  CHECK(a.size() == engine::kPetitionerKeyBytes);
  CHECK(a == engine::PetitionerKey(Secret(), "phone", "13800000000"));
  CHECK(a != engine::PetitionerKey(Secret('t'), "phone", "13800000000"));
  CHECK(a != engine::PetitionerKey(Secret(), "id", "13800000000"));
  CHECK(a != engine::PetitionerKey(Secret(), "phone", "13800000001"));
}

struct PetitionerRig : test::JournalRig {
  PetitionerRig() { REQUIRE_OK(engine->set_petitioner_secret(Secret(), "test key")); }
  engine::Answer One(const casegrid::v1::Command& cmd) { return Apply({cmd})[0]; }
};

TEST_CASE("an intake records its petitioner's keys and marks a repeat demand on the same matter") {
  PetitionerRig rig;
  const auto by_phone = R"({"name":"Zhang","phone":"138 0000 0000"})";
  const auto by_id_and_phone =
      std::string(R"({"name":"Zhang","phone":"+8613800000000","id_number":")") + kId + "\"}";
  const auto by_id_only = std::string(R"({"id_number":")") + kId + "\"}";
  const auto someone_else = R"({"name":"Li","phone":"13900000000"})";
  // Tuesday 1 September 2026, then later visits.
  REQUIRE(rig.One(Cmd("R-1", "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                      Intake("village-affairs", by_phone)))
              .kind == engine::Answer::Kind::kAccepted);
  REQUIRE(rig.One(Cmd("R-2", "intake", test::kWindow, "2026-09-08T09:00:00+08:00",
                      Intake("village-affairs", by_id_and_phone)))
              .kind == engine::Answer::Kind::kAccepted);
  REQUIRE(rig.One(Cmd("R-3", "intake", test::kWindow, "2026-09-09T09:00:00+08:00",
                      Intake("noise", by_phone)))
              .kind == engine::Answer::Kind::kAccepted);
  REQUIRE(rig.One(Cmd("R-4", "intake", test::kWindow, "2026-09-10T09:00:00+08:00",
                      Intake("village-affairs", someone_else)))
              .kind == engine::Answer::Kind::kAccepted);
  REQUIRE(rig.One(Cmd("R-5", "intake", test::kWindow, "2026-09-11T09:00:00+08:00",
                      Intake("village-affairs", by_id_only)))
              .kind == engine::Answer::Kind::kAccepted);

  const auto r1 = Reported(*rig.log, "R-1");
  REQUIRE(r1.petitioner_keys_size() == 1);
  CHECK(r1.petitioner_keys(0) == engine::PetitionerKey(Secret(), "phone", "13800000000"));
  CHECK(r1.petitioner_key_check() == events::KeyCheck(Secret()));
  CHECK(r1.repeat_of().empty());
  const auto r2 = Reported(*rig.log, "R-2");
  CHECK(r2.petitioner_keys_size() == 2);
  CHECK(r2.repeat_of() == "R-1");                         // the same phone, written another way
  CHECK(Reported(*rig.log, "R-3").repeat_of().empty());   // another matter
  CHECK(Reported(*rig.log, "R-4").repeat_of().empty());   // another person
  CHECK(Reported(*rig.log, "R-5").repeat_of() == "R-2");  // the identity number, the latest
  CHECK(rig.engine->CaseState("R-5")->repeat_of() == "R-2");

  SECTION("a first visit has the 125 steps; a repeat has its 30-day answer instead") {
    const std::string centre = test::kCentre;
    for (const char* id : {"R-1", "R-2"}) {
      REQUIRE(rig.One(Cmd(id, "dispatch", centre, "2026-09-11T10:00:00+08:00",
                          R"({"unit":")" + std::string(test::kStation) + "\"}"))
                  .kind == engine::Answer::Kind::kAccepted);
    }
    CHECK(OpenDeadlines(*rig.engine, "R-1") == std::vector<std::string>{"contact", "response"});
    CHECK(OpenDeadlines(*rig.engine, "R-2") == std::vector<std::string>{"repeat_response"});
    // Counted from the visit (Tuesday 8 September): the 30th calendar day
    // after it is Thursday 8 October, the end of that day.
    const auto r2_state = rig.engine->CaseState("R-2");
    CHECK(r2_state->deadlines(0).due_micros() == At("2026-10-08T23:59:59.999999+08:00"));
  }
  SECTION("the index survives a restart") {
    rig.Reopen();
    REQUIRE_OK(rig.engine->set_petitioner_secret(Secret(), "test key"));
    REQUIRE(rig.One(Cmd("R-6", "intake", test::kWindow, "2026-09-14T09:00:00+08:00",
                        Intake("village-affairs", by_phone)))
                .kind == engine::Answer::Kind::kAccepted);
    // By phone: R-1 and R-2 gave it (R-5 gave the identity number only).
    CHECK(Reported(*rig.log, "R-6").repeat_of() == "R-2");
  }
  SECTION("another petitioner key is refused, naming its file") {
    rig.Reopen();
    Status s = rig.engine->set_petitioner_secret(Secret('t'), "/data/petitioner.key");
    REQUIRE(s.IsCorruption());
    CHECK_THAT(s.message(), Catch::Contains("/data/petitioner.key"));
    CHECK_THAT(s.message(), Catch::Contains("restore"));
    // Until it is restored, an intake naming a petitioner is refused with
    // that reason and writes nothing; one naming nobody is taken.
    const uint64_t before = rig.Events();
    auto refused = rig.One(Cmd("R-7", "intake", test::kWindow, "2026-09-14T09:00:00+08:00",
                               Intake("village-affairs", by_phone)));
    REQUIRE(refused.kind == engine::Answer::Kind::kRejected);
    CHECK_THAT(refused.status.message(), Catch::Contains("/data/petitioner.key"));
    CHECK(rig.Events() == before);
    CHECK(rig.One(Cmd("R-8", "intake", test::kWindow, "2026-09-14T09:00:00+08:00",
                      Intake("village-affairs", "{}")))
              .kind == engine::Answer::Kind::kAccepted);
  }
}

TEST_CASE("a bad identity number or phone refuses the intake and writes nothing") {
  PetitionerRig rig;
  const uint64_t before = rig.Events();
  auto a = rig.One(Cmd("B-1", "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                       Intake("village-affairs", R"({"id_number":"110105194912310021"})")));
  REQUIRE(a.kind == engine::Answer::Kind::kRejected);
  CHECK_THAT(a.status.message(), Catch::Contains("data.petitioner.id_number"));
  auto b = rig.One(Cmd("B-2", "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                       Intake("village-affairs", R"({"phone":"ask the neighbour"})")));
  REQUIRE(b.kind == engine::Answer::Kind::kRejected);
  CHECK_THAT(b.status.message(), Catch::Contains("data.petitioner.phone: not a phone number"));
  CHECK(rig.Events() == before);
}

TEST_CASE("a repeat is an earlier case within the definition's repeat_within_days") {
  PetitionerRig rig;
  const auto who = R"({"phone":"13800000000"})";
  REQUIRE(rig.One(Cmd("W-1", "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                      Intake("village-affairs", who)))
              .kind == engine::Answer::Kind::kAccepted);
  // petition-125 v5: 365 days. Wednesday 1 September 2027 is 365 calendar
  // days after Tuesday 1 September 2026; Thursday 2 September is 366.
  rig.clock.SetMicros(At("2027-09-03T00:00:00+08:00"));
  REQUIRE(rig.One(Cmd("W-2", "intake", test::kWindow, "2027-09-02T09:00:00+08:00",
                      Intake("village-affairs", who)))
              .kind == engine::Answer::Kind::kAccepted);
  CHECK(Reported(*rig.log, "W-2").repeat_of().empty());
  // An import of an older demand: W-2 was taken in after it, W-1 before.
  REQUIRE(rig.One(Cmd("W-3", "intake", test::kWindow, "2027-09-01T09:00:00+08:00",
                      Intake("village-affairs", who)))
              .kind == engine::Answer::Kind::kAccepted);
  CHECK(Reported(*rig.log, "W-3").repeat_of() == "W-1");
}

TEST_CASE("without a petitioner key an intake records no keys and no repeat") {
  test::JournalRig rig;
  const auto who = R"({"phone":"13800000000"})";
  for (const char* id : {"N-1", "N-2"}) {
    REQUIRE(rig.Apply({Cmd(id, "intake", test::kWindow, "2026-09-01T09:00:00+08:00",
                           Intake("village-affairs", who))})[0]
                .kind == engine::Answer::Kind::kAccepted);
  }
  CHECK(Reported(*rig.log, "N-2").petitioner_keys_size() == 0);
  CHECK(Reported(*rig.log, "N-2").repeat_of().empty());
}

}  // namespace
}  // namespace casegrid
