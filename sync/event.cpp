// Event: a flag plus one waiter list; set() wakes the whole list.
//
// Invariants
//   waiters_ is empty whenever set_ was true at the last lock_ release (set() empties it, and
//   enqueue() does not queue while set_ is true). clear() may flip set_ without the lock; a
//   waiter then simply queues for the next set().
//
// Memory ordering
//   set() stores set_ with release under lock_; the lock-free fast path of wait() loads it
//   with acquire, so what the setter wrote before set() is visible after a wait() that did
//   not suspend. Woken waiters get the same through wake().
//
// Lifetime
//   set() detaches the list and marks every waiter granted under the lock, then wakes them
//   without it and without touching `this`: a woken task may destroy the event at once. So
//   may a wait() that finds the event set without suspending: it completes lock-free only
//   once it also sees the lock idle (the setter's unlock done), else through enqueue().
#include <corio/sync.hpp>

namespace corio {

void Event::set() noexcept {
  detail::SyncWaiter* chain;
  {
    detail::SyncLockGuard g(lock_);
    if (set_.load(std::memory_order_relaxed)) return;
    set_.store(true, std::memory_order_release);
    chain = waiters_.detach_all(detail::WaitState::kGranted);
  }
  detail::wake_chain(chain);  // Lifetime: `this` may be gone once the first task is woken
}

bool Event::enqueue(detail::SyncWaiter* w) noexcept {
  detail::SyncLockGuard g(lock_);
  if (set_.load(std::memory_order_relaxed)) {
    // Pairs with set()'s release store: a relaxed load under the lock sees it through the lock.
    return false;
  }
  w->state = detail::WaitState::kQueued;
  waiters_.push_back(w);
  return true;
}

void Event::cancel_wait(detail::SyncWaiter* w) noexcept {
  detail::TaskHeader* t = nullptr;
  {
    detail::SyncLockGuard g(lock_);
    if (w->state == detail::WaitState::kQueued) {
      waiters_.remove(w);
      w->state = detail::WaitState::kCancelled;
      t = w->task;
    } else {
      w->cancel_seen = true;
    }
  }
  if (t != nullptr) detail::wake(t);
}

void Event::finish(const detail::SyncWaiter& w) {
  if (w.state == detail::WaitState::kCancelled) detail::throw_cancelled(w.task);
  // Woken by set() (or yielded for the budget) and cancelled before resuming: asyncio raises
  // CancelledError at the await. There is nothing to hand on: set() woke every waiter.
  if (w.cancelled_after_grant()) detail::throw_cancelled(w.task);
}

}  // namespace corio
