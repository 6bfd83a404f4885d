// End-to-end tests of `casegrid workflow validate`: the built binary
// (CASEGRID_BINARY) on a shipped definition and on corpus files
// (tests/workflows/broken), checking the output lines and exit statuses.
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;

namespace {

using test::Output;

// `casegrid workflow validate ARGS...` in a scratch directory, with the
// default configuration (the source tree's workflows/).
Output Validate(const test::TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CASEGRID_BINARY, "workflow", "validate"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
}

// The corpus's expected lines for `stem`, each prefixed with the file's path.
std::vector<std::string> Expected(const std::string& stem) {
  const std::string dir = test::SourcePath("tests/workflows/broken");
  std::vector<std::string> lines;
  for (const auto& line : test::Lines(test::ReadFile(dir + "/" + stem + ".expected"))) {
    lines.push_back(dir + "/" + line);
  }
  return lines;
}

}  // namespace

TEST_CASE("casegrid workflow validate prints ok and exits 0 for a valid definition",
          "[workflows][cli]") {
  test::TempDir dir;
  const std::string good = test::SourcePath("workflows/definitions/petition-125.yaml");
  const Output o = Validate(dir, {good});
  INFO(test::Describe(o));
  CHECK(o.status == 0);
  CHECK(o.out == good + ": ok (workflow petition-125 v1: 9 states, 14 actions, 6 deadlines)\n");
  CHECK(o.err.empty());
}

TEST_CASE("casegrid workflow validate prints FILE:LINE:COL lines for every problem and exits 1",
          "[workflows][cli]") {
  test::TempDir dir;
  const std::string good = test::SourcePath("workflows/definitions/petition-125.yaml");
  const std::string broken = test::SourcePath("tests/workflows/broken/");
  const Output o =
      Validate(dir, {broken + "unknown-key.yaml", good, broken + "several-problems.yaml"});
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  std::vector<std::string> expected = Expected("unknown-key");
  expected.push_back(good + ": ok (workflow petition-125 v1: 9 states, 14 actions, 6 deadlines)");
  for (const auto& line : Expected("several-problems")) expected.push_back(line);
  CHECK(test::Lines(o.out) == expected);
  CHECK(expected.size() >= 5);  // one loader error, one ok, several semantic problems
}

TEST_CASE("casegrid workflow validate exits 2 when the configuration or a file cannot be read",
          "[workflows][cli]") {
  test::TempDir dir;
  const std::string good = test::SourcePath("workflows/definitions/petition-125.yaml");
  const Output no_config = Validate(dir, {"--config", dir.Sub("no-config"), good});
  INFO(test::Describe(no_config));
  CHECK(no_config.status == 2);
  CHECK(no_config.out.empty());
  CHECK(test::Contains(no_config.err, dir.Sub("no-config")));

  const Output missing = Validate(dir, {dir.Sub("absent.yaml"), good});
  INFO(test::Describe(missing));
  CHECK(missing.status == 2);
  CHECK(test::Contains(missing.err, dir.Sub("absent.yaml")));
  CHECK(test::Contains(missing.out, good + ": ok"));
}

TEST_CASE("casegrid workflow list, show, diff and graph read the configuration's definitions",
          "[workflows][cli]") {
  test::TempDir dir;
  // A configuration with petition-125 v1 and a v2 that gives the unit two
  // working days to meet the petitioner.
  std::filesystem::copy(test::SourcePath("workflows"), dir.Sub("config"),
                        std::filesystem::copy_options::recursive);
  std::string v2 = test::ReadFile(dir.Sub("config/definitions/petition-125.yaml"));
  const std::string version = "version: 1\n";
  const std::string contact = "  - name: contact\n    working_days: 1\n";
  REQUIRE(v2.find(version) != std::string::npos);
  REQUIRE(v2.find(contact) != std::string::npos);
  v2.replace(v2.find(version), version.size(), "version: 2\n");
  v2.replace(v2.find(contact), contact.size(), "  - name: contact\n    working_days: 2\n");
  test::WriteFile(dir.Sub("config/definitions/petition-125-v2.yaml"), v2);
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--config", dir.Sub("config"), "workflow"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  };

  const Output list = run({"list"});
  INFO(test::Describe(list));
  REQUIRE(list.status == 0);
  CHECK(test::Lines(list.out).size() ==
        5);  // header, grid-incident, hotline-12345, petition-125 x2
  CHECK(test::Contains(list.out, "petition-125           2  cn-mainland"));
  CHECK(test::Contains(list.out, "hotline-12345          1  cn-mainland"));

  const Output show = run({"show", "petition-125", "--version", "1"});
  REQUIRE(show.status == 0);
  CHECK(test::Contains(show.out, "version: 1\n"));

  const Output diff = run({"diff", "petition-125", "1", "2"});
  INFO(test::Describe(diff));
  REQUIRE(diff.status == 0);
  CHECK(diff.out == "petition-125 v1 -> v2\n~ deadline contact: working_days: 1 -> 2\n");

  const Output svg = run({"graph", "petition-125", "--format", "svg", "-o", "p.svg"});
  INFO(test::Describe(svg));
  REQUIRE(svg.status == 0);
  const std::string image = test::ReadFile(dir.Sub("p.svg"));
  CHECK(test::Contains(image, "<svg"));
  CHECK(test::Contains(image, "contact: 2 working days"));  // the newest version by default

  const Output unknown = run({"graph", "petition-999"});
  CHECK(unknown.status == 2);
  CHECK(test::Contains(unknown.err, "no workflow \"petition-999\""));
  const Output no_version = run({"diff", "petition-125", "1", "7"});
  CHECK(no_version.status == 2);
  CHECK(test::Contains(no_version.err, "no workflow petition-125 v7"));
}
