// base/random.h: bytes drawn a page at a time are never handed out twice,
// in this process or in a child forked after the draw.
#include "base/random.h"

#include <set>
#include <string>

#include "tests/test_util.h"

namespace casegrid {
namespace {

std::string Draw(size_t n) {
  std::string out(n, '\0');
  REQUIRE(DrawRandom(out.data(), n));
  return out;
}

TEST_CASE("DrawRandom never hands out the same bytes twice, across pages and sizes", "[random]") {
  std::set<std::string> seen;
  // 12-byte draws run through several pages of 4096 bytes.
  for (int i = 0; i < 2000; ++i) CHECK(seen.insert(Draw(12)).second);
  // Sizes at and past the pooled limit (past it, drawn from OpenSSL
  // directly). The 12-byte draws above already met pages with less left
  // than they ask (4096 is not a multiple of 12).
  for (const size_t n :
       {size_t{1}, kPooledRandomMax, kPooledRandomMax + 1, size_t{4000}, size_t{5000}}) {
    const std::string a = Draw(n);
    const std::string b = Draw(n);
    if (n >= 8) CHECK(a != b);
    CHECK(seen.insert(a).second);
  }
  CHECK(DrawRandom(nullptr, 0));
  // More than OpenSSL draws at once is refused, nothing written.
  char one = 'x';
  CHECK_FALSE(DrawRandom(&one, (size_t{1} << 32) + 1));
  CHECK(one == 'x');
}

TEST_CASE("a child forked after a draw draws bytes its parent never holds", "[random]") {
  Draw(12);  // this thread's page is drawn, and most of it is still to hand out
  const std::string from_child = test::FromForkedChild(64, [] {
    std::string bytes(64, '\0');
    return DrawRandom(bytes.data(), bytes.size()) ? bytes : std::string();
  });
  CHECK(Draw(64) != from_child);
}

}  // namespace
}  // namespace casegrid
