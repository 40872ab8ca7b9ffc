// PermitCore: a counting semaphore with FIFO hand-off (Tokio's batch_semaphore, simplified):
// the engine of Lock, Semaphore, BoundedSemaphore and Condition's re-acquire.
//
// State: state_ packs
//   bit 0   kWaiters  the waiter list is not empty (set and cleared under lock_ only)
//   bit 1   kHeld     Lock only: a task holds the lock and has resumed (asyncio's _locked)
//   bits 2+ permits   free permits (asyncio's Semaphore._value)
//
// Invariants
//   kWaiters set => permits == 0: a released permit goes to the first waiter (hand-off) and
//   reaches the counter only when nobody waits, so the fast paths (one CAS, no lock) may take
//   or return a permit only while kWaiters is clear, and a newcomer never overtakes a waiter.
//   A permit handed to a waiter is in neither field until the waiter resumes; a Lock waiter
//   then sets kHeld. So after release() hands the lock on, locked() is false and a second
//   release() throws until the new owner runs — exactly asyncio's Lock.
//
// Memory ordering
//   Fast acquire: acquire CAS; fast release: release CAS — a lock's critical sections are
//   ordered through state_. Hand-off: the releaser's writes reach the waiter through lock_
//   and the task state (wake()'s release CAS, the runner's acquire CAS). The slow paths edit
//   state_ with CAS loops even under lock_, because the fast paths and mark_held() do not take
//   lock_.
//
// Lifetime
//   Waiters are unlinked before they are woken; after wake() no member of this core is
//   touched, so the task that wakes last may destroy the primitive.
#pragma once

#include <atomic>
#include <cstdint>

#include <corio/detail/sync_waiter.hpp>
#include <corio/task.hpp>

namespace corio::detail {

class PermitCore {
 public:
  static constexpr std::uint64_t kWaiters = 1;
  static constexpr std::uint64_t kHeld = 2;
  static constexpr std::uint64_t kPermit = 4;  // one permit

  explicit PermitCore(std::uint64_t permits) noexcept : state_(permits * kPermit) {}

  /// Takes a permit if one is free and nobody waits; `held` also sets kHeld (Lock).
  bool try_acquire(bool held) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & kWaiters) == 0 && s >= kPermit) {
      std::uint64_t ns = s - kPermit + (held ? kHeld : 0);
      // Pairs with the release CAS of release()/hand-off: the previous holder's writes.
      if (state_.compare_exchange_weak(s, ns, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  /// Under the lock: takes a permit (false) or enqueues w as kQueued (true: park). A taken
  /// permit sets kHeld when `held`.
  bool acquire_or_enqueue(SyncWaiter* w, bool held) noexcept;

  /// Under the lock: takes a permit for w, not marking kHeld (w does when it resumes) and
  /// leaves w kGranted (true), or enqueues w (false). Condition's re-acquire.
  bool grant_or_enqueue(SyncWaiter* w) noexcept;

  /// Lock::release(): drops kHeld and hands the permit on. False (nothing changed) when the
  /// lock is not held.
  bool release_held() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & (kHeld | kWaiters)) == kHeld) {
      // Pairs with try_acquire()'s acquire CAS.
      if (state_.compare_exchange_weak(s, s - kHeld + kPermit, std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    if ((s & kHeld) == 0) return false;
    return hand_on(true);
  }

  /// Semaphore::release(): one more permit, to the first waiter if any. False (nothing
  /// changed) when the free permits already reach `bound` (kUnbounded: no bound).
  bool release(std::uint64_t bound) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s / kPermit >= bound) return false;  // kWaiters implies 0 permits: bound 0 only
      if ((s & kWaiters) != 0) break;
      // Pairs with try_acquire()'s acquire CAS.
      if (state_.compare_exchange_weak(s, s + kPermit, std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return hand_on(false);
  }
  static constexpr std::uint64_t kUnbounded = ~std::uint64_t{0};

  /// A permit handed to a waiter that was then cancelled: to the next waiter, or back.
  void pass_on() noexcept { hand_on(false); }

  /// A granted Lock waiter resumed: it now holds the lock (asyncio's `_locked = True`).
  void mark_held() noexcept { state_.fetch_or(kHeld, std::memory_order_acquire); }

  /// Park::cancel() for a waiter in this core's list.
  void cancel(SyncWaiter* w) noexcept;

  /// Moves the waiters of `ws` to the back of this core's list, in order, granting the first
  /// when a permit is free. Returns the granted waiter (to be woken) or nullptr.
  SyncWaiter* enqueue_all(WaiterList& ws) noexcept;

  std::uint64_t permits() const noexcept {
    return state_.load(std::memory_order_relaxed) / kPermit;
  }
  bool held() const noexcept { return (state_.load(std::memory_order_relaxed) & kHeld) != 0; }
  bool has_waiters() const noexcept {
    return (state_.load(std::memory_order_relaxed) & kWaiters) != 0;
  }

 private:
  /// Slow release: under the lock, give one permit to the first waiter or to the counter;
  /// `held` also clears kHeld (false, nothing changed, when it is not set). Wakes the waiter
  /// after unlocking.
  bool hand_on(bool held) noexcept;
  /// Under the lock: if the list emptied, clear kWaiters.
  void sync_waiters_bit() noexcept;

  std::atomic<std::uint64_t> state_;
  SyncSpinLock lock_;
  WaiterList waiters_;
};

/// The awaiter of Lock::acquire() and Semaphore::acquire() (see there).
class [[nodiscard]] PermitAwaiter : public SyncWaiter {
 public:
  PermitAwaiter(PermitCore& core, bool lock) noexcept : core_(&core), lock_(lock) {}

  bool await_ready() noexcept {
    if (!core_->try_acquire(lock_)) return false;
    if (!budget_exhausted()) return true;
    state = WaitState::kYielded;  // keep the permit, let other tasks run first
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    task = t_current;
    if (state == WaitState::kYielded) {
      yield_current(h);
      return true;
    }
    if (!core_->acquire_or_enqueue(this, lock_)) return false;  // freed meanwhile: no switch
    park_current(this, h);
    return true;
  }
  bool await_resume() {
    if (state != WaitState::kIdle) finish();
    return true;
  }
  void cancel(TaskHeader*) noexcept override { core_->cancel(this); }

 protected:
  PermitCore* core_;
  bool lock_;

 private:
  void finish();
};

}  // namespace corio::detail
