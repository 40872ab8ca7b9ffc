// Promise<T>: the promise of every corio coroutine, and Coro<T>, the lazy coroutine type.
//
// A Coro frame carries a TaskHeader so that create_task() can turn it into a task without a
// second allocation. Awaited inline (`co_await coro`) it runs on the awaiting task.
//
// Invariants
//   An inline Coro is started by its awaiter's await_suspend; if it finishes before
//   suspending (kFinished set while kInlineSync is up) the awaiter continues without a
//   switch, so a million synchronous completions use no stack. Otherwise the child resumes
//   its parent from final_suspend.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <corio/detail/task_header.hpp>
#include <corio/errors.hpp>

namespace corio {

template <class T = void>
class Coro;
template <class T = void>
class Task;

namespace detail {

/// Throws what create_task() throws for c: std::runtime_error outside a task,
/// InvalidStateError for an empty Coro or one that was already awaited.
template <class T>
void check_startable(const Coro<T>& c);

// The one who resumed it is inside that call and ends it: an inline Coro's parent (inside
// await_suspend), or run_nested() for a task's nested first step.
inline constexpr std::uint8_t kInlineSync = 1u << 5;

struct PromiseBase;
/// Prepares a Coro's frame to run as an unnamed task; does not schedule it. Two references:
/// the scheduler's and the Task handle's (or its Join's). Born claimed by its first runner
/// (run_task), whom the queue it goes to picks.
inline void init_new_task(PromiseBase* p, std::coroutine_handle<> h) noexcept;
/// init_new_task() for a frame whose resume_ is set already, adding `flags` (kJoined), with
/// `first` (if any) as the only node of its waiter list.
inline void start_new_task(PromiseBase* p, std::uint8_t flags, WaitNode* first = nullptr) noexcept;

/// Marks the task done: records whether it ended cancelled, then fires its waiters.
void complete_task(struct PromiseBase* p) noexcept;

struct PromiseBase : TaskHeader {
  PromiseBase() noexcept {}  // leaves continuation_ unset
  union {
    // An inline Coro's awaiter (Coro::Awaiter sets it as it starts the Coro; a task never
    // reads it): in a union so that it has no initializer, see TaskHeader.
    std::coroutine_handle<> continuation_;
  };
  std::exception_ptr error_;

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  struct InitialAwaiter {
    PromiseBase* p;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const {
      p->flags_ |= kStarted;
      // asyncio: a task cancelled before its first step never runs its body, unless the
      // body is the one that passes the cancel on (kCancelInBody).
      if ((p->flags_ & (kIsTask | kCancelInBody)) == kIsTask && take_cancel(p)) throw_cancelled(p);
    }
  };
  InitialAwaiter initial_suspend() noexcept { return {this}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  void rethrow_if_error() const {
    if (error_) std::rethrow_exception(error_);
  }
};

inline void start_new_task(PromiseBase* p, std::uint8_t flags, WaitNode* first) noexcept {
  p->flags_ |= static_cast<std::uint8_t>(kIsTask | flags);
  ::new (&p->state_) std::atomic<std::uint64_t>(kScheduled | kRunning | 2 * kRefOne);
  ::new (&p->waiters_) WaitList(first);  // first may be null: an empty list
}
inline void init_new_task(PromiseBase* p, std::coroutine_handle<> h) noexcept {
  p->resume_ = h;
  start_new_task(p, 0);
}

template <class P>
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
    P& p = h.promise();
    p.flags_ |= kFinished;
    // Whoever resumed it is still inside that call and takes the end over: the awaiter of an
    // inline Coro, or run_nested() for a task's nested first step.
    if (p.flags_ & kInlineSync) return std::noop_coroutine();
    if (p.flags_ & kIsTask) {
      p.resume_ = h;  // from now on the root frame: destroy_task frees it through resume_
      complete_task(&p);
      return std::noop_coroutine();
    }
    return p.continuation_;
  }
  void await_resume() const noexcept {}
};

template <class T>
struct Promise : PromiseBase {
  static_assert(!std::is_reference_v<T>, "Coro<T&> is not supported; return a pointer");
  union {
    T value_;
  };
  bool has_value_ = false;

  Promise() noexcept {}
  ~Promise() {
    if (has_value_) value_.~T();
  }
  Coro<T> get_return_object() noexcept;
  FinalAwaiter<Promise> final_suspend() noexcept { return {}; }
  template <class U = T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
    has_value_ = true;
  }
  /// The result, or the stored exception rethrown.
  T& result() {
    rethrow_if_error();
    return value_;
  }
};

template <>
struct Promise<void> : PromiseBase {
  Coro<void> get_return_object() noexcept;
  FinalAwaiter<Promise> final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void result() { rethrow_if_error(); }
};

}  // namespace detail

/// A lazy coroutine returning T (asyncio's `async def`). Nothing runs until it is awaited
/// (inline, without a switch) or handed to create_task(). Move-only; awaitable once.
template <class T>
class [[nodiscard]] Coro {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;

  Coro() noexcept = default;
  explicit Coro(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  Coro(Coro&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Coro& operator=(Coro&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Coro(const Coro&) = delete;
  Coro& operator=(const Coro&) = delete;
  ~Coro() { destroy(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// Whether it was awaited (or run as a task) already: it cannot be started again.
  bool started() const noexcept { return h_ && (h_.promise().flags_ & detail::kStarted) != 0; }

  class Awaiter {
   public:
    explicit Awaiter(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) noexcept {
      promise_type& p = h_.promise();
      p.continuation_ = parent;
      p.flags_ |= detail::kInlineSync;
      h_.resume();
      p.flags_ &= static_cast<std::uint8_t>(~detail::kInlineSync);
      return (p.flags_ & detail::kFinished) == 0;  // finished already: continue, no switch
    }
    /// By value, not T&&: the awaited Coro is often a temporary that dies at the end of the
    /// full-expression, e.g. in `for (auto v : co_await gather(...))`, where a reference
    /// into its frame would dangle.
    T await_resume() {
      if constexpr (std::is_void_v<T>) {
        h_.promise().result();
      } else {
        return std::move(h_.promise().result());
      }
    }

   private:
    std::coroutine_handle<promise_type> h_;
  };

  /// Runs the coroutine inline in the awaiting task. Throws InvalidStateError when the Coro
  /// is empty or was awaited before; otherwise what the coroutine throws.
  Awaiter operator co_await() && { return Awaiter(checked()); }
  Awaiter operator co_await() & { return Awaiter(checked()); }

  /// Gives up ownership of the frame (used by create_task).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

 private:
  template <class U>
  friend void detail::check_startable(const Coro<U>& c);

  std::coroutine_handle<promise_type> checked() const {
    if (!h_) throw InvalidStateError("corio: awaiting an empty Coro");
    if (h_.promise().flags_ & detail::kStarted) {
      throw InvalidStateError("corio: a Coro can be awaited only once");
    }
    return h_;
  }
  void destroy() noexcept {
    if (h_) {
      if ((h_.promise().flags_ & detail::kStarted) == 0) detail::report_never_awaited();
      h_.destroy();
      h_ = {};
    }
  }

  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
Coro<T> Promise<T>::get_return_object() noexcept {
  return Coro<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Coro<void> Promise<void>::get_return_object() noexcept {
  return Coro<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}

template <class T>
void check_startable(const Coro<T>& c) {
  if (t_current == nullptr)
    throw std::runtime_error("corio: create_task() needs a running event loop");
  if (!c.h_) throw InvalidStateError("corio: create_task() of an empty Coro");
  if (c.h_.promise().flags_ & kStarted) {
    throw InvalidStateError("corio: create_task() of a Coro that was already awaited");
  }
}
}  // namespace detail

}  // namespace corio
