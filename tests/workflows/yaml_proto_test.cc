#include "workflows/yaml_proto.h"

#include <google/protobuf/wrappers.pb.h>

#include <fstream>
#include <string>

#include "tests/test_util.h"
#include "workflows/workflow.pb.h"

using casegrid::Status;
using casegrid::workflows::LoadYamlFile;
using casegrid::workflows::ParseYaml;

namespace {

// Parses `yaml` as file "t.yaml" and returns the error message ("" when OK).
template <typename Msg>
std::string ErrorOf(const std::string& yaml) {
  Msg msg;
  Status s = ParseYaml(yaml, "t.yaml", &msg);
  if (s.ok()) return "";
  REQUIRE(s.IsInvalidArgument());
  return s.message();
}

// A WorkflowDefinition header with every required field, for appending to.
constexpr const char kWorkflowHead[] =
    "id: w\n"
    "version: 1\n"
    "calendar: cn-mainland\n";

}  // namespace

TEST_CASE("a calendar year with nested holidays and make-up days parses into the message",
          "[yaml]") {
  casegrid::v1::CalendarYear year;
  REQUIRE_OK(
      ParseYaml("calendar: cn-mainland\n"
                "year: 2026\n"
                "time_zone: Asia/Shanghai\n"
                "source: test notice\n"
                "holidays:\n"
                "  - name: 国庆节  # National Day\n"
                "    from: 2026-10-01\n"
                "    to: 2026-10-07\n"
                "makeup_working_days:\n"
                "  - {date: 2026-10-10, for: 国庆节}\n",
                "t.yaml", &year));
  REQUIRE(year.calendar() == "cn-mainland");
  REQUIRE(year.year() == 2026);
  REQUIRE(year.source() == "test notice");
  REQUIRE(year.holidays_size() == 1);
  REQUIRE(year.holidays(0).name() == "国庆节");
  REQUIRE(year.holidays(0).from() == "2026-10-01");
  REQUIRE(year.holidays(0).to() == "2026-10-07");
  REQUIRE(year.makeup_working_days_size() == 1);
  REQUIRE(year.makeup_working_days(0).date() == "2026-10-10");
  REQUIRE(year.makeup_working_days(0).for_() == "国庆节");
}

TEST_CASE("a flow list fills a repeated field like a block sequence", "[yaml]") {
  casegrid::v1::WorkflowDefinition def;
  REQUIRE_OK(ParseYaml(std::string(kWorkflowHead) + "roles: [citizen, centre, unit]\n"
                                                    "actions:\n"
                                                    "  - name: assign\n"
                                                    "    effect: assign\n"
                                                    "    from: [registered]\n"
                                                    "    roles:\n"
                                                    "      - centre\n",
                       "t.yaml", &def));
  REQUIRE(def.roles_size() == 3);
  REQUIRE(def.roles(2) == "unit");
  REQUIRE(def.actions(0).from_size() == 1);
  REQUIRE(def.actions(0).from(0) == "registered");
  REQUIRE(def.actions(0).roles(0) == "centre");
}

TEST_CASE("enum values are written lower-case and match the proto name case-insensitively",
          "[yaml]") {
  casegrid::v1::Deadline d;
  REQUIRE_OK(
      ParseYaml("name: plan\nowner: case_unit\non_breach: escalate_one_level\n", "t.yaml", &d));
  REQUIRE(d.on_breach() == casegrid::v1::ESCALATE_ONE_LEVEL);
  REQUIRE_OK(ParseYaml("name: plan\nowner: case_unit\non_breach: Record\n", "t.yaml", &d));
  REQUIRE(d.on_breach() == casegrid::v1::RECORD);
}

TEST_CASE("scalars fill bool, int32 and int64 fields", "[yaml]") {
  casegrid::v1::Field f;
  REQUIRE_OK(
      ParseYaml("name: n\ntype: int\nrequired: true\nmin: -9223372036854775808\n"
                "max: 9223372036854775807\n",
                "t.yaml", &f));
  REQUIRE(f.type() == casegrid::v1::INT);
  REQUIRE(f.required());
  REQUIRE(f.min() == INT64_MIN);
  REQUIRE(f.max() == INT64_MAX);
}

TEST_CASE("unsigned and floating-point fields parse", "[yaml]") {
  google::protobuf::UInt32Value u32;
  REQUIRE_OK(ParseYaml("value: 4294967295\n", "t.yaml", &u32));
  REQUIRE(u32.value() == 4294967295u);
  google::protobuf::UInt64Value u64;
  REQUIRE_OK(ParseYaml("value: 18446744073709551615\n", "t.yaml", &u64));
  REQUIRE(u64.value() == UINT64_MAX);
  google::protobuf::DoubleValue d;
  REQUIRE_OK(ParseYaml("value: -2.5e3\n", "t.yaml", &d));
  REQUIRE(d.value() == -2500.0);
  REQUIRE_OK(ParseYaml("value: 7\n", "t.yaml", &d));
  REQUIRE(d.value() == 7.0);
}

TEST_CASE("the message is cleared before parsing", "[yaml]") {
  casegrid::v1::State s;
  s.set_description("old");
  s.set_final(true);
  REQUIRE_OK(ParseYaml("name: open\n", "t.yaml", &s));
  REQUIRE(s.name() == "open");
  REQUIRE(s.description().empty());
  REQUIRE_FALSE(s.final());
}

TEST_CASE("an unknown key is rejected with its position and the allowed keys", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\nyears: 2026\n") ==
          "t.yaml:2:1: unknown key \"years\" in CalendarYear (allowed: calendar, year, "
          "time_zone, source, holidays, makeup_working_days, working_hours, extends, "
          "provisional)");
}

TEST_CASE("an unknown key in a nested mapping names the nested message", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\n"
                                              "holidays:\n"
                                              "  - name: x\n"
                                              "    until: 2026-01-01\n") ==
          "t.yaml:4:5: unknown key \"until\" in Holiday (allowed: name, from, to)");
}

TEST_CASE("an alias repeats what its anchor names: a scalar, a list, a mapping", "[yaml]") {
  // The document is built from the parser's events in one pass (ParseYaml):
  // an alias is the anchored node again, wherever it appears, and each
  // value keeps the position it was written at.
  casegrid::v1::WorkflowDefinition def;
  casegrid::workflows::SourceMap map;
  REQUIRE_OK(ParseYaml(std::string(kWorkflowHead) + "roles: &staff [centre, unit]\n"
                                                    "states: [{name: &start registered}]\n"
                                                    "actions:\n"
                                                    "  - &assign\n"
                                                    "    name: assign\n"
                                                    "    effect: assign\n"
                                                    "    from: [*start]\n"
                                                    "    roles: *staff\n"
                                                    "  - *assign\n",
                       "t.yaml", &def, &map));
  REQUIRE(def.roles_size() == 2);
  REQUIRE(def.states_size() == 1);
  CHECK(def.states(0).name() == "registered");
  REQUIRE(def.actions_size() == 2);
  for (const auto& action : def.actions()) {
    CHECK(action.name() == "assign");
    REQUIRE(action.from_size() == 1);
    CHECK(action.from(0) == "registered");
    REQUIRE(action.roles_size() == 2);
    CHECK(action.roles(1) == "unit");
  }
  // Positions are where the values were written: an alias is the anchored
  // node itself, as in yaml-cpp, so the second action is at the first's.
  CHECK(map.Find("actions[0]").line == 7);
  CHECK(map.Find("actions[1]").line == 7);
  CHECK(map.Find("actions[0].name").line == 8);
  CHECK(map.Find("states[0].name").line == 5);
}

TEST_CASE("a duplicate key is rejected at its second occurrence", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\nyear: 2025\nyear: 2026\n") ==
          "t.yaml:3:1: duplicate key \"year\" (first at line 2, column 1)");
}

TEST_CASE("a duplicate key in a flow mapping is rejected", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>(
              "makeup_working_days: [{date: 2026-10-10, date: 2026-10-11}]\n") ==
          "t.yaml:1:42: duplicate key \"date\" (first at line 1, column 24)");
}

TEST_CASE("the same key in two sibling mappings is not a duplicate", "[yaml]") {
  casegrid::v1::CalendarYear year;
  REQUIRE_OK(
      ParseYaml("calendar: c\nyear: 1\ntime_zone: z\nsource: s\n"
                "makeup_working_days: [{date: a}, {date: b}]\n",
                "t.yaml", &year));
  REQUIRE(year.makeup_working_days_size() == 2);
}

TEST_CASE("a word where an integer is expected is a type error naming both", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::WorkflowDefinition>(std::string(kWorkflowHead) +
                                                    "deadlines:\n"
                                                    "  - name: plan\n"
                                                    "    owner: case_unit\n"
                                                    "    on_breach: record\n"
                                                    "    working_days: five\n") ==
          "t.yaml:8:19: field \"working_days\": expected an integer, got \"five\"");
}

TEST_CASE("a fraction where an integer is expected is a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("year: 2026.5\n") ==
          "t.yaml:1:7: field \"year\": expected an integer, got \"2026.5\"");
}

TEST_CASE("a quoted number is a string, not an integer", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("year: \"2026\"\n") ==
          "t.yaml:1:7: field \"year\": expected an integer, got \"2026\" (quoted, so a string)");
}

TEST_CASE("an int32 beyond its range is rejected with the range", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("year: 3000000000\n") ==
          "t.yaml:1:7: field \"year\": 3000000000 is out of range for int32 (-2147483648 to "
          "2147483647)");
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("year: -2147483649\n") ==
          "t.yaml:1:7: field \"year\": -2147483649 is out of range for int32 (-2147483648 to "
          "2147483647)");
}

TEST_CASE("an int64 beyond 64 bits is out of range, not a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::Field>("max: 99999999999999999999\n") ==
          "t.yaml:1:6: field \"max\": 99999999999999999999 is out of range for int64 "
          "(-9223372036854775808 to 9223372036854775807)");
}

TEST_CASE("a negative number for an unsigned field is out of range", "[yaml]") {
  REQUIRE(ErrorOf<google::protobuf::UInt32Value>("value: -1\n") ==
          "t.yaml:1:8: field \"value\": -1 is out of range for uint32 (0 to 4294967295)");
}

TEST_CASE("a boolean accepts only true and false", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::State>("name: s\nfinal: yes please\n") ==
          "t.yaml:2:8: field \"final\": expected a boolean (true/false), got \"yes please\"");
  for (const char* word : {"yes", "on", "True", "1", "\"true\""}) {
    INFO(word);
    REQUIRE_FALSE(
        ErrorOf<casegrid::v1::State>(std::string("name: s\nfinal: ") + word + "\n").empty());
  }
}

TEST_CASE("a mapping where a string is expected is a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("source: {notice: 7}\n") ==
          "t.yaml:1:9: field \"source\": expected a string, got a mapping");
}

TEST_CASE("a sequence where a string is expected is a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("source:\n  - a\n  - b\n") ==
          "t.yaml:2:3: field \"source\": expected a string, got a sequence");
}

TEST_CASE("an empty value where a string is expected is reported at its key", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\nsource:\nyear: 1\n") ==
          "t.yaml:2:1: field \"source\": expected a string, got an empty value (null)");
}

TEST_CASE("a scalar where a repeated field is expected is a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("holidays: none\n") ==
          "t.yaml:1:11: field \"holidays\": expected a sequence (\"- item\" lines or [a, b]), "
          "got \"none\"");
}

TEST_CASE("a scalar where a nested message is expected is a type error", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::Deadline>("when: always\n") ==
          "t.yaml:1:7: field \"when\": expected a mapping (a Condition), got \"always\"");
}

TEST_CASE("an unknown enum value is rejected listing the allowed lower-case values", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::Deadline>("name: plan\nowner: centre\non_breach: explode\n") ==
          "t.yaml:3:12: field \"on_breach\": unknown value \"explode\" (allowed: record, "
          "escalate_one_level, urge)");
}

TEST_CASE("the UNSPECIFIED enum placeholder is not a value authors can choose", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::Unit>("code: u\nname: n\nkind: unit_kind_unspecified\n") ==
          "t.yaml:3:7: field \"kind\": unknown value \"unit_kind_unspecified\" (allowed: "
          "district_centre, town_centre, village_station, department, mediation)");
}

TEST_CASE("a missing required field is reported at its mapping", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\nyear: 2026\ntime_zone: z\n") ==
          "t.yaml:1:1: missing required field \"source\" in this CalendarYear mapping");
}

TEST_CASE("a missing required field in a sequence element names the element's position", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: c\n"
                                              "year: 2026\n"
                                              "time_zone: z\n"
                                              "source: s\n"
                                              "holidays:\n"
                                              "  - name: ok\n"
                                              "    from: 2026-01-01\n"
                                              "    to: 2026-01-01\n"
                                              "  - name: 春节\n"
                                              "    from: 2026-02-15\n") ==
          "t.yaml:9:5: missing required field \"to\" in this Holiday mapping");
}

TEST_CASE("a YAML syntax error is reported at the parser's position", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("calendar: [c\nyear: 2026\n") ==
          "t.yaml:2:5: YAML syntax error: end of sequence flow not found");
}

TEST_CASE("a top-level sequence is rejected: a document must be a mapping", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("- calendar: c\n- year: 2026\n") ==
          "t.yaml:1:1: expected a mapping (key: value lines) at the top level, got a sequence");
}

TEST_CASE("a top-level scalar is rejected: a document must be a mapping", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("just text\n") ==
          "t.yaml:1:1: expected a mapping (key: value lines) at the top level, got \"just "
          "text\"");
}

TEST_CASE("an empty document is rejected", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::CalendarYear>("# nothing here\n") ==
          "t.yaml:1:1: expected a mapping (key: value lines) at the top level, got an empty "
          "document");
}

TEST_CASE("a second YAML document in the file is rejected", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::State>("name: a\n---\nname: b\n") ==
          "t.yaml:3:1: expected one YAML document, found 2");
}

TEST_CASE("a key that is not a scalar is rejected", "[yaml]") {
  REQUIRE(ErrorOf<casegrid::v1::State>("? [a, b]\n: 1\n") ==
          "t.yaml:1:3: a key must be a name, got a sequence");
}

TEST_CASE("LoadYamlFile reports errors with the file's path", "[yaml]") {
  casegrid::test::TempDir dir;
  const std::string path = dir.Sub("bad.yaml");
  std::ofstream(path) << "name: s\nfinal: maybe\n";
  casegrid::v1::State s;
  Status st = LoadYamlFile(path, &s);
  REQUIRE(st.IsInvalidArgument());
  REQUIRE(st.message() == path +
                              ":2:8: field \"final\": expected a boolean (true/false), got "
                              "\"maybe\"");
}

TEST_CASE("LoadYamlFile of a missing file is NotFound", "[yaml]") {
  casegrid::test::TempDir dir;
  casegrid::v1::State s;
  Status st = LoadYamlFile(dir.Sub("absent.yaml"), &s);
  REQUIRE(st.IsNotFound());
  REQUIRE(st.message().find("absent.yaml") != std::string::npos);
}

TEST_CASE("a file that is not UTF-8 is refused at the byte, naming line and column", "[yaml]") {
  // 中文 saved as GBK on a Chinese Windows machine.
  CHECK(ErrorOf<casegrid::v1::WorkflowDefinition>("id: p\nversion: 1\ntitle: \"ab\xD6\xD0\"\n") ==
        "t.yaml:3:11: not valid UTF-8 (byte 0xD6; YAML files must be saved as UTF-8, not GBK)");
  CHECK(ErrorOf<casegrid::v1::WorkflowDefinition>("\xD6\xD0: 1\n") ==
        "t.yaml:1:1: not valid UTF-8 (byte 0xD6; YAML files must be saved as UTF-8, not GBK)");
  CHECK_THAT(ErrorOf<casegrid::v1::WorkflowDefinition>("id: p\nversion: 1\ntitle: \"中文\"\n"),
             !Catch::Matchers::Contains("UTF-8"));
}

TEST_CASE("aliases that repeat a small file into a million values are refused", "[yaml]") {
  // 1,000 actions, each an alias of one whose `from` is an alias of a
  // 1,000-element list: about 12 KB that would expand to a million values.
  std::string yaml =
      "id: p\nversion: 1\nstates: [{name: s}]\nactions:\n  - &a {name: a, effect: none, from: &l [";
  for (int i = 0; i < 1000; ++i) yaml += i == 0 ? "s" : ", s";
  yaml += "]}\n";
  for (int i = 1; i < 1000; ++i) yaml += "  - *a\n";
  const std::string error = ErrorOf<casegrid::v1::WorkflowDefinition>(yaml);
  CHECK_THAT(error, Catch::Matchers::Contains("more than 100000 values (aliases repeating parts of "
                                              "the file?): refused"));
}

TEST_CASE("escapes that reach control characters are refused at the value", "[yaml]") {
  CHECK(ErrorOf<casegrid::v1::WorkflowDefinition>("id: p\nversion: 1\ntitle: \"a\\0b\"\n") ==
        "t.yaml:3:8: title: control character U+0000 at offset 1");
  CHECK(ErrorOf<casegrid::v1::WorkflowDefinition>("id: p\nversion: 1\ntitle: \"a\\x01\"\n") ==
        "t.yaml:3:8: title: control character U+0001 at offset 1");
  // Layout stays: descriptions span lines and may hold tabs.
  CHECK_THAT(ErrorOf<casegrid::v1::WorkflowDefinition>("id: p\nversion: 1\ntitle: \"a\\tb\\nc\"\n"),
             !Catch::Matchers::Contains("control character"));
}

TEST_CASE("a file on which yaml-cpp's LoadAll never ends is refused at once", "[yaml]") {
  // Found by fuzz/fuzz_yaml.cc: yaml-cpp 0.7 finds empty documents in it
  // forever, until the machine runs out of memory.
  casegrid::v1::WorkflowDefinition def;
  Status st =
      LoadYamlFile(std::string(CASEGRID_SOURCE_DIR) + "/fuzz/corpus/yaml/loadall-loop.yaml", &def);
  REQUIRE(st.IsInvalidArgument());
  CHECK(st.message().find("expected one YAML document, found more than 100") != std::string::npos);
}
