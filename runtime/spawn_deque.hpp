// SpawnDeque: a worker's newly created tasks — a private stack that only the owner touches,
// in front of a public Chase-Lev stack (SpawnStack) that thieves steal from.
//
// Fork-join code pops the task it just pushed nearly every time, and a Chase-Lev pop pays a
// seq_cst fence for the owner/thief handshake whether anyone steals or not. Here the owner's
// push and pop are plain memory operations, and work goes public only when a thief asks
// (private deques with steal requests): a thief that finds the public part empty raises
// want_, and the owner, which looks at want_ before it takes its next task, moves the older
// half of its private items to the public part.
//
// Invariants
//   private_[0, n_) holds the newest items, oldest first; everything in public_ is older than
//   everything in private_. So the owner's order (private newest first, then public) is the
//   LIFO order of push, and thieves take the oldest, which in a fork-join tree is the largest
//   piece of work. hint_ is n_ as the owner last stored it.
// Liveness
//   A request is served at the owner's next publish_if_wanted(), that is before its next
//   task: an owner inside a long step serves it after the step (as Tokio's LIFO slot holds
//   its task). An owner never parks with private items, since it parks only when pop() finds
//   nothing.
// Memory ordering
//   want_ and hint_ carry no data (relaxed); items go public through SpawnStack::push, whose
//   release store of bottom_ pairs with the thief's acquire load.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "runtime/spawn_stack.hpp"

namespace corio::detail {

template <class T, std::uint32_t PrivateCapacity = 1024, std::uint32_t PublicCapacity = 1024>
class SpawnDeque {
 public:
  // --- Owner only --------------------------------------------------------------------
  /// False when the private part is full (nothing changed).
  bool push(T* item) noexcept {
    if (n_ == PrivateCapacity) return false;
    private_[n_++] = item;
    hint_.store(n_, std::memory_order_relaxed);
    return true;
  }

  /// The newest item, or nullptr.
  T* pop() noexcept {
    if (n_ != 0) {
      T* item = private_[--n_];
      hint_.store(n_, std::memory_order_relaxed);
      return item;
    }
    return public_.pop();
  }

  /// Serves a thief's request: moves the older half of the private items to the public
  /// part. True when it moved any (the caller then tells idle workers).
  bool publish_if_wanted() noexcept {
    if (!want_.load(std::memory_order_relaxed)) [[likely]] {
      return false;
    }
    want_.store(false, std::memory_order_relaxed);
    // Keep the newest: the owner is about to run it, and handing over a lone item would
    // only send it across the cores and back.
    std::uint32_t k = n_ / 2;
    std::uint32_t moved = 0;
    while (moved < k && public_.push(private_[moved])) ++moved;
    if (moved == 0) return false;
    std::memmove(private_, private_ + moved, (n_ - moved) * sizeof(T*));
    n_ -= moved;
    hint_.store(n_, std::memory_order_relaxed);
    return true;
  }

  // --- Any thread --------------------------------------------------------------------
  /// The oldest public item, or nullptr (empty, or lost a race).
  T* steal() noexcept { return public_.steal(); }

  /// Asks the owner to publish. True if it holds private items it would publish.
  bool request() noexcept {
    if (hint_.load(std::memory_order_relaxed) < 2) return false;
    if (!want_.load(std::memory_order_relaxed)) want_.store(true, std::memory_order_relaxed);
    return true;
  }

  /// Items a thief could take now (approximate).
  std::uint32_t public_len() const noexcept { return public_.len(); }

 private:
  SpawnStack<T, PublicCapacity> public_;
  alignas(64) std::atomic<bool> want_{false};
  alignas(64) std::atomic<std::uint32_t> hint_{0};
  // The owner's own line: thieves reading hint_ must not pull it away on every push.
  alignas(64) std::uint32_t n_ = 0;
  T* private_[PrivateCapacity];
};

}  // namespace corio::detail
