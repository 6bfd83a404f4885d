// The grammar of the text casegrid stores (docs/commands.md, "Identifiers
// and text"). Everything written to the log is checked against it first: a
// byte sequence protobuf cannot parse back, a NUL in a key or a key longer
// than LMDB's limit would make every later read of the store fail.
//
//   identifier  1..128 bytes of well-formed UTF-8, no control character
//               (U+0000..U+001F, U+007F..U+009F), no space at either end:
//               case ids, command ids, users, roles, units, grid codes,
//               actions, workflow ids
//   text        well-formed UTF-8, at most 64 KiB, no control character but
//               tab, line feed and carriage return: reasons, summaries, data
//
// Well-formed UTF-8 is RFC 3629's: no overlong forms, no surrogates, nothing
// past U+10FFFF (GBK bytes from a Chinese Windows terminal fail it).
// Errors never echo the bad bytes: they name the field, the offset and the
// byte in hex, so the message itself is always valid UTF-8.
// Thread-safety: pure functions.
#ifndef CASEGRID_BASE_TEXT_H_
#define CASEGRID_BASE_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace casegrid::text {

inline constexpr size_t kMaxIdentifierBytes = 128;
inline constexpr size_t kMaxTextBytes = 64 * 1024;

// The offset of the first byte that does not start a well-formed UTF-8
// sequence, or npos when all of `s` is well-formed.
size_t FirstInvalidUtf8(std::string_view s);

// InvalidArgument "FIELD: ..." unless `value` is an identifier. `field`
// names it as the user wrote it ("case", "id", "actor.user", "--by").
Status CheckIdentifier(std::string_view field, std::string_view value);

// InvalidArgument "FIELD: ..." unless `value` is text of at most `max_bytes`.
Status CheckText(std::string_view field, std::string_view value, size_t max_bytes = kMaxTextBytes);

// `s` with every byte that is not printable ASCII as \xHH: for messages
// about a value that failed the checks above.
std::string Escape(std::string_view s, size_t max_bytes = 64);

}  // namespace casegrid::text

#endif  // CASEGRID_BASE_TEXT_H_
