// server::RateLimiter (server/rate_limit.h) on a virtual clock.
#include "server/rate_limit.h"

#include <catch2/catch.hpp>

namespace casegrid::server {
namespace {

TEST_CASE("a client may burst, then goes at the rate, and waits the seconds it is told",
          "[http][rate]") {
  VirtualEnv env(1'000'000'000);
  RateLimiter limiter(&env, 2, 4);
  for (int i = 0; i < 4; ++i) CHECK(limiter.Take("t1") == 0);
  CHECK(limiter.Take("t1") == 1);  // empty: one token comes in half a second
  CHECK(limiter.Take("t2") == 0);  // another client has its own bucket
  env.AdvanceMicros(500'000);
  CHECK(limiter.Take("t1") == 0);
  CHECK(limiter.Take("t1") == 1);
  env.AdvanceMicros(10'000'000);  // idle: full again, never more than the burst
  for (int i = 0; i < 4; ++i) CHECK(limiter.Take("t1") == 0);
  CHECK(limiter.Take("t1") > 0);
  // Slow rates are told whole seconds to wait.
  RateLimiter slow(&env, 0.1, 1);
  CHECK(slow.Take("a") == 0);
  CHECK(slow.Take("a") == 10);
  // No limit at all.
  RateLimiter off(&env, 0, 0);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.Take("x") == 0);
}

TEST_CASE("a full table of clients drops the idle ones, and makes a newcomer wait if none is",
          "[http][rate]") {
  VirtualEnv env(1'000'000'000);
  RateLimiter limiter(&env, 1, 2, /*max_keys=*/2);
  CHECK(limiter.Take("a") == 0);
  CHECK(limiter.Take("b") == 0);
  CHECK(limiter.Take("c") == 1);  // a and b are busy: c waits
  env.AdvanceMicros(2'000'000);   // a and b idle, their buckets full
  CHECK(limiter.Take("c") == 0);
  CHECK(limiter.Take("c") == 0);  // c's own burst of 2
  CHECK(limiter.Take("c") == 1);
  CHECK(limiter.Take("d") == 0);  // a and b were dropped: room for d
  CHECK(limiter.Take("e") == 1);  // c and d are busy: e waits
}

}  // namespace
}  // namespace casegrid::server
