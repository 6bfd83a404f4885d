#include "base/crash_point.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace casegrid::crash_point {
namespace internal {
std::atomic<int> armed{kUnread};
}  // namespace internal

namespace {

std::atomic<uint64_t> target{0};  // the armed point dies at this hit
std::atomic<uint64_t> hits{0};    // of the armed point, since it was armed

int IndexOf(std::string_view name) {
  for (size_t i = 0; i < std::size(kPoints); ++i) {
    if (kPoints[i] == name) return static_cast<int>(i);
  }
  return internal::kDisarmed;
}

// Arms from CASEGRID_CRASH_AT unless Arm or Disarm came first; exits 2 on a
// malformed value.
bool ArmFromEnvironment() {
  if (internal::armed.load(std::memory_order_acquire) != internal::kUnread) return false;
  const char* spec = std::getenv(kEnvVar);
  int index = internal::kDisarmed;
  if (spec != nullptr && *spec != '\0') {
    std::string_view name;
    uint64_t n = 0;
    const Status s = Parse(spec, &name, &n);
    if (!s.ok()) {
      std::fprintf(stderr, "casegrid: %s=%s: %s\n", kEnvVar, spec, s.message().c_str());
      std::_Exit(2);
    }
    index = IndexOf(name);
    target.store(n, std::memory_order_relaxed);
    hits.store(0, std::memory_order_relaxed);
  }
  int unread = internal::kUnread;
  internal::armed.compare_exchange_strong(unread, index, std::memory_order_acq_rel);
  return true;
}

[[noreturn]] void Die(std::string_view name, uint64_t n) {
  const std::string line = "casegrid: crash point " + std::string(name) + " reached " +
                           std::to_string(n) + " times: SIGKILL\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  std::raise(SIGKILL);
  std::_Exit(128 + SIGKILL);  // not reached
}

}  // namespace

Status Parse(std::string_view spec, std::string_view* name, uint64_t* n) {
  const size_t colon = spec.find(':');
  *name = spec.substr(0, colon);
  *n = 1;
  if (colon != std::string_view::npos) {
    const std::string_view count = spec.substr(colon + 1);
    uint64_t value = 0;
    bool ok = !count.empty() && count.size() <= 18;
    for (char c : count) {
      if (c < '0' || c > '9') ok = false;
      if (ok) value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || value < 1) {
      std::string message = "\"";
      message += count;
      message += "\" is not a hit count; expected NAME or NAME:N with N >= 1";
      return Status::InvalidArgument(message);
    }
    *n = value;
  }
  if (!Known(*name)) {
    std::string known;
    for (std::string_view p : kPoints) known += (known.empty() ? "" : ", ") + std::string(p);
    return Status::InvalidArgument("unknown crash point \"" + std::string(*name) +
                                   "\" (known: " + known + ")");
  }
  return Status::Ok();
}

Status Arm(std::string_view name, uint64_t n) {
  if (!Known(name)) {
    return Status::InvalidArgument("unknown crash point \"" + std::string(name) + "\"");
  }
  if (n < 1) return Status::InvalidArgument("a crash point's hit count starts at 1");
  target.store(n, std::memory_order_relaxed);
  hits.store(0, std::memory_order_relaxed);
  internal::armed.store(IndexOf(name), std::memory_order_release);
  return Status::Ok();
}

void Disarm() { internal::armed.store(internal::kDisarmed, std::memory_order_release); }

void ReadEnvironment() {
  static const bool read = ArmFromEnvironment();
  (void)read;
}

namespace internal {

void Reached(std::string_view name) {
  int index = armed.load(std::memory_order_acquire);
  if (index == kUnread) {
    ReadEnvironment();
    index = armed.load(std::memory_order_acquire);
  }
  if (index < 0 || kPoints[index] != name) return;
  const uint64_t n = target.load(std::memory_order_relaxed);
  if (hits.fetch_add(1, std::memory_order_relaxed) + 1 == n) Die(name, n);
}

}  // namespace internal
}  // namespace casegrid::crash_point
