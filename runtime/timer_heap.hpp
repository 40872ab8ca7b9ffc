// corio::detail::TimerHeap -- per-worker 4-ary min-heap of intrusive timer nodes.
//
// Why 4-ary: timers are pushed far more often than popped-in-order (most sleeps are cancelled or
// fire near the front), and a 4-ary heap halves the depth of a binary heap, so sift_up touches
// fewer cache lines. sift_down compares up to four children, but they sit in one or two lines.
//
// Why {deadline, node*} is stored in the vector: comparisons during sifting then read only the
// contiguous vector, chasing a node pointer only on equal deadlines (to read seq). The node
// pointer is otherwise dereferenced just to update its back-index when an entry moves. An
// entry is 16 bytes, not 24 with seq, and the entries live in chunks rather than a vector
// (see chunked_array.hpp): with 100,000 sleeping tasks the heap is a twelfth of their memory.
//
// Invariants (hold between calls):
//   * entries_[i].node->index == i for every i < entries_.size().
//   * entries_[i].deadline == node->deadline (a cached copy);
//     callers must not change a node's deadline while it is in the heap (remove, edit, push).
//   * no entry is less than its parent (i - 1) / 4 under the order (deadline, seq).
//   * seq values are unique per heap (next_seq_ only grows), so the order is strict and total:
//     equal deadlines fire in push order (FIFO).
//   * a node not in any heap has index == TimerNode::kNotInHeap.
//
// Thread safety: none. Only the owning worker thread touches a heap or the nodes in it.
// Lifetime: the heap stores raw pointers; nodes must outlive their membership. Drain (or remove
// every node) before destroying the heap -- the destructor does not touch nodes, because at
// shutdown they may already be gone.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

#include <corio/detail/timer_node.hpp>
#include "runtime/chunked_array.hpp"

namespace corio::detail {

class TimerHeap {
 public:
  TimerHeap() = default;
  // Copying would duplicate node pointers whose back-index can only name one heap.
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;
  // Moving keeps positions, so back-indexes stay valid.
  TimerHeap(TimerHeap&&) noexcept = default;
  TimerHeap& operator=(TimerHeap&&) noexcept = default;
  ~TimerHeap() = default;

  // Precondition: n is not in a heap. Strong guarantee: if the vector cannot grow, bad_alloc
  // propagates and neither the heap nor *n has been modified.
  void push(TimerNode* n) {
    assert(n != nullptr && !n->in_heap());
    const std::size_t i = entries_.size();
    if (i >= TimerNode::kNotInHeap) throw std::bad_alloc();  // index would collide with sentinel
    entries_.push_back(Entry{n->deadline, n});               // the only throwing step
    n->seq = next_seq_++;
    sift_up(i);
  }

  TimerNode* top() const noexcept { return entries_.empty() ? nullptr : entries_.front().node; }

  TimerNode* pop() noexcept {
    if (entries_.empty()) return nullptr;
    TimerNode* n = entries_.front().node;
    erase_at(0);
    return n;
  }

  // False when n is not in this heap (not in any heap, or its index names another heap's slot).
  bool remove(TimerNode* n) noexcept {
    if (n == nullptr || !n->in_heap()) return false;
    const std::size_t i = n->index;
    if (i >= entries_.size() || entries_[i].node != n) return false;
    erase_at(i);
    return true;
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  std::optional<std::int64_t> next_deadline() const noexcept {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().deadline;
  }

  // Pops every node in (deadline, seq) order and hands it to f. Each node is already out of the
  // heap (index == kNotInHeap) when f sees it, so f may free it or push it elsewhere. If f throws,
  // the nodes not yet visited stay in the heap, consistent.
  template <class F>
  void drain(F&& f) {
    while (TimerNode* n = pop()) f(n);
  }

 private:
  struct Entry {
    std::int64_t deadline;
    TimerNode* node;
  };

  static constexpr std::size_t kArity = 4;

  static bool less(const Entry& a, const Entry& b) noexcept {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.node->seq < b.node->seq);
  }

  void place(std::size_t i, const Entry& e) noexcept {
    entries_[i] = e;
    e.node->index = static_cast<std::uint32_t>(i);
  }

  // Removes slot i: the last entry fills the hole and moves up or down; only one can apply.
  void erase_at(std::size_t i) noexcept {
    TimerNode* gone = entries_[i].node;
    const Entry last = entries_.back();
    entries_.pop_back();
    gone->index = TimerNode::kNotInHeap;
    if (i == entries_.size()) return;  // removed the last slot; nothing to refill
    place(i, last);
    if (i > 0 && less(last, entries_[(i - 1) / kArity])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }

  // Hole technique: carry the moving entry and write it once, shifting parents down meanwhile.
  void sift_up(std::size_t i) noexcept {
    const Entry e = entries_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!less(e, entries_[parent])) break;
      place(i, entries_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void sift_down(std::size_t i) noexcept {
    const Entry e = entries_[i];
    const std::size_t n = entries_.size();
    for (;;) {
      const std::size_t first = i * kArity + 1;
      if (first >= n) break;
      const std::size_t end = first + kArity < n ? first + kArity : n;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (less(entries_[c], entries_[best])) best = c;
      }
      if (!less(entries_[best], e)) break;
      place(i, entries_[best]);
      i = best;
    }
    place(i, e);
  }

  ChunkedArray<Entry, 256> entries_;  // 4 KiB chunks: no copy or doubling as it grows
  std::uint64_t next_seq_ = 0;
};

}  // namespace corio::detail
