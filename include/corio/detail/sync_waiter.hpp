// The waiter-list core every synchronisation primitive is built on: a spin lock, a waiter node
// (the Park a task suspends in) and an intrusive FIFO list of them.
//
// A primitive = its own state + one SyncSpinLock + one or more WaiterLists, all edited under
// that lock. The protocol, the same for every primitive:
//
//   wait     await_suspend: under the lock, re-check the resource; if still unavailable, push
//            the waiter (state kQueued) and unlock; then park_current(). Never suspends when
//            the resource is available (the await completes without a switch).
//   grant    whoever makes the resource available (release, set, put...) pops the first waiter
//            under the lock, writes the outcome into it (state kGranted or kFailed, value),
//            unlocks, and only then calls wake(task). After wake() it never touches the waiter:
//            the task may already run on another worker and its frame may be gone.
//   cancel   Park::cancel(), called by the task's runner: under the lock, a waiter still kQueued
//            is unlinked, marked kCancelled and woken (await_resume throws CancelledError). A
//            waiter already granted is left alone but marked cancel_seen: it resumes owning the
//            lock / permit / item and must hand it on before throwing CancelledError.
//   resume   await_resume: kCancelled -> throw; kGranted and (cancel_seen or take_cancel()) ->
//            hand the resource on (to the next waiter, or back), then throw; else the outcome.
//
// Invariants
//   A waiter is in at most one list, and only while kQueued. Its fields are written under the
//   lock of the primitive whose list holds it (or held it last); after wake() nobody but the
//   task itself touches it. Lists are FIFO: push at the back, grant from the front.
//
// Memory ordering
//   SyncSpinLock: acquire exchange in lock(), release store in unlock(); the critical sections
//   of one primitive are totally ordered. The outcome written before wake() is published by
//   wake()'s release CAS on the task state and read after the runner's acquire CAS.
//   cancel_seen is written by the runner (which holds kRunning) and read by the task after it
//   resumes; the task state's acquire/release hand-over orders the two.
//
// Lifetime
//   The waiter lives in the suspended coroutine's frame (it is the awaiter). It is unlinked
//   before its task is woken, so a list never points into a frame that may be gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <corio/detail/cpu_relax.hpp>
#include <corio/detail/task_header.hpp>

namespace corio::detail {

/// The lock that guards a primitive's bookkeeping (a few instructions): a spin lock, biased
/// towards the first thread that takes it.
///
/// A primitive used by one thread only — every primitive of a single-thread runtime — never
/// pays for an atomic read-modify-write: its owner enters with a plain store and a load
/// (asymmetric Dekker), so a Queue's put+get costs no locked instruction. The first time
/// another thread takes the lock, it revokes the bias for good: it raises revoking_, runs
/// membarrier(2) (a full barrier on every thread of the process, which supplies the owner's
/// missing store-load fence), waits for the owner to leave its critical section and switches
/// the lock to an ordinary test-and-test-and-set spin lock for everyone. Revoking costs one
/// system call (about a microsecond) once per primitive.
///
/// Invariants
///   owner_ goes nullptr -> (owner token | kShared) -> kShared, never back. Only the thread
///   whose token is owner_ uses owner_in_ to enter; everyone else uses spin_, and only once
///   owner_ == kShared. The owner never holds spin_ while owner_ is its token.
/// Memory ordering
///   Biased: one thread, program order. Revocation: the owner's release store of owner_in_ =
///   false pairs with the revoker's acquire load; owner_'s release store of kShared pairs
///   with the acquire loads in lock_slow(). Shared: spin_ acquire exchange / release store.
///   The owner's relaxed store of owner_in_ and load of revoking_ are ordered against the
///   revoker's store of revoking_ and load of owner_in_ by membarrier(), not by the atomics.
class SyncSpinLock {
 public:
  void lock() noexcept {
    const void* me = token();
    if (owner_.load(std::memory_order_relaxed) == me) [[likely]] {
      owner_in_.store(true, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);  // the CPU fence is membarrier's
      if (!revoking_.load(std::memory_order_relaxed)) [[likely]] {
        return;
      }
      owner_in_.store(false, std::memory_order_release);
    }
    lock_slow(me);
  }
  void unlock() noexcept {
    if (owner_in_.load(std::memory_order_relaxed) &&
        owner_.load(std::memory_order_relaxed) == token()) [[likely]] {
      owner_in_.store(false, std::memory_order_release);  // pairs with revoke()'s acquire
      return;
    }
    spin_.store(false, std::memory_order_release);  // pairs with lock_slow()'s exchange
  }
  /// Nobody is inside: a holder's unlock, the last thing it did with the lock, happens
  /// before what the caller does next (acquire). For a lock-free reader of what a holder
  /// published, before it may destroy the primitive.
  bool idle() const noexcept {
    return !owner_in_.load(std::memory_order_acquire) && !spin_.load(std::memory_order_acquire);
  }

 private:
  static const void* token() noexcept { return &t_token; }
  void lock_slow(const void* me) noexcept;
  void revoke(const void* seen) noexcept;

  static constinit inline thread_local char t_token = 0;  // its address names the thread
  std::atomic<const void*> owner_{nullptr};
  std::atomic<bool> owner_in_{false};  // the owner is inside (or entering) a critical section
  std::atomic<bool> revoking_{false};  // some thread is revoking (or revoked) the bias
  std::atomic<bool> spin_{false};      // the lock itself once shared
};

/// RAII for SyncSpinLock (std::lock_guard would pull in <mutex>).
class SyncLockGuard {
 public:
  explicit SyncLockGuard(SyncSpinLock& l) noexcept : l_(l) { l_.lock(); }
  ~SyncLockGuard() { l_.unlock(); }
  SyncLockGuard(const SyncLockGuard&) = delete;
  SyncLockGuard& operator=(const SyncLockGuard&) = delete;

 private:
  SyncSpinLock& l_;
};

/// SyncWaiter::state values.
enum class WaitState : std::uint8_t {
  kIdle,       // not waiting (the await completed without suspending, or has not started)
  kQueued,     // in a primitive's list
  kGranted,    // handed the resource (lock, permit, item reservation, notification)
  kFailed,     // woken with an error outcome (barrier broken, queue shut down)
  kCancelled,  // unlinked by cancel(): await_resume throws CancelledError
  kYielded,    // completed at once but yields for the budget; then behaves as kGranted
};

/// One task waiting on a primitive: the Park it suspends in and its list node. Awaiters derive
/// from it and implement Park::cancel() for their primitive.
class SyncWaiter : public Park {
 public:
  SyncWaiter* prev = nullptr;
  SyncWaiter* next = nullptr;
  TaskHeader* task = nullptr;  // the parked task; set before the waiter is published
  std::size_t value = 0;       // outcome payload (a barrier's arrival index)
  WaitState state = WaitState::kIdle;
  bool cancel_seen = false;  // cancel() came after the grant: hand on, then throw
  bool must_grant = false;   // pop_live() never skips it (Condition: re-acquire even if cancelled)
  std::uint8_t aux = 0;      // primitive-specific (Condition: which list holds the waiter)

  /// After a grant: true when the task was cancelled meanwhile, so the awaiter must hand the
  /// resource on and throw CancelledError. Consumes a pending cancel request.
  bool cancelled_after_grant() const noexcept { return cancel_seen || take_cancel(task); }

 protected:
  ~SyncWaiter() = default;
};

/// Intrusive doubly-linked FIFO of SyncWaiters. Not synchronised: the owning primitive's lock
/// guards it.
class WaiterList {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  SyncWaiter* front() const noexcept { return head_; }
  std::size_t size() const noexcept { return size_; }

  void push_back(SyncWaiter* w) noexcept {
    w->next = nullptr;
    w->prev = tail_;
    if (tail_ != nullptr) {
      tail_->next = w;
    } else {
      head_ = w;
    }
    tail_ = w;
    ++size_;
  }

  void push_front(SyncWaiter* w) noexcept {
    w->prev = nullptr;
    w->next = head_;
    if (head_ != nullptr) {
      head_->prev = w;
    } else {
      tail_ = w;
    }
    head_ = w;
    ++size_;
  }

  SyncWaiter* pop_front() noexcept {
    SyncWaiter* w = head_;
    if (w == nullptr) return nullptr;
    head_ = w->next;
    if (head_ != nullptr) {
      head_->prev = nullptr;
    } else {
      tail_ = nullptr;
    }
    w->next = w->prev = nullptr;
    --size_;
    return w;
  }

  /// Unlinks w, which must be in this list.
  void remove(SyncWaiter* w) noexcept {
    if (w->prev != nullptr) {
      w->prev->next = w->next;
    } else {
      head_ = w->next;
    }
    if (w->next != nullptr) {
      w->next->prev = w->prev;
    } else {
      tail_ = w->prev;
    }
    w->next = w->prev = nullptr;
    --size_;
  }

  /// Moves every waiter of `o` to the back of this list, in order.
  void splice_back(WaiterList& o) noexcept {
    if (o.head_ == nullptr) return;
    if (tail_ != nullptr) {
      tail_->next = o.head_;
      o.head_->prev = tail_;
    } else {
      head_ = o.head_;
    }
    tail_ = o.tail_;
    size_ += o.size_;
    o.head_ = o.tail_ = nullptr;
    o.size_ = 0;
  }

  /// Gives every waiter state `s`.
  void set_state(WaitState s) noexcept {
    for (SyncWaiter* w = head_; w != nullptr; w = w->next) w->state = s;
  }
  /// Empties the list and returns the chain of its waiters (for wake_chain()).
  SyncWaiter* take_chain() noexcept {
    SyncWaiter* h = head_;
    head_ = tail_ = nullptr;
    size_ = 0;
    return h;
  }

  /// Empties the list, giving each waiter `s` (under the lock). Returns the detached chain;
  /// pass it to wake_chain() after unlocking.
  SyncWaiter* detach_all(WaitState s) noexcept {
    set_state(s);
    return take_chain();
  }

 private:
  SyncWaiter* head_ = nullptr;
  SyncWaiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// Wakes every waiter of a chain from detach_all(), in order. Call without holding any lock.
inline void wake_chain(SyncWaiter* w) noexcept {
  while (w != nullptr) {
    SyncWaiter* next = w->next;  // Lifetime: w's frame may be gone once its task is woken
    TaskHeader* t = w->task;
    wake(t);
    w = next;
  }
}

/// Waiters taken out of a primitive under its lock, to be woken once the lock is released,
/// in the order added. Linked through SyncWaiter::next (they are in no list any more).
class WakeList {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  void push(SyncWaiter* w) noexcept {
    w->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = w;
    } else {
      head_ = w;
    }
    tail_ = w;
  }
  /// Wakes them all. Call without holding the primitive's lock; touches nothing else.
  void wake_all() noexcept {
    SyncWaiter* h = head_;
    head_ = tail_ = nullptr;
    wake_chain(h);
  }

 private:
  SyncWaiter* head_ = nullptr;
  SyncWaiter* tail_ = nullptr;
};

/// Under the lock: pops the first waiter whose task has no pending cancel request. Waiters in
/// front of it whose task was cancelled (but whose runner has not yet delivered the cancel)
/// are unlinked too, marked kCancelled and added to `cancelled` for waking: asyncio skips a
/// cancelled waiter's future, so a release goes straight to the next live waiter. Taking the
/// request here (take_cancel) makes the runner's own delivery a no-op.
inline SyncWaiter* pop_live(WaiterList& list, WakeList& cancelled) noexcept {
  while (SyncWaiter* w = list.pop_front()) {
    if (w->must_grant || !take_cancel(w->task)) return w;
    w->state = WaitState::kCancelled;
    cancelled.push(w);
  }
  return nullptr;
}

}  // namespace corio::detail
