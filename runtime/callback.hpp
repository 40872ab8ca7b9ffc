// CallbackState: a callback queued by call_soon / call_later / call_soon_threadsafe or a
// task's add_done_callback. It is a Runnable (run queues) and a Timer (call_later).
//
// Lifetime
//   self_ keeps it alive while a queue or timer heap holds the raw pointer; the run (or the
//   discard at shutdown) drops self_. TimerHandle holds another reference.
#pragma once

#include <functional>
#include <memory>

#include <corio/detail/task_header.hpp>
#include <corio/detail/timer_node.hpp>

namespace corio::detail {

class Worker;

struct CallbackState : Runnable, Timer {
  std::function<void()> fn;
  double when = 0;
  std::shared_ptr<CallbackState> self_;
  Worker* timer_owner = nullptr;  // call_later/call_at: whose heap holds it (set once)

  /// A new callback, already holding its queue reference.
  static std::shared_ptr<CallbackState> make(std::function<void()> fn);
  /// Frees a runnable that will never run (shutdown); tasks are left alone.
  static void discard(Runnable* r) noexcept;
};

}  // namespace corio::detail
