// server::RateLimiter: `casegrid serve`'s per-client limit (docs/http.md,
// "Limits"): a token bucket per key (an API token, or the address of a
// client that sends none), refilled at `per_second` up to `burst`, on the
// injected clock (base/env.h). Keys are held at most `max_keys` at once:
// when a new one comes to a full table, the keys whose buckets are full
// again (idle clients) are dropped; if none is, the newcomer waits.
// Thread-safety: Take may be called from any thread.
#ifndef CASEGRID_SERVER_RATE_LIMIT_H_
#define CASEGRID_SERVER_RATE_LIMIT_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/env.h"

namespace casegrid::server {

class RateLimiter {
 public:
  // `per_second` <= 0: no limit (Take always answers 0).
  RateLimiter(const Env* env, double per_second, double burst, size_t max_keys = 4096);

  // 0 when a request of `key` may go on now (it takes one token); else the
  // whole seconds until it may (at least 1: the Retry-After header).
  int64_t Take(std::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_micros = 0;  // when `tokens` was counted
  };
  double Refilled(const Bucket& b, int64_t now) const;

  const Env* env_;
  const double per_second_, burst_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_RATE_LIMIT_H_
