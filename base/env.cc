#include "base/env.h"

#include <chrono>

namespace casegrid {
namespace {
class WallEnv final : public Env {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};
}  // namespace

Env* Env::Default() {
  static WallEnv* env = new WallEnv();
  return env;
}

}  // namespace casegrid
