#include "base/text.h"

#include <unicode/utf8.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace casegrid::text {
namespace {

std::string Hex(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

// Checks well-formedness and control characters; `allow_layout` lets tab,
// line feed and carriage return through.
// Whether the 8 bytes at p are all printable ASCII (0x20..0x7E): SWAR
// tests for a byte >= 0x80, a byte < 0x20 and a byte == 0x7F.
bool EightPrintable(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  if ((w & kHigh) != 0) return false;
  if (((w - kOnes * 0x20) & ~w & kHigh) != 0) return false;  // a byte < 0x20
  const uint64_t del = w ^ (kOnes * 0x7F);
  return ((del - kOnes) & ~del & kHigh) == 0;  // no byte == 0x7F
}

Status CheckChars(std::string_view field, std::string_view value, bool allow_layout) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(value.data());
  const int32_t length = static_cast<int32_t>(value.size());
  int32_t i = 0;
  while (i < length) {
    // Printable ASCII, eight bytes at a time, then one at a time.
    if (i + 8 <= length && EightPrintable(bytes + i)) {
      i += 8;
      continue;
    }
    const uint8_t b = bytes[i];
    if (b < 0x80 && b >= 0x20 && b != 0x7F) {
      ++i;
      continue;
    }
    // A three-byte character of U+1000..U+CFFF or U+E000..U+FFFF (CJK, most
    // Chinese text): lead E1..EC or EE..EF, two continuation bytes. Never a
    // control, never a surrogate or overlong; the rest is decoded below.
    if (i + 3 <= length && ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) &&
        (bytes[i + 1] & 0xC0) == 0x80 && (bytes[i + 2] & 0xC0) == 0x80) {
      i += 3;
      continue;
    }
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {
      return Status::InvalidArgument(std::string(field) + ": not valid UTF-8 (byte " +
                                     Hex(bytes[start]) + " at offset " + std::to_string(start) +
                                     "; text must be UTF-8, not GBK)");
    }
    const bool control = c < 0x20 || (c >= 0x7F && c <= 0x9F);
    const bool layout = c == '\t' || c == '\n' || c == '\r';
    if (control && !(allow_layout && layout)) {
      char code[12];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
      return Status::InvalidArgument(std::string(field) + ": control character " + code +
                                     " at offset " + std::to_string(start));
    }
  }
  return Status::Ok();
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return static_cast<size_t>(start);
  }
  return std::string_view::npos;
}

Status CheckIdentifier(std::string_view field, std::string_view value) {
  if (value.empty()) return Status::InvalidArgument(std::string(field) + ": empty");
  if (value.size() > kMaxIdentifierBytes) {
    return Status::InvalidArgument(std::string(field) + ": " + std::to_string(value.size()) +
                                   " bytes, more than the " + std::to_string(kMaxIdentifierBytes) +
                                   " an identifier may have");
  }
  CASEGRID_RETURN_IF_ERROR(CheckChars(field, value, /*allow_layout=*/false));
  if (value.front() == ' ' || value.back() == ' ') {
    return Status::InvalidArgument(std::string(field) + ": \"" + std::string(value) +
                                   "\" starts or ends with a space");
  }
  return Status::Ok();
}

Status CheckText(std::string_view field, std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Status::InvalidArgument(std::string(field) + ": " + std::to_string(value.size()) +
                                   " bytes, more than the " + std::to_string(max_bytes) +
                                   " allowed");
  }
  return CheckChars(field, value, /*allow_layout=*/true);
}

std::string Escape(std::string_view s, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_bytes; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x20 && b < 0x7F) {
      out += static_cast<char>(b);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
    }
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

}  // namespace casegrid::text
