// The out-of-line half of the waiter-list core (<corio/detail/sync_waiter.hpp>).
#include <corio/detail/sync_waiter.hpp>

#include <thread>

namespace corio::detail {

void SyncSpinLock::lock_slow() noexcept {
  for (int spins = 0;; ++spins) {
    if (!locked_.load(std::memory_order_relaxed) &&
        !locked_.exchange(true, std::memory_order_acquire)) {
      return;
    }
    if (spins < 64) {
      cpu_relax();
    } else {
      // The holder may have been preempted (more runnable threads than cores): let it run.
      std::this_thread::yield();
    }
  }
}

}  // namespace corio::detail
