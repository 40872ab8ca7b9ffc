// asyncio's queues: Queue (FIFO), LifoQueue and PriorityQueue, all one BasicQueue whose item
// store decides the order. Also available through <corio/sync.hpp>.
//
// They behave as every synchronisation primitive does (see <corio/sync.hpp>'s opening comment:
// FIFO fairness, no switch when nothing needs waiting for, where a waiter resumes, what
// cancellation does, which threads may call what, cost). The hand-off invariants (owed items
// and slots) are in <corio/detail/sync_queue.hpp>.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <corio/detail/sync_queue.hpp>
#include <corio/detail/sync_waiter.hpp>
#include <corio/errors.hpp>
#include <corio/task.hpp>

namespace corio {

/// The queue behind Queue, LifoQueue and PriorityQueue; `Store` decides the order.
template <class T, class Store>
class BasicQueue : private detail::QueueBase {
  /// Under lock_: what a put() or get() can do now.
  enum class Outlook : std::uint8_t {
    kReady,     // take the slot or item now
    kWait,      // queue until one is freed or brought
    kShutDown,  // throw QueueShutDown
  };

  /// What PutAwaiter and GetAwaiter share: the waiter protocol of
  /// <corio/detail/sync_waiter.hpp> (complete at once, yield for the budget keeping the slot
  /// or item, or queue and park) and the outcomes of await_resume. `Side`, the derived
  /// awaiter (CRTP), supplies what differs:
  ///   under lock_: outlook(); transfer(), which puts or gets now (throws with nothing
  ///   changed); reserve(), which instead makes a slot or item owed to it, for a yield;
  ///   waiters(), the list it queues in;
  ///   unlocked, in await_resume: done(), the result of an await that completed without
  ///   waiting; take_owed(), the result of one that was granted a slot or item (or yielded).
  template <class Side, class Result>
  class TransferAwaiter : public detail::SyncWaiter {
   public:
    bool await_ready() {
      detail::SyncLockGuard g(q_->lock_);
      switch (side().outlook()) {
        case Outlook::kShutDown:
          state = detail::WaitState::kFailed;
          return true;
        case Outlook::kWait:
          return false;
        case Outlook::kReady:
          break;
      }
      if (detail::budget_exhausted()) {
        side().reserve();  // keep the slot or item, let other tasks run first
        state = detail::WaitState::kYielded;
        return false;
      }
      side().transfer();
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (state == detail::WaitState::kYielded) {
        task = detail::t_current;
        detail::yield_current(h);
        return true;
      }
      {
        detail::SyncLockGuard g(q_->lock_);
        switch (side().outlook()) {
          case Outlook::kShutDown:
            state = detail::WaitState::kFailed;
            return false;
          case Outlook::kReady:  // a slot freed or an item put meanwhile: no switch
            side().transfer();
            return false;
          case Outlook::kWait:
            break;
        }
        task = detail::t_current;  // set only when suspending (await_resume relies on it)
        state = detail::WaitState::kQueued;
        side().waiters().push_back(this);
      }
      detail::park_current(this, h);
      return true;
    }
    Result await_resume() {
      switch (state) {
        case detail::WaitState::kIdle:
          wake_.wake_all();
          return side().done();
        case detail::WaitState::kFailed:
          // Woken by shutdown() (task set: it suspended) and cancelled before resuming: the
          // cancel wins, as in asyncio (a cancelled waiter is skipped).
          if (task != nullptr && detail::take_cancel(task)) detail::throw_cancelled(task);
          throw_shut_down();
        case detail::WaitState::kCancelled:
          detail::throw_cancelled(task);
        default:  // kGranted / kYielded: a slot or an item is ours
          return side().take_owed();
      }
    }
    void cancel(detail::TaskHeader*) noexcept override { q_->cancel_waiter(this); }

   protected:
    /// list: detail::kQueuePutter or kQueueGetter.
    TransferAwaiter(BasicQueue& q, std::uint8_t list) noexcept : q_(&q) { aux = list; }
    ~TransferAwaiter() = default;

    BasicQueue* q_;
    // The waiter on the other side (a getter for a put, a putter for a get) to wake once this
    // await completed without suspending.
    detail::WakeList wake_;

   private:
    Side& side() noexcept { return static_cast<Side&>(*this); }
  };

 public:
  using value_type = T;

  /// maxsize <= 0: unbounded.
  explicit BasicQueue(std::ptrdiff_t maxsize = 0, Store store = Store())
      : QueueBase(maxsize), store_(std::move(store)) {}

  class [[nodiscard]] PutAwaiter final : public TransferAwaiter<PutAwaiter, void> {
   public:
    PutAwaiter(BasicQueue& q, T item) noexcept(std::is_nothrow_move_constructible_v<T>)
        : TransferAwaiter<PutAwaiter, void>(q, detail::kQueuePutter), item_(std::move(item)) {}

   private:
    friend TransferAwaiter<PutAwaiter, void>;
    Outlook outlook() const noexcept {  // shut down: fails even with a free slot
      if (this->q_->shutdown_) return Outlook::kShutDown;
      return this->q_->has_slot() ? Outlook::kReady : Outlook::kWait;
    }
    void reserve() noexcept { ++this->q_->owed_slots_; }
    void transfer() { this->q_->push_locked(std::move(item_), this->wake_); }
    detail::WaiterList& waiters() noexcept { return this->q_->putters_; }
    void done() noexcept {}
    void take_owed() { this->q_->put_owed(*this, std::move(item_)); }

    T item_;
  };

  /// Puts an item, waiting while the queue is full. Completes without suspending when there
  /// is room (and no earlier putter is waiting); otherwise queues (FIFO) and resumes on some
  /// worker once a get() freed a slot for it. Wakes the oldest waiting getter. Throws
  /// QueueShutDown after shutdown() (also to putters waiting when it happens). Cancelled while
  /// waiting: throws CancelledError and the item is not put (the slot freed for it goes to
  /// the next putter).
  [[nodiscard]] PutAwaiter put(T item) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return PutAwaiter(*this, std::move(item));
  }

  /// Puts an item now. Throws QueueFull when there is no free slot, QueueShutDown after
  /// shutdown(). Wakes the oldest waiting getter. Any thread.
  void put_nowait(T item) {
    detail::WakeList wake;
    {
      detail::SyncLockGuard g(lock_);
      if (shutdown_) throw_shut_down();
      if (!has_slot()) throw_full();
      push_locked(std::move(item), wake);
    }
    wake.wake_all();
  }

  class [[nodiscard]] GetAwaiter final : public TransferAwaiter<GetAwaiter, T> {
   public:
    explicit GetAwaiter(BasicQueue& q) noexcept
        : TransferAwaiter<GetAwaiter, T>(q, detail::kQueueGetter) {}

   private:
    friend TransferAwaiter<GetAwaiter, T>;
    Outlook outlook() const noexcept {  // shut down: still gets the items left
      if (this->q_->has_item()) return Outlook::kReady;
      return this->q_->shutdown_ ? Outlook::kShutDown : Outlook::kWait;
    }
    void reserve() noexcept { ++this->q_->owed_items_; }
    void transfer() { this->q_->pop_locked(item_, this->wake_); }
    detail::WaiterList& waiters() noexcept { return this->q_->getters_; }
    T done() { return std::move(*item_); }
    T take_owed() { return this->q_->get_owed(*this); }

    std::optional<T> item_;
  };

  /// Removes and returns an item, waiting while the queue is empty. Completes without
  /// suspending when an item is available (and no earlier getter is waiting); otherwise
  /// queues (FIFO) and resumes on some worker once a put() brought an item for it. Which item
  /// it gets (FIFO, LIFO, smallest) is decided when it resumes. Wakes the oldest waiting
  /// putter. Throws QueueShutDown when the queue is shut down and empty (or was shut down
  /// with immediate = true). Cancelled while waiting: throws CancelledError; the item it was
  /// promised stays in the queue for the next getter.
  [[nodiscard]] GetAwaiter get() noexcept { return GetAwaiter(*this); }

  /// Removes and returns an item now. Throws QueueEmpty when none is available (items
  /// promised to woken getters do not count), QueueShutDown when shut down and empty.
  /// Wakes the oldest waiting putter. Any thread.
  T get_nowait() {
    std::optional<T> v;
    detail::WakeList wake;
    {
      detail::SyncLockGuard g(lock_);
      if (!has_item()) {
        if (shutdown_) throw_shut_down();
        throw_empty();
      }
      pop_locked(v, wake);
    }
    wake.wake_all();
    return std::move(*v);
  }

  /// Marks one item taken by get() as processed. When every item put has been processed,
  /// join() waiters are released. Throws std::invalid_argument when called more often than
  /// items were put (asyncio's ValueError). Any thread.
  void task_done() { task_done_impl(); }

  class [[nodiscard]] JoinAwaiter final : public detail::SyncWaiter {
   public:
    explicit JoinAwaiter(BasicQueue& q) noexcept : q_(&q) { aux = detail::kQueueJoiner; }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      task = detail::t_current;
      if (q_->join_or_enqueue(this)) return false;  // nothing unfinished: no switch
      detail::park_current(this, h);
      return true;
    }
    void await_resume() {
      if (state != detail::WaitState::kIdle) q_->finish_join(*this);
    }
    void cancel(detail::TaskHeader*) noexcept override { q_->cancel_waiter(this); }

   private:
    BasicQueue* q_;
  };
  /// Waits until every item put has been marked done by task_done(). Completes without
  /// suspending when none is pending; otherwise resumes on some worker after the last
  /// task_done() (or an immediate shutdown() that discarded the rest). Cancelled while
  /// waiting: throws CancelledError.
  [[nodiscard]] JoinAwaiter join() noexcept { return JoinAwaiter(*this); }

  /// Shuts the queue down (Python 3.13): put() and put_nowait() throw QueueShutDown from now
  /// on, and so do the putters waiting now; get() keeps returning the remaining items, then
  /// throws QueueShutDown, and waiting getters throw it at once. With immediate = true the
  /// remaining items are discarded too (each counts as task_done() for join()). Any thread.
  void shutdown(bool immediate = false) {
    std::optional<Store> dead;  // destroyed after unlocking: item destructors run unlocked
    detail::WakeList wake;
    {
      detail::SyncLockGuard g(lock_);
      if (immediate) {
        dead.emplace(store_.take_all());
        owed_items_ = 0;  // promises to woken getters are void: they find the store empty
        unfinished_ -= std::min(unfinished_, dead->size());
      }
      fail_waiters(wake);
    }
    wake.wake_all();
  }

  /// Items a get() could take now (items promised to woken getters excluded). Snapshot.
  std::size_t qsize() const noexcept {
    detail::SyncLockGuard g(lock_);
    return store_.size() - std::min(owed_items_, store_.size());
  }
  /// qsize() == 0: get_nowait() would throw.
  bool empty() const noexcept { return qsize() == 0; }
  /// put_nowait() would throw QueueFull (slots promised to woken putters count as taken).
  /// Always false for an unbounded queue. Snapshot.
  bool full() const noexcept {
    detail::SyncLockGuard g(lock_);
    return maxsize_ != 0 && !has_slot();
  }
  /// The bound given at construction (0: unbounded).
  std::size_t maxsize() const noexcept { return maxsize_; }
  /// shutdown() was called.
  bool is_shutdown() const noexcept {
    detail::SyncLockGuard g(lock_);
    return shutdown_;
  }

 private:
  bool has_slot() const noexcept { return maxsize_ == 0 || store_.size() + owed_slots_ < maxsize_; }
  bool has_item() const noexcept { return store_.size() > owed_items_; }

  /// Under lock_: stores v (throws with nothing changed) and promises it to a waiting getter.
  void push_locked(T&& v, detail::WakeList& wake) {
    store_.push(std::move(v));
    ++unfinished_;
    grant_getter(wake);
  }
  /// Under lock_: takes an item into out (throws with nothing changed); the freed slot is
  /// promised to a waiting putter.
  void pop_locked(std::optional<T>& out, detail::WakeList& wake) {
    out.emplace(store_.pop());
    grant_putter(wake);
  }

  /// A putter owed a slot resumed: put its item — or pass the slot on if it was cancelled
  /// or the queue was shut down meanwhile.
  void put_owed(detail::SyncWaiter& w, T&& item) {
    const bool cancelled = w.cancelled_after_grant();
    detail::WakeList wake;
    std::exception_ptr err;
    bool shut = false;
    {
      detail::SyncLockGuard g(lock_);
      if (cancelled || shutdown_) {
        shut = !cancelled;
        pass_on_slot(wake);
      } else {
        try {
          push_locked(std::move(item), wake);
          --owed_slots_;
        } catch (...) {
          err = std::current_exception();
          pass_on_slot(wake);  // the slot goes to the next putter
        }
      }
    }
    wake.wake_all();
    if (err) std::rethrow_exception(err);
    if (cancelled) detail::throw_cancelled(w.task);
    if (shut) throw_shut_down();
  }

  /// A getter owed an item resumed: take it — or pass the promise on if it was cancelled.
  T get_owed(detail::SyncWaiter& w) {
    const bool cancelled = w.cancelled_after_grant();
    std::optional<T> v;
    detail::WakeList wake;
    std::exception_ptr err;
    {
      detail::SyncLockGuard g(lock_);
      if (cancelled) {
        pass_on_item(wake);
      } else if (store_.size() != 0) {
        try {
          pop_locked(v, wake);
          --owed_items_;
        } catch (...) {
          err = std::current_exception();
          pass_on_item(wake);  // the promise goes to the next getter
        }
      }
    }
    wake.wake_all();
    if (err) std::rethrow_exception(err);
    if (cancelled) detail::throw_cancelled(w.task);
    if (!v) throw_shut_down();  // the promise was voided by shutdown(immediate = true)
    return std::move(*v);
  }

  Store store_;
};

/// asyncio.Queue: a FIFO queue of T (move-only T works), bounded by maxsize (<= 0: unbounded).
/// See BasicQueue for put, get, put_nowait, get_nowait, task_done, join, qsize, empty, full,
/// shutdown.
template <class T>
class Queue : public BasicQueue<T, detail::FifoStore<T>> {
 public:
  explicit Queue(std::ptrdiff_t maxsize = 0) : BasicQueue<T, detail::FifoStore<T>>(maxsize) {}
};

/// asyncio.LifoQueue: the most recently put item is got first.
template <class T>
class LifoQueue : public BasicQueue<T, detail::LifoStore<T>> {
 public:
  explicit LifoQueue(std::ptrdiff_t maxsize = 0) : BasicQueue<T, detail::LifoStore<T>>(maxsize) {}
};

/// asyncio.PriorityQueue: get() returns the smallest item by Compare (default std::less, so
/// the smallest value first, as asyncio's heapq). Equal items come out in no defined order.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, detail::PriorityStore<T, Compare>> {
 public:
  explicit PriorityQueue(std::ptrdiff_t maxsize = 0, Compare comp = Compare())
      : BasicQueue<T, detail::PriorityStore<T, Compare>>(
            maxsize, detail::PriorityStore<T, Compare>(std::move(comp))) {}
};

}  // namespace corio
