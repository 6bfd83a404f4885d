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

// `casegrid --data DIR/data ARGS...` in DIR, with the default configuration.
class Casegrid {
 public:
  explicit Casegrid(const test::TempDir& dir) : dir_(dir) {}
  Output operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), {CASEGRID_BINARY, "--data", dir_.Sub("data")});
    return test::RunProcess(args, dir_.path(), test::Environment({"CASEGRID_CONFIG"}));
  }

 private:
  const test::TempDir& dir_;
};

// A hotline-12345 order `id` taken in at 09:00 on 2026-09-01 and, when the
// times are given, dispatched and signed for at those times of that day.
void HotlineOrder(const Casegrid& casegrid, const std::string& id, const std::string& dispatch = "",
                  const std::string& sign = "") {
  const std::string order = R"({"category":"noise","grid":"371302-001-001-01","summary":"s"})";
  REQUIRE(casegrid({"act", id, "intake", "--workflow", "hotline-12345", "--by", "h1:hotline:371302",
                    "--at", "2026-09-01T09:00:00+08:00", "--payload", order})
              .status == 0);
  if (dispatch.empty()) return;
  REQUIRE(casegrid({"act", id, "dispatch", "--by", "c1:centre:371302", "--at",
                    "2026-09-01T" + dispatch + "+08:00"})
              .status == 0);
  REQUIRE(casegrid({"act", id, "sign", "--by", "u1:unit:371302-001-001", "--at",
                    "2026-09-01T" + sign + "+08:00"})
              .status == 0);
}

// What `workflow publish FILE` prints when version `to` of hotline-12345
// would strand the one open v1 case in state "signed".
std::string StrandedSigned(const std::string& file, int to) {
  const std::string v = "v" + std::to_string(to);
  return file + ": 1 open case of hotline-12345 v1 in state signed, which " + v +
         " does not have: it stays on v1 until `casegrid workflow migrate hotline-12345 --from 1 "
         "--to " +
         std::to_string(to) +
         " --map signed=NEW`\n"
         "not published: open cases would be stranded; publish with --no-migration to leave them "
         "on v1, then migrate them\n";
}

}  // namespace

TEST_CASE("casegrid workflow validate prints ok and exits 0 for a valid definition",
          "[workflows][cli]") {
  test::TempDir dir;
  const std::string good = test::SourcePath("workflows/definitions/petition-125.yaml");
  const Output o = Validate(dir, {good});
  INFO(test::Describe(o));
  CHECK(o.status == 0);
  CHECK(o.out == good + ": ok (workflow petition-125 v6: 10 states, 20 actions, 9 deadlines)\n");
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
  expected.push_back(good + ": ok (workflow petition-125 v6: 10 states, 20 actions, 9 deadlines)");
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
  // A configuration with petition-125 v1 to v6 and a v7 that gives the
  // unit two working days to meet the petitioner.
  std::filesystem::copy(test::SourcePath("workflows"), dir.Sub("config"),
                        std::filesystem::copy_options::recursive);
  std::string v7 = test::ReadFile(dir.Sub("config/definitions/petition-125.yaml"));
  const std::string version = "version: 6\n";
  const std::string contact = "  - name: contact\n    anchor: intake\n    working_days: 1\n";
  REQUIRE(v7.find(version) != std::string::npos);
  REQUIRE(v7.find(contact) != std::string::npos);
  v7.replace(v7.find(version), version.size(), "version: 7\n");
  v7.replace(v7.find(contact), contact.size(),
             "  - name: contact\n    anchor: intake\n    working_days: 2\n");
  test::WriteFile(dir.Sub("config/definitions/petition-125-v7.yaml"), v7);
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--config", dir.Sub("config"), "workflow"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  };

  const Output list = run({"list"});
  INFO(test::Describe(list));
  REQUIRE(list.status == 0);
  CHECK(test::Lines(list.out).size() ==
        11);  // header, grid-incident, hotline-12345, patrol, petition-125 x7
  CHECK(test::Contains(list.out, "petition-125           7  cn-mainland"));
  CHECK(test::Contains(list.out, "hotline-12345          1  cn-mainland"));

  const Output show = run({"show", "petition-125", "--version", "1"});
  REQUIRE(show.status == 0);
  CHECK(test::Contains(show.out, "version: 1\n"));

  const Output diff = run({"diff", "petition-125", "6", "7"});
  INFO(test::Describe(diff));
  REQUIRE(diff.status == 0);
  CHECK(diff.out == "petition-125 v6 -> v7\n~ deadline contact: working_days: 1 -> 2\n");
  // What version 3 added to version 2: visitors served at reception.
  const Output served = run({"diff", "petition-125", "2", "3"});
  INFO(test::Describe(served));
  REQUIRE(served.status == 0);
  CHECK(test::Contains(served.out, "+ state served"));
  CHECK(test::Contains(served.out, "+ action serve"));
  // What version 4 added to version 3: the list followed, a town hands down.
  const Output handed = run({"diff", "petition-125", "3", "4"});
  INFO(test::Describe(handed));
  REQUIRE(handed.status == 0);
  CHECK(test::Contains(handed.out, "follow_responsibility_list"));
  CHECK(test::Contains(handed.out, "+ action hand_down"));
  CHECK(test::Contains(handed.out, "+ deadline sign_for"));
  // What version 5 added to version 4: first visits apart from repeats.
  const Output repeats = run({"diff", "petition-125", "4", "5"});
  INFO(test::Describe(repeats));
  REQUIRE(repeats.status == 0);
  CHECK(test::Contains(repeats.out, "repeat_within_days: 0 -> 365"));
  CHECK(test::Contains(repeats.out, "+ deadline repeat_response"));
  CHECK(test::Contains(repeats.out, "居民身份证号码"));  // as written, not escaped
  // What version 6 added to version 5: the lead and its supporting units.
  const Output cohandled = run({"diff", "petition-125", "5", "6"});
  INFO(test::Describe(cohandled));
  REQUIRE(cohandled.status == 0);
  CHECK(test::Contains(cohandled.out, "+ action request_support"));
  CHECK(test::Contains(cohandled.out, "+ action consult"));
  CHECK(test::Contains(cohandled.out, "+ deadline support"));

  const Output svg = run({"graph", "petition-125", "--format", "svg", "-o", "p.svg"});
  INFO(test::Describe(svg));
  REQUIRE(svg.status == 0);
  const std::string image = test::ReadFile(dir.Sub("p.svg"));
  CHECK(test::Contains(image, "<svg"));
  CHECK(test::Contains(image, "contact: 2 working days"));  // the newest version by default
  // A crafted file name is one argument to dot, never shell text: the file
  // is written under that exact name and nothing else runs.
  const std::string crafted = "x'; touch pwned; echo '.svg";
  const Output quoted = run({"graph", "petition-125", "--format", "svg", "-o", crafted});
  INFO(test::Describe(quoted));
  REQUIRE(quoted.status == 0);
  CHECK(test::Contains(test::ReadFile(dir.Sub(crafted)), "<svg"));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("pwned")));

  const Output unknown = run({"graph", "petition-999"});
  CHECK(unknown.status == 2);
  CHECK(test::Contains(unknown.err, "no workflow \"petition-999\""));
  const Output no_version = run({"diff", "petition-125", "1", "8"});
  CHECK(no_version.status == 2);
  CHECK(test::Contains(no_version.err, "no workflow petition-125 v8"));
}

TEST_CASE("casegrid workflow publish puts a valid file in force as an event, refuses a broken one",
          "[workflows][cli][publish]") {
  test::TempDir dir;
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", dir.Sub("data"), "workflow"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  };
  // A broken file: its problem lines, "not published", exit 1, and no log.
  const std::string broken = test::SourcePath("tests/workflows/broken/dead-end-state.yaml");
  const Output refused = run({"publish", broken, "--by", "sup01", "--reason", "try"});
  INFO(test::Describe(refused));
  CHECK(refused.status == 1);
  CHECK(test::Contains(refused.out, broken + ":"));
  CHECK(test::Contains(refused.out, "not published: " + broken + " has 1 problem\n"));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("data/journal")));

  // hotline-12345 v2: 3 working hours to sign.
  std::string v2 = test::ReadFile(test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  v2.replace(v2.find("working_hours: 2\n"), 17, "working_hours: 3\n");
  test::WriteFile(dir.Sub("h2.yaml"), v2);
  const Output published =
      run({"publish", "h2.yaml", "--by", "sup01", "--reason", "units asked for 3 hours"});
  INFO(test::Describe(published));
  REQUIRE(published.status == 0);
  CHECK(published.out.rfind("published hotline-12345 v2 (sha256 ", 0) == 0);
  CHECK(test::Contains(published.out, ") as event casegrid:workflows/1 by sup01\n"));

  const Output again = run({"publish", "h2.yaml", "--by", "sup01", "--reason", "again"});
  CHECK(again.status == 1);
  CHECK(test::Contains(again.out, "not published: workflow hotline-12345 v2 is already published"));

  const Output list = run({"list"});
  CHECK(test::Contains(list.out,
                       "hotline-12345          2  cn-mainland      9      17         4  "
                       "published "));
  const Output show = run({"show", "hotline-12345"});
  CHECK(show.out.rfind("# the log: published by sup01 at ", 0) == 0);
  CHECK(test::Contains(show.out, "(units asked for 3 hours)\n" + v2));
  const Output diff = run({"diff", "hotline-12345", "1", "2"});
  CHECK(diff.out == "hotline-12345 v1 -> v2\n~ deadline sign: working_hours: 2 -> 3\n");

  const Output pin =
      run({"pin", "hotline-12345", "noise", "--version", "1", "--by", "sup01", "--reason", "r"});
  CHECK(pin.status == 0);
  CHECK(pin.out ==
        "pinned: new hotline-12345 cases of category noise take v1 (event "
        "casegrid:workflows/2)\n");
  CHECK(test::Contains(run({"list"}).out,
                       "pinned: new hotline-12345 cases of category noise "
                       "take v1\n"));
  const Output bad_pin =
      run({"pin", "hotline-12345", "noise", "--version", "9", "--by", "sup01", "--reason", "r"});
  CHECK(bad_pin.status == 1);
  CHECK(bad_pin.out == "not pinned: no workflow hotline-12345 v9\n");
}

TEST_CASE("casegrid workflow migrate maps states, prints each case, and a dry run writes nothing",
          "[workflows][cli][migrate]") {
  test::TempDir dir;
  const Casegrid casegrid(dir);
  HotlineOrder(casegrid, "H-1");
  HotlineOrder(casegrid, "H-2", "10:00:00", "10:30:00");
  // v2 calls "signed" "accepted" and gives 4 working days to answer.
  std::string v2 = test::ReadFile(test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  for (size_t at; (at = v2.find("signed")) != std::string::npos;) v2.replace(at, 6, "accepted");
  v2.replace(v2.find("    working_days: 5\n"), 20, "    working_days: 4\n");
  test::WriteFile(dir.Sub("h2.yaml"), v2);
  // Publishing v2 would strand H-2 (in "signed") for a migration: flagged and refused...
  const Output stranding =
      casegrid({"workflow", "publish", "h2.yaml", "--by", "sup01", "--reason", "v2"});
  INFO(test::Describe(stranding));
  CHECK(stranding.status == 1);
  CHECK(stranding.out == StrandedSigned("h2.yaml", 2));
  // ... unless the supervisor says they stay on v1 for now.
  REQUIRE(casegrid({"workflow", "publish", "h2.yaml", "--by", "sup01", "--reason", "v2",
                    "--no-migration"})
              .status == 0);
  const std::vector<std::string> migrate = {"workflow",
                                            "migrate",
                                            "hotline-12345",
                                            "--from",
                                            "1",
                                            "--to",
                                            "2",
                                            "--by",
                                            "sup01",
                                            "--reason",
                                            "rename",
                                            "--at",
                                            "2026-09-02T09:00:00+08:00"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = migrate;
    args.insert(args.end(), extra.begin(), extra.end());
    return casegrid(args);
  };
  const Output unmapped = with({});
  INFO(test::Describe(unmapped));
  CHECK(unmapped.status == 1);
  CHECK(unmapped.out ==
        "nothing migrated:\n  state signed has no mapping: v2 has no such state; add "
        "--map signed=NEW (case H-2)\n");

  const Output dry = with({"--map", "signed=accepted", "--cases", "state=signed", "--dry-run"});
  INFO(test::Describe(dry));
  CHECK(dry.status == 0);
  CHECK(dry.out ==
        "H-2  signed -> accepted  deadlines answer 2026-09-08T23:59:59.999999+08:00  ->  answer "
        "2026-09-07T23:59:59.999999+08:00\n"
        "dry run: would migrate 1 case of hotline-12345 from v1 to v2; nothing written\n");
  CHECK(test::Contains(casegrid({"case", "show", "H-2"}).out, "signed"));
  // Moved on the 8th, the 4 working days of v2 ended on the 7th: the dry run
  // says the case would breach at once.
  std::vector<std::string> late = migrate;
  late.back() = "2026-09-08T09:00:00+08:00";
  late.insert(late.end(), {"--map", "signed=accepted", "--cases", "state=signed", "--dry-run"});
  const Output retro = casegrid(late);
  INFO(test::Describe(retro));
  CHECK(retro.status == 0);
  CHECK(test::Contains(retro.out,
                       "  H-2 would breach at once, the deadline already past: answer due "
                       "2026-09-07T23:59:59.999999+08:00\n"
                       "1 case would breach a deadline the moment it moves"));
  CHECK_FALSE(test::Contains(dry.out, "would breach"));

  const Output done = with({"--map", "signed=accepted"});
  INFO(test::Describe(done));
  CHECK(done.status == 0);
  CHECK(test::Contains(done.out, "H-1  received -> received"));
  CHECK(test::Contains(done.out, "migrated 2 cases of hotline-12345 from v1 to v2\n"));
  CHECK(test::Contains(casegrid({"replay", "H-2"}).out, "migrate: migrated  -> accepted"));
  CHECK(casegrid({"verify"}).status == 0);
  CHECK(with({"--map", "signed=accepted"}).out ==
        "no open case of hotline-12345 v1; nothing written\n");
}

TEST_CASE("casegrid workflow whatif prints the recorded and the draft's figures side by side",
          "[workflows][cli][whatif]") {
  test::TempDir dir;
  const Casegrid casegrid(dir);
  HotlineOrder(casegrid, "H-1", "09:30:00", "14:30:00");  // late under v1: breached and urged
  const std::string journal = test::ReadFile(dir.Sub("data/journal/data.mdb"));
  std::string draft = test::ReadFile(test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  draft.replace(draft.find("version: 1\n"), 11, "version: 2\n");
  draft.replace(draft.find("working_hours: 2\n"), 17, "working_hours: 4\n");
  test::WriteFile(dir.Sub("draft.yaml"), draft);

  const Output o =
      casegrid({"workflow", "whatif", "draft.yaml", "--from", "2026-09-01", "--to", "2026-09-30"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(o.out.rfind("what-if: hotline-12345 v2 (draft.yaml) over 1 cases opened "
                    "2026-09-01..2026-09-30, ",
                    0) == 0);
  CHECK(test::Contains(o.out, "  commands applied                            3          3\n"));
  CHECK(test::Contains(o.out, "  deadlines breached                          1          0\n"));
  CHECK(test::Contains(o.out, "    sign                                      1          0\n"));
  CHECK(test::ReadFile(dir.Sub("data/journal/data.mdb")) == journal);  // nothing written

  const Output broken = casegrid(
      {"workflow", "whatif", test::SourcePath("tests/workflows/broken/dead-end-state.yaml")});
  CHECK(broken.status == 1);
  const Output bad_day = casegrid({"workflow", "whatif", "draft.yaml", "--from", "2026-13-01"});
  CHECK(bad_day.status == 2);
}

TEST_CASE("publish flags open cases of every older version that the new one would strand",
          "[workflows][cli][publish]") {
  test::TempDir dir;
  const Casegrid casegrid(dir);
  HotlineOrder(casegrid, "H-1", "10:00:00", "10:30:00");
  // v2 keeps "signed"; v3 calls it "accepted". H-1 is still on v1.
  const std::string v1 =
      test::ReadFile(test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  std::string v2 = v1, v3 = v1;
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  v3.replace(v3.find("version: 1\n"), 11, "version: 3\n");
  for (size_t at; (at = v3.find("signed")) != std::string::npos;) v3.replace(at, 6, "accepted");
  test::WriteFile(dir.Sub("h2.yaml"), v2);
  test::WriteFile(dir.Sub("h3.yaml"), v3);
  REQUIRE(casegrid({"workflow", "publish", "h2.yaml", "--by", "sup01", "--reason", "v2"}).status ==
          0);
  const Output v3_out =
      casegrid({"workflow", "publish", "h3.yaml", "--by", "sup01", "--reason", "v3"});
  INFO(test::Describe(v3_out));
  CHECK(v3_out.status == 1);
  CHECK(v3_out.out == StrandedSigned("h3.yaml", 3));
}

TEST_CASE(
    "casegrid workflow adopt records the rules in force, and a file added after is a candidate",
    "[workflows][cli][adopt]") {
  test::TempDir dir;
  const std::string cfg = dir.Sub("workflows");
  std::filesystem::copy(test::SourcePath("workflows"), cfg,
                        std::filesystem::copy_options::recursive);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CASEGRID_BINARY, "--data", dir.Sub("data"), "--config", cfg});
    return test::RunProcess(args, dir.path(), test::Environment({"CASEGRID_CONFIG"}));
  };
  Output o = run({"workflow", "adopt", "--by", "sup01"});
  CHECK(o.status != 0);  // --reason is required
  o = run({"workflow", "adopt", "--by", "sup01", "--reason", "go-live"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(test::Contains(o.out, "adopted the configuration as event casegrid:workflows/1 by sup01:"));
  CHECK(test::Contains(o.out, "\n  workflow hotline-12345 v1\n"));
  CHECK(test::Contains(o.out, "\n  organisation (382 units, 2532 grid cells)\n"));
  o = run({"workflow", "adopt", "--by", "sup01", "--reason", "again"});
  CHECK(o.status == 1);
  CHECK(test::Contains(o.out, "not adopted: the configuration is adopted already"));

  // A v2 dropped into the folder is not in force.
  std::string v2 = test::ReadFile(cfg + "/definitions/hotline-12345.yaml");
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  test::WriteFile(cfg + "/definitions/hotline-12345-v2.yaml", v2);
  o = run({"workflow", "list"});
  CHECK(test::Contains(o.out, "candidate: hotline-12345 v2 (" + cfg +
                                  "/definitions/hotline-12345-v2.yaml) is not in force"));
  CHECK(test::Contains(o.out, "adopted: only what the log holds is in force"));
  o = run({"act", "H-1", "intake", "--workflow", "hotline-12345", "--by", "h1:hotline:371302",
           "--payload", R"({"category":"noise","grid":"371302-001-001-01","summary":"s"})"});
  CHECK(o.status == 0);
  o = run({"case", "show", "H-1"});
  CHECK(test::Contains(o.out, "hotline-12345 v1"));
  // Published, it is.
  o = run({"workflow", "publish", cfg + "/definitions/hotline-12345-v2.yaml", "--by", "sup01",
           "--reason", "v2"});
  CHECK(o.status == 0);
  CHECK(!test::Contains(run({"workflow", "list"}).out, "candidate:"));
  CHECK(run({"verify"}).status == 0);
}

TEST_CASE(
    "scripts/gen_history.py writes a history casegrid submit takes whole: every tenth case "
    "breached, escalated and answered by its town",
    "[workflows][cli][whatif]") {
  // The recorded history behind the what-if and import measurements
  // (docs/PERFORMANCE.md): in time order, on the shipped calendar's working
  // days; a command it writes that the rules refuse would skew them.
  test::TempDir dir;
  const Output history = test::RunProcess(
      {"python3", test::SourcePath("scripts/gen_history.py"), "--cases", "50"}, dir.path(), {});
  INFO(test::Describe(history));
  REQUIRE(history.status == 0);
  test::WriteFile(dir.Sub("history.ndjson"), history.out);
  const Casegrid casegrid(dir);
  const Output o = casegrid({"submit", "--file", "history.ndjson", "--quiet"});
  INFO(test::Describe(o));
  CHECK(o.status == 0);
  // 50 lifecycles of six commands; the 5 late contacts each breach the
  // contact deadline and escalate the case: two events from deadlines.
  CHECK(test::Contains(o.out,
                       "300 accepted, 0 duplicates, 0 rejected; 610 events (10 from "
                       "deadlines)"));
  const Output shown = casegrid({"case", "show", "P-000010"});
  INFO(test::Describe(shown));
  // Grid 371302-004-019-01: its station's town took the case and answered.
  CHECK(test::Contains(shown.out, "unit         371302-004  level town\n"));
  CHECK(test::Contains(shown.out, "escalations  1 "));
}
