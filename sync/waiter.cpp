// The out-of-line half of the waiter-list core (<corio/detail/sync_waiter.hpp>): the slow
// paths of SyncSpinLock (binding the bias, revoking it, spinning).
#include <corio/detail/sync_waiter.hpp>

#include <thread>

#include "runtime/heavy_barrier.hpp"

namespace corio::detail {

namespace {

// owner_ once the bias is revoked (or was never granted): an ordinary spin lock.
const void* const kShared = reinterpret_cast<const void*>(std::uintptr_t{1});

void relax(int& spins) noexcept {
  if (++spins < 64) {
    cpu_relax();
  } else {
    std::this_thread::yield();  // the holder may be preempted (more threads than cores)
  }
}

}  // namespace

void SyncSpinLock::lock_slow(const void* me) noexcept {
  int spins = 0;
  for (;;) {
    const void* o = owner_.load(std::memory_order_acquire);
    if (o == kShared) break;
    if (o == me) {
      // Our bias is being revoked; we left (owner_in_ is false): wait for the switch.
      relax(spins);
      continue;
    }
    if (o == nullptr) {
      const void* want = membarrier_ready() ? me : kShared;
      if (owner_.compare_exchange_strong(o, want, std::memory_order_acq_rel,
                                         std::memory_order_acquire) &&
          want == me) {
        owner_in_.store(true, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (!revoking_.load(std::memory_order_relaxed)) return;
        owner_in_.store(false, std::memory_order_release);
      }
      continue;
    }
    revoke(o);
  }
  for (;;) {
    // Pairs with unlock()'s release store.
    if (!spin_.load(std::memory_order_relaxed) &&
        !spin_.exchange(true, std::memory_order_acquire)) {
      return;
    }
    relax(spins);
  }
}

void SyncSpinLock::revoke(const void* seen) noexcept {
  revoking_.store(true, std::memory_order_seq_cst);
  // Every thread of the process executes a full barrier: the owner either sees revoking_ on
  // its next entry, or its owner_in_ = true is visible to the loads below.
  heavy_barrier();
  int spins = 0;
  while (owner_in_.load(std::memory_order_acquire)) relax(spins);  // pairs with unlock()
  // Only one revoker's CAS matters; later ones find kShared.
  owner_.compare_exchange_strong(seen, kShared, std::memory_order_acq_rel,
                                 std::memory_order_relaxed);
}

}  // namespace corio::detail
