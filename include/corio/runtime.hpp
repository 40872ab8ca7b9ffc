// Running coroutines: corio::run, Runtime, Options and the event-loop facade (Loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <utility>

#include <corio/detail/promise.hpp>
#include <corio/task.hpp>

namespace corio {

/// How a Runtime runs. An aggregate: `corio::Options{.threads = 1, .virtual_time = true}`.
struct Options {
  /// Worker threads. 0: one per core, with work stealing. 1: single-thread mode, where a task
  /// switches only at a co_await that suspends, ready tasks run FIFO, and equal timers fire in
  /// the order they were set — the same interleaving every run, as asyncio.
  std::size_t threads = 0;
  /// Single-thread mode only: when no task is ready and nothing is in flight, the clock jumps
  /// to the next timer, so `sleep(3600s)` takes microseconds. A to_thread() job counts as in
  /// flight until it returns: one that waits for a task which sleeps (through
  /// run_coroutine_threadsafe) waits for ever, as the clock waits for it.
  bool virtual_time = false;
  /// Debug mode: warn about slow steps, never-awaited Coros, never-retrieved task exceptions.
  bool debug = false;
  /// A task step longer than this is reported in debug mode.
  std::chrono::nanoseconds slow_step = std::chrono::milliseconds(100);
};

class Loop;

namespace detail {
class Shared;
struct CallbackState;
void spawn_external(Shared* s, TaskHeader* t);
void block_until_done(TaskHeader* t);
void check_not_in_worker(const char* what);
/// Throws std::runtime_error naming `what` when called from a worker of loop's runtime.
void check_not_in_worker_of(const Loop& loop, const char* what);
/// Throws std::runtime_error when the runtime no longer takes new tasks.
void check_open(Shared* s);
}  // namespace detail

class Runtime;

/// asyncio's Handle / TimerHandle: a scheduled callback that can be cancelled.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::shared_ptr<detail::CallbackState> s) : s_(std::move(s)) {}
  /// Stops the callback from running if it has not started yet, and destroys it (what it
  /// captured) at once. Any thread; never throws. A cancel from a thread other than the
  /// worker that set a timer leaves the emptied timer entry in that worker's heap until its
  /// deadline (only the owning worker touches its heap).
  void cancel() noexcept;
  bool cancelled() const noexcept;
  /// The scheduled time in loop.time() units (0 for call_soon handles).
  double when() const noexcept;

 private:
  std::shared_ptr<detail::CallbackState> s_;
};

/// The event loop as asyncio exposes it. One per Runtime, shared by its workers.
class Loop {
 public:
  explicit Loop(detail::Shared* s) noexcept : s_(s) {}
  /// Seconds on the loop's monotonic clock (virtual in virtual-time mode). Throws
  /// std::runtime_error when called outside the runtime's workers in virtual-time mode.
  double time() const;
  /// Runs fn after the tasks and callbacks already ready (FIFO), queued on the calling worker
  /// (in multi-thread mode an idle worker may steal it, as it may any ready task).
  /// Worker threads only: throws std::runtime_error elsewhere (use call_soon_threadsafe).
  TimerHandle call_soon(std::function<void()> fn);
  /// Runs fn once `delay` has passed; the calling worker's timer fires it and queues it as
  /// call_soon does. Worker threads only.
  template <class Rep, class Period>
  TimerHandle call_later(std::chrono::duration<Rep, Period> delay, std::function<void()> fn) {
    return call_later_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count(),
                         std::move(fn));
  }
  /// As above, delay in seconds (infinity: never). Throws std::invalid_argument for NaN.
  TimerHandle call_later(double delay_seconds, std::function<void()> fn) {
    return call_later_ns(detail::seconds_to_ns(delay_seconds, "call_later"), std::move(fn));
  }
  /// Runs fn at loop time `when` (seconds, as time() returns). Worker threads only. Throws
  /// std::invalid_argument for NaN.
  TimerHandle call_at(double when, std::function<void()> fn);
  /// Runs fn on some worker soon. Safe from any thread; throws std::runtime_error after
  /// the runtime shut down.
  TimerHandle call_soon_threadsafe(std::function<void()> fn);
  Runtime& runtime() const noexcept;

 private:
  TimerHandle call_later_ns(std::int64_t delay_ns, std::function<void()> fn);
  TimerHandle call_at_ns(std::int64_t deadline_ns, std::function<void()> fn);
  detail::Shared* s_;
};

/// The loop of the runtime whose worker calls this. Throws std::runtime_error("no running
/// event loop") on any other thread.
Loop& get_running_loop();

/// A runtime that outlives one run (asyncio.Runner). Its workers start in the constructor.
class Runtime {
 public:
  /// Throws std::system_error when a worker's io_uring cannot be set up, std::invalid_argument
  /// for virtual_time with more than one thread.
  explicit Runtime(Options opts = {});
  /// Cancels every task still alive, waits for them, and joins the workers.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Runs main to completion and returns its value or rethrows its exception. Call from a
  /// thread that is not one of this runtime's workers (std::runtime_error otherwise). Other
  /// tasks keep running after it returns.
  template <class T>
  T run(Coro<T> main) {
    detail::check_not_in_worker("Runtime::run() cannot be called from a running event loop");
    Task<T> t = spawn_impl(std::move(main), {}, true);
    detail::block_until_done(t.header());
    if constexpr (std::is_void_v<T>) {
      t.result();
    } else {
      return std::move(t.result());
    }
  }

  template <class C>
  typename C::type run(Gathering<C> main) {
    return run(Coro<typename C::type>(std::move(main)));
  }

  /// Schedules c as a new task. Safe from any thread, including the workers.
  template <class T>
  Task<T> spawn(Coro<T> c, std::string name = {}) {
    return spawn_impl(std::move(c), std::move(name), false);
  }
  template <class C>
  Task<typename C::type> spawn(Gathering<C> g, std::string name = {}) {
    return spawn(Coro<typename C::type>(std::move(g)), std::move(name));
  }

  /// Cancels every task still alive, waits for them to finish and stops the workers.
  /// Idempotent, and safe from several threads at once (each returns once it is done);
  /// called by the destructor. Throws std::runtime_error from one of the runtime's workers.
  void shutdown();

  Loop& loop() noexcept;
  const Options& options() const noexcept;
  /// Number of worker threads.
  std::size_t workers() const noexcept;

 private:
  template <class T>
  Task<T> spawn_impl(Coro<T> c, std::string name, bool main) {
    detail::check_open(shared_.get());
    if (!c.valid()) throw InvalidStateError("corio: spawning an empty Coro");
    if (c.started()) throw InvalidStateError("corio: spawning a Coro that was already awaited");
    auto h = c.release();
    detail::init_task(&h.promise(), h, std::move(name));
    if (main) h.promise().flags_ |= detail::kIsMain;
    Task<T> t = Task<T>::adopt(&h.promise());
    detail::spawn_external(shared_.get(), &h.promise());
    return t;
  }

  std::unique_ptr<detail::Shared> shared_;
};

namespace detail {
/// run_coroutine_threadsafe's result: a coroutine that never ran (cancelled before its first
/// step by shutdown) leaves CancelledError, as asyncio cancels the concurrent future, rather
/// than a broken promise.
template <class T>
struct ThreadsafeResult {
  std::promise<T> p;
  bool set = false;
  ~ThreadsafeResult() {
    if (set) return;
    try {
      p.set_exception(std::make_exception_ptr(CancelledError()));
    } catch (...) {
      // Out of memory for the exception: the future reports a broken promise.
    }
  }
};

template <class T>
Coro<void> fulfil(Coro<T> c, std::shared_ptr<ThreadsafeResult<T>> r) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(c);
      r->p.set_value();
    } else {
      r->p.set_value(co_await std::move(c));
    }
  } catch (...) {
    r->p.set_exception(std::current_exception());
  }
  r->set = true;
}
}  // namespace detail

template <class T>
std::future<T> run_coroutine_threadsafe(Coro<T> c, Runtime& rt) {
  detail::check_not_in_worker_of(rt.loop(),
                                 "run_coroutine_threadsafe() from a worker of the runtime");
  auto r = std::make_shared<detail::ThreadsafeResult<T>>();
  std::future<T> f = r->p.get_future();
  rt.spawn(detail::fulfil(std::move(c), std::move(r)));
  return f;
}

template <class C>
std::future<typename C::type> run_coroutine_threadsafe(Gathering<C> g, Runtime& rt) {
  return run_coroutine_threadsafe(Coro<typename C::type>(std::move(g)), rt);
}

/// asyncio.run(): runs main on a new Runtime, then cancels and awaits whatever is still
/// alive, shuts the runtime down and returns main's value (or rethrows its exception).
template <class T>
T run(Coro<T> main, Options opts = {}) {
  Runtime rt(opts);
  if constexpr (std::is_void_v<T>) {
    rt.run(std::move(main));
    rt.shutdown();
  } else {
    T v = rt.run(std::move(main));
    rt.shutdown();
    return v;
  }
}

template <class C>
typename C::type run(Gathering<C> main, Options opts = {}) {
  return run(Coro<typename C::type>(std::move(main)), opts);
}

}  // namespace corio
