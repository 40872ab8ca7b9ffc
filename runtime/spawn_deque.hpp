// SpawnDeque: a worker's newly created tasks — a private stack that the owner uses without
// locked instructions, in front of a public Chase-Lev stack (SpawnStack) that thieves steal
// from.
//
// Fork-join code pops the task it just pushed nearly every time, and a Chase-Lev pop pays a
// seq_cst fence for the owner/thief handshake whether anyone steals or not. Here the owner's
// push and pop are plain memory operations, and work goes public when a thief asks (private
// deques with steal requests): a thief that finds the public part empty raises want_, and
// the owner, which looks at want_ before it takes its next task, moves the older half of its
// private items to the public part. An owner that does not answer — it runs a long step,
// or its one private item is the step's — loses the older half (at least one item) to a
// forced steal: the private part is guarded by an OwnerLock, whose owner side costs a store
// and a load (the thief pays a membarrier), so a long step never holds the tasks it spawned.
//
// Invariants
//   private_[0, n_) holds the newest items, oldest first; everything in public_ is older than
//   everything in private_. So the owner's order (private newest first, then public) is the
//   LIFO order of push, and thieves take the oldest, which in a fork-join tree is the largest
//   piece of work. hint_ is 0 exactly when n_ is: the owner stores it only when n_ leaves or
//   reaches 0, so that thieves spinning on it (Worker::steal) do not take the line from the
//   owner on every push and pop. n_ and private_ change only under lock_, whose owner is the
//   worker (bind_owner).
// Memory ordering
//   want_ and hint_ carry no data (relaxed); items go public through SpawnStack::push, whose
//   release store of bottom_ pairs with the thief's acquire load; lock_ orders n_ and
//   private_ between the owner and a forcing thief.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "runtime/owner_lock.hpp"
#include "runtime/spawn_stack.hpp"

namespace corio::detail {

template <class T, std::uint32_t PrivateCapacity = 1024, std::uint32_t PublicCapacity = 1024>
class SpawnDeque {
 public:
  /// The calling thread becomes the owner (once, before anyone else uses the deque). Without
  /// it every push and pop takes the lock's slow path: correct, but slow.
  void bind_owner() noexcept { lock_.bind_owner(); }

  // --- Owner only --------------------------------------------------------------------
  /// False when the private part is full (nothing changed).
  bool push(T* item) noexcept {
    OwnerLock::AsOwner g(lock_);
    if (n_ == PrivateCapacity) return false;
    private_[n_++] = item;
    if (n_ == 1) hint_.store(1, std::memory_order_relaxed);
    return true;
  }

  /// Pushes item(0), ..., item(n - 1) in that order, skipping nullptrs, under one lock while
  /// there is room. Returns the index of the first item it did not look at (n: all done).
  template <class F>
  std::size_t push_each(std::size_t n, F item) noexcept {
    OwnerLock::AsOwner g(lock_);
    const std::uint32_t before = n_;
    std::size_t i = 0;
    for (; i < n && n_ < PrivateCapacity; ++i) {
      if (T* x = item(i)) private_[n_++] = x;
    }
    if (before == 0 && n_ != 0) hint_.store(n_, std::memory_order_relaxed);
    return i;
  }

  /// The newest item, or nullptr.
  T* pop() noexcept {
    {
      OwnerLock::AsOwner g(lock_);
      if (n_ != 0) {
        T* item = private_[--n_];
        if (n_ == 0) hint_.store(0, std::memory_order_relaxed);
        return item;
      }
    }
    return public_.pop();
  }

  /// Pops item if it is the newest private item; false (nothing changed) otherwise.
  bool pop_if(T* item) noexcept {
    OwnerLock::AsOwner g(lock_);
    if (n_ == 0 || private_[n_ - 1] != item) return false;
    if (--n_ == 0) hint_.store(0, std::memory_order_relaxed);
    return true;
  }

  /// Whether a thief asked for work (publish_if_wanted has something to do).
  bool wanted() const noexcept { return want_.load(std::memory_order_relaxed); }

  /// Serves a thief's request: moves the older half of the private items to the public
  /// part. True when it moved any (the caller then tells idle workers).
  bool publish_if_wanted() noexcept {
    if (!want_.load(std::memory_order_relaxed)) [[likely]] {
      return false;
    }
    want_.store(false, std::memory_order_relaxed);
    OwnerLock::AsOwner g(lock_);
    // Keep the newest: the owner is about to run it, and handing over a lone item would
    // only send it across the cores and back.
    const std::uint32_t k = n_ / 2;
    std::uint32_t moved = 0;
    while (moved < k && public_.push(private_[moved])) ++moved;
    take_front(moved);
    return moved != 0;
  }

  // --- Any thread --------------------------------------------------------------------
  /// The oldest public item, or nullptr (empty, or lost a race).
  T* steal() noexcept { return public_.steal(); }

  /// Asks the owner to publish. True if it holds private items.
  bool request() noexcept {
    if (private_hint() == 0) return false;
    if (!want_.load(std::memory_order_relaxed)) want_.store(true, std::memory_order_relaxed);
    return true;
  }

  /// Takes the older half of the private items (at least one, at most max) into out, oldest
  /// first, without the owner's help; returns how many. Costs a membarrier: for an owner
  /// that did not answer request(). Never the owner.
  std::uint32_t force_steal(T** out, std::uint32_t max) noexcept {
    if (private_hint() == 0) return 0;
    std::lock_guard g(lock_);
    const std::uint32_t k = std::min((n_ + 1) / 2, max);
    std::copy(private_, private_ + k, out);
    take_front(k);
    return k;
  }

  /// Items a thief could take now.
  std::uint32_t public_len() const noexcept { return public_.len(); }
  /// Nonzero when the owner holds private items (as last stored; not how many).
  std::uint32_t private_hint() const noexcept { return hint_.load(std::memory_order_relaxed); }

 private:
  /// Drops private_[0, k) (moved elsewhere). Under lock_.
  void take_front(std::uint32_t k) noexcept {
    if (k == 0) return;
    std::memmove(private_, private_ + k, (n_ - k) * sizeof(T*));
    n_ -= k;
    hint_.store(n_, std::memory_order_relaxed);
  }

  SpawnStack<T, PublicCapacity> public_;
  // Written by thieves, rarely; read by the owner before every task.
  alignas(64) std::atomic<bool> want_{false};
  alignas(64) std::atomic<std::uint32_t> hint_{0};
  // The owner's own line: thieves reading hint_ must not pull it away on every push.
  alignas(64) OwnerLock lock_;
  std::uint32_t n_ = 0;
  T* private_[PrivateCapacity];
};

}  // namespace corio::detail
