// Token buckets per client (rate_limit.h).
#include "server/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace casegrid::server {

RateLimiter::RateLimiter(const Env* env, double per_second, double burst, size_t max_keys)
    : env_(env), per_second_(per_second), burst_(std::max(burst, 1.0)), max_keys_(max_keys) {}

double RateLimiter::Refilled(const Bucket& b, int64_t now) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(now - b.at_micros, 0)) / 1e6;
  return std::min(burst_, b.tokens + elapsed * per_second_);
}

int64_t RateLimiter::Take(std::string_view key) {
  if (per_second_ <= 0) return 0;
  const int64_t now = env_->NowMicros();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      std::erase_if(buckets_, [&](const auto& kv) { return Refilled(kv.second, now) >= burst_; });
      if (buckets_.size() >= max_keys_) return 1;
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, now);
  b.at_micros = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - b.tokens) / per_second_)));
}

}  // namespace casegrid::server
