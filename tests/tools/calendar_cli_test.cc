// End-to-end tests of `casegrid calendar validate`, `casegrid calendar show`
// and `casegrid calendar derive`: the built binary (CASEGRID_BINARY) on the shipped calendars and
// on the broken-calendar corpus (tests/engine/broken-calendars).
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;

namespace {

test::Output Calendar(const test::TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CASEGRID_BINARY, "calendar"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
}

}  // namespace

TEST_CASE("casegrid calendar validate: ok lines and 0, problem lines and 1, unreadable 2",
          "[calendar][cli]") {
  test::TempDir dir;
  const std::string good = test::SourcePath("workflows/calendars/cn-2026.yaml");
  const std::string bad = test::SourcePath("tests/engine/broken-calendars/several-problems.yaml");
  const test::Output ok = Calendar(dir, {"validate", good});
  INFO(test::Describe(ok));
  CHECK(ok.status == 0);
  CHECK(ok.out == good +
                      ": ok (calendar cn-mainland 2026: 7 holidays, 6 make-up working days, "
                      "working hours 08:30–12:00, 13:30–17:30)\n");
  const test::Output problems = Calendar(dir, {"validate", good, bad});
  INFO(test::Describe(problems));
  CHECK(problems.status == 1);
  std::vector<std::string> expected = {good +
                                       ": ok (calendar cn-mainland 2026: 7 holidays, 6 "
                                       "make-up working days, working hours 08:30–12:00, "
                                       "13:30–17:30)"};
  const std::string dir_of_bad = test::SourcePath("tests/engine/broken-calendars");
  for (const auto& line : test::Lines(test::ReadFile(dir_of_bad + "/several-problems.expected"))) {
    expected.push_back(dir_of_bad + "/" + line);
  }
  CHECK(test::Lines(problems.out) == expected);
  const test::Output missing = Calendar(dir, {"validate", dir.Sub("nope.yaml")});
  CHECK(missing.status == 2);
  CHECK(test::Contains(missing.err, "nope.yaml"));
}

TEST_CASE("casegrid calendar show lists a year's days off, make-up days and hours",
          "[calendar][cli]") {
  test::TempDir dir;
  const test::Output o = Calendar(dir, {"show", "cn-mainland", "--year", "2026"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(test::Contains(o.out, "working hours (cn-mainland): 08:30–12:00, 13:30–17:30"));
  CHECK(test::Contains(o.out, "2026-02-15 Sun – 2026-02-23 Mon  春节"));
  CHECK(test::Contains(o.out, "working days: 248 of 365"));
  const test::Output outside = Calendar(dir, {"show", "cn-mainland", "--year", "2030"});
  CHECK(outside.status == 1);
}

TEST_CASE("casegrid calendar derive --year 2027 prints the shipped provisional cn-2027.yaml",
          "[calendar][cli]") {
  test::TempDir dir;
  const std::string shipped = test::SourcePath("workflows/calendars/cn-2027.yaml");
  const test::Output o = Calendar(dir, {"derive", "--year", "2027"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.err.empty());
  CHECK(o.out == test::ReadFile(shipped));
  CHECK(test::Contains(o.out, "\nprovisional: true\n"));
  CHECK(test::Contains(o.out,
                       "  - name: 春节补假    # substitute days off Tue .. Wed for 正月初一 "
                       "(Sat), 正月初二 (Sun) (article 6)\n"
                       "    from: 2027-02-09\n"
                       "    to: 2027-02-10\n"));
  // The same command with the calendar named gives the same file.
  CHECK(Calendar(dir, {"derive", "--year", "2027", "--calendar", "cn-mainland"}).out == o.out);
  const test::Output valid = Calendar(dir, {"validate", shipped});
  INFO(test::Describe(valid));
  CHECK(valid.status == 0);
  CHECK(valid.out == shipped +
                         ": ok (calendar cn-mainland 2027 (provisional): 10 holidays, 0 make-up "
                         "working days, working hours 08:30–12:00, 13:30–17:30)\n");
}

TEST_CASE("a derived year validates on its own against a configuration without it",
          "[calendar][cli]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.Sub("config/calendars"));
  test::WriteFile(dir.Sub("config/calendars/cn-2026.yaml"),
                  test::ReadFile(test::SourcePath("workflows/calendars/cn-2026.yaml")));
  std::vector<std::string> argv = {
      CASEGRID_BINARY, "--config", dir.Sub("config"), "calendar", "derive", "--year", "2028"};
  const test::Output derived =
      test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  INFO(test::Describe(derived));
  REQUIRE(derived.status == 0);
  test::WriteFile(dir.Sub("cn-2028.yaml"), derived.out);
  argv = {CASEGRID_BINARY, "--config", dir.Sub("config"),
          "calendar",      "validate", dir.Sub("cn-2028.yaml")};
  const test::Output valid =
      test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  INFO(test::Describe(valid));
  CHECK(valid.status == 0);
  CHECK(test::Contains(valid.out, "ok (calendar cn-mainland 2028 (provisional): "));
}

TEST_CASE("casegrid calendar show prints a provisional year as PROVISIONAL", "[calendar][cli]") {
  test::TempDir dir;
  const test::Output o = Calendar(dir, {"show", "cn-mainland", "--year", "2027"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(test::Lines(o.out)[0] == "cn-mainland (covers 2025–2027; 2027 provisional)");
  CHECK(test::Contains(o.out, "\ncalendar cn-mainland 2027  PROVISIONAL\n"));
  CHECK(test::Contains(o.out,
                       "  PROVISIONAL: cn-mainland's 2027 is derived from the statutory "
                       "holiday rules\n"));
  CHECK(test::Contains(o.out, "  2027-02-05 Fri – 2027-02-08 Mon  春节  (4 days, cn-mainland)\n"));
  CHECK(test::Contains(o.out,
                       "  2027-10-04 Mon – 2027-10-05 Tue  国庆节补假  (2 days, "
                       "cn-mainland)\n"));
  CHECK(test::Contains(o.out, "working days: 248 of 365"));
  const test::Output published = Calendar(dir, {"show", "cn-mainland", "--year", "2026"});
  CHECK_FALSE(test::Contains(published.out, "calendar cn-mainland 2026  PROVISIONAL"));
}

TEST_CASE("casegrid calendar derive refuses a year outside 2025..2100 and a local calendar",
          "[calendar][cli]") {
  test::TempDir dir;
  const test::Output early = Calendar(dir, {"derive", "--year", "2024"});
  CHECK(early.status == 2);
  CHECK(early.out.empty());
  CHECK(test::Contains(early.err, "year 2024 is outside 2025..2100"));
  std::filesystem::create_directories(dir.Sub("config/calendars"));
  test::WriteFile(dir.Sub("config/calendars/cn-2026.yaml"),
                  test::ReadFile(test::SourcePath("workflows/calendars/cn-2026.yaml")));
  test::WriteFile(
      dir.Sub("config/calendars/town-x-2026.yaml"),
      test::ReadFile(test::SourcePath("tests/engine/calendars/cn-mainland+town-x-2026.yaml")));
  const std::vector<std::string> argv = {CASEGRID_BINARY, "--config",   dir.Sub("config"),
                                         "calendar",      "derive",     "--year",
                                         "2027",          "--calendar", "cn-mainland+town-x"};
  const test::Output town =
      test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  INFO(test::Describe(town));
  CHECK(town.status == 2);
  CHECK(test::Contains(town.err, "calendar cn-mainland+town-x extends cn-mainland"));
  // A published year is derived for comparison, with a note.
  const test::Output published = Calendar(dir, {"derive", "--year", "2026"});
  CHECK(published.status == 0);
  CHECK(test::Contains(published.err, "has the published 2026 schedule"));
}

TEST_CASE("casegrid calendar publish puts the notice in force and recounts provisional deadlines",
          "[calendar][recount][cli]") {
  // A configuration whose 2026 and 2027 are provisional (2026 as the shipped
  // days, marked), so a case dispatched now has deadlines counted over a
  // provisional year whatever the date; publishing the shipped cn-2026 then
  // leaves every day as it was: the deadlines are recounted, none moves.
  test::TempDir dir;
  const std::string config = dir.Sub("config");
  std::filesystem::copy(test::SourcePath("workflows"), config,
                        std::filesystem::copy_options::recursive);
  const std::string official = test::SourcePath("workflows/calendars/cn-2026.yaml");
  std::string marked = test::ReadFile(official);
  marked.replace(marked.find("\nworking_hours:"), 0, "\nprovisional: true\n");
  test::WriteFile(config + "/calendars/cn-2026.yaml", marked);
  auto run = [&](const std::vector<std::string>& args, const std::string& in = "") {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}),
                            test::Stdin::Text(in));
  };
  const test::Output submitted = run(
      {"submit", "--file", "-"},
      R"({"id":"p1-1","case":"P-1","action":"intake","actor":{"user":"w01","role":"window","unit":"371302"},"data":{"channel":"window","category":"village-affairs","grid":"371302-001-001-01","summary":"Unpaid wages","petitioner":{"name":"Zhang","phone":"13800000000"},"complex":false}}
{"id":"p1-2","case":"P-1","action":"dispatch","actor":{"user":"c01","role":"centre","unit":"371302"},"data":{}}
)");
  INFO(test::Describe(submitted));
  REQUIRE(submitted.status == 0);

  const test::Output published = run(
      {"calendar", "publish", official, "--by", "sup01", "--reason", "国务院办公厅 2026 notice"});
  INFO(test::Describe(published));
  REQUIRE(published.status == 0);
  const auto lines = test::Lines(published.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("published cn-mainland 2026 (sha256 ", 0) == 0);
  CHECK(test::Contains(lines[0], ") as event casegrid:workflows/1 by sup01"));
  CHECK(lines[1].rfind("P-1  contact  ", 0) == 0);
  CHECK(test::Contains(lines[1], " unchanged "));
  CHECK(lines[2].rfind("P-1  response  ", 0) == 0);
  CHECK(lines[3] == "recounted 2 deadlines (0 moved)");

  // The log is the record: `calendar show` reads the year from it.
  const test::Output shown = run({"calendar", "show", "cn-mainland", "--year", "2026"});
  INFO(test::Describe(shown));
  REQUIRE(shown.status == 0);
  CHECK_FALSE(test::Contains(shown.out, "PROVISIONAL"));
  CHECK(test::Contains(run({"calendar", "show", "cn-mainland", "--year", "2027"}).out,
                       "PROVISIONAL"));

  const test::Output again =
      run({"calendar", "publish", official, "--by", "sup01", "--reason", "twice"});
  CHECK(again.status == 1);
  CHECK(again.out ==
        "not published: calendar cn-mainland 2026 is already in force with these days and hours\n");
  const test::Output verified = run({"verify"});
  INFO(test::Describe(verified));
  CHECK(verified.status == 0);
}
