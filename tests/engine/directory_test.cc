// The directory of people (engine/directory.h): its changes, checked and
// written as events of one chain, its fold, and token authentication.
#include "engine/directory.h"

#include <string>

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
