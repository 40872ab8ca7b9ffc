// WaitList: the callbacks to run once when a task or future completes.
//
// Invariants
//   head_ holds one of: a node list (possibly empty) that is open; kClosing | kLocked while
//   close() settles the outcome; kClosed once close() settled it. Bit 0 (kLocked) is set while
//   one thread edits the list or while close() settles and fires callbacks (nodes are 8-byte
//   aligned: bits 0-2 are free).
//   Every node added is fired exactly once by close(), or removed by remove(), never both.
//   Callbacks fire in the order the nodes were added.
//
// Memory ordering
//   add/remove/close take the lock with an acquire CAS and drop it with a release store, so
//   list edits are ordered. close() publishes with its release unlock everything the owner
//   wrote before calling it (the task's result); closed() loads with acquire to pair with it.
//
// Lifetime
//   A node must stay alive until it was removed or fired. Callbacks run under the lock, so
//   once remove() returns (true or false) no callback touches the node any more.
#pragma once

#include <atomic>
#include <cstdint>

#include <corio/detail/cpu_relax.hpp>

namespace corio::detail {

struct WaitNode {
  using Fn = void (*)(WaitNode*) noexcept;
  WaitNode* next = nullptr;
  Fn fn = nullptr;
};
static_assert(alignof(WaitNode) >= 8, "WaitList keeps its flags in a node pointer's low bits");

class WaitList {
 public:
  WaitList() noexcept = default;
  /// A list holding `first` (a fresh node, next null), that no other thread can see yet:
  /// published by whatever publishes its task.
  explicit WaitList(WaitNode* first) noexcept : head_(reinterpret_cast<std::uintptr_t>(first)) {}

  /// Adds n; returns false (n untouched) when the list is already closed.
  bool add(WaitNode* n) noexcept {
    if (head_.load(std::memory_order_acquire) == kClosed) return false;
    std::uintptr_t h = lock();
    if (h == kClosed) {
      head_.store(kClosed, std::memory_order_release);
      return false;
    }
    n->next = reinterpret_cast<WaitNode*>(h);  // pushed at the front; close() reverses
    head_.store(reinterpret_cast<std::uintptr_t>(n), std::memory_order_release);
    return true;
  }

  /// Takes n out before it fires. Returns false when close() already fired it.
  bool remove(WaitNode* n) noexcept {
    // Closed and unlocked: every callback has run (they run under the lock), n included.
    if (head_.load(std::memory_order_acquire) == kClosed) return false;
    std::uintptr_t h = lock();
    if (h == kClosed) {
      head_.store(kClosed, std::memory_order_release);
      return false;
    }
    auto* first = reinterpret_cast<WaitNode*>(h);
    bool found = false;
    if (first == n) {
      first = n->next;
      found = true;
    } else {
      for (WaitNode* p = first; p != nullptr; p = p->next) {
        if (p->next == n) {
          p->next = n->next;
          found = true;
          break;
        }
      }
    }
    head_.store(reinterpret_cast<std::uintptr_t>(first), std::memory_order_release);
    return found;
  }

  /// Closes the list and fires every node in the order added. Called once.
  void close() noexcept {
    close([] {});
  }
  /// close() that first, with the list already closing, calls settle() — which fixes what
  /// the nodes will see. Whoever sees closing() after it wrote something (seq_cst both
  /// sides) knows that settle() read it, or that it came too late for settle() to read.
  template <class Settle>
  void close(Settle settle) noexcept {
    std::uintptr_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h & kLocked) {
        cpu_relax();
        h = head_.load(std::memory_order_relaxed);
        continue;
      }
      if (head_.compare_exchange_weak(h, kClosing | kLocked, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    settle();
    head_.store(kClosed | kLocked, std::memory_order_release);  // closed(): done from here
    fire_all(h);
    head_.store(kClosed, std::memory_order_release);
  }

  /// Whether close() has begun (its settle() may be running): seq_cst, see close(settle).
  bool closing() const noexcept {
    return (head_.load(std::memory_order_seq_cst) & (kClosing | kClosed)) != 0;
  }

  /// close() for a list nobody else edits any more (no add or remove can come): the same,
  /// without the locked instruction. The list is closed before the first node fires and not
  /// touched after, so a node may free the list's owner.
  void close_quiet() noexcept {
    std::uintptr_t h = head_.load(std::memory_order_relaxed);
    head_.store(kClosed, std::memory_order_release);
    fire_all(h);  // Lifetime: *this may be gone
  }

  /// Closes a list whose nodes' owners count them off themselves: nothing fires.
  void close_unfired() noexcept { head_.store(kClosed, std::memory_order_release); }

  bool closed() const noexcept {
    return (head_.load(std::memory_order_acquire) & ~kLocked) == kClosed;
  }

 private:
  static constexpr std::uintptr_t kLocked = 1;
  static constexpr std::uintptr_t kClosed = 2;
  static constexpr std::uintptr_t kClosing = 4;  // with kLocked: close() runs settle()

  /// Fires the nodes of list h in the order they were added.
  static void fire_all(std::uintptr_t h) noexcept {
    WaitNode* rev = nullptr;
    for (auto* p = reinterpret_cast<WaitNode*>(h); p != nullptr;) {
      WaitNode* next = p->next;
      p->next = rev;
      rev = p;
      p = next;
    }
    for (WaitNode* p = rev; p != nullptr;) {
      WaitNode* next = p->next;  // Lifetime: p may be gone once fn returns
      p->fn(p);
      p = next;
    }
  }

  std::uintptr_t lock() noexcept {
    std::uintptr_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h & kLocked) {
        cpu_relax();
        h = head_.load(std::memory_order_relaxed);
        continue;
      }
      if (head_.compare_exchange_weak(h, h | kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return h;
      }
    }
  }

  std::atomic<std::uintptr_t> head_{0};
};

}  // namespace corio::detail
