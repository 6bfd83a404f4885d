#include "base/allocator.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>

#ifdef CASEGRID_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace casegrid {
namespace {

#ifdef CASEGRID_JEMALLOC
// Bytes this thread has allocated through jemalloc so far.
uint64_t JemallocAllocated() {
  uint64_t allocated = 0;
  size_t size = sizeof allocated;
  REQUIRE(mallctl("thread.allocated", &allocated, &size, nullptr, 0) == 0);
  return allocated;
}
#endif

TEST_CASE("the allocator named is the one malloc goes to", "[base]") {
  const std::string name = AllocatorName();
  INFO(name);
#ifdef CASEGRID_JEMALLOC
  REQUIRE(name.rfind("jemalloc 5.", 0) == 0);
  // Plain malloc, not only mallctl, is jemalloc's: the library is linked
  // in, not merely present.
  const uint64_t before = JemallocAllocated();
  void* p = std::malloc(size_t{1} << 20);
  REQUIRE(p != nullptr);
  CHECK(JemallocAllocated() - before >= (uint64_t{1} << 20));
  std::free(p);
#else
  CHECK(name.find("jemalloc") == std::string::npos);
  CHECK_FALSE(name.empty());
#endif
}

}  // namespace
}  // namespace casegrid
