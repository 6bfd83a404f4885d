#include "base/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>

namespace casegrid {
namespace {

std::atomic<uint64_t> forks{0};

bool Direct(void* out, size_t n) {
  if (n > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) == 1;
}

}  // namespace

bool DrawRandom(void* out, size_t n) {
  if (n == 0) return true;  // out may be null then
  static const bool registered =
      pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1, std::memory_order_relaxed); }) == 0;
  if (!registered || n > kPooledRandomMax) return Direct(out, n);
  struct Pool {
    std::array<unsigned char, 4096> bytes;
    size_t used = 4096;
    uint64_t generation = 0;
    // What was never handed out (rating codes to be) leaves with the thread.
    ~Pool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  };
  thread_local Pool pool;
  const uint64_t generation = forks.load(std::memory_order_relaxed);
  if (pool.used + n > pool.bytes.size() || pool.generation != generation) {
    if (!Direct(pool.bytes.data(), pool.bytes.size())) return false;
    pool.used = 0;
    pool.generation = generation;
  }
  std::memcpy(out, pool.bytes.data() + pool.used, n);
  // What was handed out is not kept.
  std::memset(pool.bytes.data() + pool.used, 0, n);
  pool.used += n;
  return true;
}

}  // namespace casegrid
