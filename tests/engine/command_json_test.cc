#include "engine/command_json.h"
#include "engine/engine.h"
#include "tests/test_util.h"

using namespace casegrid;

TEST_CASE("the README's intake command parses into a Command", "[commands]") {
  auto cmd = engine::ParseCommandJson(
      R"({"id":"w01-000123","case":"LS-2026-000001","action":"intake","at":"2026-09-30T10:00:00+08:00",)"
      R"("actor":{"user":"w01","role":"window","unit":"371302"},"expect":0,)"
      R"("data":{"channel":"window","category":"village-affairs","grid":"371302-001-001-01","summary":"Unpaid wages",)"
      R"("petitioner":{"name":"Li","phone":"1"},"complex":false}})");
  REQUIRE_OK(cmd);
  REQUIRE(cmd->id() == "w01-000123");
  REQUIRE(cmd->case_id() == "LS-2026-000001");
  REQUIRE(cmd->actor().role() == "window");
  REQUIRE(cmd->has_expect());
  REQUIRE(cmd->data().fields().at("petitioner").struct_value().fields().at("name").string_value() ==
          "Li");
}

TEST_CASE("malformed command lines are rejected naming the field", "[commands]") {
  auto msg = [](const char* line) {
    auto r = engine::ParseCommandJson(line);
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  CHECK(msg(R"({"case":"A","action":"x"})") == "actor: required");
  CHECK(msg(R"({"action":"x","actor":{"user":"u","role":"r"}})") == "case: required");
  CHECK(msg(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"colour":1})") ==
        "colour: unknown field (allowed: id, case, action, at, actor, expect, data, workflow)");
  CHECK(msg(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"expect":-1})") ==
        "expect: expected a non-negative integer (the case version), got number");
  CHECK(msg(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":"tomorrow"})")
            .find("at: bad time \"tomorrow\"") == 0);
  CHECK(msg(R"({"case":"A",)").find("not valid JSON") == 0);
  CHECK(msg(R"([1,2])") == "a command must be a JSON object, got array");
}

TEST_CASE("an actor spec USER:ROLE:UNIT parses and rejects a missing role", "[commands]") {
  auto a = engine::ParseActor("u1:unit:371302-001");
  REQUIRE_OK(a);
  REQUIRE(a->unit() == "371302-001");
  REQUIRE_FALSE(engine::ParseActor("u1").ok());
  REQUIRE_FALSE(engine::ParseActor("u1::x").ok());
}
