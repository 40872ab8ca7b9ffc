// Coroutines, tasks and futures: Coro, Task, Future, create_task, sleep, current_task,
// all_tasks, and (via the headers included at the end) gather, wait_for, shield, wait,
// as_completed, TaskGroup, to_thread, run_coroutine_threadsafe.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <corio/detail/list_waiter.hpp>
#include <corio/detail/promise.hpp>
#include <corio/detail/timer_node.hpp>
#include <corio/errors.hpp>

namespace corio {

namespace detail {
/// Prepares a Coro's frame to run as a task (state, name). Does not schedule it.
void init_task(PromiseBase* p, std::coroutine_handle<> h, std::string name) noexcept;
std::string task_name(TaskHeader* t);
void set_task_name(TaskHeader* t, std::string name);
void add_task_callback(TaskHeader* t, std::function<void()> fn);
/// Reports in debug mode, once, a task whose exception was never looked at.
inline void mark_retrieved(TaskHeader* t) noexcept {
  // Only debug mode reports never-retrieved exceptions: spare everyone else the RMW.
  if ((t->outcome_flags_.load(std::memory_order_relaxed) & (kDebugTask | kRetrieved)) ==
      kDebugTask) {
    t->outcome_flags_.fetch_or(kRetrieved, std::memory_order_relaxed);
  }
}
/// Throws InvalidStateError naming `what` for an empty Task.
template <class T>
void check_not_empty(const Task<T>& t, const char* what) {
  if (!t.valid()) throw InvalidStateError(std::string("corio: ") + what + "() of an empty Task");
}
/// Budget (multi-thread mode): true when the running task has completed enough awaits
/// without suspending that it should yield now, so that it cannot starve its worker.
bool budget_exhausted() noexcept;
/// Parks the running task at the back of its worker's queue (sleep(0)). Call from await_suspend.
void yield_current(std::coroutine_handle<> h) noexcept;
}  // namespace detail

/// A scheduled coroutine (asyncio.Task). A copyable handle: every copy refers to the same
/// task; dropping every handle does not cancel it. Awaitable by any number of tasks.
/// `Task<void>` can refer to a task of any result type (as current_task() returns).
/// An empty Task (default-constructed, or current_task() outside a task) is not done and
/// refuses cancel(); its other methods throw InvalidStateError.
template <class T>
class Task {
 public:
  Task() noexcept = default;
  Task(const Task& o) noexcept : p_(o.p_) {
    if (p_) detail::retain_task(p_);
  }
  Task(Task&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  /// Any task viewed as Task<void>: awaiting it waits and rethrows, discarding the value.
  template <class U>
  requires(std::is_void_v<T> && !std::is_void_v<U>) Task(const Task<U>& o)
  noexcept : p_(o.header()) {
    if (p_) detail::retain_task(p_);
  }
  Task& operator=(Task o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Task() {
    if (p_) detail::release_task(p_);
  }
  /// Takes over a reference the caller holds.
  static Task adopt(detail::PromiseBase* p) noexcept {
    Task t;
    t.p_ = p;
    return t;
  }

  /// Asks the task to cancel: CancelledError is thrown at the co_await where it is
  /// suspended (or its next one). Returns false when it is already done (or so nearly that
  /// its outcome is fixed); true means it will end cancelled unless it catches the
  /// CancelledError. Any thread.
  bool cancel(std::string_view msg = {}) const noexcept {
    return detail::cancel_task(p_, msg.empty() ? nullptr : std::string(msg).c_str());
  }
  /// Done: it returned, raised, or was cancelled. Any thread.
  bool done() const noexcept { return p_ != nullptr && p_->waiters_.closed(); }
  /// Done by CancelledError.
  bool cancelled() const noexcept {
    return done() &&
           (p_->outcome_flags_.load(std::memory_order_relaxed) & detail::kResultCancelled) != 0;
  }
  /// The result; rethrows the task's exception (CancelledError if cancelled). Throws
  /// InvalidStateError when the task is not done.
  decltype(auto) result() const {
    detail::check_not_empty(*this, "Task::result");
    check_done("result");
    detail::mark_retrieved(p_);
    if constexpr (std::is_void_v<T>) {
      p_->rethrow_if_error();
    } else {
      return static_cast<detail::Promise<T>*>(p_)->result();
    }
  }
  /// The task's exception (null when it returned). Throws InvalidStateError when not done,
  /// CancelledError when it was cancelled (as asyncio).
  std::exception_ptr exception() const {
    detail::check_not_empty(*this, "Task::exception");
    check_done("exception");
    detail::mark_retrieved(p_);
    if (cancelled()) std::rethrow_exception(p_->error_);
    return p_->error_;
  }
  /// Calls fn(task) on a worker once the task is done (at once, if it is). Any thread.
  /// Throws std::invalid_argument for an empty fn. Once the task's runtime has shut down,
  /// fn is dropped without running (no loop is left to run it; no exception, so that
  /// destructors may call this). A Task used after its Runtime was destroyed is undefined.
  void add_done_callback(std::function<void(Task)> fn) const {
    detail::check_not_empty(*this, "Task::add_done_callback");
    if (!fn) throw std::invalid_argument("corio: add_done_callback() of an empty function");
    detail::add_task_callback(p_, [fn = std::move(fn), self = *this] { fn(self); });
  }
  std::string get_name() const {
    detail::check_not_empty(*this, "Task::get_name");
    return detail::task_name(p_);
  }
  void set_name(std::string name) const {
    detail::check_not_empty(*this, "Task::set_name");
    detail::set_task_name(p_, std::move(name));
  }

  bool valid() const noexcept { return p_ != nullptr; }
  detail::PromiseBase* header() const noexcept { return p_; }
  friend bool operator==(const Task& a, const Task& b) noexcept { return a.p_ == b.p_; }

  class Awaiter final : public detail::ListWaiter {
   public:
    explicit Awaiter(detail::PromiseBase* p) noexcept : p_(p) {}
    bool await_ready() const noexcept {
      return p_->waiters_.closed() && !detail::budget_exhausted();
    }
    /// A task awaiting itself is never done: the check costs nothing where it is ready.
    void await_suspend(std::coroutine_handle<> h) {
      if (p_ == detail::t_current) throw std::runtime_error("corio: a task cannot await itself");
      if (!arm(p_->waiters_, h)) detail::yield_current(h);
    }
    decltype(auto) await_resume() const {
      check_cancel();
      detail::mark_retrieved(p_);
      if constexpr (std::is_void_v<T>) {
        p_->rethrow_if_error();
      } else if constexpr (std::is_copy_constructible_v<T>) {
        return T(static_cast<detail::Promise<T>*>(p_)->result());
      } else {
        return std::move(static_cast<detail::Promise<T>*>(p_)->result());
      }
    }
    /// asyncio: cancelling a task that awaits another cancels the awaited one; this one
    /// then resumes with whatever that one ends with.
    void cancel(detail::TaskHeader*) noexcept override {
      // Already done: its completion woke us; asyncio then throws CancelledError here.
      if (!detail::cancel_task(p_, nullptr)) cancelled_ = true;
    }

   private:
    detail::PromiseBase* p_;
  };
  /// Waits for the task; returns its value (a copy; moved out when T is move-only) or
  /// rethrows its exception. Resumes on any worker. Does not suspend when already done.
  /// Throws std::runtime_error when the task would await itself (asyncio's RuntimeError),
  /// InvalidStateError for an empty Task.
  Awaiter operator co_await() const {
    detail::check_not_empty(*this, "Task::co_await");
    return Awaiter(p_);
  }

 private:
  void check_done(const char* what) const {
    if (!done()) throw InvalidStateError(std::string("corio: Task::") + what + "(): not done");
  }
  detail::PromiseBase* p_ = nullptr;
};

/// Schedules c to run as a task (asyncio.create_task). Call from inside a running task (a
/// worker thread): throws std::runtime_error otherwise, and InvalidStateError for an empty
/// or already-started Coro. The task starts later; the caller keeps running.
template <class T>
Task<T> create_task(Coro<T> c, std::string name = {}) {
  detail::check_startable(c);
  auto h = c.release();
  detail::init_task(&h.promise(), h, std::move(name));
  Task<T> t = Task<T>::adopt(&h.promise());
  detail::schedule_new(&h.promise());
  return t;
}

/// The awaiter behind sleep(); see there.
class [[nodiscard]] SleepAwaiter final : public detail::Park, private detail::Timer {
 public:
  explicit SleepAwaiter(std::int64_t ns) noexcept { deadline = ns; }  // relative until armed
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const;
  void cancel(detail::TaskHeader* t) noexcept override;

 private:
  friend void detail::fire_timer(detail::Timer* t) noexcept;
  static void on_fire(detail::Timer* t) noexcept;
  // Kept small: a sleeping task is mostly this frame. The delay lives in Timer::deadline
  // until await_suspend makes it absolute; Timer::cancelled says the cancel ended the sleep.
  detail::TaskHeader* task_ = nullptr;
};

/// Suspends the task for `d` (asyncio.sleep). `sleep(0s)` yields: every task already ready
/// runs first. Resumes on the same worker when the timer fires. Cancelling removes the timer
/// and throws CancelledError here. Throws std::runtime_error outside a task.
template <class Rep, class Period>
SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  return SleepAwaiter(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

/// The task running on this thread (asyncio.current_task); an empty Task outside tasks.
Task<void> current_task();
/// Every task not yet done, in no particular order (asyncio.all_tasks). From a worker.
std::vector<Task<void>> all_tasks();

namespace detail {
struct FutureCore {
  std::atomic<bool> claimed{false};  // set_result / set_exception / cancel: the first wins
  WaitList waiters;
  std::exception_ptr error;
  bool cancelled = false;
  void claim(const char* what);
  bool try_claim() noexcept { return !claimed.exchange(true, std::memory_order_acq_rel); }
  void unclaim() noexcept { claimed.store(false, std::memory_order_release); }
  void finish() noexcept { waiters.close(); }
  void cancel_with(const char* msg) noexcept;
};
template <class T>
struct FutureState : FutureCore {
  std::optional<T> value;
};
template <>
struct FutureState<void> : FutureCore {};
}  // namespace detail

/// asyncio.Future: a result that some code sets and tasks await. Copyable handle to shared
/// state; default construction makes a new pending future. set_result, set_exception and
/// cancel are safe from any thread, including threads outside the runtime.
///
/// Lifetime: completing holds a reference of its own on the state until it is done. The
/// task it wakes may resume on another worker at once and destroy the Future this call came
/// through (often the last other handle) while the waiter list is still being closed.
template <class T = void>
class Future {
 public:
  Future() : s_(std::make_shared<detail::FutureState<T>>()) {}

  /// Completes the future. Throws InvalidStateError when it is already done, and what
  /// storing the value throws (the future then stays pending).
  template <class U = T>
  requires(!std::is_void_v<U>) void set_result(U&& v) const {
    const auto s = s_;  // Lifetime: see the class comment
    s->claim("set_result");
    try {
      s->value.emplace(std::forward<U>(v));
    } catch (...) {
      s->unclaim();  // nothing was stored: the future stays pending, usable
      throw;
    }
    s->finish();
  }
  void set_result() const requires std::is_void_v<T> {
    const auto s = s_;  // Lifetime: see the class comment
    s->claim("set_result");
    s->finish();
  }
  /// Completes the future with an error. Throws InvalidStateError when already done.
  void set_exception(std::exception_ptr e) const {
    if (!e) throw std::invalid_argument("corio: Future::set_exception(nullptr)");
    const auto s = s_;  // Lifetime: see the class comment
    s->claim("set_exception");
    s->error = std::move(e);
    s->finish();
  }
  /// Cancels the future: its awaiters get CancelledError. False when already done.
  bool cancel(std::string_view msg = {}) const noexcept {
    const auto s = s_;  // Lifetime: see the class comment
    if (!s->try_claim()) return false;
    s->cancel_with(msg.empty() ? nullptr : std::string(msg).c_str());
    return true;
  }
  bool done() const noexcept { return s_->waiters.closed(); }
  bool cancelled() const noexcept { return done() && s_->cancelled; }
  /// The value; rethrows the error. Throws InvalidStateError when not done.
  decltype(auto) result() const {
    if (!done()) throw InvalidStateError("corio: Future::result(): not done");
    if (s_->error) std::rethrow_exception(s_->error);
    if constexpr (!std::is_void_v<T>) return (*s_->value);
  }
  /// The error or null. Throws InvalidStateError when not done, CancelledError if cancelled.
  std::exception_ptr exception() const {
    if (!done()) throw InvalidStateError("corio: Future::exception(): not done");
    if (s_->cancelled) std::rethrow_exception(s_->error);
    return s_->error;
  }

  class Awaiter final : public detail::ListWaiter {
   public:
    explicit Awaiter(std::shared_ptr<detail::FutureState<T>> s) noexcept : s_(std::move(s)) {}
    bool await_ready() const noexcept { return s_->waiters.closed(); }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      if (!arm(s_->waiters, h)) detail::yield_current(h);
    }
    decltype(auto) await_resume() const {
      check_cancel_or_start();  // the first await of wait_for(Future)'s body
      if (s_->error) std::rethrow_exception(s_->error);
      if constexpr (!std::is_void_v<T>) {
        if constexpr (std::is_copy_constructible_v<T>) {
          return T(*s_->value);
        } else {
          return std::move(*s_->value);
        }
      }
    }
    /// asyncio: cancelling a task that awaits a future cancels the future.
    void cancel(detail::TaskHeader*) noexcept override {
      if (s_->try_claim()) {
        s_->cancel_with(nullptr);  // wakes us with the future's CancelledError
      } else {
        cancelled_ = true;  // already done: its completion woke us
      }
    }

   private:
    std::shared_ptr<detail::FutureState<T>> s_;
  };
  /// Waits until the future is done; returns a copy of the value (moved out when T is
  /// move-only) or rethrows its error. Resumes on any worker.
  Awaiter operator co_await() const noexcept { return Awaiter(s_); }

 private:
  std::shared_ptr<detail::FutureState<T>> s_;
};

}  // namespace corio

#include <corio/detail/combinators.hpp>
