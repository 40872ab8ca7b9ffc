// The parts of Queue / LifoQueue / PriorityQueue that do not depend on the item type
// (QueueBase: lock, waiter lists, counters) and the three item stores.
//
// Invariants (all fields under lock_)
//   Reservations make hand-off FIFO without moving items into waiters: a getter woken by put()
//   is owed one item (owed_items_), a putter woken by get() is owed one free slot (owed_slots_).
//   Nobody else may take what is owed, so a newcomer never overtakes a woken waiter, and which
//   item a woken getter receives is decided when it runs (asyncio: a PriorityQueue hands out
//   the smallest item present at that moment).
//     getters_ not empty => store.size() == owed_items_  (every item is promised)
//     putters_ not empty => store.size() + owed_slots_ == maxsize_  (every slot is promised)
//     store.size() >= owed_items_, except after shutdown(immediate = true), which empties the
//     store and forgets the promises: an owed getter then finds nothing and raises
//     QueueShutDown.
//   unfinished_ counts put() minus task_done(); joiners_ are released when it reaches 0.
//
// Memory ordering
//   Every access to the fields and the store is under lock_ (acquire/release); wake() publishes
//   the grant to the woken task.
//
// Lifetime
//   A queue must outlive every task waiting on it. Waiters are unlinked before they are woken.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include <corio/detail/sync_waiter.hpp>
#include <corio/task.hpp>

namespace corio::detail {

/// SyncWaiter::aux of a queue waiter: which list it waits in.
inline constexpr std::uint8_t kQueueGetter = 0;
inline constexpr std::uint8_t kQueuePutter = 1;
inline constexpr std::uint8_t kQueueJoiner = 2;

class QueueBase {
 public:
  QueueBase(const QueueBase&) = delete;
  QueueBase& operator=(const QueueBase&) = delete;

 protected:
  explicit QueueBase(std::ptrdiff_t maxsize) noexcept
      : maxsize_(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0) {}
  ~QueueBase() = default;

  /// Under lock_: the first live waiting getter is promised an item; it (and any cancelled
  /// getters skipped on the way) go to `wake`, to be woken after unlocking.
  void grant_getter(WakeList& wake) noexcept {
    if (SyncWaiter* w = pop_live(getters_, wake)) {
      w->state = WaitState::kGranted;
      ++owed_items_;
      wake.push(w);
    }
  }
  /// Under lock_: the first live waiting putter is promised a slot.
  void grant_putter(WakeList& wake) noexcept {
    if (SyncWaiter* w = pop_live(putters_, wake)) {
      w->state = WaitState::kGranted;
      ++owed_slots_;
      wake.push(w);
    }
  }

  /// Park::cancel() of any queue waiter (aux says which list).
  void cancel_waiter(SyncWaiter* w) noexcept;
  /// Under lock_: a getter owed an item gives up (cancelled): the promise goes to the next
  /// live getter, or the item becomes free.
  void pass_on_item(WakeList& wake) noexcept;
  /// Under lock_: the same for a putter owed a slot.
  void pass_on_slot(WakeList& wake) noexcept;
  /// Under lock_: marks the queue shut down; getters and putters fail, joiners are released
  /// when nothing is unfinished.
  void fail_waiters(WakeList& wake) noexcept;
  /// join(): under the lock, true when nothing is unfinished, else enqueues w.
  bool join_or_enqueue(SyncWaiter* w) noexcept;
  void finish_join(SyncWaiter& w);
  void task_done_impl();
  [[noreturn]] static void throw_shut_down();
  [[noreturn]] static void throw_full();
  [[noreturn]] static void throw_empty();

  mutable SyncSpinLock lock_;
  WaiterList getters_;
  WaiterList putters_;
  WaiterList joiners_;
  std::size_t maxsize_;         // 0: unbounded
  std::size_t owed_items_ = 0;  // items promised to woken getters
  std::size_t owed_slots_ = 0;  // slots promised to woken putters
  std::size_t unfinished_ = 0;  // put() minus task_done()
  bool shutdown_ = false;
};

/// FIFO store: a growable ring buffer (no allocation once it reached its working size).
template <class T>
class FifoStore {
 public:
  FifoStore() noexcept = default;
  FifoStore(FifoStore&& o) noexcept
      : buf_(std::exchange(o.buf_, nullptr)),
        mask_(std::exchange(o.mask_, 0)),
        head_(std::exchange(o.head_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  FifoStore& operator=(FifoStore&& o) noexcept {
    std::swap(buf_, o.buf_);
    std::swap(mask_, o.mask_);
    std::swap(head_, o.head_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~FifoStore() {
    while (size_ > 0) {
      buf_[head_].~T();
      head_ = (head_ + 1) & mask_;
      --size_;
    }
    if (buf_ != nullptr) std::allocator<T>().deallocate(buf_, mask_ + 1);
  }

  std::size_t size() const noexcept { return size_; }
  /// Moves every item out into the returned store (destroy it outside the queue's lock).
  FifoStore take_all() noexcept { return FifoStore(std::move(*this)); }
  void push(T&& v) {
    if (buf_ == nullptr || size_ == mask_ + 1) grow();
    ::new (static_cast<void*>(buf_ + ((head_ + size_) & mask_))) T(std::move(v));
    ++size_;
  }
  T pop() {
    T& slot = buf_[head_];
    T v(std::move(slot));
    slot.~T();
    head_ = (head_ + 1) & mask_;
    --size_;
    return v;
  }

 private:
  void grow() {
    std::size_t cap = buf_ == nullptr ? 16 : 2 * (mask_ + 1);
    T* nb = std::allocator<T>().allocate(cap);
    std::size_t moved = 0;
    try {
      for (; moved < size_; ++moved) {
        ::new (static_cast<void*>(nb + moved))
            T(std::move_if_noexcept(buf_[(head_ + moved) & mask_]));
      }
    } catch (...) {
      for (std::size_t i = 0; i < moved; ++i) nb[i].~T();
      std::allocator<T>().deallocate(nb, cap);
      throw;
    }
    for (std::size_t i = 0; i < size_; ++i) buf_[(head_ + i) & mask_].~T();
    if (buf_ != nullptr) std::allocator<T>().deallocate(buf_, mask_ + 1);
    buf_ = nb;
    mask_ = cap - 1;
    head_ = 0;
  }

  T* buf_ = nullptr;
  std::size_t mask_ = 0;  // capacity - 1 (capacity is a power of two)
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

/// LIFO store: the last item put is the first got.
template <class T>
class LifoStore {
 public:
  std::size_t size() const noexcept { return v_.size(); }
  LifoStore take_all() noexcept {
    LifoStore d;
    d.v_.swap(v_);
    return d;
  }
  void push(T&& x) { v_.push_back(std::move(x)); }
  T pop() {
    T x(std::move(v_.back()));
    v_.pop_back();
    return x;
  }

 private:
  std::vector<T> v_;
};

/// Priority store: a binary heap whose top is the smallest item by Compare (asyncio's heapq).
template <class T, class Compare>
class PriorityStore {
 public:
  explicit PriorityStore(Compare c = Compare()) : cmp_{std::move(c)} {}
  std::size_t size() const noexcept { return v_.size(); }
  PriorityStore take_all() {
    PriorityStore d(cmp_.c);
    d.v_.swap(v_);
    return d;
  }
  void push(T&& x) {
    v_.push_back(std::move(x));
    std::push_heap(v_.begin(), v_.end(), cmp_);
  }
  T pop() {
    std::pop_heap(v_.begin(), v_.end(), cmp_);
    T x(std::move(v_.back()));
    v_.pop_back();
    return x;
  }

 private:
  struct Greater {  // the std heap keeps the largest on top; invert to keep the smallest
    Compare c;
    bool operator()(const T& a, const T& b) const { return c(b, a); }
  };
  std::vector<T> v_;
  Greater cmp_;
};

}  // namespace corio::detail
