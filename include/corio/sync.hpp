// Synchronisation primitives with asyncio's names and semantics, usable from every worker at
// once: Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier, and (declared in
// <corio/queue.hpp>, included here) Queue, PriorityQueue, LifoQueue.
//
// What they share (see <corio/detail/sync_waiter.hpp> for the protocol):
//   * FIFO fairness. Waiters are served in the order they started waiting. A released lock or
//     permit, a put item or a freed slot is handed to the first waiter directly, so a task
//     arriving later never overtakes one that is already waiting.
//   * No switch when nothing needs waiting for: an uncontended acquire(), a get() on a
//     non-empty queue, a wait() on a set event complete inside the co_await. In single-thread
//     mode that is always so (asyncio's guarantee); in multi-thread mode a task that completes
//     many awaits in a row without suspending is made to yield once its budget is spent (it
//     keeps what it acquired and resumes after the other ready tasks).
//   * Where a waiter resumes: never inside the call that released it. release(), set(),
//     put()... only schedule the waiting task (on the calling worker's queue, or the runtime's
//     inject queue from a thread outside the runtime); it resumes later on a worker of the
//     runtime, possibly another one than the one it suspended on.
//   * Cancellation leaves no trace. A task cancelled while waiting gets CancelledError at its
//     co_await; if it was queued it just leaves the queue; if the lock, permit, item or slot
//     had already been handed to it, it hands it on to the next waiter (or back) first.
//   * Any thread may call the non-awaiting members (release, set, notify, put_nowait...),
//     including threads outside the runtime. Awaiting happens inside tasks.
//   * A primitive must outlive every task waiting on it; none is copyable or movable.
//   * Cost: a primitive's bookkeeping lock is biased towards the first thread that uses it, so
//     in single-thread mode no operation executes an atomic read-modify-write (a Queue<int>
//     put+get pair costs about 15 ns). The first use from a second thread (another worker, or
//     a thread outside the runtime) revokes the bias once, with one membarrier(2) system call;
//     from then on the primitive uses an ordinary spin lock.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <corio/detail/sync_permits.hpp>
#include <corio/detail/sync_waiter.hpp>
#include <corio/errors.hpp>
#include <corio/queue.hpp>
#include <corio/task.hpp>

namespace corio {

class Lock;
class Condition;
class SemaphoreGuard;

/// Releases a Lock at scope end (what `co_await lock.scoped()` returns). Move-only.
class [[nodiscard]] LockGuard {
 public:
  LockGuard() noexcept = default;
  /// Adopts a lock the caller holds.
  explicit LockGuard(Lock& l) noexcept : l_(&l) {}
  LockGuard(LockGuard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  LockGuard& operator=(LockGuard&& o) noexcept;
  ~LockGuard();
  /// Releases the lock now instead of at scope end.
  void release();
  /// Forgets the lock without releasing it.
  Lock* dismiss() noexcept { return std::exchange(l_, nullptr); }
  bool owns_lock() const noexcept { return l_ != nullptr; }

 private:
  Lock* l_ = nullptr;
};

/// asyncio.Lock: a mutual-exclusion lock for tasks, not owned by a particular task.
/// FIFO-fair: release() hands the lock to the oldest waiter.
class Lock {
 public:
  Lock() noexcept : core_(1) {}
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  /// Awaiter of acquire(); `co_await` yields true.
  using AcquireAwaiter = detail::PermitAwaiter;

  /// Acquires the lock; `co_await lock.acquire()` returns true (as asyncio's).
  /// Completes without suspending when the lock is free and nobody waits. Otherwise the task
  /// queues (FIFO) and resumes, holding the lock, on some worker after a release() handed it
  /// the lock. Cancelled while waiting: throws CancelledError and does not hold the lock (a
  /// lock handed to it meanwhile goes to the next waiter).
  [[nodiscard]] AcquireAwaiter acquire() noexcept { return AcquireAwaiter(core_, true); }

  /// Releases the lock; the oldest waiter, if any, gets it (it resumes later, not inside this
  /// call). Throws std::runtime_error when the lock is not held (asyncio's RuntimeError) —
  /// including right after a release that handed it to a waiter not yet resumed. Any thread.
  void release() {
    if (!core_.release_held()) throw_not_acquired();
  }

  /// True while a task holds the lock. As in asyncio, a lock that release() handed to a waiter
  /// counts as held only once that waiter has resumed. Any thread; a snapshot.
  bool locked() const noexcept { return core_.held(); }

  class [[nodiscard]] ScopedAwaiter : public detail::PermitAwaiter {
   public:
    explicit ScopedAwaiter(Lock& l) noexcept : PermitAwaiter(l.core_, true), owner_(&l) {}
    LockGuard await_resume() {
      PermitAwaiter::await_resume();
      return LockGuard(*owner_);
    }

   private:
    Lock* owner_;
  };
  /// acquire(), returning a LockGuard that releases the lock at scope end:
  /// `auto g = co_await lock.scoped();` (asyncio's `async with lock:`).
  [[nodiscard]] ScopedAwaiter scoped() noexcept { return ScopedAwaiter(*this); }

 private:
  friend class Condition;
  [[noreturn]] static void throw_not_acquired();
  detail::PermitCore core_;
};

inline LockGuard& LockGuard::operator=(LockGuard&& o) noexcept {
  if (this != &o) {
    if (l_ != nullptr) l_->release();
    l_ = std::exchange(o.l_, nullptr);
  }
  return *this;
}
inline LockGuard::~LockGuard() {
  if (l_ != nullptr) l_->release();
}
inline void LockGuard::release() {
  if (Lock* l = std::exchange(l_, nullptr)) l->release();
}

/// asyncio.Event: a flag tasks can wait for. set() wakes every waiter; clear() resets it.
class Event {
 public:
  Event() noexcept = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// True once set() was called, until clear(). Any thread.
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }
  /// Sets the flag and wakes every waiting task, in the order they started waiting (they
  /// resume later, on some worker). No effect when already set. Any thread; never throws.
  void set() noexcept;
  /// Resets the flag: later wait()s suspend until the next set(). Tasks already woken by a
  /// set() still return true. Any thread.
  void clear() noexcept { set_.store(false, std::memory_order_release); }

  class [[nodiscard]] WaitAwaiter final : public detail::SyncWaiter {
   public:
    explicit WaitAwaiter(Event& e) noexcept : e_(&e) {}
    bool await_ready() noexcept {
      // Set, and the setter out of the lock: only then may this task destroy the event at
      // once (set() stores set_ under the lock). Otherwise enqueue() decides, under it.
      if (!e_->is_set() || !e_->lock_.idle()) return false;
      if (!detail::budget_exhausted()) return true;
      state = detail::WaitState::kYielded;
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      task = detail::t_current;
      if (state == detail::WaitState::kYielded) {
        detail::yield_current(h);
        return true;
      }
      if (!e_->enqueue(this)) return false;  // set meanwhile: no switch
      detail::park_current(this, h);
      return true;
    }
    bool await_resume() const {
      if (state != detail::WaitState::kIdle) finish(*this);
      return true;
    }
    void cancel(detail::TaskHeader*) noexcept override { e_->cancel_wait(this); }

   private:
    Event* e_;
  };
  /// Waits until the flag is set; `co_await ev.wait()` returns true. Completes without
  /// suspending when it is set already; otherwise resumes on some worker after set().
  /// Cancelled while waiting: throws CancelledError.
  [[nodiscard]] WaitAwaiter wait() noexcept { return WaitAwaiter(*this); }

 private:
  bool enqueue(detail::SyncWaiter* w) noexcept;
  void cancel_wait(detail::SyncWaiter* w) noexcept;
  static void finish(const detail::SyncWaiter& w);

  std::atomic<bool> set_{false};  // written under lock_ by set(), by clear() without it
  detail::SyncSpinLock lock_;
  detail::WaiterList waiters_;
};

/// asyncio.Condition: tasks wait() until notified, always holding the associated lock around
/// the check of their condition. Also acts as its lock (acquire, release, locked, scoped).
class Condition {
 public:
  /// A condition with its own lock.
  Condition() noexcept : lock_(&own_) {}
  /// A condition sharing `lock` (which must outlive it).
  explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  /// The lock's acquire(), release(), locked(), scoped() (see Lock).
  [[nodiscard]] Lock::AcquireAwaiter acquire() noexcept { return lock_->acquire(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }
  [[nodiscard]] Lock::ScopedAwaiter scoped() noexcept { return lock_->scoped(); }
  Lock& lock() noexcept { return *lock_; }

  class [[nodiscard]] WaitAwaiter final : public detail::SyncWaiter {
   public:
    explicit WaitAwaiter(Condition& c) noexcept : c_(&c) {}
    bool await_ready() const {
      c_->check_locked("wait");
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) { c_->begin_wait(this, h); }
    bool await_resume() {
      c_->end_wait(*this);
      return true;
    }
    void cancel(detail::TaskHeader*) noexcept override { c_->cancel_wait(this); }

   private:
    friend class Condition;
    Condition* c_;
    bool cancelled_wait_ = false;  // cancelled before being notified
  };
  /// Releases the lock, waits until notified, then re-acquires the lock; returns true.
  /// Always suspends. Throws std::runtime_error when the lock is not held. Resumes on some
  /// worker once notified and holding the lock again (a notified waiter queues for the lock
  /// behind its current waiters). Cancelled: still re-acquires the lock first, passes the
  /// notification it may have received on to another waiter (asyncio 3.13), then throws
  /// CancelledError — the caller holds the lock in every case.
  [[nodiscard]] WaitAwaiter wait() noexcept { return WaitAwaiter(*this); }

  /// Waits until pred() is true (checked first, then after every wake-up); returns its last
  /// result. Same lock requirements and cancellation as wait(). `pred` runs holding the lock.
  template <class Pred>
  Coro<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return result;
  }

  /// Wakes up to n tasks waiting on this condition, oldest first: each then queues for the
  /// lock, which the caller holds, and returns from wait() once it gets it. Throws
  /// std::runtime_error when the lock is not held. Any thread.
  void notify(std::size_t n = 1) {
    check_locked("notify");
    notify_impl(n);
  }
  /// Wakes every waiting task (as notify()).
  void notify_all() { notify(static_cast<std::size_t>(-1)); }

 private:
  static constexpr std::uint8_t kInCond = 0;  // SyncWaiter::aux: waits for a notification
  static constexpr std::uint8_t kInLock = 1;  // notified: waits for (or got) the lock

  void check_locked(const char* what) const;
  void begin_wait(WaitAwaiter* w, std::coroutine_handle<> h);
  void end_wait(WaitAwaiter& w);
  void cancel_wait(WaitAwaiter* w) noexcept;
  void notify_impl(std::size_t n) noexcept;

  Lock own_;
  Lock* lock_;
  detail::SyncSpinLock mu_;  // guards waiters_ and the waiters' aux; taken before lock_'s core
  detail::WaiterList waiters_;
};

/// asyncio.Semaphore: a counter of permits; acquire() takes one (waiting while there is none),
/// release() returns one. FIFO-fair.
class Semaphore {
 public:
  /// Starts with `value` permits. Throws std::invalid_argument when value < 0.
  explicit Semaphore(std::int64_t value = 1) : Semaphore(value, detail::PermitCore::kUnbounded) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  using AcquireAwaiter = detail::PermitAwaiter;
  /// Takes a permit; `co_await sem.acquire()` returns true. Completes without suspending when
  /// a permit is free and nobody waits; otherwise queues (FIFO) and resumes on some worker
  /// after a release() handed it a permit. Cancelled while waiting: throws CancelledError and
  /// holds no permit (one handed to it meanwhile goes to the next waiter).
  [[nodiscard]] AcquireAwaiter acquire() noexcept { return AcquireAwaiter(core_, false); }

  /// Returns a permit: to the oldest waiter (which resumes later), else to the counter.
  /// BoundedSemaphore: throws std::invalid_argument when that would exceed the initial value.
  /// Any thread.
  void release() {
    if (!core_.release(bound_)) throw_over_released();
  }

  class [[nodiscard]] ScopedAwaiter : public detail::PermitAwaiter {
   public:
    explicit ScopedAwaiter(Semaphore& s) noexcept : PermitAwaiter(s.core_, false), owner_(&s) {}
    SemaphoreGuard await_resume();

   private:
    Semaphore* owner_;
  };
  /// acquire(), returning a SemaphoreGuard that releases the permit at scope end:
  /// `auto g = co_await sem.scoped();` (asyncio's `async with sem:`).
  [[nodiscard]] ScopedAwaiter scoped() noexcept { return ScopedAwaiter(*this); }

  /// True when acquire() would suspend: no free permit, or tasks waiting (asyncio). Snapshot.
  bool locked() const noexcept { return core_.permits() == 0 || core_.has_waiters(); }
  /// The number of free permits (asyncio's `_value`). Snapshot.
  std::size_t value() const noexcept { return static_cast<std::size_t>(core_.permits()); }

 protected:
  Semaphore(std::int64_t value, std::uint64_t bound);

 private:
  [[noreturn]] static void throw_over_released();
  detail::PermitCore core_;
  std::uint64_t bound_;  // kUnbounded, or BoundedSemaphore's initial value
};

/// Releases a Semaphore permit at scope end (what `co_await sem.scoped()` returns). Move-only.
class [[nodiscard]] SemaphoreGuard {
 public:
  SemaphoreGuard() noexcept = default;
  /// Adopts a permit the caller holds.
  explicit SemaphoreGuard(Semaphore& s) noexcept : s_(&s) {}
  SemaphoreGuard(SemaphoreGuard&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  SemaphoreGuard& operator=(SemaphoreGuard&& o) noexcept {
    if (this != &o) {
      if (s_ != nullptr) s_->release();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~SemaphoreGuard() {
    if (s_ != nullptr) s_->release();
  }
  /// Returns the permit now instead of at scope end.
  void release() {
    if (Semaphore* s = std::exchange(s_, nullptr)) s->release();
  }
  bool owns_permit() const noexcept { return s_ != nullptr; }

 private:
  Semaphore* s_ = nullptr;
};

inline SemaphoreGuard Semaphore::ScopedAwaiter::await_resume() {
  PermitAwaiter::await_resume();
  return SemaphoreGuard(*owner_);
}

/// asyncio.BoundedSemaphore: a Semaphore whose release() throws std::invalid_argument
/// (asyncio's ValueError) when it would raise the free permits above the initial value.
class BoundedSemaphore : public Semaphore {
 public:
  /// Throws std::invalid_argument when value < 0.
  explicit BoundedSemaphore(std::int64_t value = 1)
      : Semaphore(value, value < 0 ? 0 : static_cast<std::uint64_t>(value)) {}
};

/// asyncio.Barrier: `parties` tasks wait() until all of them have arrived, then all proceed.
/// The barrier then refills for the next round.
class Barrier {
 public:
  /// Throws std::invalid_argument when parties == 0.
  explicit Barrier(std::size_t parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  class [[nodiscard]] WaitAwaiter final : public detail::SyncWaiter {
   public:
    explicit WaitAwaiter(Barrier& b) noexcept : b_(&b) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return b_->arrive(this, h); }
    std::size_t await_resume() const {
      if (state != detail::WaitState::kIdle) finish(*this);
      return value;
    }
    void cancel(detail::TaskHeader*) noexcept override { b_->cancel_wait(this); }

   private:
    Barrier* b_;
  };
  /// Arrives at the barrier; returns this task's arrival index in the round (0 for the first,
  /// parties - 1 for the last). The last arrival completes without suspending and releases
  /// the others, which resume later on some worker. Throws BrokenBarrierError when the barrier
  /// is broken (abort()) or is reset or aborted while waiting. Cancelled while waiting: throws
  /// CancelledError and no longer counts as arrived (as asyncio).
  [[nodiscard]] WaitAwaiter wait() noexcept { return WaitAwaiter(*this); }

  /// Returns the barrier to its empty state; tasks waiting get BrokenBarrierError. Clears a
  /// broken state. Any thread.
  void reset() noexcept;
  /// Breaks the barrier: waiting tasks and every later wait() get BrokenBarrierError until
  /// reset(). Any thread.
  void abort() noexcept;

  std::size_t parties() const noexcept { return parties_; }
  /// Tasks waiting in the current round. Snapshot.
  std::size_t n_waiting() const noexcept;
  bool broken() const noexcept;

 private:
  bool arrive(detail::SyncWaiter* w, std::coroutine_handle<> h) noexcept;
  void cancel_wait(detail::SyncWaiter* w) noexcept;
  static void finish(const detail::SyncWaiter& w);

  const std::size_t parties_;
  mutable detail::SyncSpinLock lock_;
  detail::WaiterList waiters_;  // this round's waiters; value = arrival index
  std::size_t count_ = 0;       // arrivals in this round
  bool broken_ = false;
};

}  // namespace corio
