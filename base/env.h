// casegrid::Env: the only way casegrid code learns the time. Wall time when
// serving, the commands' own time when importing (the engine's watermark), and
// virtual time in simulation and tests. Nothing else reads system_clock.
// Thread-safety: NowMicros() may be called from any thread.
#ifndef CASEGRID_BASE_ENV_H_
#define CASEGRID_BASE_ENV_H_

#include <atomic>
#include <cstdint>

namespace casegrid {

class Env {
 public:
  virtual ~Env() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
  // The process-wide wall-clock Env. Never destroyed.
  static Env* Default();
};

// A clock that moves only when told to: simulations and tests.
class VirtualEnv final : public Env {
 public:
  explicit VirtualEnv(int64_t start_micros) : now_micros_(start_micros) {}
  int64_t NowMicros() const override { return now_micros_.load(std::memory_order_relaxed); }
  void SetMicros(int64_t micros) { now_micros_.store(micros, std::memory_order_relaxed); }
  void AdvanceMicros(int64_t delta) { now_micros_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_micros_;
};

}  // namespace casegrid

#endif  // CASEGRID_BASE_ENV_H_
