// The directory of people (engine/directory.h): its changes, checked and
// written as events of one chain, its fold, and token authentication.
#include "engine/directory.h"

#include <limits>
#include <string>
#include <tuple>

#include "engine/access.h"
#include "engine/verify.h"
#include "tests/engine/engine_fixture.h"

namespace casegrid::test {
namespace {

using engine::Directory;
using engine::DirectoryChange;
using engine::Grant;

DirectoryChange By(const std::string& user, const std::string& reason = "") {
  DirectoryChange c;
  c.by.set_user(user);
  c.reason = reason;
  return c;
}

std::string Message(const Status& s) { return s.message(); }

}  // namespace

TEST_CASE("directory changes are events of one chain, folded into users, grants and tokens",
          "[engine][directory]") {
  JournalRig rig;
  auto& engine = *rig.engine;
  engine.set_os_account("ops");
  auto added = engine::AddUser(engine, By("admin1", "new hire"), "zhang.wei", "张伟");
  REQUIRE_OK(added);
  CHECK(added->case_id() == "casegrid:directory");
  CHECK(added->event_id() == "casegrid:directory/1");
  CHECK(added->actor().user() == "admin1");
  CHECK(added->actor().role() == "admin");
  CHECK(added->os_account() == "ops");
  REQUIRE_OK(engine::GrantRole(engine, By("admin1"), "zhang.wei", {"unit", kStation}));
  REQUIRE_OK(engine::GrantRole(engine, By("admin1"), "zhang.wei", {"centre", kTown}));
  REQUIRE_OK(engine::RevokeRole(engine, By("admin1", "moved"), "zhang.wei", {"centre", kTown}));

  auto d = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(d);
  const auto* u = d->FindUser("zhang.wei");
  REQUIRE(u != nullptr);
  CHECK(u->name == "张伟");
  CHECK(u->grants == std::set<Grant>{{"unit", kStation}});
  CHECK(d->FindUser("nobody") == nullptr);

  // The chain verifies like every case, and the engine's state of it too.
  auto report = engine::VerifyLog(*rig.log, {});
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
  CHECK(report->events == 4);
}

TEST_CASE("a directory change that cannot be made is refused by name and writes nothing",
          "[engine][directory]") {
  JournalRig rig;
  auto& engine = *rig.engine;
  REQUIRE_OK(engine::AddUser(engine, By("admin1"), "li.na", "李娜"));
  const uint64_t before = rig.Events();
  struct Case {
    const char* what;
    Status status;
    const char* says;
  };
  const std::string gbk_name("\xd5\xc5\xce\xb0", 4);  // 张伟 in GBK: not UTF-8
  const Case cases[] = {
      {"added twice", engine::AddUser(engine, By("admin1"), "li.na", "Li").status(),
       "USER: li.na is already in the directory"},
      {"a GBK name", engine::AddUser(engine, By("admin1"), "zhang", gbk_name).status(), "--name"},
      {"no name", engine::AddUser(engine, By("admin1"), "zhang", "").status(), "--name"},
      {"an id with a control character",
       engine::AddUser(engine, By("admin1"), std::string("a\x01", 2), "A").status(), "USER"},
      {"an id past 128 bytes",
       engine::AddUser(engine, By("admin1"), std::string(129, 'a'), "A").status(), "USER"},
      {"no one making it", engine::AddUser(engine, By(""), "zhang", "Zhang").status(), "--by"},
      {"an unknown role",
       engine::GrantRole(engine, By("admin1"), "li.na", {"mayor", kStation}).status(),
       "ROLE: no role \"mayor\""},
      {"an unknown unit",
       engine::GrantRole(engine, By("admin1"), "li.na", {"unit", "999999"}).status(),
       "UNIT: no unit \"999999\""},
      {"a grant to nobody",
       engine::GrantRole(engine, By("admin1"), "nobody", {"unit", kStation}).status(),
       "USER: no user nobody"},
      {"a revocation of what is not held",
       engine::RevokeRole(engine, By("admin1", "why"), "li.na", {"unit", kStation}).status(),
       "holds no unit in"},
      {"a revocation without a reason",
       engine::RevokeRole(engine, By("admin1"), "li.na", {"unit", kStation}).status(), "--reason"},
      {"a token for nobody", engine::IssueToken(engine, By("admin1"), "nobody", "", 0).status(),
       "USER: no user nobody"},
      {"a token already expired",
       engine::IssueToken(engine, By("admin1"), "li.na", "", At("2026-01-01T00:00:00+08:00"))
           .status(),
       "--expires"},
      {"revoking no token",
       engine::RevokeToken(engine, By("admin1", "lost"), "000000000000").status(), "TOKEN"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(c.status.IsInvalidArgument());
    CHECK_THAT(Message(c.status), Catch::Contains(c.says));
  }
  CHECK(rig.Events() == before);
}

TEST_CASE("a token authenticates its user until revoked or expired, and only with its secret",
          "[engine][directory]") {
  JournalRig rig;
  auto& engine = *rig.engine;
  REQUIRE_OK(engine::AddUser(engine, By("admin1"), "gateway", "12345 gateway"));
  auto forever = engine::IssueToken(engine, By("admin1"), "gateway", "12345", 0);
  REQUIRE_OK(forever);
  const int64_t expiry = rig.clock.NowMicros() + 3'600'000'000;
  auto hour = engine::IssueToken(engine, By("admin1"), "gateway", "console", expiry);
  REQUIRE_OK(hour);
  const std::string& token = forever->token;
  CHECK(token.size() == 3 + 12 + 1 + 43);
  CHECK(token.rfind("cg_" + forever->event.token_issued().token_id() + "_", 0) == 0);
  // The log keeps the secret's hash, not the secret.
  const std::string secret = token.substr(16);
  CHECK(forever->event.token_issued().secret_sha256() == events::Sha256(secret));
  CHECK(forever->event.SerializeAsString().find(secret) == std::string::npos);

  auto d = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(d);
  const int64_t now = rig.clock.NowMicros();
  auto who = d->Authenticate(token, now);
  REQUIRE_OK(who);
  CHECK((*who)->id == "gateway");
  REQUIRE_OK(d->Authenticate(hour->token, now));

  std::string wrong = token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  std::string why;
  for (const std::string& bad : {wrong, std::string("cg_"), std::string(""), token + "x",
                                 std::string("Bearer ") + token, token.substr(0, 15) + "_"}) {
    auto r = d->Authenticate(bad, now, &why);
    INFO(bad << ": " << why);
    CHECK(r.status().IsUnauthenticated());
    // One message whatever is wrong: a caller learns nothing from it.
    CHECK(r.status().message() == "the token is not valid");
  }
  CHECK(d->Authenticate(hour->token, expiry, &why).status().IsUnauthenticated());
  CHECK(why.find("expired") != std::string::npos);

  REQUIRE_OK(engine::RevokeToken(engine, By("admin1", "leaked"),
                                 forever->event.token_issued().token_id()));
  auto after = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(after);
  CHECK(after->Authenticate(token, now, &why).status().IsUnauthenticated());
  CHECK(why.find("revoked") != std::string::npos);
  REQUIRE_OK(after->Authenticate(hour->token, now));
}

TEST_CASE("a chain change checked against an older chain is a conflict and writes nothing",
          "[engine][directory]") {
  JournalRig rig;
  REQUIRE_OK(engine::AddUser(*rig.engine, By("ops"), "a", "A"));
  const uint64_t before = rig.Events();
  casegrid::v1::Event e;
  e.set_case_id("casegrid:directory");
  e.mutable_user_added()->set_user("a");  // checked when the chain had no event
  auto r = rig.engine->AppendToChain(e, 0);
  CHECK(r.status().IsConflict());
  CHECK(rig.Events() == before);
  auto d = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(d);
  CHECK(d->last_seq() == 1);
  e.set_case_id("LS-1");
  CHECK(rig.engine->AppendToChain(e).status().IsInvalidArgument());  // not a chain
}

TEST_CASE("a directory chain that does not make sense is Corruption when folded",
          "[engine][directory]") {
  Directory d;
  casegrid::v1::Event e;
  e.set_event_id("casegrid:directory/1");
  e.mutable_role_granted()->set_user("ghost");
  CHECK(d.Apply(e).IsCorruption());
  casegrid::v1::Event added;
  added.mutable_user_added()->set_user("a");
  REQUIRE_OK(d.Apply(added));
  CHECK(d.Apply(added).IsCorruption());  // added twice
  casegrid::v1::Event other;
  other.set_action("intake");
  CHECK(d.Apply(other).IsCorruption());
}

}  // namespace casegrid::test

namespace casegrid::test {
namespace {

// A journal rig with the staff of Lifecycle() in the directory and the checks
// on: admin1 (admin), w01 (window), c01 (centre), the station's unit user and
// sup01 (supervisor), all in their units; intern42 is in no grant.
struct CheckedRig : JournalRig {
  CheckedRig() {
    auto& e = *engine;
    // The rig's clock is at the year's end and its commands are dated in
    // September: not backdating here (users_cli_test checks that).
    e.mutable_config()->backdate_window_micros = std::numeric_limits<int64_t>::max();
    auto add = [&](const std::string& user, const std::string& role, const std::string& unit) {
      REQUIRE_OK(engine::AddUser(e, By("ops"), user, user));
      if (!role.empty()) REQUIRE_OK(engine::GrantRole(e, By("ops"), user, {role, unit}));
    };
    add("admin1", "admin", kDistrict);
    add("w01", "window", kDistrict);
    add("c01", "centre", kDistrict);
    add("u-" + std::string(kStation), "unit", kStation);
    add("sup01", "supervisor", kDistrict);
    add("intern42", "", "");
    REQUIRE_OK(engine::SetEnforced(e, By("admin1", "go-live"), true));
  }
};

std::string Rejection(JournalRig& rig, const casegrid::v1::Command& cmd) {
  auto answers = rig.Apply({cmd});
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].kind == engine::Answer::Kind::kRejected);
  return answers[0].status.message();
}

}  // namespace

TEST_CASE("with the checks on, a staff actor must hold a grant of its role in its unit",
          "[engine][directory]") {
  CheckedRig rig;
  for (const auto& a : rig.Apply(Lifecycle("LS-1"))) {
    INFO(a.status.ToString());
    CHECK(a.kind == engine::Answer::Kind::kAccepted);
  }
  // Someone in no grant, someone not in the directory, a grant in another
  // unit, another role in one's own unit: each refused, naming what is held.
  CHECK_THAT(
      Rejection(rig, Cmd("LS-2", "intake", "intern42:window:371302", "2026-09-01T09:00:00+08:00",
                         IntakeData())),
      Catch::Contains("intern42 holds no grant of role window in unit 371302 (holds: none)"));
  CHECK_THAT(Rejection(rig, Cmd("LS-2", "intake", "ghost:window:371302",
                                "2026-09-01T09:00:00+08:00", IntakeData())),
             Catch::Contains("actor.user: ghost is not in the directory"));
  CHECK_THAT(Rejection(rig, Cmd("LS-2", "intake", "w01:window:371302-001",
                                "2026-09-01T09:00:00+08:00", IntakeData())),
             Catch::Contains("w01 holds no grant of role window in unit 371302-001 (holds: window "
                             "in 371302)"));
  rig.Apply({Cmd("LS-3", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())});
  CHECK_THAT(
      Rejection(rig, Cmd("LS-3", "dispatch", "w01:centre:371302", "2026-09-01T10:00:00+08:00")),
      Catch::Contains("w01 holds no grant of role centre in unit 371302"));
  // Deadlines are the engine's own: they still fire.
  auto fired = rig.engine->Tick(At("2026-12-30T00:00:00+08:00"));
  REQUIRE_OK(fired);
  CHECK(fired->events > 0);
}

TEST_CASE("with the checks on, rule changes need a supervisor and directory changes an admin",
          "[engine][directory]") {
  CheckedRig rig;
  auto& e = *rig.engine;
  auto pin = engine::Pin(e, "hotline-12345", "noise", 1, RuleChangeBy("intern42", "why not"));
  CHECK(pin.status().IsInvalidArgument());
  CHECK_THAT(Message(pin.status()),
             Catch::Contains("--by: changing the rules needs the role supervisor; intern42 holds: "
                             "none"));
  REQUIRE_OK(engine::Pin(e, "hotline-12345", "noise", 1, RuleChangeBy("sup01", "trial")));

  auto grant = engine::GrantRole(e, By("sup01"), "intern42", {"window", kDistrict});
  CHECK_THAT(Message(grant.status()),
             Catch::Contains("--by: changing the directory needs the role admin; sup01 holds: "
                             "supervisor in 371302"));
  REQUIRE_OK(engine::GrantRole(e, By("admin1"), "intern42", {"window", kDistrict}));
  // The engine decides with the directory as changed at once.
  auto answers = rig.Apply(
      {Cmd("LS-9", "intake", "intern42:window:371302", "2026-09-01T09:00:00+08:00", IntakeData())});
  CHECK(answers[0].kind == engine::Answer::Kind::kAccepted);

  // Off again only by an admin, and on only by one.
  CHECK(engine::SetEnforced(e, By("sup01", "x"), false).status().IsInvalidArgument());
  REQUIRE_OK(engine::SetEnforced(e, By("admin1", "audit over"), false));
  CHECK(rig.Apply({Cmd("LS-10", "intake", "nobody:window:371302", "2026-09-01T09:00:00+08:00",
                       IntakeData())})[0]
            .kind == engine::Answer::Kind::kAccepted);
  auto on = engine::SetEnforced(e, By("w01", "x"), true);
  CHECK_THAT(Message(on.status()), Catch::Contains("turning the checks on needs the role admin"));
}

TEST_CASE("the checks survive a restart: the engine reads the directory with its rules",
          "[engine][directory]") {
  TempDir dir;
  VirtualEnv clock{At("2026-12-31T00:00:00+08:00")};
  {
    auto log = events::OpenJournal(dir.Sub("journal"), {});
    REQUIRE_OK(log);
    auto config = engine::LoadConfig(SourcePath("workflows"), log->get());
    REQUIRE_OK(config);
    auto e = engine::Engine::Open(log->get(), std::move(config).value(), &clock);
    REQUIRE_OK(e);
    REQUIRE_OK(engine::AddUser(**e, By("ops"), "admin1", "A"));
    REQUIRE_OK(engine::GrantRole(**e, By("ops"), "admin1", {"admin", kDistrict}));
    REQUIRE_OK(engine::SetEnforced(**e, By("admin1", "go-live"), true));
  }
  auto log = events::OpenJournal(dir.Sub("journal"), {});
  REQUIRE_OK(log);
  auto config = engine::LoadConfig(SourcePath("workflows"), log->get());
  REQUIRE_OK(config);
  REQUIRE(config->directory != nullptr);
  CHECK(config->directory->enforced());
  auto e = engine::Engine::Open(log->get(), std::move(config).value(), &clock);
  REQUIRE_OK(e);
  std::vector<engine::Answer> answers;
  const std::vector<casegrid::v1::Command> cmds = {
      Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())};
  REQUIRE_OK((*e)->Apply(cmds, &answers));
  CHECK(answers[0].kind == engine::Answer::Kind::kRejected);
  CHECK_THAT(answers[0].status.message(), Catch::Contains("w01 is not in the directory"));
}

}  // namespace casegrid::test

namespace casegrid::test {

TEST_CASE("a chain follower keeps a worker's directory up to date, on a copy",
          "[engine][directory]") {
  JournalRig rig;
  engine::Config mine = ShippedConfig();  // a worker's: the files only
  engine::ChainFollower follower;
  auto none = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(none);
  CHECK(*none == 0);
  CHECK(mine.directory == nullptr);

  REQUIRE_OK(engine::AddUser(*rig.engine, By("ops"), "admin1", "A"));
  REQUIRE_OK(engine::GrantRole(*rig.engine, By("ops"), "admin1", {"admin", kDistrict}));
  auto two = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(two);
  CHECK(*two == 2);
  REQUIRE(mine.directory != nullptr);
  CHECK_FALSE(mine.directory->enforced());
  const auto before = mine.directory;  // an engine deciding with it keeps it as it was

  REQUIRE_OK(engine::SetEnforced(*rig.engine, By("admin1", "go-live"), true));
  auto one = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(one);
  CHECK(*one == 1);
  CHECK(mine.directory->enforced());
  CHECK_FALSE(before->enforced());
  CHECK(mine.directory->last_seq() == 3);
  auto again = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(again);
  CHECK(*again == 0);
}

}  // namespace casegrid::test

namespace casegrid::test {

TEST_CASE("a password is kept as an argon2id verifier and signs its user in, nobody else",
          "[engine][directory][password]") {
  constexpr int64_t kHourMicros = int64_t{3600} * 1000 * 1000;
  JournalRig rig;
  auto& engine = *rig.engine;
  REQUIRE_OK(engine::AddUser(engine, By("ops"), "admin1", "A"));
  REQUIRE_OK(engine::GrantRole(engine, By("ops"), "admin1", {"admin", kDistrict}));
  REQUIRE_OK(engine::AddUser(engine, By("admin1"), "li.na", "李娜"));
  REQUIRE_OK(engine::AddUser(engine, By("admin1"), "w01", "W"));
  REQUIRE_OK(engine::SetEnforced(engine, By("admin1", "go-live"), true));
  const std::string password = "correct horse 电池 staple";
  const size_t before = engine.config().directory->last_seq();

  // Refused, nothing written, and the password never repeated.
  const std::string gbk = "\xB5\xE7\xB3\xD8 battery staple";  // 电池 in GBK
  for (const auto& [what, pw, says] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"too short", "short", "at least 10 bytes"},
           {"GBK", gbk, "not UTF-8"},
           {"a control byte", std::string("abc\x01") + "defghijk", "control characters"},
           {"a NUL", std::string("abcdefghij\0k", 12), "control characters"},
           {"too long", std::string(1025, 'a'), "at most 1024 bytes"}}) {
    INFO(what);
    auto e = engine::SetPassword(engine, By("admin1"), "li.na", pw);
    CHECK_THAT(Message(e.status()), Catch::Contains(says));
    CHECK_THAT(Message(e.status()), !Catch::Contains(pw.substr(0, 5)));
  }
  CHECK_THAT(Message(engine::SetPassword(engine, By("admin1"), "nobody", password).status()),
             Catch::Contains("no user nobody"));
  // Someone else's password takes an admin; one's own does not.
  CHECK_THAT(Message(engine::SetPassword(engine, By("w01"), "li.na", password).status()),
             Catch::Contains("needs the role admin"));
  CHECK(engine.config().directory->last_seq() == before);

  auto set = engine::SetPassword(engine, By("li.na", "first sign-in"), "li.na", password);
  REQUIRE_OK(set);
  CHECK(set->password_set().verifier().rfind("$argon2id$", 0) == 0);
  CHECK(set->SerializeAsString().find("horse") == std::string::npos);
  REQUIRE_OK(engine::SetPassword(engine, By("admin1"), "w01", "window password 1"));

  // Wrong password, unknown user, a user without one: the same words.
  const size_t after = engine.config().directory->last_seq();
  for (const auto& [user, pw] :
       std::vector<std::pair<std::string, std::string>>{{"li.na", "correct horse battery"},
                                                        {"li.na", "window password 1"},
                                                        {"ghost", password},
                                                        {"admin1", password}}) {
    auto in = engine::LogIn(engine, user, pw, "console", kHourMicros);
    CHECK(in.status().IsUnauthenticated());
    CHECK(Message(in.status()) == "wrong user or password");
  }
  CHECK(engine.config().directory->last_seq() == after);

  auto in = engine::LogIn(engine, "li.na", password, "console", kHourMicros);
  REQUIRE_OK(in);
  CHECK(in->event.actor().user() == "li.na");
  auto who = engine.config().directory->Authenticate(in->token, rig.clock.NowMicros());
  REQUIRE(who.ok());
  CHECK((*who)->id == "li.na");
  rig.clock.AdvanceMicros(2 * kHourMicros);  // the session's token expires
  CHECK_FALSE(engine.config().directory->Authenticate(in->token, rig.clock.NowMicros()).ok());
  // A restart reads the verifier back.
  auto reloaded = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(reloaded);
  CHECK(reloaded->CheckPassword("li.na", password).ok());
  CHECK_FALSE(reloaded->CheckPassword("li.na", "correct horse").ok());
}

}  // namespace casegrid::test

namespace casegrid::test {

TEST_CASE(
    "a read scope reaches a grant's unit and the units below it, and auditors and the district "
    "centre every case",
    "[engine][directory][access]") {
  CheckedRig rig;
  auto& e = *rig.engine;
  auto add = [&](const std::string& user, const std::string& role, const std::string& unit) {
    REQUIRE_OK(engine::AddUser(e, By("admin1"), user, user));
    REQUIRE_OK(engine::GrantRole(e, By("admin1"), user, {role, unit}));
  };
  add("t1", "centre", kTown);
  add("t2", "centre", "371302-002");
  add("d01", "unit", "371302-D01");
  add("sup1", "supervisor", kTown);
  add("aud", "auditor", kTown);
  auto d = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(d);
  const auto& org = e.config().org;
  auto scope = [&](const std::string& user) {
    auto s = engine::ReadScope::Of(*d, org, user);
    REQUIRE_OK(s);
    return *s;
  };
  casegrid::v1::CaseState at_station;  // dispatched to the station of its grid cell
  at_station.set_case_id("LS-1");
  at_station.set_station(kStation);
  at_station.set_unit(kStation);
  casegrid::v1::CaseState taken_in;  // not yet dispatched: only its grid cell's station
  taken_in.set_case_id("LS-2");
  taken_in.set_station(kStation);
  casegrid::v1::CaseState at_department;  // no grid cell, with a department
  at_department.set_case_id("LS-3");
  at_department.set_unit("371302-D01");
  casegrid::v1::CaseState at_window;  // neither yet
  at_window.set_case_id("LS-4");

  const engine::ReadScope station = scope("u-" + std::string(kStation));
  const engine::ReadScope town = scope("t1");
  const engine::ReadScope other_town = scope("t2");
  for (const auto* facts : {&at_station, &taken_in}) {
    CHECK(station.Sees(*facts));
    CHECK(station.SeesPersonal(*facts));
    CHECK(town.Sees(*facts));  // a town's grant reaches its stations
    CHECK(town.SeesPersonal(*facts));
    CHECK_FALSE(other_town.Sees(*facts));
  }
  CHECK_FALSE(station.Sees(at_department));
  CHECK_FALSE(town.Sees(at_window));
  CHECK(scope("d01").Sees(at_department));
  CHECK_FALSE(scope("d01").Sees(at_station));
  CHECK(town.SeesUnit(kStation));
  CHECK_FALSE(station.SeesUnit(kTown));  // not the unit above
  CHECK_THAT(Message(station.CheckSees(at_department)),
             Catch::Equals("case LS-3: not within what u-371302-001-001 may read (grants: unit in "
                           "371302-001-001; a grant reaches its unit and the units below it)"));
  CHECK_THAT(Message(station.CheckSeesUnit(kTown)),
             Catch::StartsWith("unit 371302-001: not within"));
  CHECK_FALSE(station.CheckSeesChains("casegrid:access").ok());
  // A supervisor's grant reaches, but shows no personal values.
  const engine::ReadScope supervisor = scope("sup1");
  CHECK(supervisor.Sees(at_station));
  CHECK_FALSE(supervisor.SeesPersonal(at_station));
  CHECK_FALSE(supervisor.SeesPersonalOfUnit(kStation));
  // The district centre's staff and auditors (a grant anywhere) see all.
  for (const std::string user : {"c01", "aud"}) {
    const engine::ReadScope all = scope(user);
    INFO(user);
    for (const auto* facts : {&at_station, &taken_in, &at_department, &at_window}) {
      CHECK(all.Sees(*facts));
      CHECK(all.SeesPersonal(*facts));
    }
    CHECK(all.CheckSeesChains("casegrid:access").ok());
  }
  // The district's admin reaches every case, but its personal values withheld.
  CHECK(scope("admin1").Sees(at_window));
  CHECK_FALSE(scope("admin1").SeesPersonal(at_window));
  // Someone with no grant reaches nothing; someone not in the directory is refused.
  CHECK_FALSE(scope("intern42").Sees(at_station));
  CHECK_THAT(Message(engine::ReadScope::Of(*d, org, "ghost").status()),
             Catch::Contains("ghost is not in the directory"));
  // The owner of the data directory reads all, opened.
  const engine::ReadScope owner = engine::ReadScope::Owner("ops");
  CHECK(owner.owner());
  CHECK(owner.reader() == "ops");
  CHECK(owner.SeesPersonal(at_window));
}

TEST_CASE("reads of personal data are recorded on the access chain while the checks are on",
          "[engine][directory][access]") {
  std::vector<std::string> ids;
  for (int i = 0; i < 2500; ++i) ids.push_back("LS-" + std::to_string(i));
  auto viewed = [](events::Log& log) {
    std::vector<casegrid::v1::Event> out;
    Status s = engine::ReplayCase(
        log, events::kAccessChain,
        [&](const casegrid::v1::Event& ev, const casegrid::v1::CaseState&) { out.push_back(ev); });
    if (s.IsNotFound()) return out;
    REQUIRE_OK(s);
    return out;
  };
  {
    JournalRig off;  // the checks off: nothing recorded
    REQUIRE_OK(engine::RecordPersonalRead(*off.engine, engine::ReadScope::Owner("ops"), "q", ids));
    CHECK(viewed(*off.log).empty());
  }
  CheckedRig rig;
  rig.engine->set_os_account("ops");
  auto d = engine::LoadDirectory(*rig.log);
  REQUIRE_OK(d);
  auto reader = engine::ReadScope::Of(*d, rig.engine->config().org, "c01");
  REQUIRE_OK(reader);
  REQUIRE_OK(engine::RecordPersonalRead(*rig.engine, *reader, "export --from a --to b", ids));
  REQUIRE_OK(engine::RecordPersonalRead(*rig.engine, *reader, "case show X", {}));  // nothing
  const auto events = viewed(*rig.log);
  REQUIRE(events.size() == 3);  // 1,000 case ids an event
  size_t seen = 0;
  for (const auto& ev : events) {
    CHECK(ev.actor().user() == "c01");
    CHECK(ev.actor().role() == "reader");
    CHECK(ev.os_account() == "ops");
    CHECK(ev.personal_data_viewed().query() == "export --from a --to b");
    for (const auto& id : ev.personal_data_viewed().case_ids()) CHECK(id == ids[seen++]);
  }
  CHECK(seen == ids.size());
  auto report = engine::VerifyLog(*rig.log, {});
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
}

}  // namespace casegrid::test
