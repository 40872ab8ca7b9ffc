// PermitCore slow paths and the awaiter shared by Lock and Semaphore. The state word and its
// invariants are described in <corio/detail/sync_permits.hpp>.
#include <corio/detail/sync_permits.hpp>

#include <corio/sync.hpp>

namespace corio::detail {

bool PermitCore::acquire_or_enqueue(SyncWaiter* w, bool held) noexcept {
  lock_.lock();
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & kWaiters) == 0 && s >= kPermit) {
      // Pairs with the release CAS that returned the permit.
      if (state_.compare_exchange_weak(s, s - kPermit + (held ? kHeld : 0),
                                       std::memory_order_acquire, std::memory_order_relaxed)) {
        lock_.unlock();
        return false;
      }
      continue;
    }
    if ((s & kWaiters) != 0) break;
    // No permit: announce a waiter so that release() takes the slow path and finds us.
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  w->state = WaitState::kQueued;
  waiters_.push_back(w);
  lock_.unlock();
  return true;
}

bool PermitCore::grant_or_enqueue(SyncWaiter* w) noexcept {
  // Called with the Condition's lock held; lock order: Condition, then this core.
  lock_.lock();
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & kWaiters) == 0 && s >= kPermit) {
      if (state_.compare_exchange_weak(s, s - kPermit, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        w->state = WaitState::kGranted;
        lock_.unlock();
        return true;
      }
      continue;
    }
    if ((s & kWaiters) != 0) break;
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  w->state = WaitState::kQueued;
  waiters_.push_back(w);
  lock_.unlock();
  return false;
}

SyncWaiter* PermitCore::enqueue_all(WaiterList& ws) noexcept {
  if (ws.empty()) return nullptr;
  SyncWaiter* granted = nullptr;
  lock_.lock();
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  while ((s & kWaiters) == 0 && s >= kPermit) {
    if (state_.compare_exchange_weak(s, s - kPermit, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      granted = ws.pop_front();
      granted->state = WaitState::kGranted;
      break;
    }
  }
  if (!ws.empty()) {
    // Only a Lock's core is used here (at most one permit): none is free now.
    for (SyncWaiter* w = ws.front(); w != nullptr; w = w->next) w->state = WaitState::kQueued;
    waiters_.splice_back(ws);
    state_.fetch_or(kWaiters, std::memory_order_relaxed);
  }
  lock_.unlock();
  return granted;
}

bool PermitCore::hand_on(bool held) noexcept {
  WakeList woken;
  lock_.lock();
  SyncWaiter* w = pop_live(waiters_, woken);
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (held && (s & kHeld) == 0) {
      // Not held (a second release raced us): undo, report misuse. Cancelled waiters we
      // unlinked stay cancelled; they are woken below.
      if (w != nullptr) waiters_.push_front(w);
      if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
      lock_.unlock();
      woken.wake_all();
      return false;
    }
    std::uint64_t ns = held ? s - kHeld : s;
    if (w == nullptr) ns += kPermit;        // nobody (live) waits: back to the counter
    if (waiters_.empty()) ns &= ~kWaiters;  // the list emptied
    // Release: a permit returned to the counter carries the holder's writes to the next
    // try_acquire(); a hand-off carries them through wake() as well.
    if (state_.compare_exchange_weak(s, ns, std::memory_order_release,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  if (w != nullptr) {
    w->state = WaitState::kGranted;
    woken.push(w);
  }
  lock_.unlock();
  woken.wake_all();  // Lifetime: from here the waiters, and perhaps this core, may be gone
  return true;
}

void PermitCore::sync_waiters_bit() noexcept {
  if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
}

void PermitCore::cancel(SyncWaiter* w) noexcept {
  lock_.lock();
  if (w->state == WaitState::kQueued) {
    waiters_.remove(w);
    w->state = WaitState::kCancelled;
    sync_waiters_bit();
    TaskHeader* t = w->task;
    lock_.unlock();
    wake(t);
    return;
  }
  w->cancel_seen = true;  // granted already: the task resumes, hands on, and throws
  lock_.unlock();
}

void PermitAwaiter::finish() {
  switch (state) {
    case WaitState::kCancelled:
      throw_cancelled(task);
    case WaitState::kYielded:
      // We took the permit at once and yielded for the budget: give it back if cancelled.
      if (take_cancel(task)) {
        if (lock_) {
          core_->release_held();
        } else {
          core_->release(PermitCore::kUnbounded);
        }
        throw_cancelled(task);
      }
      return;
    case WaitState::kGranted:
      if (cancelled_after_grant()) {
        core_->pass_on();
        throw_cancelled(task);
      }
      if (lock_) core_->mark_held();
      return;
    default:
      return;
  }
}

}  // namespace corio::detail
