// Spin-waiting: a pause hint, and a backoff that gives the CPU away now and then, since the
// thread waited for may be preempted (on an oversubscribed machine a pure spin then burns a
// whole time slice, and under a real-time policy on one CPU it would never end).
#pragma once

#include <cstdint>
#include <thread>

namespace corio::detail {

/// Spin-wait hint: lets the sibling hyper-thread run and saves power in a short spin.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Waits in a spin: cpu_relax(), and every 1024th round a yield to the scheduler.
class SpinBackoff {
 public:
  void pause() noexcept {
    if ((++rounds_ & 1023u) == 0) {
      std::this_thread::yield();
    } else {
      cpu_relax();
    }
  }

 private:
  std::uint32_t rounds_ = 0;
};

}  // namespace corio::detail
