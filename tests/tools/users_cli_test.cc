// End-to-end tests of the directory of people (docs/security.md): `casegrid
// users` and `casegrid tokens` run as the built binary (CASEGRID_BINARY) on a
// fresh data directory, as the README's walk-through does.
#include <pwd.h>
#include <unistd.h>
#include <algorithm>

#include <filesystem>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/env.h"
#include "base/time.h"
#include "events/log.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using casegrid::test::Contains;
using casegrid::test::Output;

namespace {

class Cli {
 public:
  Cli()
      : env_(casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_SIGNING_KEY", "CASEGRID_LOG",
                                          "CASEGRID_BROKERS", "CASEGRID_TOPIC_PREFIX",
                                          "CASEGRID_PARTITIONS", "CASEGRID_CRASH_AT"})) {}
  Output Run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", "data"};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(argv, dir_.path(), env_);
  }
  // Run, killed at crash point `spec` (CASEGRID_CRASH_AT, base/crash_point.h).
  Output RunKilledAt(const std::vector<std::string>& args, const std::string& spec) const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", "data"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env = env_;
    casegrid::test::SetEnv(env, "CASEGRID_CRASH_AT", spec);
    return casegrid::test::RunProcess(argv, dir_.path(), env);
  }
  Output RunWithStdin(const std::vector<std::string>& args, const std::string& in) const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", "data"};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(argv, dir_.path(), env_, casegrid::test::Stdin::Text(in));
  }
  std::string Path(const std::string& name) const { return dir_.Sub(name); }

 private:
  casegrid::test::TempDir dir_;
  std::vector<std::string> env_;
};

std::string Me() {
  const passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "uid " + std::to_string(geteuid());
}

}  // namespace

TEST_CASE("users and tokens from the command line: added, granted, issued once, revoked",
          "[cli][directory]") {
  Cli cli;
  Output o = cli.Run({"users", "add", "zhang.wei", "--name", "张伟", "--reason", "new hire"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.out == "added user zhang.wei (张伟) as event casegrid:directory/1 by " + Me() +
                     " (OS account " + Me() + ")\n");

  o = cli.Run({"users", "grant", "zhang.wei", "unit", "371302-001-001", "--by", "admin1"});
  REQUIRE(o.status == 0);
  CHECK(o.out ==
        "granted unit in 371302-001-001 to zhang.wei as event casegrid:directory/2 by "
        "admin1 (OS account " +
            Me() + ")\n");

  // Refusals name what is wrong and write nothing.
  const std::string gbk_reason("\xb1\xe4\xb8\xfc", 4);  // 变更 in GBK
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"users", "grant", "zhang.wei", "mayor", "371302"}, "ROLE: no role \"mayor\""},
           {{"users", "grant", "zhang.wei", "unit", "999"}, "UNIT: no unit \"999\""},
           {{"users", "grant", "ghost", "unit", "371302"}, "USER: no user ghost"},
           {{"users", "add", "zhang.wei", "--name", "Z"}, "already in the directory"},
           {{"users", "revoke", "zhang.wei", "unit", "371302-001-001", "--reason", gbk_reason},
            "--reason"},
           {{"tokens", "issue", "zhang.wei", "--expires", "2020-01-01T00:00:00+08:00"},
            "--expires"}}) {
    Output r = cli.Run(args);
    INFO(casegrid::test::Describe(r));
    CHECK(r.status == 1);
    CHECK(Contains(r.out, "not changed: "));
    CHECK(Contains(r.out, says));
  }

  o = cli.Run({"tokens", "issue", "zhang.wei", "--label", "web console"});
  REQUIRE(o.status == 0);
  const auto lines = casegrid::test::Lines(o.out);
  REQUIRE(lines.size() == 1);
  const std::string token = lines[0];
  REQUIRE(token.size() == 59);
  const std::string id = token.substr(3, 12);
  const std::string secret = token.substr(16);
  CHECK(Contains(o.err, "issued token " + id + " for zhang.wei"));
  CHECK(Contains(o.err, "shown this once"));

  // The secret is nowhere in the data directory; the id is.
  const std::string raw = casegrid::test::ReadFile(cli.Path("data/journal/data.mdb"));
  CHECK(raw.find(secret) == std::string::npos);
  CHECK(raw.find(id) != std::string::npos);

  o = cli.Run({"tokens", "list"});
  REQUIRE(o.status == 0);
  CHECK(o.out == id + "\tzhang.wei\tweb console\tactive, no expiry\n");
  CHECK_FALSE(Contains(o.out, secret));
  o = cli.Run({"users", "list"});
  REQUIRE(o.status == 0);
  CHECK(o.out == "checks off\nzhang.wei\t张伟\tunit@371302-001-001\n");
  o = cli.Run({"users", "show", "zhang.wei", "--json"});
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "\"role\": \"unit\""));
  CHECK(Contains(o.out, "\"id\": \"" + id + "\""));

  o = cli.Run({"tokens", "revoke", id, "--reason", "laptop lost"});
  REQUIRE(o.status == 0);
  o = cli.Run({"tokens", "list", "--user", "zhang.wei"});
  CHECK(o.out == id + "\tzhang.wei\tweb console\trevoked\n");
  o = cli.Run({"users", "revoke", "zhang.wei", "unit", "371302-001-001", "--reason", "moved"});
  REQUIRE(o.status == 0);
  o = cli.Run({"users", "show", "zhang.wei"});
  CHECK(Contains(o.out, "  no grants\n"));
  CHECK(Contains(o.out, "token " + id + " \"web console\": revoked"));

  // Six changes, hash-chained and verified like every case; the audit trail
  // of the directory is its replay.
  o = cli.Run({"verify"});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "verify ok: 5 events of 1 cases"));
  o = cli.Run({"replay", "casegrid:directory"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "token-revoke: token_revoked " + id));
  CHECK(Contains(o.out, "grant: role_granted unit in 371302-001-001 to zhang.wei"));
  // Each event's content, when it was recorded and the login that typed it.
  CHECK(Contains(o.out, "      user: zhang.wei; name: 张伟; reason: new hire; recorded "));
  CHECK(Contains(o.out, " by OS account " + Me() + "\n"));
  CHECK_FALSE(Contains(o.out, secret));

  o = cli.Run({"users", "show", "ghost"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "no user ghost"));
}

TEST_CASE("reading the directory of a data directory that holds no log creates none",
          "[cli][directory]") {
  Cli cli;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"users", "list"},
                                               {"tokens", "list"},
                                               {"users", "grant", "a", "unit", "371302"},
                                               {"tokens", "issue", "a"}}) {
    Output o = cli.Run(args);
    INFO(casegrid::test::Describe(o));
    CHECK(o.status == 2);
  }
  CHECK_FALSE(std::ifstream(cli.Path("data/journal/data.mdb")).good());
}

TEST_CASE("with the checks on, the command line refuses actors and rule changers not granted",
          "[cli][directory]") {
  Cli cli;
  REQUIRE(cli.Run({"users", "add", "admin1", "--name", "Admin"}).status == 0);
  REQUIRE(cli.Run({"users", "grant", "admin1", "admin", "371302"}).status == 0);
  REQUIRE(cli.Run({"users", "add", "w01", "--name", "Window"}).status == 0);
  REQUIRE(cli.Run({"users", "grant", "w01", "window", "371302"}).status == 0);
  // Turned on only by an admin, with a reason.
  Output o = cli.Run({"users", "enforce", "on", "--by", "w01", "--reason", "go-live"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "turning the checks on needs the role admin"));
  o = cli.Run({"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "checks on: "));
  CHECK(casegrid::test::Lines(cli.Run({"users", "list"}).out)[0] == "checks on");

  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01","summary":"s"})";
  o = cli.Run({"act", "LS-1", "intake", "--by", "intern42:window:371302", "--payload", data});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "actor.user: intern42 is not in the directory"));
  o = cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--payload", data});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
  o = cli.Run({"workflow", "pin", "hotline-12345", "noise", "--version", "1", "--by", "intern42",
               "--reason", "why not"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "changing the rules needs the role supervisor"));
  // A directory change by someone who is no admin.
  o = cli.Run({"users", "grant", "w01", "centre", "371302", "--by", "w01"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "changing the directory needs the role admin"));
  CHECK(cli.Run({"verify"}).status == 0);
}

TEST_CASE("with the checks on, a rule change from the command line needs a second supervisor",
          "[cli][directory][two_person]") {
  Cli cli;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"users", "add", "admin1", "--name", "Admin"},
           {"users", "grant", "admin1", "admin", "371302"},
           {"users", "add", "sup1", "--name", "S1"},
           {"users", "grant", "sup1", "supervisor", "371302"},
           {"users", "add", "sup2", "--name", "S2"},
           {"users", "grant", "sup2", "supervisor", "371302"},
           {"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"}}) {
    REQUIRE(cli.Run(args).status == 0);
  }
  std::string v2 = casegrid::test::ReadFile(
      casegrid::test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  v2.replace(v2.find("working_hours: 2\n"), 17, "working_hours: 3\n");
  casegrid::test::WriteFile(cli.Path("h2.yaml"), v2);
  Output o = cli.Run({"workflow", "publish", "h2.yaml", "--by", "sup1", "--reason", "3 hours"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.out.rfind("proposed as #1 (event casegrid:workflows/1) by sup1: nothing changes", 0) ==
        0);
  o = cli.Run({"workflow", "list"});
  CHECK(Contains(o.out, "pending: #1 workflow hotline-12345 v2"));
  CHECK_FALSE(Contains(o.out, "hotline-12345          2"));
  o = cli.Run({"workflow", "approve", "1", "--by", "sup1", "--reason", "mine"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "not approved: two-person rule: sup1 proposed #1"));
  o = cli.Run(
      {"workflow", "approve", "1", "--by", "sup2", "--reason", "ok", "--effective", "yesterday"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "--effective"));
  o = cli.Run({"workflow", "approve", "1", "--by", "sup2", "--reason", "ok"});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
  CHECK(o.out == "approved #1 (event casegrid:workflows/2) by sup2: in force now\n");
  CHECK(Contains(cli.Run({"workflow", "list"}).out, "hotline-12345          2"));
  o = cli.Run({"workflow", "proposals", "--json"});
  CHECK(Contains(o.out, "\"state\": \"in force\""));
  CHECK(Contains(o.out, "\"decided_by\": \"sup2\""));
  CHECK(cli.Run({"verify"}).status == 0);
}

TEST_CASE("a person sets a password and signs in with it for a token, a wrong one gets nothing",
          "[cli][directory][password]") {
  Cli cli;
  REQUIRE(cli.Run({"users", "add", "li.na", "--name", "Li Na"}).status == 0);
  Output o = cli.RunWithStdin({"users", "passwd", "li.na"}, "window 7 password\n");
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "password set for li.na as event casegrid:directory/2"));
  o = cli.RunWithStdin({"users", "passwd", "li.na"}, "short\n");
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "not changed: password: at least 10 bytes"));
  o = cli.RunWithStdin({"login", "li.na"}, "window 7 passw0rd\n");
  CHECK(o.status == 1);
  CHECK(o.out == "not signed in: wrong user or password\n");
  o = cli.RunWithStdin({"login", "nobody"}, "window 7 password\n");
  CHECK(o.out == "not signed in: wrong user or password\n");
  o = cli.RunWithStdin({"login", "li.na", "--hours", "8"}, "window 7 password\r\n");
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  const auto lines = casegrid::test::Lines(o.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("cg_", 0) == 0);
  CHECK(Contains(o.err, "signed in: token "));
  CHECK(Contains(cli.Run({"users", "show", "li.na", "--json"}).out, "\"password\": true"));
  // The token works: it is listed as li.na's, and no file holds the password.
  CHECK(Contains(cli.Run({"tokens", "list", "--user", "li.na"}).out,
                 "li.na\tsigned in with a password"));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cli.Path("data"))) {
    if (!entry.is_regular_file()) continue;
    CHECK(casegrid::test::ReadFile(entry.path().string()).find("window 7 password") ==
          std::string::npos);
  }
  CHECK(cli.Run({"verify"}).status == 0);
}

TEST_CASE("org publish puts a new unit in force from the log, and org units shows it",
          "[cli][org]") {
  Cli cli;
  std::string org =
      casegrid::test::ReadFile(casegrid::test::SourcePath("workflows/org/reference-district.yaml"));
  const std::string first =
      R"(  - {code: "371302-001-001", name: "和平社区工作站", kind: village_station, parent: "371302-001"})";
  REQUIRE(org.find(first) != std::string::npos);
  org.replace(
      org.find(first), first.size(),
      first + "\n" +
          R"(  - {code: "371302-001-099", name: "新社区工作站", kind: village_station, parent: "371302-001"})");
  casegrid::test::WriteFile(cli.Path("org2.yaml"), org);
  REQUIRE(cli.Run({"users", "add", "u99", "--name", "U"}).status == 0);
  Output o = cli.Run({"users", "grant", "u99", "unit", "371302-001-099"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "UNIT: no unit \"371302-001-099\""));
  o = cli.Run({"org", "publish", "org2.yaml", "--by", "sup1", "--reason", "a new station"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.out.rfind("published the organisation of org2.yaml (sha256 ", 0) == 0);
  CHECK(Contains(cli.Run({"org", "units"}).out, "371302-001-099"));
  CHECK(cli.Run({"users", "grant", "u99", "unit", "371302-001-099"}).status == 0);
  o = cli.Run({"org", "publish", "org2.yaml", "--by", "sup1", "--reason", "again"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "not published: the organisation is already in force as it is"));
  casegrid::test::WriteFile(cli.Path("bad.yaml"), "district: \"371302\"\nunits: []\n");
  o = cli.Run({"org", "publish", "bad.yaml", "--by", "sup1", "--reason", "oops"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "not published: bad.yaml:"));
  CHECK(cli.Run({"verify"}).status == 0);
}

// The reference district with `per_station` more grid cells in each village
// station (numbers 60 on), as a file in `cli`'s directory.
std::string LargerDistrict(const Cli& cli, const std::string& name, int per_station) {
  std::string org =
      casegrid::test::ReadFile(casegrid::test::SourcePath("workflows/org/reference-district.yaml"));
  std::set<std::string> stations;
  const std::string key = "station: \"";
  for (size_t at = org.find(key); at != std::string::npos; at = org.find(key, at + 1)) {
    stations.insert(org.substr(at + key.size(), org.find('"', at + key.size()) - at - key.size()));
  }
  // The new cells go at the end of the grids, before the responsibility list.
  const size_t list = org.find("\nresponsibilities:\n");
  REQUIRE(list != std::string::npos);
  std::string cells;
  for (const std::string& station : stations) {
    for (int n = 60; n < 60 + per_station; ++n) {
      cells += "  - {code: \"" + station + "-" + std::to_string(n) + "\", station: \"" + station +
               "\", name: \"第" + std::to_string(n) + "网格\"}\n";
    }
  }
  org.insert(list + 1, cells);
  casegrid::test::WriteFile(cli.Path(name), org);
  return name;
}

TEST_CASE(
    "an organisation too large for one event with its file is published without it, and "
    "one too large for any is refused naming the limit",
    "[cli][org]") {
  Cli cli;
  // About 5,300 grid cells: the file (over 512 KiB) stays out, its digest in.
  Output o = cli.Run({"org", "publish", LargerDistrict(cli, "large.yaml", 8), "--by", "sup1",
                      "--reason", "more grid cells"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(cli.Run({"org", "grids"}).out, "371302-001-001-67"));
  const std::string chain = cli.Run({"replay", "casegrid:workflows", "--json"}).out;
  CHECK(Contains(chain, "yaml_sha256"));
  CHECK(cli.Run({"verify"}).status == 0);
  // About 13,900: refused, nothing written.
  const std::string before = cli.Run({"replay", "casegrid:workflows"}).out;
  o = cli.Run({"org", "publish", LargerDistrict(cli, "huge.yaml", 33), "--by", "sup1", "--reason",
               "the whole city"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "one event holds at most"));
  CHECK(Contains(o.out, "split it into districts"));
  CHECK(cli.Run({"replay", "casegrid:workflows"}).out == before);
}

TEST_CASE("a case taken in at the command line gets a rating code that its rating needs",
          "[cli][rating_code]") {
  Cli cli;
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"s","petitioner":{"name":"Li","phone":"13800000000"}})";
  Output o = cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
                      "2026-09-30T10:00:00+08:00", "--payload", data});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  const auto lines = casegrid::test::Lines(o.out);
  REQUIRE(lines.size() == 2);
  const std::string prefix = "rating code: ";
  REQUIRE(lines[1].rfind(prefix, 0) == 0);
  const std::string code = lines[1].substr(prefix.size(), 14);
  CHECK(code[4] == '-');
  CHECK(code[9] == '-');
  const std::string unit = "u1:unit:371302-001-001";
  for (const auto& [action, json] : std::vector<std::pair<std::string, std::string>>{
           {"dispatch", "{}"}, {"contact", "{}"}, {"respond", R"({"answer":"paid"})"}}) {
    o = cli.Run({"act", "LS-1", action, "--by", action == "dispatch" ? "c01:centre:371302" : unit,
                 "--at", "2026-10-01T10:00:00+08:00", "--payload", json});
    REQUIRE(o.status == 0);
  }
  o = cli.Run({"act", "LS-1", "rate", "--by", "li:petitioner:", "--at", "2026-10-02T10:00:00+08:00",
               "--payload", R"({"satisfied":true})"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "data.rating_code: required"));
  o = cli.Run({"act", "LS-1", "rate", "--by", "li:petitioner:", "--at", "2026-10-02T10:00:00+08:00",
               "--payload", R"({"satisfied":true,"rating_code":")" + code + "\"}"});
  CHECK(o.status == 0);
  CHECK(casegrid::test::Lines(o.out).size() == 1);  // no code for a rating
  // The code is nowhere: not in the journal's file, not in the read models.
  const std::string symbols = code.substr(0, 4) + code.substr(5, 4) + code.substr(10, 4);
  for (const char* file : {"data/journal/data.mdb", "data/projections/data.mdb"}) {
    const std::string raw = casegrid::test::ReadFile(cli.Path(file));
    CHECK_FALSE(raw.empty());
    CHECK(raw.find(code) == std::string::npos);
    CHECK(raw.find(symbols) == std::string::npos);
  }
  CHECK(cli.Run({"verify"}).status == 0);
}

namespace {

// Every file under `dir`, read whole (the data directory's stores and keys).
std::vector<std::pair<std::string, std::string>> FilesUnder(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.emplace_back(entry.path().string(), casegrid::test::ReadFile(entry.path().string()));
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a case's personal data are sealed in every file, and erased they are gone while the "
    "record still verifies",
    "[cli][personal]") {
  Cli cli;
  const std::string phone = "13912345678";
  const std::string name = "王芳";
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"Wages unpaid since May","petitioner":{"name":")" +
      name + R"(","phone":")" + phone + R"("}})";
  REQUIRE(cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
                   "2026-09-30T10:00:00+08:00", "--payload", data})
              .status == 0);
  const std::string unit = "u1:unit:371302-001-001";
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"dispatch", "{}"}, {"contact", "{}"}, {"respond", R"({"answer":"Paid on )" + phone + "\"}"}};
  for (const auto& [action, json] : steps) {
    REQUIRE(
        cli.Run({"act", "LS-1", action, "--by", action == "dispatch" ? "c01:centre:371302" : unit,
                 "--at", "2026-10-01T10:00:00+08:00", "--payload", json})
            .status == 0);
  }
  // Sealed from the first write: no file holds the phone number in the clear,
  // yet the data directory's owner reads it.
  for (const auto& [path, bytes] : FilesUnder(cli.Path("data"))) {
    INFO(path);
    CHECK(bytes.find(phone) == std::string::npos);
    CHECK(bytes.find(name) == std::string::npos);
  }
  Output o = cli.Run({"case", "show", "LS-1"});
  CHECK(Contains(o.out, phone));
  CHECK(Contains(cli.Run({"replay", "LS-1"}).out, "Paid on " + phone));
  REQUIRE(cli.Run({"checkpoint", "-o", "before.txt"}).status == 0);

  // Not while deadlines are open; not by someone who is no admin.
  o = cli.Run({"erase", "LS-1", "--by", "dpo1", "--reason", "petitioner's request"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "is \"responded\", not ended: close or reject it first"));
  REQUIRE(cli.Run({"act", "LS-1", "close", "--by", "c01:centre:371302", "--at",
                   "2026-10-02T10:00:00+08:00"})
              .status == 0);
  o = cli.Run({"erase", "LS-1", "--by", "dpo1", "--reason", "petitioner's request", "--at",
               "2026-10-03T10:00:00+08:00"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "erased case LS-1 as event LS-1/"));
  CHECK(Contains(o.out, "is destroyed"));

  // Every view says so; the record and the checkpoint from before verify.
  o = cli.Run({"case", "show", "LS-1", "--json"});
  CHECK_FALSE(Contains(o.out, phone));
  CHECK(Contains(o.out, "[erased]"));
  const std::string replay = cli.Run({"replay", "LS-1"}).out;
  CHECK_FALSE(Contains(replay, phone));
  CHECK(Contains(replay, "answer: [erased]"));
  o = cli.Run({"verify", "--checkpoint", "before.txt", "--read-models"});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
  // The case takes no further command; erasing again only makes sure.
  o = cli.Run({"act", "LS-1", "reopen", "--by", "c01:centre:371302", "--at",
               "2026-10-04T10:00:00+08:00", "--payload", R"({"reason":"r"})"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "was erased at 2026-10-03T10:00:00+08:00"));
  o = cli.Run({"erase", "LS-1", "--by", "dpo1", "--reason", "again"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "already"));
  // A rebuild of the read models from the log reads "[erased]" too.
  REQUIRE(cli.Run({"projections", "rebuild"}).status == 0);
  CHECK(Contains(cli.Run({"case", "show", "LS-1"}).out, "[erased]"));
}

TEST_CASE(
    "fields a definition marks personal are sealed in the transition and erased with the case",
    "[cli][personal]") {
  Cli cli;
  // The shipped configuration, with petition-125's contact keeping its data
  // in a transition (no emits) and a callback number marked personal.
  std::filesystem::copy(casegrid::test::SourcePath("workflows"), cli.Path("cfg"),
                        std::filesystem::copy_options::recursive);
  const std::string def = cli.Path("cfg/definitions/petition-125.yaml");
  std::string text = casegrid::test::ReadFile(def);
  const std::string emits = "    emits: petitioner_contacted\n";
  const std::string method =
      "      - {name: method, type: enum, values: [visit, phone, at_centre, video]}\n";
  REQUIRE(text.find(emits) != std::string::npos);
  REQUIRE(text.find(method) != std::string::npos);
  text.replace(text.find(emits), emits.size(), "");
  text.replace(text.find(method), method.size(),
               method + "      - {name: callback_phone, type: string, personal: true}\n");
  casegrid::test::WriteFile(def, text);

  const std::string phone = "13700001111";
  auto act = [&](const std::string& action, const std::string& by, const std::string& at,
                 const std::string& data) {
    const Output o = cli.Run(
        {"--config", "cfg", "act", "LS-1", action, "--by", by, "--at", at, "--payload", data});
    INFO(action << ": " << casegrid::test::Describe(o));
    REQUIRE(o.status == 0);
  };
  act("intake", "w01:window:371302", "2026-09-30T10:00:00+08:00",
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"Wages unpaid since May"})");
  act("dispatch", "c01:centre:371302", "2026-09-30T11:00:00+08:00", "{}");
  act("contact", "u1:unit:371302-001-001", "2026-10-01T10:00:00+08:00",
      R"({"method":"phone","callback_phone":")" + phone + R"("})");
  for (const auto& [path, bytes] : FilesUnder(cli.Path("data"))) {
    INFO(path);
    CHECK(bytes.find(phone) == std::string::npos);
  }
  std::string replay = cli.Run({"--config", "cfg", "replay", "LS-1"}).out;
  CHECK(Contains(replay, phone));
  CHECK(Contains(replay, "method"));  // not personal: in the transition's data

  act("respond", "u1:unit:371302-001-001", "2026-10-02T10:00:00+08:00", R"({"answer":"paid"})");
  act("close", "c01:centre:371302", "2026-10-03T10:00:00+08:00", "{}");
  const Output erased = cli.Run({"--config", "cfg", "erase", "LS-1", "--by", "dpo1", "--reason",
                                 "petitioner's request", "--at", "2026-10-04T10:00:00+08:00"});
  INFO(casegrid::test::Describe(erased));
  REQUIRE(erased.status == 0);
  replay = cli.Run({"--config", "cfg", "replay", "LS-1"}).out;
  CHECK_FALSE(Contains(replay, phone));
  CHECK(Contains(replay, "personal_json: [erased]"));
  const Output verified = cli.Run({"--config", "cfg", "verify"});
  INFO(casegrid::test::Describe(verified));
  CHECK(verified.status == 0);
}

TEST_CASE("an erasure killed before its key is destroyed is found by verify and finished by erase",
          "[cli][personal]") {
  Cli cli;
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"s","petitioner":{"phone":"13700001111"}})";
  REQUIRE(cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
                   "2026-09-30T10:00:00+08:00", "--payload", data})
              .status == 0);
  REQUIRE(cli.Run({"act", "LS-1", "reject", "--by", "c01:centre:371302", "--at",
                   "2026-09-30T11:00:00+08:00", "--payload", R"({"reason":"not ours"})"})
              .status == 0);
  Output o =
      cli.RunKilledAt({"erase", "LS-1", "--by", "dpo1", "--reason", "request"}, "erase.recorded:1");
  CHECK(o.status == 137);
  o = cli.Run({"verify"});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "case LS-1 was erased at "));
  CHECK(Contains(o.out, "is still readable: run `casegrid erase LS-1` again"));
  o = cli.Run({"erase", "LS-1", "--by", "dpo1", "--reason", "request"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "already"));
  CHECK(Contains(o.out, "is destroyed"));
  o = cli.Run({"verify"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "keys ok: 0 cases' data keys are there, and 1 erased cases' are gone"));
}

TEST_CASE("erase --due erases the ended cases its workflow's retention has run out for, only them",
          "[cli][personal][retention]") {
  Cli cli;
  const std::string config = cli.Path("config");
  std::filesystem::copy(casegrid::test::SourcePath("workflows"), config,
                        std::filesystem::copy_options::recursive);
  const std::string file = config + "/definitions/petition-125.yaml";
  casegrid::test::WriteFile(file, casegrid::test::ReadFile(file) + "\nretention_years: 1\n");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config});
    return cli.Run(args);
  };
  auto intake = [&](const std::string& id, const std::string& at, const std::string& phone) {
    const std::string data =
        R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
        R"("summary":"s","petitioner":{"phone":")" +
        phone + R"("}})";
    const Output o =
        run({"act", id, "intake", "--by", "w01:window:371302", "--at", at, "--payload", data});
    INFO(casegrid::test::Describe(o));
    REQUIRE(o.status == 0);
  };
  auto reject = [&](const std::string& id, const std::string& at) {
    REQUIRE(run({"act", id, "reject", "--by", "c01:centre:371302", "--at", at, "--payload",
                 R"({"reason":"not ours"})"})
                .status == 0);
  };
  intake("LS-1", "2025-03-03T10:00:00+08:00", "13700001111");  // ended 2025: due 2026-03-03
  reject("LS-1", "2025-03-03T11:00:00+08:00");
  intake("LS-2", "2026-09-30T10:00:00+08:00", "13700002222");  // ended, not due until 2027
  reject("LS-2", "2026-09-30T11:00:00+08:00");
  intake("LS-3", "2025-03-03T10:00:00+08:00", "13700003333");  // still open

  Output o = run({"erase", "--due", "--dry-run", "--by", "dpo1"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.out ==
        "would erase LS-1: rejected, last event 2025-03-03T11:00:00+08:00, due 2026-03-03 "
        "(workflow petition-125 v6 keeps personal data 1 year after a case ends)\n"
        "dry run: 1 case past retention; nothing written\n");
  CHECK(Contains(run({"case", "show", "LS-1"}).out, "13700001111"));
  o = run({"erase", "--due", "--by", "dpo1"});
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "erased case LS-1 as event LS-1/"));
  CHECK(Contains(o.out, "is destroyed"));
  CHECK(Contains(o.out, "1 case past retention\n"));
  CHECK(Contains(run({"case", "show", "LS-1"}).out, "[erased]"));
  CHECK(Contains(run({"case", "show", "LS-2"}).out, "13700002222"));
  CHECK(Contains(run({"case", "show", "LS-3"}).out, "13700003333"));
  CHECK(Contains(run({"replay", "LS-1"}).out,
                 "retention: workflow petition-125 v6 keeps personal data 1 year"));
  o = run({"erase", "--due", "--by", "dpo1"});
  CHECK(o.out == "0 cases past retention\n");
  o = run({"erase", "--by", "dpo1"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "name a CASE, or --due"));
  CHECK(run({"verify"}).status == 0);
}

TEST_CASE(
    "queries as of a recorded time answer as the system knew it, and a backdated command is "
    "marked and needs the import role",
    "[cli][as_of]") {
  Cli cli;
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01","summary":"s"})";
  REQUIRE(cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
                   "2026-09-30T10:00:00+08:00", "--payload", data})
              .status == 0);
  const std::string stats = cli.Run({"stats", "--json"}).out;
  const std::string shown = cli.Run({"case", "show", "LS-1", "--json"}).out;
  const std::string inbox = cli.Run({"inbox", "371302", "--json"}).out;
  // A signed checkpoint names the log's size then: --as-of that position.
  REQUIRE(cli.Run({"checkpoint", "-o", cli.Path("cp.txt")}).status == 0);
  const std::string size =
      casegrid::test::Lines(casegrid::test::ReadFile(cli.Path("cp.txt"))).at(1);
  const int64_t then = casegrid::Env::Default()->NowMicros();
  ::usleep(20 * 1000);
  // Recorded now, dated three months back: last quarter's figures change.
  Output o = cli.Run({"act", "LS-2", "intake", "--by", "w01:window:371302", "--at",
                      "2026-07-01T10:00:00+08:00", "--payload", data});
  REQUIRE(o.status == 0);
  REQUIRE(cli.Run({"act", "LS-1", "dispatch", "--by", "c01:centre:371302"}).status == 0);
  CHECK(cli.Run({"stats", "--json"}).out != stats);
  const std::string as_of = casegrid::timeutil::FormatTimestamp(then);
  o = cli.Run({"stats", "--json", "--as-of", as_of});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
  CHECK(o.out == stats);
  CHECK(cli.Run({"case", "show", "LS-1", "--json", "--as-of", as_of}).out == shown);
  CHECK(cli.Run({"inbox", "371302", "--json", "--as-of", as_of}).out == inbox);
  CHECK(cli.Run({"stats", "--json", "--as-of", size}).out == stats);
  CHECK(cli.Run({"case", "show", "LS-1", "--json", "--as-of", size}).out == shown);
  o = cli.Run({"stats", "--as-of", "999999"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "--as-of: the journal holds events 1 to "));
  // By occurred time the backdated case counts in July; by recorded time,
  // on the day it was recorded, as the figures printed then would have it.
  const std::string july = R"("2026-07-01")";
  CHECK(Contains(cli.Run({"stats", "--json"}).out, july));
  o = cli.Run({"stats", "--json", "--by", "recorded"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, R"("counted_by": "recorded")"));
  CHECK(!Contains(o.out, july));
  CHECK(Contains(o.out, R"("received": 2)"));
  o = cli.Run({"case", "show", "LS-2", "--as-of", as_of});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "no case LS-2"));
  o = cli.Run({"stats", "--as-of", "yesterday"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "--as-of"));
  // replay marks it.
  CHECK(Contains(cli.Run({"replay", "LS-2"}).out, "BACKDATED: recorded "));
  // replay --json: both times, the mark, what it says, the hashes.
  o = cli.Run({"replay", "LS-2", "--json"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, R"("backdated": true)"));
  CHECK(Contains(o.out, R"("occurred": "2026-07-01T10:00:00+08:00")"));
  CHECK(Contains(o.out, R"("hashes_checked": true)"));
  CHECK(Contains(o.out, R"("summary": "s")"));
  CHECK(Contains(o.out, R"("prev_hash": ")"));
  // So does case show: how many, and the latest.
  o = cli.Run({"case", "show", "LS-2"});
  CHECK(Contains(o.out, "BACKDATED"));
  CHECK(Contains(o.out, "recorded more than a day after the time they give, the latest #"));

  // With the checks on, only a user granted import may backdate.
  REQUIRE(cli.Run({"users", "add", "admin1", "--name", "A"}).status == 0);
  REQUIRE(cli.Run({"users", "grant", "admin1", "admin", "371302"}).status == 0);
  REQUIRE(cli.Run({"users", "add", "w01", "--name", "W"}).status == 0);
  REQUIRE(cli.Run({"users", "grant", "w01", "window", "371302"}).status == 0);
  REQUIRE(cli.Run({"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"}).status == 0);
  o = cli.Run({"act", "LS-3", "intake", "--by", "w01:window:371302", "--at",
               "2026-07-01T10:00:00+08:00", "--payload", data});
  CHECK(o.status == 1);
  CHECK(Contains(o.out,
                 "a command dated 2026-07-01T10:00:00+08:00, before the backdating "
                 "window, needs the role import; w01 holds: window in 371302"));
  REQUIRE(cli.Run({"users", "grant", "w01", "import", "371302", "--by", "admin1"}).status == 0);
  o = cli.Run({"act", "LS-3", "intake", "--by", "w01:window:371302", "--at",
               "2026-07-01T10:00:00+08:00", "--payload", data});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 0);
}

TEST_CASE("export writes case histories as NDJSON or CSV, personal values opened",
          "[cli][export]") {
  Cli cli;
  const auto intake = [&](const std::string& id, const std::string& at,
                          const std::string& summary) {
    const std::string data =
        R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
        R"("summary":")" +
        summary + R"(","petitioner":{"phone":"13600001111"}})";
    REQUIRE(
        cli.Run({"act", id, "intake", "--by", "w01:window:371302", "--at", at, "--payload", data})
            .status == 0);
  };
  intake("LS-1", "2026-09-30T10:00:00+08:00", "=SUM(A1), \\\"x\\\"");
  intake("LS-2", "2026-10-30T10:00:00+08:00", "second");
  Output o = cli.Run({"export", "LS-1"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  const auto lines = casegrid::test::Lines(o.out);
  REQUIRE(lines.size() >= 2);
  CHECK(Contains(lines[0], R"("event_id":"LS-1/1")"));
  CHECK(Contains(lines[0], R"("phone":"13600001111")"));
  CHECK_FALSE(Contains(lines[0], R"("personal")"));

  o = cli.Run({"export", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "csv", "-o",
               "october.csv"});
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "exported 2 events to october.csv"));
  const auto csv = casegrid::test::Lines(casegrid::test::ReadFile(cli.Path("october.csv")));
  REQUIRE(csv.size() == 3);
  CHECK(csv[0] ==
        "case,seq,occurred,recorded,user,role,unit,os_account,action,event,state,"
        "content");
  CHECK(csv[1].rfind("LS-2,1,2026-10-30T10:00:00+08:00,", 0) == 0);
  CHECK(Contains(csv[1], "summary: second; petitioner.phone: 13600001111"));
  // A cell with a comma and quotes is quoted, RFC 4180.
  o = cli.Run({"export", "--from", "2026-09-30", "--to", "2026-09-30", "--format", "csv"});
  CHECK(Contains(o.out, R"("channel: window; category: village-affairs; grid: 371302-001-001-01; )"
                        R"(station: 371302-001-001; summary: =SUM(A1), ""x"")"));
  // Refused, naming what: no selection, both, a bad format, a bad day.
  CHECK(Contains(cli.Run({"export"}).err, "give a CASE, or --from and --to"));
  CHECK(Contains(cli.Run({"export", "LS-1", "--from", "2026-01-01"}).err, "not both"));
  CHECK(Contains(cli.Run({"export", "LS-1", "--format", "xml"}).err, "--format: xml"));
  CHECK(Contains(cli.Run({"export", "--from", "2026-13-01"}).err, "--from"));
  CHECK_FALSE(std::filesystem::exists(cli.Path("october.csv.partial")));
}

TEST_CASE("a lost key file is not made anew over sealed data, and one from elsewhere is found out",
          "[cli][personal]") {
  Cli cli;
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"s","petitioner":{"phone":"13500002222"}})";
  REQUIRE(
      cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--payload", data}).status ==
      0);
  REQUIRE(cli.Run({"verify"}).status == 0);
  const std::string keys = cli.Path("data/personal.keys");
  const std::string kept = cli.Path("personal.keys.backup");
  std::filesystem::copy_file(keys, kept);
  std::filesystem::remove(keys);  // a careless operator
  Output o = cli.Run({"verify"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "has personal data sealed under key"));
  // No command writes, and none makes a key file: a new one would hand out
  // slot 1 again under another key, and a new case sealed under it would
  // be lost when the backup comes back.
  // What the CLI prints is wrapped to the terminal: read as one line.
  const auto flat = [](std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
  };
  const std::string before = cli.Run({"replay", "LS-1"}).out;
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"act", "LS-1", "dispatch", "--by", "c01:centre:371302"},
        std::vector<std::string>{"act", "LS-2", "intake", "--by", "w01:window:371302", "--payload",
                                 data}}) {
    o = cli.Run(command);
    INFO(casegrid::test::Describe(o));
    CHECK(o.status == 2);
    CHECK(Contains(flat(o.err),
                   "the key store data/personal.keys is missing, while case LS-1 "
                   "has personal data sealed under its key 1: restore it from the "
                   "backup"));
    CHECK_FALSE(std::filesystem::exists(keys));
  }
  CHECK(cli.Run({"replay", "LS-2"}).status != 0);
  CHECK(cli.Run({"replay", "LS-1"}).out == before);
  // A key file from elsewhere (another directory's) is refused where it
  // would seal under a key the case was not sealed with, and verify says so.
  Cli other;
  REQUIRE(
      other.Run({"act", "X-1", "intake", "--by", "w01:window:371302", "--payload", data}).status ==
      0);
  std::filesystem::copy_file(other.Path("data/personal.keys"), keys);
  o = cli.Run({"act", "LS-1", "dispatch", "--by", "c01:centre:371302", "--payload",
               R"({"note":"call 13500002222"})"});
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "is not the one case LS-1 was sealed with"));
  o = cli.Run({"verify"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "is not the one case LS-1 was sealed with"));
  CHECK(Contains(cli.Run({"case", "show", "LS-1"}).out, "[key missing]"));
  // The backup back in place: everything reads and writes again.
  std::filesystem::remove(keys);
  std::filesystem::copy_file(kept, keys);
  CHECK(cli.Run({"verify"}).status == 0);
  CHECK(cli.Run({"act", "LS-2", "intake", "--by", "w01:window:371302", "--payload", data}).status ==
        0);
  CHECK(Contains(cli.Run({"case", "show", "LS-1"}).out, "13500002222"));
}

TEST_CASE("a key store cut short is refused before it hands out a slot sealed data names",
          "[cli][personal]") {
  Cli cli;
  auto intake = [&](const std::string& id) {
    return cli.Run({"act", id, "intake", "--by", "w01:window:371302", "--payload",
                    R"({"channel":"window","category":"village-affairs",)"
                    R"("grid":"371302-001-001-01","summary":"s","petitioner":{"phone":"1350000)" +
                        id.substr(3) + R"("}})"});
  };
  for (const char* id : {"LS-1", "LS-2", "LS-3"}) REQUIRE(intake(id).status == 0);
  const std::string keys = cli.Path("data/personal.keys");
  const std::string kept = cli.Path("personal.keys.backup");
  std::filesystem::copy_file(keys, kept);
  // Slot n is at byte 32 n: cut after slot 2, as a key store restored from
  // a copy older than the log would be.
  std::filesystem::resize_file(keys, 32 * 3);
  const std::string before = cli.Run({"replay", "LS-3"}).out;
  Output o = intake("LS-4");
  INFO(casegrid::test::Describe(o));
  CHECK(o.status == 2);
  std::string err = o.err;
  std::replace(err.begin(), err.end(), '\n', ' ');
  // (Each process draws its keys ahead, a refill of 4,096 slots: LS-3's is
  // past the cut wherever it is.)
  CHECK(Contains(err, "the key store data/personal.keys has no key "));
  CHECK(Contains(err, ", while the log has personal data sealed under it"));
  CHECK(std::filesystem::file_size(keys) == 32 * 3);  // no slot handed out again
  CHECK(cli.Run({"replay", "LS-4"}).status != 0);
  CHECK(cli.Run({"replay", "LS-3"}).out == before);
  // The key store taken with the log back: the intake goes through.
  std::filesystem::remove(keys);
  std::filesystem::copy_file(kept, keys);
  CHECK(intake("LS-4").status == 0);
  CHECK(cli.Run({"verify"}).status == 0);
}

TEST_CASE("reads are scoped by what a reader's grants reach, and reads of personal data recorded",
          "[cli][directory]") {
  Cli cli;
  const std::vector<std::pair<std::string, std::string>> grants = {
      {"admin1", "admin 371302"},       {"w01", "window 371302"},    {"c01", "centre 371302"},
      {"s1", "unit 371302-001-001"},    {"t1", "centre 371302-001"}, {"t2", "centre 371302-002"},
      {"sup", "supervisor 371302-001"}, {"aud", "auditor 371302"}};
  for (const auto& [user, grant] : grants) {
    REQUIRE(cli.Run({"users", "add", user, "--name", user}).status == 0);
    const auto space = grant.find(' ');
    REQUIRE(
        cli.Run({"users", "grant", user, grant.substr(0, space), grant.substr(space + 1)}).status ==
        0);
  }
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"Wages unpaid since May","petitioner":{"name":"Li","phone":"13912345678"}})";
  REQUIRE(
      cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--payload", data}).status ==
      0);
  REQUIRE(cli.Run({"act", "LS-1", "dispatch", "--by", "c01:centre:371302"}).status == 0);
  // The checks off: the owner reads, nothing is recorded.
  Output shown = cli.Run({"case", "show", "LS-1"});
  REQUIRE(Contains(shown.out, "13912345678"));
  CHECK(!Contains(shown.out, "BACKDATED"));  // recorded when it happened
  CHECK(cli.Run({"replay", "casegrid:access"}).out.find("personal_data_viewed") ==
        std::string::npos);
  REQUIRE(cli.Run({"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"}).status == 0);

  // The station, its town and an auditor see the case, opened.
  for (const char* reader : {"s1", "t1", "aud"}) {
    Output o = cli.Run({"case", "show", "LS-1", "--by", reader});
    INFO(reader << ": " << casegrid::test::Describe(o));
    CHECK(o.status == 0);
    CHECK(Contains(o.out, "13912345678"));
  }
  // Another town does not; a supervisor sees it withheld; a stranger nothing.
  Output o = cli.Run({"case", "show", "LS-1", "--by", "t2"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "case LS-1: not within what t2 may read (grants: centre in 371302-002"));
  CHECK(!Contains(o.out + o.err, "Wages"));
  o = cli.Run({"case", "show", "LS-1", "--by", "sup", "--json"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "[withheld]"));
  CHECK(!Contains(o.out, "13912345678"));
  CHECK(!Contains(o.out, "Wages"));
  o = cli.Run({"case", "show", "LS-1", "--by", "ghost"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "ghost is not in the directory"));
  // Inboxes: a grant reaches its unit and those below, not those above.
  o = cli.Run({"inbox", "371302-001-001", "--by", "t1"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "Wages unpaid since May"));
  o = cli.Run({"inbox", "371302-001", "--by", "s1"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "unit 371302-001: not within what s1 may read"));
  const std::string later = "2027-06-01T00:00:00+08:00";
  CHECK(Contains(cli.Run({"overdue", "--at", later, "--by", "t1"}).out, "LS-1"));
  CHECK(!Contains(cli.Run({"overdue", "--at", later, "--by", "t2"}).out, "LS-1"));
  // An actor's trail shows only the cases the reader reaches.
  CHECK(Contains(cli.Run({"audit", "--actor", "c01", "--by", "t1"}).out, "LS-1"));
  o = cli.Run({"audit", "--actor", "c01", "--by", "t2"});
  CHECK(o.status == 0);
  CHECK(!Contains(o.out, "LS-1"));
  // With what each event says and when it was recorded, as the reader may see it.
  o = cli.Run({"audit", "--actor", "w01", "--by", "t1", "--json"});
  CHECK(Contains(o.out, "summary: Wages unpaid since May"));
  CHECK(Contains(o.out, R"("recorded": ")"));
  o = cli.Run({"audit", "--actor", "w01", "--by", "sup", "--json"});
  CHECK(Contains(o.out, "summary: [withheld]"));
  CHECK(!Contains(o.out, "Wages"));
  // Replay and export as the same rules say.
  o = cli.Run({"replay", "LS-1", "--by", "sup"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "summary: [withheld]"));
  o = cli.Run({"replay", "LS-1", "--by", "sup", "--json"});
  CHECK(Contains(o.out, R"("summary": "[withheld]")"));
  CHECK(!Contains(o.out, "13912345678"));
  CHECK(!Contains(o.out, "13912345678"));
  CHECK(cli.Run({"replay", "LS-1", "--by", "t2"}).status == 2);
  CHECK(cli.Run({"export", "LS-1", "--by", "t2"}).status == 2);
  o = cli.Run({"export", "--from", "2000-01-01", "--to", "2099-12-31", "--by", "t2"});
  CHECK(o.status == 0);
  CHECK(!Contains(o.out, "LS-1"));
  o = cli.Run({"export", "--from", "2000-01-01", "--to", "2099-12-31", "--by", "s1"});
  CHECK(Contains(o.out, "13912345678"));
  // A program reads with its token as its user.
  o = cli.Run({"tokens", "issue", "s1", "--by", "admin1"});
  REQUIRE(o.status == 0);
  casegrid::test::WriteFile(cli.Path("s1.token"), o.out);
  o = cli.Run({"--token-file", cli.Path("s1.token"), "case", "show", "LS-1"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "13912345678"));
  casegrid::test::WriteFile(cli.Path("forged.token"), "cg_000000000000_" + std::string(43, 'A'));
  o = cli.Run({"--token-file", cli.Path("forged.token"), "case", "show", "LS-1"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "the token is not valid"));

  // The access chain says who saw whose data: the opened reads only.
  CHECK(cli.Run({"replay", "casegrid:access", "--by", "t1"}).status == 2);
  o = cli.Run({"replay", "casegrid:access", "--by", "aud"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "s1 (reader)  personal_data_viewed"));
  CHECK(Contains(o.out, "query: case show LS-1; case_ids: LS-1"));
  CHECK(Contains(o.out, "query: inbox 371302-001-001; case_ids: LS-1"));
  CHECK(Contains(o.out, "query: export --from 2000-01-01 --to 2099-12-31; case_ids: LS-1"));
  CHECK(Contains(o.out, "query: audit --actor w01; case_ids: LS-1"));
  CHECK(!Contains(o.out, "sup (reader)"));
  CHECK(!Contains(o.out, "t2 (reader)"));
  CHECK(!Contains(o.out, "ghost"));
  CHECK(Contains(o.out, "aud (reader)"));
  CHECK(Contains(o.out, "by OS account " + Me()));
  // Killed before its record is durable, a read has shown nothing; the log
  // verifies and the next read is recorded.
  o = cli.RunKilledAt({"case", "show", "LS-1", "--by", "s1"}, "journal.commit.before:1");
  CHECK(o.status == 128 + 9);
  CHECK(!Contains(o.out, "13912345678"));
  CHECK(cli.Run({"verify"}).status == 0);
  const size_t before = cli.Run({"replay", "casegrid:access"}).out.size();
  CHECK(Contains(cli.Run({"case", "show", "LS-1", "--by", "s1"}).out, "13912345678"));
  CHECK(cli.Run({"replay", "casegrid:access"}).out.size() > before);
}

TEST_CASE("the README's walk-through: a user created, a token issued, a case read, erased",
          "[cli][directory][readme]") {
  // The lines of README.md under "People, rights and erasure", run as written.
  const std::string readme = casegrid::test::ReadFile(casegrid::test::SourcePath("README.md"));
  const size_t from = readme.find("People, rights and erasure");
  REQUIRE(from != std::string::npos);
  std::string script = std::string("c=") + CASEGRID_BINARY + "\n";
  size_t at = readme.find("\n\n", from) + 2;
  while (readme.compare(at, 4, "    ") == 0) {
    const size_t end = readme.find('\n', at);
    script += readme.substr(at + 4, end - at - 4) + "\n";
    at = end + 1;
  }
  REQUIRE(Contains(script, "erase LS-1"));
  casegrid::test::TempDir dir;
  const Output o = casegrid::test::RunProcess(
      {"bash", "-c", script}, dir.path(),
      casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_LOG", "CASEGRID_BROKERS"}));
  INFO(script << casegrid::test::Describe(o));
  CHECK(o.status == 0);  // its last line, verify
  CHECK(!Contains(o.err, "casegrid: "));
  CHECK(Contains(o.out, "adopted the configuration as event casegrid:workflows/1"));
  CHECK(Contains(o.out, "checks on: "));
  CHECK(Contains(o.out, "petitioner   Li  phone 13912345678"));  // read by zhang.wei's token
  CHECK(Contains(o.out, "zhang.wei (reader)  personal_data_viewed"));
  CHECK(Contains(o.out, "erased case LS-1 as event LS-1/5 by admin1"));
  CHECK(Contains(o.out, "summary      [erased]"));
  CHECK(!Contains(o.out, "people-demo/"));  // grep found the phone number nowhere
  CHECK(Contains(o.out, "1 erased cases' are gone"));
}

TEST_CASE(
    "attach stores a photo and a personal document on a case, attachment reads them back, "
    "erase takes the personal one away, and verify finds a damaged blob",
    "[cli][personal][attachments]") {
  Cli cli;
  REQUIRE(cli.Run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
                   "2026-09-30T10:00:00+08:00", "--payload",
                   R"({"channel":"window","category":"village-affairs",)"
                   R"("grid":"371302-001-001-01","summary":"Wages unpaid"})"})
              .status == 0);
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + "photo of the site";
  const std::string id_card = "身份证 370000199001011234\n";
  casegrid::test::WriteFile(cli.Path("site.png"), png);
  casegrid::test::WriteFile(cli.Path("id.txt"), id_card);
  casegrid::test::WriteFile(cli.Path("gbk.txt"), "\xC4\xE3\xBA\xC3");

  Output o = cli.Run({"attach", "LS-1", "site.png", "--by", "c01:centre:371302", "--at",
                      "2026-09-30T10:05:00+08:00", "--note", "现场"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out,
                 "accepted: LS-1 attach -> version 3: blob " + casegrid::events::Sha256Hex(png)));
  o = cli.Run({"attach", "LS-1", "id.txt", "--by", "c01:centre:371302", "--at",
               "2026-09-30T10:06:00+08:00", "--personal"});
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "sealed as personal, text/plain"));
  // Refused, with what and where: GBK text, a type its bytes are not, a
  // unit that is not the case's.
  o = cli.Run({"attach", "LS-1", "gbk.txt", "--by", "c01:centre:371302", "--type", "text/plain"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "rejected: attachment: not valid UTF-8 (byte 0xC4 at offset 0"));
  o = cli.Run({"attach", "LS-1", "site.png", "--by", "c01:centre:371302", "--type", "image/jpeg"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "is not image/jpeg but image/png"));
  o = cli.Run({"attach", "LS-1", "nowhere.png", "--by", "c01:centre:371302"});
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "cannot open nowhere.png"));

  // The list, and each content back; no file holds the personal one in the clear.
  o = cli.Run({"attachment", "LS-1"});
  REQUIRE(o.status == 0);
  const auto lines = casegrid::test::Lines(o.out);
  REQUIRE(lines.size() == 2);
  CHECK(Contains(lines[0], "image/png"));
  CHECK(Contains(lines[0], "site.png (现场)"));
  CHECK(Contains(lines[1], "personal  id.txt"));
  const std::string sealed = lines[1].substr(0, 64);
  CHECK(cli.Run({"attachment", "LS-1", casegrid::events::Sha256Hex(png)}).out == png);
  REQUIRE(cli.Run({"attachment", "LS-1", sealed, "-o", "back.txt"}).status == 0);
  CHECK(casegrid::test::ReadFile(cli.Path("back.txt")) == id_card);
  for (const auto& [path, bytes] : FilesUnder(cli.Path("data"))) {
    INFO(path);
    CHECK(bytes.find("370000199001011234") == std::string::npos);
  }
  o = cli.Run({"verify"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "attachments ok: 2 blobs"));

  // Erased: the sealed blob goes, the photo stays, and verify says why.
  REQUIRE(cli.Run({"act", "LS-1", "reject", "--by", "c01:centre:371302", "--at",
                   "2026-09-30T11:00:00+08:00", "--payload", R"({"reason":"not ours"})"})
              .status == 0);
  o = cli.Run({"erase", "LS-1", "--by", "dpo1", "--reason", "petitioner's request"});
  INFO(casegrid::test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "its 1 personal attachments removed"));
  CHECK(cli.Run({"attachment", "LS-1", sealed}).status == 2);
  o = cli.Run({"verify"});
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "attachments ok: 1 blobs"));
  CHECK(Contains(o.out, "1 sealed ones left with their cases' erasure"));

  // A changed byte in the photo's blob, then the blob gone: verify fails.
  const std::string photo = casegrid::events::Sha256Hex(png);
  const std::string blob = cli.Path("data/blobs/" + photo.substr(0, 2) + "/" + photo);
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  casegrid::test::WriteFile(blob, png + "!");
  o = cli.Run({"verify"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "verify FAILED: attachment " + photo));
  CHECK(Contains(o.out, "does not hash to its name: damaged"));
  std::filesystem::remove(blob);
  o = cli.Run({"verify"});
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "no blob " + photo));
}

TEST_CASE(
    "a repeat demand is linked by the petitioner key, which a data directory keeps and checks",
    "[cli][personal][petitioner]") {
  Cli cli;
  auto intake = [&](const std::string& id, const std::string& phone) {
    const std::string data =
        R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
        R"("summary":"s","petitioner":{"phone":")" +
        phone + R"("}})";
    return cli.Run({"act", id, "intake", "--by", "w01:window:371302", "--at",
                    "2026-09-01T09:00:00+08:00", "--payload", data});
  };
  REQUIRE(intake("LS-1", "13800000000").status == 0);
  const std::string key = cli.Path("data/petitioner.key");
  REQUIRE(std::filesystem::exists(key));
  CHECK(std::filesystem::file_size(key) == 8 + 32);
  CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::group_all) ==
        std::filesystem::perms::none);
  REQUIRE(intake("LS-2", "+86 138-0000-0000").status == 0);
  CHECK(Contains(cli.Run({"case", "show", "LS-2"}).out, "repeat of LS-1"));
  CHECK(Contains(cli.Run({"case", "show", "LS-2", "--json"}).out, R"("repeat_of": "LS-1")"));
  CHECK(Contains(cli.Run({"case", "show", "LS-1", "--json"}).out, R"("repeat_of": null)"));

  // Lost: an intake naming a petitioner is refused, naming the file, and
  // nothing is written; reads and other intakes go on. Another key: the same.
  std::filesystem::rename(key, key + ".saved");
  const std::string events_before = cli.Run({"replay", "LS-2"}).out;
  Output lost = intake("LS-3", "13800000000");
  CHECK(lost.status != 0);
  CHECK(Contains(lost.out + lost.err,
                 "petitioner key " + std::string("data/petitioner.key") + " is missing"));
  CHECK(cli.Run({"replay", "LS-2"}).out == events_before);
  // verify says so (it said ok while every such intake was refused).
  Output verified = cli.Run({"verify"});
  CHECK(verified.status == 1);
  CHECK(Contains(verified.out, "verify FAILED: petitioner key data/petitioner.key is missing"));
  CHECK_FALSE(Contains(cli.Run({"case", "show", "LS-3"}).out, "LS-3"));
  CHECK(Contains(cli.Run({"case", "show", "LS-2"}).out, "repeat of LS-1"));  // reads go on
  REQUIRE(cli.Run({"act", "NP-1", "intake", "--by", "w01:window:371302", "--payload",
                   R"({"channel":"window","category":"c","grid":"371302-001-001-01",)"
                   R"("summary":"no petitioner named"})"})
              .status == 0);
  CHECK_FALSE(std::filesystem::exists(key));
  {
    Cli other;
    REQUIRE(other
                .Run({"act", "X-1", "intake", "--by", "w01:window:371302", "--payload",
                      R"({"channel":"window","category":"c","grid":"371302-001-001-01",)"
                      R"("summary":"s"})"})
                .status == 0);
    std::filesystem::copy_file(other.Path("data/petitioner.key"), key);
  }
  Output foreign = intake("LS-3", "13800000000");
  CHECK(foreign.status != 0);
  CHECK(Contains(foreign.out + foreign.err, "not the key the log's petitioners were linked with"));
  verified = cli.Run({"verify"});
  CHECK(verified.status == 1);
  CHECK(Contains(verified.out, "not the key the log's petitioners were linked with"));
  std::filesystem::remove(key);
  std::filesystem::rename(key + ".saved", key);
  REQUIRE(intake("LS-3", "13800000000").status == 0);
  CHECK(Contains(cli.Run({"case", "show", "LS-3"}).out, "repeat of LS-2"));
  // The petitioner's cases, linked without the number in the clear.
  const Output linked = cli.Run({"case", "linked", "LS-3"});
  INFO(casegrid::test::Describe(linked));
  REQUIRE(linked.status == 0);
  CHECK(Contains(linked.out, "case LS-3: 2 other cases of the same petitioner"));
  CHECK(linked.out.find("LS-1") < linked.out.find("LS-2 "));
  const Output linked_json = cli.Run({"case", "linked", "LS-1", "--json"});
  CHECK(Contains(linked_json.out, R"("case_id": "LS-2")"));
  CHECK(Contains(linked_json.out, R"("repeat_of": "LS-1")"));
  CHECK(Contains(cli.Run({"case", "linked", "LS-9"}).err, "LS-9"));
  // A bad phone number is refused with the field named.
  Output bad = intake("LS-4", "138");
  CHECK(bad.status != 0);
  CHECK(Contains(bad.out + bad.err, "data.petitioner.phone: not a phone number"));
}

TEST_CASE("a unit asked to support the lead finds the case in its inbox until it answers",
          "[cli][cohandling]") {
  Cli cli;
  auto act = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"act"};
    argv.insert(argv.end(), args.begin(), args.end());
    const Output o = cli.Run(argv);
    INFO(casegrid::test::Describe(o));
    REQUIRE(o.status == 0);
  };
  act({"LS-1", "intake", "--by", "w01:window:371302", "--at", "2026-11-03T09:00:00+08:00",
       "--payload",
       R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
       R"("summary":"s"})"});
  act({"LS-1", "dispatch", "--by", "c01:centre:371302", "--at", "2026-11-03T10:00:00+08:00",
       "--payload", R"({"unit":"371302-001"})"});
  act({"LS-1", "request_support", "--by", "u1:unit:371302-001", "--at", "2026-11-03T11:00:00+08:00",
       "--payload", R"({"unit":"371302-D02","task":"check the contract"})"});
  const Output inbox = cli.Run({"inbox", "371302-D02"});
  INFO(casegrid::test::Describe(inbox));
  CHECK(Contains(inbox.out, "LS-1"));
  CHECK(Contains(inbox.out, "support@371302-D02"));
  CHECK(Contains(cli.Run({"inbox", "371302-001"}).out, "LS-1"));  // the lead's too
  const Output stats = cli.Run({"stats", "--from", "2026-11-03", "--to", "2026-11-03", "--json"});
  CHECK(Contains(stats.out, R"("supporting": 1)"));
  act({"LS-1", "support_answer", "--by", "u2:unit:371302-D02", "--at", "2026-11-04T11:00:00+08:00",
       "--payload", R"({"answer":"void"})"});
  CHECK_FALSE(Contains(cli.Run({"inbox", "371302-D02"}).out, "LS-1"));
}

TEST_CASE(
    "patrol reports are counted apart from cases, and casegrid patrol shows each inspector's "
    "short days",
    "[cli][patrol]") {
  Cli cli;
  auto report = [&](const std::string& id, const std::string& by, const std::string& at,
                    const std::string& grid = "371302-001-001-01") {
    return cli.Run({"act", id, "report", "--workflow", "patrol", "--by", by, "--at", at,
                    "--payload",
                    R"({"topic":"environment","grid":")" + grid + R"(","summary":"kiln smoke"})"});
  };
  const std::string xc01 = "xc01:patrol_inspector:371302-001";
  const std::string xc02 = "xc02:patrol_inspector:371302-001";
  // Week of Monday 21 September 2026: Friday 25 is 中秋节 (Mid-Autumn
  // Festival), 26 and 27 a weekend, so its working days are 21 .. 24.
  for (const auto& [id, by, at] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"XC-1", xc01, "2026-09-22T10:00:00+08:00"},
           {"XC-2", xc01, "2026-09-23T10:00:00+08:00"},
           {"XC-3", xc01, "2026-09-23T15:00:00+08:00"},
           {"XC-4", xc02, "2026-09-24T10:00:00+08:00"},
           {"XC-5", xc01, "2026-09-25T10:00:00+08:00"}}) {
    const Output o = report(id, by, at);
    INFO(casegrid::test::Describe(o));
    REQUIRE(o.status == 0);
  }
  // A cell of another town: refused, naming it, nothing written.
  const Output outside = report("XC-6", xc01, "2026-09-25T11:00:00+08:00", "371302-002-001-01");
  CHECK(outside.status != 0);
  CHECK(Contains(outside.out + outside.err, "is not among the cells of unit \"371302-001\""));
  // A grid incident raised from XC-1, naming it.
  REQUIRE(
      cli.Run({"act", "LS-1", "report", "--workflow", "grid-incident", "--by",
               "g01:grid_inspector:371302-001", "--at", "2026-09-22T11:00:00+08:00", "--payload",
               R"({"category":"environment","grid":"371302-001-001-01","summary":"s",)"
               R"("patrol_report":"XC-1"})"})
          .status == 0);
  const Output unknown =
      cli.Run({"act", "LS-2", "report", "--workflow", "grid-incident", "--by",
               "g01:grid_inspector:371302-001", "--at", "2026-09-22T11:00:00+08:00", "--payload",
               R"({"category":"environment","grid":"371302-001-001-01","summary":"s",)"
               R"("patrol_report":"XC-404"})"});
  CHECK(unknown.status != 0);
  CHECK(Contains(unknown.out + unknown.err, "there is none by that id"));

  const Output stats = cli.Run({"stats", "--from", "2026-09-21", "--to", "2026-09-27", "--json"});
  INFO(casegrid::test::Describe(stats));
  CHECK(Contains(stats.out, R"("received": 1,)"));  // the grid incident alone is a case
  CHECK(Contains(stats.out, R"("patrol_reports": 5,)"));
  CHECK(Contains(stats.out, R"("from_patrol": 1,)"));
  CHECK(Contains(cli.Run({"stats"}).out,
                 "patrol reports (information, not cases): 5 by 2 inspectors; cases raised from "
                 "one: 1"));
  CHECK_FALSE(Contains(cli.Run({"inbox", "371302-001-001"}).out, "XC-"));
  CHECK(Contains(cli.Run({"case", "show", "XC-1"}).out,
                 "kind         patrol report: information, not a case"));
  CHECK(Contains(cli.Run({"case", "show", "LS-1"}).out, "raised from  patrol report XC-1"));
  CHECK(Contains(cli.Run({"case", "show", "LS-1", "--json"}).out, R"("patrol_report": "XC-1")"));

  // xc01 filed on 22, 23 (two) and the holiday 25; xc02 on 24.
  const Output roll = cli.Run({"patrol", "--from", "2026-09-21", "--to", "2026-09-27", "--json"});
  INFO(casegrid::test::Describe(roll));
  REQUIRE(roll.status == 0);
  CHECK(Contains(roll.out, R"("working_days": 4,)"));
  CHECK(Contains(roll.out, R"("reports": 5,)"));
  CHECK(Contains(roll.out, R"("from_patrol": 1,)"));
  CHECK(Contains(roll.out, R"("inspector": "xc01",
      "reports": 4,
      "days_reported": 3,
      "short_days": [
        "2026-09-21",
        "2026-09-24"
      ])"));
  CHECK(Contains(roll.out, R"("inspector": "xc02",
      "reports": 1,
      "days_reported": 1,
      "short_days": [
        "2026-09-21",
        "2026-09-22",
        "2026-09-23"
      ])"));
  CHECK(Contains(roll.out, R"("environment": 5)"));
  // A campaign's ten a day: only Wednesday 23 had two.
  const Output campaign = cli.Run(
      {"patrol", "--from", "2026-09-21", "--to", "2026-09-25", "--at-least", "2", "--json"});
  CHECK(Contains(campaign.out, R"("short_days": [
        "2026-09-21",
        "2026-09-22",
        "2026-09-24"
      ])"));
  // An inspector of the directory who filed nothing: listed, every working
  // day short.
  REQUIRE(cli.Run({"users", "add", "xc03", "--name", "巡察员三"}).status == 0);
  const Output granted = cli.Run({"users", "grant", "xc03", "patrol_inspector", "371302-001"});
  INFO(casegrid::test::Describe(granted));
  REQUIRE(granted.status == 0);
  CHECK(Contains(cli.Run({"patrol", "--from", "2026-09-21", "--to", "2026-09-27", "--json"}).out,
                 R"("inspector": "xc03",
      "reports": 0,
      "days_reported": 0,
      "short_days": [
        "2026-09-21",
        "2026-09-22",
        "2026-09-23",
        "2026-09-24"
      ])"));
  // A period with no report: the day given (Monday 4 January 2027, a
  // working day); the roll's inspector is short on it.
  const Output later = cli.Run({"patrol", "--from", "2027-01-04"});
  INFO(casegrid::test::Describe(later));
  CHECK(Contains(later.out, "patrol reports 2027-01-04 .. 2027-01-04 (1 working days"));
  CHECK(Contains(later.out, "0 reports; 1 inspectors on the roll, 0 of them filed"));
  // Without a period: the days with a report, 22 .. 25 (3 working days).
  const Output text = cli.Run({"patrol"});
  CHECK(Contains(text.out, "patrol reports 2026-09-22 .. 2026-09-25 (3 working days"));
  CHECK(Contains(text.out,
                 "5 reports; 3 inspectors on the roll, 2 of them filed; cases raised from one: 1"));
  const Output zero = cli.Run({"patrol", "--at-least", "0"});
  CHECK(zero.status == 2);
  CHECK(Contains(zero.err, "--at-least"));
}
