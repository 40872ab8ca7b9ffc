// Condition: a waiter list of its own, whose notified waiters move straight into the lock's
// waiter list ("wait morphing"): notify() does not wake a task only for it to block on the
// lock again; the task is woken once, holding the lock.
//
// Invariants
//   A waiter is in exactly one list while it waits: this condition's (aux == kInCond) or the
//   lock's PermitCore list (aux == kInLock, state kQueued), or it was granted the lock
//   (kGranted). It moves from the first to the second under mu_ and the core's lock together.
//   A wait always ends holding the lock, cancelled or not (asyncio re-acquires before raising).
//   Lock order: mu_, then the lock's core.
//
// Memory ordering
//   mu_ orders the condition's list; the core's lock and state_ order the lock hand-off; the
//   grant reaches the waiter through wake().
//
// Lifetime
//   Waiters are unlinked before they are woken. notify() touches nothing after its wake().
#include <stdexcept>
#include <string>

#include <corio/sync.hpp>

namespace corio {

void Condition::check_locked(const char* what) const {
  if (!lock_->locked()) {
    throw std::runtime_error(std::string("corio: Condition::") + what + "(): cannot " + what +
                             " on un-acquired lock");
  }
}

void Condition::begin_wait(WaitAwaiter* w, std::coroutine_handle<> h) {
  w->task = detail::t_current;
  w->aux = kInCond;
  w->must_grant = true;  // in the lock's list it waits for the lock even when cancelled
  {
    detail::SyncLockGuard g(mu_);
    w->state = detail::WaitState::kQueued;
    waiters_.push_back(w);
    // Queued before the lock is released: a notify() that follows our release finds us.
    if (!lock_->core_.release_held()) {
      waiters_.remove(w);
      w->state = detail::WaitState::kIdle;
      Lock::throw_not_acquired();
    }
  }
  detail::park_current(w, h);
}

void Condition::end_wait(WaitAwaiter& w) {
  // Granted the lock: it is ours from here, cancelled or not.
  lock_->core_.mark_held();
  if (w.cancelled_wait_ || w.cancel_seen || detail::take_cancel(w.task)) {
    // asyncio 3.13: a wait that ends in an error may have consumed a notification; pass one
    // on (a spurious wake-up at worst), then raise holding the lock.
    notify_impl(1);
    detail::throw_cancelled(w.task);
  }
}

void Condition::cancel_wait(WaitAwaiter* w) noexcept {
  detail::TaskHeader* wake_t = nullptr;
  {
    detail::SyncLockGuard g(mu_);
    if (w->aux == kInCond) {
      // Not notified yet: leave the condition and queue for the lock (asyncio re-acquires it
      // before raising CancelledError).
      waiters_.remove(w);
      w->aux = kInLock;
      w->cancelled_wait_ = true;
      if (lock_->core_.grant_or_enqueue(w)) wake_t = w->task;
    } else {
      // Notified: it waits for the lock, or has it. It raises once it holds the lock.
      w->cancel_seen = true;
    }
  }
  if (wake_t != nullptr) detail::wake(wake_t);
}

void Condition::notify_impl(std::size_t n) noexcept {
  detail::SyncWaiter* granted;
  {
    detail::SyncLockGuard g(mu_);
    detail::WaiterList moved;
    while (n > 0 && !waiters_.empty()) {
      auto* w = static_cast<WaitAwaiter*>(waiters_.pop_front());
      w->aux = kInLock;
      if (detail::take_cancel(w->task)) {
        // Cancelled, the cancel not yet delivered: asyncio skips its (cancelled) future and
        // notifies the next one. It still queues for the lock, to raise holding it.
        w->cancelled_wait_ = true;
      } else {
        --n;
      }
      moved.push_back(w);
    }
    granted = lock_->core_.enqueue_all(moved);
  }
  if (granted != nullptr) detail::wake(granted->task);
}

}  // namespace corio
