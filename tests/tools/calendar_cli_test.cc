// End-to-end tests of `casegrid calendar validate` and `casegrid calendar
// show`: the built binary (CASEGRID_BINARY) on the shipped calendars and on
// the broken-calendar corpus (tests/engine/broken-calendars).
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
