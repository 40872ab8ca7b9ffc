// Barrier: arrivals counted under one lock; the last arrival of a round grants every waiter
// its arrival index and starts the next round at once.
//
// Invariants (under lock_)
//   waiters_ holds the count_ tasks that arrived in this round and wait, oldest first; each
//   waiter's value is its arrival index. count_ < parties_ between calls. broken_ => waiters_
//   is empty and count_ == 0 (abort() fails them all; wait() fails at once while broken).
//
// Memory ordering
//   lock_ orders arrivals; wake() publishes each waiter's outcome.
//
// Lifetime
//   Waiters are detached and marked under the lock, woken after it; nothing touches the
//   barrier after the first wake().
#include <stdexcept>

#include <corio/sync.hpp>

namespace corio {

Barrier::Barrier(std::size_t parties) : parties_(parties) {
  if (parties == 0) throw std::invalid_argument("corio: Barrier parties must be > 0");
}

bool Barrier::arrive(detail::SyncWaiter* w, std::coroutine_handle<> h) noexcept {
  detail::SyncWaiter* chain = nullptr;
  bool queued;
  {
    detail::SyncLockGuard g(lock_);
    if (broken_) {
      w->state = detail::WaitState::kFailed;
      return false;
    }
    w->value = count_++;
    queued = count_ < parties_;
    if (queued) {
      w->task = detail::t_current;  // set only when suspending: finish() relies on it
      w->state = detail::WaitState::kQueued;
      waiters_.push_back(w);
    } else {
      count_ = 0;  // the next round starts now
      chain = waiters_.detach_all(detail::WaitState::kGranted);
    }
  }
  if (queued) {
    // Not w->state: once unlocked, the last arrival may already be granting it.
    detail::park_current(w, h);
    return true;
  }
  detail::wake_chain(chain);  // the last arrival: release the round, keep running
  if (detail::budget_exhausted()) {
    w->task = detail::t_current;
    w->state = detail::WaitState::kYielded;
    detail::yield_current(h);
    return true;
  }
  return false;
}

void Barrier::cancel_wait(detail::SyncWaiter* w) noexcept {
  detail::TaskHeader* t = nullptr;
  {
    detail::SyncLockGuard g(lock_);
    if (w->state == detail::WaitState::kQueued) {
      waiters_.remove(w);
      --count_;  // asyncio: a cancelled waiter no longer counts as arrived
      w->state = detail::WaitState::kCancelled;
      t = w->task;
    } else {
      w->cancel_seen = true;
    }
  }
  if (t != nullptr) detail::wake(t);
}

void Barrier::finish(const detail::SyncWaiter& w) {
  switch (w.state) {
    case detail::WaitState::kFailed:
      // Woken by abort()/reset() and cancelled before resuming: the cancel wins (asyncio).
      if (w.task != nullptr && detail::take_cancel(w.task)) detail::throw_cancelled(w.task);
      throw BrokenBarrierError();
    case detail::WaitState::kCancelled:
      detail::throw_cancelled(w.task);
    default:
      // Released (or yielded for the budget), then cancelled before resuming: the round is
      // complete for everyone else, so there is nothing to hand on.
      if (w.cancelled_after_grant()) detail::throw_cancelled(w.task);
  }
}

void Barrier::reset() noexcept {
  detail::SyncWaiter* chain;
  {
    detail::SyncLockGuard g(lock_);
    chain = waiters_.detach_all(detail::WaitState::kFailed);
    count_ = 0;
    broken_ = false;
  }
  detail::wake_chain(chain);
}

void Barrier::abort() noexcept {
  detail::SyncWaiter* chain;
  {
    detail::SyncLockGuard g(lock_);
    chain = waiters_.detach_all(detail::WaitState::kFailed);
    count_ = 0;
    broken_ = true;
  }
  detail::wake_chain(chain);
}

std::size_t Barrier::n_waiting() const noexcept {
  detail::SyncLockGuard g(lock_);
  return count_;
}

bool Barrier::broken() const noexcept {
  detail::SyncLockGuard g(lock_);
  return broken_;
}

}  // namespace corio
