// SpinLock: a test-and-test-and-set lock for critical sections of a few instructions.
#pragma once

#include <atomic>

#include <corio/detail/cpu_relax.hpp>

namespace corio::detail {

class SpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      // Pairs with the release in unlock(): the critical sections are ordered.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace corio::detail
