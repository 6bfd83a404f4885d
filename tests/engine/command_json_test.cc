#include "engine/command_json.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <string>
#include <vector>

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

TEST_CASE("the fast decoder answers every line as the reference decoder does", "[commands]") {
  // Lines at the edges of JSON and of the contract: for each, with and
  // without a sender, the same Command or the same error.
  const std::string base = R"("case":"A","action":"x","actor":{"user":"u","role":"r")";
  auto with = [&](const std::string& rest) { return "{" + base + "}" + rest + "}"; };
  std::vector<std::string> lines = {
      R"({"id":"w01-000123","case":"LS-2026-000001","action":"intake","at":"2026-09-30T10:00:00+08:00",)"
      R"("actor":{"user":"w01","role":"window","unit":"371302"},"expect":0,)"
      R"("data":{"channel":"window","summary":"欠薪","petitioner":{"name":"Li","phone":"1"},)"
      R"("complex":false,"n":null,"l":[1,[2,{"x":[]}],{}]}})",
      "{" + base + "}}",
      "{" + base + R"(},"case":"B"})",
      R"({"case":"A","case":1,"action":"x","actor":{"user":"u","role":"r"}})",
      R"({"case":1,"case":"A","action":"x","actor":{"user":"u","role":"r"}})",
      R"({"case":"","action":"x","actor":{"user":"u","role":"r"}})",
      R"({"case":"A","action":"x","actor":{"user":"","role":"r"}})",
      R"({"case":"A","action":"x","actor":{"role":"r"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r","user":"v"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r","team":"v"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":""}})",
      R"({"case":"A","action":"x","actor":["u"]})",
      // (the fuzzer's: an array that goes on as an object)
      R"({"case":"A","action":"x","actor":["us\r": "w", "role": "r"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":[]})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"a":{"x":1},"a":{"y":2}}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"a":1,"a":"2"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"":""}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"\u4e2d\n\"\\"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"\ud800"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"\ud83d\ude00"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"a\\u"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s\n":"\/\b\f\r\t"}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":""})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":"2026-09-30T10:00:00+08:00"})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":"1999-12-31T23:59:59+08:00"})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":"tomorrow"})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"at":5})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"workflow":"w","id":""})",
      "{" + base + "}} ",
      "{" + base + "}} \r\n\t",
      " \t{" + base + "}}",
      "{" + base + "}} x",
      "{" + base + "}}{}",
      "{" + base + "}},",
      "{" + base + "},}",
      "\xEF\xBB\xBF{" + base + "}}",
      "{" + base + "}",
      "{" + base,
      "",
      " ",
      "null",
      "[1,2]",
      "\"x\"",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"l":[1,2,]}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"b":tru}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"b":nul}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"b":nullx}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"b":true1}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"b":True}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{'b':1}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"GBK )"
      "\xD6\xD0\xCE\xC4"
      R"("}})",
      R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"a)"
      "\x01"
      R"(b"}})",
      std::string(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"s":"a)") +
          std::string(1, '\0') + R"(b"}})",
      std::string("{" + base + "}}") + std::string(1, '\0'),
  };
  for (const char* number : {"0",
                             "-0",
                             "-0.0",
                             "0.0",
                             "1",
                             "-1",
                             "1.5",
                             "1e2",
                             "1E2",
                             "1e+2",
                             "1e-2",
                             "1e400",
                             "-1e400",
                             "1e-400",
                             "2.2250738585072011e-308",
                             "4.9e-324",
                             "0.1",
                             "123456789012345678901234567890",
                             "9223372036854775807",
                             "9223372036854775808",
                             "-9223372036854775808",
                             "-9223372036854775809",
                             "18446744073709551615",
                             "18446744073709551616",
                             "01",
                             "1.",
                             ".5",
                             "-",
                             "+1",
                             "NaN",
                             "Infinity",
                             "1e",
                             "0x10",
                             "1.7976931348623157e308",
                             "1.7976931348623159e308",
                             "\"5\"",
                             "true",
                             "null",
                             "[5]"}) {
    lines.push_back(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"data":{"n":)" +
                    std::string(number) + "}}");
    lines.push_back(R"({"case":"A","action":"x","actor":{"user":"u","role":"r"},"expect":)" +
                    std::string(number) + "}");
  }
  // Nested to the limit and past it, in arrays, in objects and in both (the
  // fast decoder holds the depth itself: the limits' scan runs only before
  // the reference decoder).
  // (The lines of an earlier version of this test left the command open, so
  // both decoders refused them as JSON and the depth went untested.)
  std::vector<std::pair<std::string, bool>> nested;  // a line; whether it is within the limit
  for (int depth : {engine::kMaxDataDepth - 1, engine::kMaxDataDepth, engine::kMaxDataDepth + 1}) {
    const auto n = static_cast<size_t>(depth);
    const bool within = depth <= engine::kMaxDataDepth;
    nested.emplace_back(with(R"(,"data":{"d":)" + std::string(n, '[') + std::string(n, ']') + "}"),
                        within);
    std::string objects = "1";
    for (int i = 0; i < depth; ++i) objects = R"({"o":)" + objects + "}";
    nested.emplace_back(with(R"(,"data":{"d":)" + objects + "}"), within);
    std::string mixed = "[]";
    for (int i = 1; i < depth; ++i)
      mixed = i % 2 == 1 ? R"({"m":)" + mixed + "}" : "[" + mixed + "]";
    nested.emplace_back(with(R"(,"data":{"d":)" + mixed + R"(,"e":"after"})"), within);
  }
  for (const auto& [line, within] : nested) {
    INFO(line);
    auto parsed = engine::ParseCommandJson(line, "");
    CHECK(parsed.ok() == within);
    if (!within) CHECK(parsed.status().message() == "line: nested more than 66 levels deep");
    lines.push_back(line);
  }
  size_t accepted = 0;
  for (const std::string& line : lines) {
    for (const char* sender : {"", "svc"}) {
      INFO("line: " << line << "  sender: " << sender);
      auto fast = engine::ParseCommandJson(line, sender);
      auto reference = engine::ParseCommandJsonReference(line, sender);
      REQUIRE(fast.ok() == reference.ok());
      if (!fast.ok()) {
        CHECK(fast.status().message() == reference.status().message());
        continue;
      }
      ++accepted;
      std::string diff;
      google::protobuf::util::MessageDifferencer differ;
      differ.ReportDifferencesToString(&diff);
      CHECK(differ.Compare(*fast, *reference));
      CHECK(diff.empty());
      // A number's sign and bits, which MessageDifferencer compares by value.
      std::string fast_bytes, reference_bytes;
      {
        google::protobuf::io::StringOutputStream a(&fast_bytes), b(&reference_bytes);
        google::protobuf::io::CodedOutputStream ca(&a), cb(&b);
        ca.SetSerializationDeterministic(true);
        cb.SetSerializationDeterministic(true);
        fast->SerializeToCodedStream(&ca);
        reference->SerializeToCodedStream(&cb);
      }
      CHECK(fast_bytes == reference_bytes);
    }
  }
  CHECK(accepted > 40);
}
