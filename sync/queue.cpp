// The item-type independent half of the queues (QueueBase in <corio/detail/sync_queue.hpp>,
// where the invariants are).
#include <stdexcept>

#include <corio/queue.hpp>

namespace corio::detail {

void QueueBase::cancel_waiter(SyncWaiter* w) noexcept {
  TaskHeader* t = nullptr;
  {
    SyncLockGuard g(lock_);
    if (w->state == WaitState::kQueued) {
      WaiterList& list =
          w->aux == kQueueGetter ? getters_ : (w->aux == kQueuePutter ? putters_ : joiners_);
      list.remove(w);
      w->state = WaitState::kCancelled;
      t = w->task;
    } else {
      w->cancel_seen = true;  // owed an item or slot: it passes it on when it resumes
    }
  }
  if (t != nullptr) wake(t);
}

void QueueBase::pass_on_item(WakeList& wake) noexcept {
  if (SyncWaiter* w = pop_live(getters_, wake)) {
    w->state = WaitState::kGranted;  // the promise moves on; owed_items_ is unchanged
    wake.push(w);
  } else if (owed_items_ > 0) {
    --owed_items_;  // nobody waits: the item is free (0 when voided by an immediate shutdown)
  }
}

void QueueBase::pass_on_slot(WakeList& wake) noexcept {
  if (SyncWaiter* w = pop_live(putters_, wake)) {
    w->state = WaitState::kGranted;
    wake.push(w);
  } else {
    --owed_slots_;
  }
}

void QueueBase::fail_waiters(WakeList& wake) noexcept {
  shutdown_ = true;
  auto move_all = [&](WaiterList& list, WaitState st) {
    while (SyncWaiter* w = list.pop_front()) {
      w->state = st;
      wake.push(w);
    }
  };
  if (unfinished_ == 0) move_all(joiners_, WaitState::kGranted);
  move_all(getters_, WaitState::kFailed);
  move_all(putters_, WaitState::kFailed);
}

bool QueueBase::join_or_enqueue(SyncWaiter* w) noexcept {
  SyncLockGuard g(lock_);
  if (unfinished_ == 0) return true;
  w->state = WaitState::kQueued;
  joiners_.push_back(w);
  return false;
}

void QueueBase::finish_join(SyncWaiter& w) {
  if (w.state == WaitState::kCancelled) throw_cancelled(w.task);
  // Released, then cancelled before resuming: nothing to hand on (every joiner was released).
  if (w.cancelled_after_grant()) throw_cancelled(w.task);
}

void QueueBase::task_done_impl() {
  SyncWaiter* chain = nullptr;
  {
    SyncLockGuard g(lock_);
    if (unfinished_ == 0) {
      throw std::invalid_argument("corio: Queue::task_done() called too many times");
    }
    if (--unfinished_ == 0) chain = joiners_.detach_all(WaitState::kGranted);
  }
  wake_chain(chain);
}

void QueueBase::throw_shut_down() {
  throw QueueShutDown();
}
void QueueBase::throw_full() {
  throw QueueFull();
}
void QueueBase::throw_empty() {
  throw QueueEmpty();
}

}  // namespace corio::detail
