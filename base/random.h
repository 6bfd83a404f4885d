// Random bytes from OpenSSL's generator for the hot paths that draw a few
// at a time: the nonce of each sealed event, the rating code of each
// intake. RAND_bytes asks the kernel for the process id on every call (its
// fork check), which cost more than the cipher a nonce is for; here each
// thread draws a page of bytes at once and hands them out. A child forked
// after a draw draws afresh (pthread_atfork), so it never uses bytes its
// parent also holds.
// Thread-safety: any thread; each has its own page.
#ifndef CASEGRID_BASE_RANDOM_H_
#define CASEGRID_BASE_RANDOM_H_

#include <cstddef>

namespace casegrid {

// Fills out[0, n) with random bytes; false when OpenSSL has none (or n is
// past INT_MAX, more than it draws at once). Requests of more than
// kPooledRandomMax bytes go to OpenSSL directly.
inline constexpr size_t kPooledRandomMax = 256;
bool DrawRandom(void* out, size_t n);

}  // namespace casegrid

#endif  // CASEGRID_BASE_RANDOM_H_
