// PermitCore slow paths and the awaiter shared by Lock and Semaphore. The state word and its
// invariants are described in <corio/detail/sync_permits.hpp>.
#include <corio/detail/sync_permits.hpp>

#include <corio/sync.hpp>

namespace corio::detail {

bool PermitCore::acquire_or_enqueue(SyncWaiter* w, bool held) noexcept {
  SyncLockGuard g(lock_);
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  if (s >= kPermit) {  // freed since await_ready() looked
    state_.store(s - kPermit + (held ? kHeld : 0), std::memory_order_relaxed);
    return false;
  }
  w->state = WaitState::kQueued;
  waiters_.push_back(w);
  state_.store(s | kWaiters, std::memory_order_relaxed);
  return true;
}

bool PermitCore::grant_or_enqueue(SyncWaiter* w) noexcept {
  // Called with the Condition's lock held; lock order: Condition, then this core.
  SyncLockGuard g(lock_);
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  if (s >= kPermit) {
    state_.store(s - kPermit, std::memory_order_relaxed);
    w->state = WaitState::kGranted;
    return true;
  }
  w->state = WaitState::kQueued;
  waiters_.push_back(w);
  state_.store(s | kWaiters, std::memory_order_relaxed);
  return false;
}

SyncWaiter* PermitCore::enqueue_all(WaiterList& ws) noexcept {
  if (ws.empty()) return nullptr;
  SyncWaiter* granted = nullptr;
  SyncLockGuard g(lock_);
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  if (s >= kPermit) {
    s -= kPermit;
    granted = ws.pop_front();
    granted->state = WaitState::kGranted;
  }
  if (!ws.empty()) {
    ws.set_state(WaitState::kQueued);
    waiters_.splice_back(ws);
    s |= kWaiters;
  }
  state_.store(s, std::memory_order_relaxed);
  return granted;
}

void PermitCore::hand_on_locked(std::uint64_t s) noexcept {
  WakeList woken;
  if (SyncWaiter* w = pop_live(waiters_, woken)) {
    w->state = WaitState::kGranted;  // the permit is w's: in neither field until it resumes
    woken.push(w);
  } else {
    s += kPermit;  // nobody (live) waits: back to the counter
  }
  if (waiters_.empty()) s &= ~kWaiters;
  state_.store(s, std::memory_order_relaxed);
  lock_.unlock();
  woken.wake_all();  // Lifetime: from here the waiters, and perhaps this core, may be gone
}

void PermitCore::pass_on() noexcept {
  lock_.lock();
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  if ((s & kWaiters) == 0) {
    state_.store(s + kPermit, std::memory_order_relaxed);
    lock_.unlock();
    return;
  }
  hand_on_locked(s);
}

void PermitCore::cancel(SyncWaiter* w) noexcept {
  lock_.lock();
  if (w->state == WaitState::kQueued) {
    waiters_.remove(w);
    w->state = WaitState::kCancelled;
    if (waiters_.empty()) {
      state_.store(state_.load(std::memory_order_relaxed) & ~kWaiters, std::memory_order_relaxed);
    }
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
