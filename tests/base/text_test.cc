// The grammar of stored text (base/text.h): what a Chinese Windows terminal,
// a careless script or a hostile user may send, each refused with a message
// that names the field and the offset and is itself valid UTF-8.
#include "base/text.h"

#include "tests/test_util.h"

using namespace casegrid;

TEST_CASE("identifiers: printable UTF-8, 1..128 bytes, no control characters", "[text]") {
  CHECK(text::CheckIdentifier("case", "LS-2026-000001").ok());
  CHECK(text::CheckIdentifier("actor.user", "张三").ok());
  CHECK(text::CheckIdentifier("case", std::string(128, 'a')).ok());

  CHECK(text::CheckIdentifier("case", std::string(129, 'a')).message() ==
        "case: 129 bytes, more than the 128 an identifier may have");
  CHECK(text::CheckIdentifier("case", "").message() == "case: empty");
  CHECK(text::CheckIdentifier("case", std::string("a\0b", 3)).message() ==
        "case: control character U+0000 at offset 1");
  CHECK(text::CheckIdentifier("id", "a\tb").message() ==
        "id: control character U+0009 at offset 1");
  CHECK(text::CheckIdentifier("id", "a\x7F").message() ==
        "id: control character U+007F at offset 1");
  CHECK(text::CheckIdentifier("id", "a\xC2\x85").message() ==
        "id: control character U+0085 at offset 1");
  CHECK(text::CheckIdentifier("id", " a").message() == "id: \" a\" starts or ends with a space");
  // 中文 in GBK, as a Chinese Windows terminal sends it.
  CHECK(text::CheckIdentifier("--by", "\xD6\xD0\xCE\xC4").message() ==
        "--by: not valid UTF-8 (byte 0xD6 at offset 0; text must be UTF-8, not GBK)");
}

TEST_CASE("UTF-8 is RFC 3629's: overlong forms, surrogates and code points past U+10FFFF fail",
          "[text]") {
  CHECK(text::FirstInvalidUtf8("中文 ok") == std::string_view::npos);
  CHECK(text::FirstInvalidUtf8("a\xC0\xAF") == 1);         // overlong '/'
  CHECK(text::FirstInvalidUtf8("ab\xED\xA0\x80") == 2);    // a UTF-16 surrogate
  CHECK(text::FirstInvalidUtf8("\xF4\x90\x80\x80") == 0);  // U+110000
  CHECK(text::FirstInvalidUtf8("\xE4\xB8") == 0);          // truncated 中
  CHECK(text::FirstInvalidUtf8("\xF0\x9F\x98\x80") == std::string_view::npos);  // U+1F600
}

TEST_CASE("text: tab, line feed and carriage return allowed, at most the limit", "[text]") {
  CHECK(text::CheckText("--reason", "第一行\n第二行\r\n\tend").ok());
  CHECK(text::CheckText("--reason", std::string("a\0", 2)).message() ==
        "--reason: control character U+0000 at offset 1");
  CHECK(text::CheckText("--reason", "\xC3\x28").message() ==
        "--reason: not valid UTF-8 (byte 0xC3 at offset 0; text must be UTF-8, not GBK)");
  CHECK(text::CheckText("data.summary", std::string(text::kMaxTextBytes, 'x')).ok());
  CHECK(text::CheckText("data.summary", std::string(text::kMaxTextBytes + 1, 'x')).message() ==
        "data.summary: 65537 bytes, more than the 65536 allowed");
  CHECK(text::Escape("a\xD6\n") == "a\\xD6\\x0A");
}
