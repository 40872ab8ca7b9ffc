// SpawnStack: a worker's stack of newly created tasks (a bounded Chase-Lev deque).
//
// Fork-join code (gather of children that gather their own) runs depth-first from here:
// the owner pops the newest task, which keeps the working set small and hot, while thieves
// take the oldest, which in a fork-join tree is the largest piece of work.
//
// Invariants
//   Items live in slots [top_, bottom_). Only the owner writes bottom_; top_ only grows, by
//   CAS (thieves, and the owner when it takes the last item). Capacity is a power of two;
//   push fails rather than overwrite a slot a thief may still read.
// Memory ordering
//   push: slot store (relaxed), then bottom_ release — pairs with the acquire load of bottom_
//   in steal(), so a thief sees the task's fields. pop/steal each put a seq_cst fence between
//   their write of one index and their read of the other (the Chase-Lev handshake: without
//   it both could take the last item). The CAS on top_ decides who takes the last item.
#pragma once

#include <atomic>
#include <cstdint>

namespace corio::detail {

template <class T, std::uint32_t Capacity = 1024, template <class> class Atom = std::atomic>
class SpawnStack {
  static_assert((Capacity & (Capacity - 1)) == 0, "Capacity must be a power of two");

 public:
  /// Owner only. False when full (nothing changed).
  bool push(T* item) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t >= static_cast<std::int64_t>(Capacity)) return false;
    slots_[static_cast<std::uint64_t>(b) & kMask].store(item, std::memory_order_relaxed);
    bottom_.store(b + 1, std::memory_order_release);
    return true;
  }

  /// Owner only: the newest item, or nullptr.
  T* pop() noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    bottom_.store(b, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T* item = slots_[static_cast<std::uint64_t>(b) & kMask].load(std::memory_order_relaxed);
    if (t == b) {
      // The last item: race thieves for it on top_.
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        item = nullptr;
      }
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Any thread: the oldest item, or nullptr (empty, or lost a race).
  T* steal() noexcept {
    std::int64_t t = top_.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    T* item = slots_[static_cast<std::uint64_t>(t) & kMask].load(std::memory_order_relaxed);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return nullptr;
    }
    return item;
  }

  /// Any thread, approximate.
  std::uint32_t len() const noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::uint32_t>(b - t) : 0;
  }

 private:
  static constexpr std::uint64_t kMask = Capacity - 1;
  alignas(64) Atom<std::int64_t> top_{0};
  alignas(64) Atom<std::int64_t> bottom_{0};
  alignas(64) Atom<T*> slots_[Capacity] = {};
};

}  // namespace corio::detail
