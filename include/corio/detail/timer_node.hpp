// TimerNode: an entry of a worker's timer heap, embedded in the awaiter or handle it fires.
#pragma once

#include <atomic>
#include <cstdint>

namespace corio::detail {

struct TimerNode {
  std::int64_t deadline = 0;  // nanoseconds on the worker's clock
  std::uint64_t seq = 0;      // set by push: insertion order, so equal deadlines fire FIFO
  std::uint32_t index = kNotInHeap;  // position in the heap, maintained by TimerHeap
  static constexpr std::uint32_t kNotInHeap = 0xffffffffu;
  bool in_heap() const noexcept { return index != kNotInHeap; }
};

/// A timer with its action. Only the worker whose heap holds it touches it.
struct Timer : TimerNode {
  using Fn = void (*)(Timer*) noexcept;
  Fn fire = nullptr;  // runs on the owning worker when the deadline passes (or at shutdown)
  /// Callback timers only: set by TimerHandle::cancel() from any thread; fire() then only
  /// frees. Sleeps are cancelled through their park instead.
  std::atomic<bool> cancelled{false};
};

/// Adds t to the calling worker's heap at `deadline` (ns on its clock); returns its index.
/// Throws std::runtime_error outside a worker, std::bad_alloc when the heap cannot grow.
int timer_add(Timer* t, std::int64_t deadline);
/// Removes t from the calling worker's heap; false when it already fired. Owner only.
bool timer_remove(Timer* t) noexcept;
/// The calling worker's clock in ns (virtual in virtual-time mode). Throws outside a worker.
std::int64_t clock_now();

}  // namespace corio::detail
