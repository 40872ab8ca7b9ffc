// OwnerLock: a lock for data that one thread uses all the time and others rarely (a worker's
// registry shard: the worker adds and removes every task it runs; all_tasks() and shutdown
// look from elsewhere).
//
// The owner enters with a store and a load, no locked instruction (asymmetric Dekker). Any
// other thread takes a spin lock among the others, raises foreign_, runs heavy_barrier() —
// which supplies the owner's missing store-load fence — and waits for the owner to leave.
// Unlike SyncSpinLock's bias this one is never revoked: every foreign entry pays the system
// call (about a microsecond), which suits data that others visit once in a while.
//
// Invariants
//   At most one foreign thread holds spin_, and only it sets foreign_. The owner is inside
//   only while owner_in_ is true and foreign_ was false after it set owner_in_; a foreign
//   thread is inside only once foreign_ is true, heavy_barrier() returned and owner_in_ was
//   seen false. Without membarrier there is no owner: everyone takes spin_. The owner is
//   named by the address of a thread_local, which a thread started after the owner exits
//   may reuse: a registry's owners are its workers, and only stop() (on the thread that
//   owns the runtime, alive before the workers) locks it after they exit. AsOwner is for the
//   owner, and for a thread that joined the owner when nobody else can reach the lock any
//   more (stop() emptying a joined worker's spawn deque): the join orders it after the
//   owner, and no foreign thread can be inside.
// Memory ordering
//   Owner exit (release store of owner_in_) pairs with the foreign acquire load; foreign exit
//   (release store of foreign_) pairs with the owner's acquire load. The owner's store of
//   owner_in_ and load of foreign_ are ordered against the foreign thread's store of foreign_
//   and load of owner_in_ by heavy_barrier(), not by the atomics.
#pragma once

#include <atomic>

#include <corio/detail/cpu_relax.hpp>
#include "runtime/heavy_barrier.hpp"

namespace corio::detail {

class OwnerLock {
 public:
  /// The calling thread becomes the owner (once, before anyone locks).
  void bind_owner() noexcept {
    if (membarrier_ready()) owner_.store(token(), std::memory_order_release);
  }

  void lock() noexcept {
    if (owner_.load(std::memory_order_relaxed) == token()) [[likely]] {
      lock_owned();
      return;
    }
    lock_foreign();
  }

  void unlock() noexcept {
    if (owner_.load(std::memory_order_relaxed) == token()) [[likely]] {
      owner_in_.store(false, std::memory_order_release);
      return;
    }
    foreign_.store(false, std::memory_order_release);
    spin_.store(false, std::memory_order_release);
  }

  /// Holds the lock for a caller that is the owner, or that runs before there is one (or on
  /// a machine without membarrier, where nobody is): it skips asking which thread calls,
  /// which lock() does on every entry. Never from another thread while the owner runs or
  /// another thread could take the lock (see the header).
  class AsOwner {
   public:
    explicit AsOwner(OwnerLock& l) noexcept : l_(l) {
      if (l_.owner_.load(std::memory_order_relaxed) != nullptr) [[likely]] {
        l_.lock_owned();
        return;
      }
      l_.lock_foreign();  // no owner: the spin lock
    }
    ~AsOwner() {
      if (l_.owner_.load(std::memory_order_relaxed) != nullptr) [[likely]] {
        l_.owner_in_.store(false, std::memory_order_release);
        return;
      }
      l_.spin_.store(false, std::memory_order_release);
    }
    AsOwner(const AsOwner&) = delete;
    AsOwner& operator=(const AsOwner&) = delete;

   private:
    OwnerLock& l_;
  };

 private:
  /// The owner's entry: a store and a load, the wait out of line.
  void lock_owned() noexcept {
    if (!owner_enter()) [[unlikely]] {
      owner_wait();
    }
  }
  /// The owner announces itself; false when a foreign thread is inside (owner_in_ stays
  /// raised: the caller steps back).
  bool owner_enter() noexcept {
    owner_in_.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the CPU fence is the barrier's
    return !foreign_.load(std::memory_order_acquire);
  }
  // The waits, out of line: the owner's entry stays a few instructions wherever it is inlined.
  /// The owner found a foreign thread inside: step back until it leaves, then enter.
  [[gnu::noinline, gnu::cold]] void owner_wait() noexcept {
    do {
      owner_in_.store(false, std::memory_order_release);
      for (SpinBackoff b; foreign_.load(std::memory_order_relaxed);) b.pause();
    } while (!owner_enter());
  }
  /// Any other thread (or everyone, without membarrier).
  [[gnu::noinline]] void lock_foreign() noexcept {
    while (spin_.exchange(true, std::memory_order_acquire)) {
      for (SpinBackoff b; spin_.load(std::memory_order_relaxed);) b.pause();
    }
    if (owner_.load(std::memory_order_acquire) == nullptr) return;  // no owner: a spin lock
    foreign_.store(true, std::memory_order_relaxed);
    heavy_barrier();
    for (SpinBackoff b; owner_in_.load(std::memory_order_acquire);) b.pause();
  }

  static const void* token() noexcept { return &t_token; }
  static constinit inline thread_local char t_token = 0;  // its address names the thread

  std::atomic<const void*> owner_{nullptr};
  std::atomic<bool> owner_in_{false};
  std::atomic<bool> foreign_{false};
  std::atomic<bool> spin_{false};
};

}  // namespace corio::detail
