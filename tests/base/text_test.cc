// The grammar of stored text (base/text.h): what a Chinese Windows terminal,
// a careless script or a hostile user may send, each refused with a message
// that names the field and the offset and is itself valid UTF-8.
#include "base/text.h"

#include <unicode/utf8.h>

#include <cstdint>

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

namespace {

// The grammar decoded one character at a time (ICU's U8_NEXT), without the
// fast paths of base/text.cc: the reference the fast paths must agree with.
bool ReferenceText(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
    const bool layout = c == '\t' || c == '\n' || c == '\r';
    if ((c < 0x20 || (c >= 0x7F && c <= 0x9F)) && !layout) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("text: the eight-byte and three-byte fast paths agree with decoding every character",
          "[text]") {
  // Every one-, two- and three-byte sequence, at offsets that put it inside,
  // across and after the eight-byte words, between printable ASCII.
  size_t checked = 0, disagreed = 0;
  auto check = [&](const std::string& seq) {
    for (size_t offset : {0, 5, 7, 8, 14}) {
      std::string s = std::string(offset, 'a') + seq + std::string(16 - offset, 'b');
      ++checked;
      if (text::CheckText("t", s).ok() != ReferenceText(s)) {
        if (++disagreed <= 5) FAIL_CHECK("disagree on " << text::Escape(s));
      }
    }
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      check({static_cast<char>(a), static_cast<char>(b)});
      if (a >= 0xE0 && a <= 0xEF) {
        for (int c = 0; c < 256; c += (c >= 0x7E && c < 0xC1) ? 1 : 7) {
          check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        }
      }
    }
  }
  CHECK(disagreed == 0);
  CHECK(checked > 1000000);
}
