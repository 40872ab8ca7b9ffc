// TimerNode: an entry of a worker's timer heap, embedded in the awaiter or handle it fires.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace corio::detail {

struct TimerNode {
  std::int64_t deadline = 0;         // nanoseconds on the worker's clock
  std::uint64_t seq = 0;             // set by push: insertion order, so equal deadlines fire FIFO
  std::uint32_t index = kNotInHeap;  // position in the heap, maintained by TimerHeap
  static constexpr std::uint32_t kNotInHeap = 0xffffffffu;
  bool in_heap() const noexcept { return index != kNotInHeap; }
};

/// A timer with its action. Only the worker whose heap holds it touches it. The action is a
/// one-byte tag in TimerNode's padding rather than a function pointer: a sleeping task is
/// mostly its frame, and this keeps the frame in a smaller allocation class.
struct Timer : TimerNode {
  enum class Kind : std::uint8_t { kSleep, kMultiWait, kCallback };
  Kind kind = Kind::kSleep;
  /// Callback timers: set by TimerHandle::cancel() from any thread; firing then only frees.
  /// Sleeps: set by the cancel that removed the timer, read when the task resumes.
  std::atomic<bool> cancelled{false};
};

/// Runs t's action on its worker (the deadline passed, or shutdown frees a callback).
void fire_timer(Timer* t) noexcept;

/// Adds t to the calling worker's heap at `deadline` (ns on its clock); returns its index.
/// Throws std::runtime_error outside a worker, std::bad_alloc when the heap cannot grow.
int timer_add(Timer* t, std::int64_t deadline);
/// Removes t from the calling worker's heap; false when it already fired. Owner only.
bool timer_remove(Timer* t) noexcept;
/// The calling worker's clock in ns (virtual in virtual-time mode). Throws outside a worker.
std::int64_t clock_now();

/// now + delay, saturating: a delay of nanoseconds::max() means "never", not a deadline
/// wrapped into the past; a negative delay means now.
inline std::int64_t deadline_after(std::int64_t now, std::int64_t delay) noexcept {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (delay <= 0) return now;
  return delay > kMax - now ? kMax : now + delay;
}

/// Seconds as nanoseconds, saturating (infinity is "never"). Throws std::invalid_argument
/// for NaN, naming `what`.
inline std::int64_t seconds_to_ns(double s, const char* what) {
  if (std::isnan(s)) throw std::invalid_argument(std::string("corio: ") + what + "(NaN)");
  constexpr double kLimit = 9.2e18;  // within int64_t's range
  const double ns = s * 1e9;
  if (ns >= kLimit) return std::numeric_limits<std::int64_t>::max();
  if (ns <= -kLimit) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(ns);
}

}  // namespace corio::detail
