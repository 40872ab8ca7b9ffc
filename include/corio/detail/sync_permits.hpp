// PermitCore: a counting semaphore with FIFO hand-off (Tokio's batch_semaphore, simplified):
// the engine of Lock, Semaphore, BoundedSemaphore and Condition's re-acquire.
//
// State: state_ packs
//   bit 0   kWaiters  the waiter list is not empty
//   bit 1   kHeld     Lock only: a task holds the lock and has resumed (asyncio's _locked)
//   bits 2+ permits   free permits (asyncio's Semaphore._value)
//
// Invariants (under lock_)
//   kWaiters set <=> waiters_ not empty, and then permits == 0: a released permit goes to
//   the first live waiter (hand-off) and reaches the counter only when nobody waits, so a
//   newcomer never overtakes a waiter. A permit handed to a waiter is in neither field until
//   the waiter resumes; a Lock waiter then sets kHeld. So after release() hands the lock on,
//   locked() is false and a second release() throws until the new owner runs — exactly
//   asyncio's Lock.
//
// Memory ordering
//   state_ is written only under lock_ (relaxed: the lock orders the writes, and with them
//   what a lock holder wrote before release()); it is atomic only so that locked(), value()
//   may read a snapshot without the lock. A hand-off reaches the waiter through wake().
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
  static constexpr std::uint64_t kUnbounded = ~std::uint64_t{0};

  explicit PermitCore(std::uint64_t permits) noexcept : state_(permits * kPermit) {}

  /// Takes a permit if one is free and nobody waits; `held` also sets kHeld (Lock).
  bool try_acquire(bool held) noexcept {
    lock_.lock();
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    const bool ok = s >= kPermit;  // permits > 0 implies nobody waits
    if (ok) state_.store(s - kPermit + (held ? kHeld : 0), std::memory_order_relaxed);
    lock_.unlock();
    return ok;
  }

  /// Takes a permit (false) or enqueues w as kQueued (true: park). `held`: as try_acquire.
  bool acquire_or_enqueue(SyncWaiter* w, bool held) noexcept;

  /// Under the Condition's lock: takes a permit for w without marking kHeld (w does when it
  /// resumes) and leaves w kGranted (true), or enqueues w (false).
  bool grant_or_enqueue(SyncWaiter* w) noexcept;

  /// Moves the waiters of `ws` to the back of the list, in order, granting the first when a
  /// permit is free (a Lock's core: at most one). Returns the granted waiter or nullptr.
  SyncWaiter* enqueue_all(WaiterList& ws) noexcept;

  /// Lock::release(): drops kHeld and hands the permit on. False (nothing changed) when the
  /// lock is not held.
  bool release_held() noexcept {
    lock_.lock();
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    if ((s & (kHeld | kWaiters)) == kHeld) {
      state_.store(s - kHeld + kPermit, std::memory_order_relaxed);
      lock_.unlock();
      return true;
    }
    if ((s & kHeld) == 0) {
      lock_.unlock();
      return false;
    }
    hand_on_locked(s - kHeld);
    return true;
  }

  /// Semaphore::release(): one more permit, to the first live waiter if any. False (nothing
  /// changed) when the free permits already reach `bound` (kUnbounded: no bound).
  bool release(std::uint64_t bound) noexcept {
    lock_.lock();
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    if (s / kPermit >= bound) {  // kWaiters implies 0 permits: only bound 0 fails then
      lock_.unlock();
      return false;
    }
    if ((s & kWaiters) == 0) {
      state_.store(s + kPermit, std::memory_order_relaxed);
      lock_.unlock();
      return true;
    }
    hand_on_locked(s);
    return true;
  }

  /// A permit handed to a waiter that was then cancelled: to the next waiter, or back.
  void pass_on() noexcept;

  /// A granted Lock waiter resumed: it now holds the lock (asyncio's `_locked = True`).
  void mark_held() noexcept {
    lock_.lock();
    state_.store(state_.load(std::memory_order_relaxed) | kHeld, std::memory_order_relaxed);
    lock_.unlock();
  }

  /// Park::cancel() for a waiter in this core's list.
  void cancel(SyncWaiter* w) noexcept;

  std::uint64_t permits() const noexcept {
    return state_.load(std::memory_order_relaxed) / kPermit;
  }
  bool held() const noexcept { return (state_.load(std::memory_order_relaxed) & kHeld) != 0; }
  bool has_waiters() const noexcept {
    return (state_.load(std::memory_order_relaxed) & kWaiters) != 0;
  }

 private:
  /// Called holding lock_ with the state to continue from (kHeld already dropped): gives one
  /// permit to the first live waiter, or to the counter; unlocks; wakes.
  void hand_on_locked(std::uint64_t s) noexcept;

  std::atomic<std::uint64_t> state_;  // written under lock_ only
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
