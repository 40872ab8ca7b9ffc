// CallbackState: a callback queued by call_soon / call_later / call_soon_threadsafe or a
// task's add_done_callback. It is a Runnable (run queues) and a Timer (call_later).
//
// Invariants
//   fn belongs to whoever sets claimed first: the run (which calls it) or cancel() (which
//   destroys it at once, on any thread); nobody else touches it.
// Lifetime
//   self_ keeps it alive while a queue or timer heap holds the raw pointer; the run (or the
//   discard at shutdown) drops self_. TimerHandle holds another reference.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include <corio/detail/task_header.hpp>
#include <corio/detail/timer_node.hpp>

namespace corio::detail {

class Worker;

struct CallbackState : Runnable, Timer {
  std::function<void()> fn;
  std::atomic<bool> claimed{false};  // fn was taken, by its run or by cancel()
  double when = 0;
  std::shared_ptr<CallbackState> self_;
  Worker* timer_owner = nullptr;  // call_later/call_at: whose heap holds it (set once)

  /// A new callback, already holding its queue reference.
  static std::shared_ptr<CallbackState> make(std::function<void()> fn);
  /// Frees a runnable that will never run (shutdown); tasks are left alone.
  static void discard(Runnable* r) noexcept;
  /// Takes fn, for its run or its cancel: empty when the other one took it first (make()
  /// never holds an empty fn).
  std::function<void()> take() noexcept {
    if (claimed.load(std::memory_order_relaxed) ||
        claimed.exchange(true, std::memory_order_acq_rel)) {
      return {};
    }
    std::function<void()> f = std::move(fn);
    fn = nullptr;
    return f;
  }
};

}  // namespace corio::detail
