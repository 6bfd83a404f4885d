#include "base/allocator.h"

#ifdef CASEGRID_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

// GCC names its sanitizers with macros, clang with __has_feature.
#ifdef __has_feature
#define CASEGRID_HAS_FEATURE(x) __has_feature(x)
#else
#define CASEGRID_HAS_FEATURE(x) 0
#endif

namespace casegrid {

std::string AllocatorName() {
#if defined(CASEGRID_JEMALLOC)
  const char* version = nullptr;
  size_t size = sizeof version;
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 &&
      version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc (not answering)";
#elif defined(__SANITIZE_ADDRESS__) || CASEGRID_HAS_FEATURE(address_sanitizer)
  return "AddressSanitizer's allocator";
#elif defined(__SANITIZE_THREAD__) || CASEGRID_HAS_FEATURE(thread_sanitizer)
  return "ThreadSanitizer's allocator";
#else
  return "glibc malloc";
#endif
}

}  // namespace casegrid
