// Which allocator serves malloc in this process, for `casegrid --version`
// and the bench's report (a figure is only rerunnable on the same
// allocator). A release build links jemalloc (CMakeLists.txt,
// CASEGRID_JEMALLOC; docs/PERFORMANCE.md, "Twentieth session: the
// allocator"): about a fifth of the server's CPU went to glibc's malloc and
// free.
// Thread-safety: any thread.
#ifndef CASEGRID_BASE_ALLOCATOR_H_
#define CASEGRID_BASE_ALLOCATOR_H_

#include <string>

namespace casegrid {

// "jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c" when the
// build linked jemalloc and it answers (its own version, asked at run
// time); otherwise "glibc malloc" (or the sanitizer's, in such a build).
std::string AllocatorName();

}  // namespace casegrid

#endif  // CASEGRID_BASE_ALLOCATOR_H_
