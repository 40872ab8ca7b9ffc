// gather, gather_settled, wait_for, timeout, shield, wait, as_completed, TaskGroup,
// to_thread, run_coroutine_threadsafe. Included by <corio/task.hpp>.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <corio/detail/join.hpp>
#include <corio/detail/multi_wait.hpp>

namespace corio {

class Runtime;
template <class C>
class Gathering;

/// What a child of gather_settled ended with: a value or an exception.
template <class T>
class Outcome {
 public:
  explicit Outcome(T v) : v_(std::move(v)) {}
  explicit Outcome(std::exception_ptr e) : e_(std::move(e)) {}
  bool has_value() const noexcept { return !e_; }
  /// The value; rethrows the error when there is none.
  T& value() {
    if (e_) std::rethrow_exception(e_);
    return *v_;
  }
  const T& value() const {
    if (e_) std::rethrow_exception(e_);
    return *v_;
  }
  std::exception_ptr error() const noexcept { return e_; }

 private:
  std::optional<T> v_;
  std::exception_ptr e_;
};

namespace detail {

template <class T>
using result_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class A>
struct awaited;
template <class T>
struct awaited<Coro<T>> {
  using type = T;
  static constexpr bool owned = true;  // gather made the task: its result can be moved out
};
template <class T>
struct awaited<Task<T>> {
  using type = T;
  static constexpr bool owned = false;
};
template <class C>
struct awaited<Gathering<C>> {  // nested: it becomes a task, as a Coro
  using type = typename C::type;
  static constexpr bool owned = true;
};
template <class A>
concept TaskLike = requires {
  typename awaited<std::remove_cvref_t<A>>::type;
};

template <class A>
using awaited_t = typename awaited<A>::type;

/// The result of a done child: moved out when gather made the task, copied otherwise.
template <class T>
[[gnu::always_inline]] inline result_t<T> take_result(PromiseBase* p, bool owned) {
  mark_retrieved(p);
  if constexpr (std::is_void_v<T>) {
    p->rethrow_if_error();
    return {};
  } else {
    auto* pr = static_cast<Promise<T>*>(p);
    if constexpr (std::is_copy_constructible_v<T>) {
      if (!owned) return pr->result();
    }
    return std::move(pr->result());
  }
}
template <class T>
result_t<T> take_result(const Task<T>& t, bool owned) {
  return take_result<T>(t.header(), owned);
}

template <class T>
Outcome<result_t<T>> take_outcome(PromiseBase* p, bool owned) {
  mark_retrieved(p);
  if (std::exception_ptr e = p->error_) return Outcome<result_t<T>>(e);
  return Outcome<result_t<T>>(take_result<T>(p, owned));
}

/// What gather() throws for an argument before it starts anything: what create_task()
/// throws for a Coro, InvalidStateError for an empty Task or a gather that is not valid().
template <class T>
void check_joinable(const Coro<T>& c) {
  check_startable(c);
}
template <class T>
void check_joinable(const Task<T>& t) {
  check_not_empty(t, "gather");
}
template <class C>
void check_joinable(const Gathering<C>& g) {
  if (!g.valid()) throw InvalidStateError("corio: gather() of an empty or awaited gather");
}

/// Makes the awaitable child i of j: a Coro becomes a task (as create_task, the handle's
/// reference going to j), set up and scheduled by schedule_joined(); a Task is awaited as
/// it is.
template <class T>
void join_start(Join& j, std::size_t i, Coro<T>&& c) noexcept {
  auto h = c.release();
  j.adopt_new(i, &h.promise(), h);
}
template <class T>
void join_start(Join& j, std::size_t i, Task<T>&& t) noexcept {
  j.attach(i, t.header());
}

/// c, a combinator's body that owns work already started, made to take a cancel from before
/// its first step (as a task) at its first await and pass it on (kCancelInBody).
template <class T>
Coro<T> cancel_in_body(Coro<T> c) noexcept {
  auto h = c.release();
  h.promise().flags_ |= kCancelInBody;
  return Coro<T>(h);
}

/// The coroutine a Gathering converts to.
template <class C>
Coro<typename C::type> await_gathering(Gathering<C> g);

/// The Join of a std::vector or std::array of Tasks (or of Coros, below).
template <class T, class C>
JoinRef join_list(C& ts, bool settled) requires std::is_same_v<typename C::value_type, Task<T>> {
  for (const Task<T>& t : ts) check_joinable(t);
  JoinRef j(Join::make(ts.size(), settled));
  for (std::size_t i = 0; i < ts.size(); ++i) join_start(*j, i, std::move(ts[i]));
  return j;
}
template <class T, class C>
JoinRef join_list(C& cs, bool settled) requires std::is_same_v<typename C::value_type, Coro<T>> {
  for (const Coro<T>& c : cs) check_joinable(c);
  JoinRef j(Join::make(cs.size(), settled));
  for (std::size_t i = 0; i < cs.size(); ++i) join_start(*j, i, std::move(cs[i]));
  schedule_joined(*j);
  return j;
}

/// The arguments of a variadic gather as join_tuple() takes them: a nested gather as the Coro
/// that awaits it (which becomes a task), the rest as they are.
template <class A>
A&& joinable(A&& a) noexcept {
  return std::forward<A>(a);
}
template <class C>
Coro<typename C::type> joinable(Gathering<C>&& g) {
  check_joinable(g);
  return Coro<typename C::type>(std::move(g));
}

template <class... A>
JoinRef join_tuple(bool settled, A&&... as) {
  (check_joinable(as), ...);
  JoinRef j(Join::make(sizeof...(A), settled));
  std::size_t i = 0;
  (join_start(*j, i++, std::move(as)), ...);
  if constexpr ((awaited<std::remove_cvref_t<A>>::owned || ...)) {  // it made tasks of Coros
    schedule_joined(*j);                                            // in index order: asyncio's
  }
  return j;
}

/// Drops the second and later occurrences of a task, keeping the first ones in order (asyncio's
/// wait() and as_completed() take a set).
template <class T>
void drop_duplicates(std::vector<Task<T>>& ts) {
  std::vector<const void*> seen;
  seen.reserve(ts.size());
  for (const Task<T>& t : ts) seen.push_back(t.header());
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) == seen.end()) return;  // the usual case
  std::unordered_set<const void*> taken;
  std::vector<Task<T>> kept;
  for (Task<T>& t : ts) {
    if (taken.insert(t.header()).second) kept.push_back(std::move(t));
  }
  ts = std::move(kept);
}

template <class T>
std::unique_ptr<MultiWait::Node[]> nodes_for(const std::vector<Task<T>>& ts) {
  std::unique_ptr<MultiWait::Node[]> nodes(new MultiWait::Node[ts.size()]);
  for (std::size_t i = 0; i < ts.size(); ++i) nodes[i].task = ts[i].header();
  return nodes;
}

inline std::int64_t to_ns(auto d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

inline void rethrow_first_error(const Join& j) {
  if (std::size_t e = j.first_error(); e != Join::kNone) {
    mark_retrieved(j.child(e));
    std::rethrow_exception(j.child(e)->error_);
  }
}

/// What child p of a gather gives: its result (gather; rethrows its error) or its Outcome
/// (gather_settled).
template <class T, bool Settled>
using gathered_t = std::conditional_t<Settled, Outcome<result_t<T>>, result_t<T>>;
template <class T, bool Settled>
[[gnu::always_inline]] inline gathered_t<T, Settled> take_gathered(PromiseBase* p, bool owned) {
  if constexpr (Settled) {
    return take_outcome<T>(p, owned);
  } else {
    return take_result<T>(p, owned);
  }
}

// How a gather collects its children's results once its Join's wait ended, one policy per
// form (a list, a fixed array, the arguments) and kind (gather, gather_settled): the C of a
// Gathering<C>. Owned: gather made the tasks, so their results can be moved out.
template <class T, bool Settled, bool Owned>
struct CollectVector {
  using type = std::vector<gathered_t<T, Settled>>;
  static type collect(const Join& j) {
    if constexpr (!Settled) rethrow_first_error(j);
    type out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      out.push_back(take_gathered<T, Settled>(j.child(i), Owned));
    }
    return out;
  }
};

template <class T, std::size_t N, bool Settled, bool Owned>
struct CollectArray {
  using type = std::array<gathered_t<T, Settled>, N>;
  static type collect(const Join& j) {
    if constexpr (!Settled) rethrow_first_error(j);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return type{take_gathered<T, Settled>(j.child(I), Owned)...};
    }
    (std::make_index_sequence<N>{});
  }
};

template <bool Settled, class... A>
struct CollectTuple {
  using type = std::tuple<gathered_t<awaited_t<A>, Settled>...>;
  static type collect(const Join& j) {
    if constexpr (!Settled) rethrow_first_error(j);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return type(take_gathered<awaited_t<A>, Settled>(j.child(I), awaited<A>::owned)...);
    }
    (std::index_sequence_for<A...>{});
  }
};

template <class T>
Coro<T> wait_for_task(Task<T> t, std::int64_t ns) {
  MultiWait::Node node;
  node.task = t.header();
  MultiWait w(&node, 1, WaitMode::kAll, ns, OnTimeout::kCancel, true);
  co_await w;
  // asyncio: the task's own cancel stays CancelledError even when the deadline passed
  // while the cancelled child was cleaning up.
  if (w.timed_out() && t.cancelled() && !w.cancel_passed()) throw TimeoutError();
  if constexpr (std::is_void_v<T>) {
    t.result();
  } else {
    co_return take_result(t, true);
  }
}

template <class T>
Coro<T> await_future(Future<T> f) {
  co_return co_await f;
}

}  // namespace detail

/// What gather() and gather_settled() return: an awaitable for the children's results
/// (value_type). The children run from the gather() call on; awaiting it, once, waits for
/// them inside the awaiting task, with no coroutine of its own. Move-only. Dropped unawaited,
/// it lets the children run on; debug mode reports it, as it reports a Coro never awaited.
///
/// It is not a Coro, but converts to a Coro<value_type> that awaits it (one coroutine frame
/// more): create_task(), TaskGroup::create_task(), wait_for(), timeout(), shield(), the
/// variadic gather() and gather_settled(), Runtime::run() and spawn(), run() and
/// run_coroutine_threadsafe() take it as they take that Coro (a gather of Coros can only be
/// made inside a task; one of Tasks anywhere). Where a template deduces Coro<T> from its
/// argument, or in a list of gathers, name the Coro: `Coro(gather(...))`. As a task of its
/// own, a cancel that comes before its first step still cancels the children.
template <class C>
class [[nodiscard]] Gathering {
 public:
  using value_type = typename C::type;

  explicit Gathering(detail::JoinRef j) noexcept : j_(std::move(j)) {}
  Gathering(Gathering&&) noexcept = default;
  Gathering& operator=(Gathering&& o) noexcept {
    if (this != &o) {
      forget();
      j_ = std::move(o.j_);
      awaited_ = o.awaited_;
      report_ = o.report_;
    }
    return *this;
  }
  ~Gathering() { forget(); }
  Gathering(const Gathering&) = delete;
  Gathering& operator=(const Gathering&) = delete;

  /// Whether it can still be awaited (neither moved from nor awaited).
  bool valid() const noexcept { return j_.get() != nullptr && !awaited_; }

  class Awaiter {
   public:
    explicit Awaiter(detail::Join* j) noexcept : j_(j) {}
    bool await_ready() const noexcept { return j_->await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return j_->await_suspend(h); }
    /// By value: the Gathering is often a temporary that dies at the end of the
    /// full-expression, e.g. in `for (auto v : co_await gather(...))`.
    value_type await_resume() const {
      j_->await_resume();
      return C::collect(*j_);
    }

   private:
    detail::Join* j_;
  };

  /// Waits for the children. Throws InvalidStateError when it is not valid(); then
  /// gather's first error (in time), or CancelledError when the awaiting task was cancelled
  /// (see gather()); std::bad_alloc.
  Awaiter operator co_await() && { return Awaiter(take("awaiting")); }
  Awaiter operator co_await() & { return Awaiter(take("awaiting")); }

  /// A coroutine that awaits it. Throws InvalidStateError when it is not valid();
  /// std::bad_alloc.
  operator Coro<value_type>() && {
    check("converting");
    report_ = false;  // the Coro reports itself if it is never awaited
    return detail::cancel_in_body(detail::await_gathering(std::move(*this)));
  }

 private:
  void forget() noexcept {
    if (j_.get() != nullptr && !awaited_ && report_) detail::report_never_awaited("a gather");
  }
  void check(const char* what) const {
    if (j_.get() == nullptr) {
      throw InvalidStateError(std::string("corio: ") + what + " an empty gather");
    }
    if (awaited_) {
      throw InvalidStateError(std::string("corio: ") + what + " a gather that was awaited");
    }
  }
  detail::Join* take(const char* what) {
    check(what);
    awaited_ = true;
    return j_.get();
  }

  detail::JoinRef j_;
  bool awaited_ = false;
  bool report_ = true;  // debug mode: report it if it goes unawaited
};
template <class C>
Coro(Gathering<C>) -> Coro<typename C::type>;

namespace detail {
template <class C>
Coro<typename C::type> await_gathering(Gathering<C> g) {
  co_return co_await std::move(g);
}
}  // namespace detail

/// Runs the awaitables concurrently and returns their results in argument order (asyncio
/// gather). Each Coro becomes a task at once, as does a nested gather; Tasks are awaited as
/// they are. In multi-thread
/// mode the awaiting task first runs the first steps of the children that no worker has
/// taken yet inside its own step (they are tasks all the same: current_task(), all_tasks()
/// and cancel() see them); single-thread mode runs them from the loop, in FIFO order after
/// what was ready before, as asyncio does. A void result
/// becomes std::monostate. The first exception (in time) is rethrown at once; the other
/// tasks keep running. Cancelling the awaiting task cancels every child and raises
/// CancelledError once they are done (or the first error, if one raised first); as a task of
/// its own (create_task(gather(...)), asyncio's gathering future) this holds even when the
/// cancel comes before its first step. Returns a Gathering (see there). Throws,
/// before starting anything, what create_task() throws for a Coro (outside a task, an empty
/// or started Coro), InvalidStateError for an empty Task or a gather that is not valid();
/// std::bad_alloc.
template <class... A>
requires(sizeof...(A) > 0 && (detail::TaskLike<A> &&
                              ...)) Gathering<detail::CollectTuple<false, A...>> gather(A... aws) {
  return Gathering<detail::CollectTuple<false, A...>>(
      detail::join_tuple(false, detail::joinable(std::move(aws))...));
}

/// gather over a list of Coros; results in list order. An empty list gives an empty result.
/// Throws as the variadic form.
template <class T>
Gathering<detail::CollectVector<T, false, true>> gather(std::vector<Coro<T>> cs) {
  return Gathering<detail::CollectVector<T, false, true>>(detail::join_list<T>(cs, false));
}
/// gather over a list of Tasks; results are copied (the tasks keep theirs).
template <class T>
Gathering<detail::CollectVector<T, false, false>> gather(std::vector<Task<T>> ts) {
  return Gathering<detail::CollectVector<T, false, false>>(detail::join_list<T>(ts, false));
}
/// gather over a fixed number of Coros (a fan-out known at compile time): as the vector
/// form, with the results in a std::array, so that neither list costs an allocation. Takes
/// the Coros out of `cs` (by reference: no copy of the array; `cs` keeps them if it throws).
/// Build the array in a variable: g++ 12 destroys a braced temporary written inside a
/// co_await expression (`co_await gather(std::array<Task<int>, 2>{a, b})`) twice.
template <class T, std::size_t N>
Gathering<detail::CollectArray<T, N, false, true>> gather(std::array<Coro<T>, N>&& cs) {
  return Gathering<detail::CollectArray<T, N, false, true>>(detail::join_list<T>(cs, false));
}
/// gather over a fixed number of Tasks; results are copied (the tasks keep theirs).
template <class T, std::size_t N>
Gathering<detail::CollectArray<T, N, false, false>> gather(std::array<Task<T>, N> ts) {
  return Gathering<detail::CollectArray<T, N, false, false>>(detail::join_list<T>(ts, false));
}

/// gather(..., return_exceptions=True): waits for every child; each gives an Outcome.
/// Cancelling the awaiting task cancels every child and raises CancelledError once they are
/// done. Throws as gather(). Also over a std::vector or a std::array of Coros or of Tasks.
template <class... A>
requires(sizeof...(A) > 0 &&
         (detail::TaskLike<A> &&
          ...)) Gathering<detail::CollectTuple<true, A...>> gather_settled(A... aws) {
  return Gathering<detail::CollectTuple<true, A...>>(
      detail::join_tuple(true, detail::joinable(std::move(aws))...));
}
template <class T>
Gathering<detail::CollectVector<T, true, true>> gather_settled(std::vector<Coro<T>> cs) {
  return Gathering<detail::CollectVector<T, true, true>>(detail::join_list<T>(cs, true));
}
template <class T>
Gathering<detail::CollectVector<T, true, false>> gather_settled(std::vector<Task<T>> ts) {
  return Gathering<detail::CollectVector<T, true, false>>(detail::join_list<T>(ts, true));
}
template <class T, std::size_t N>
Gathering<detail::CollectArray<T, N, true, true>> gather_settled(std::array<Coro<T>, N>&& cs) {
  return Gathering<detail::CollectArray<T, N, true, true>>(detail::join_list<T>(cs, true));
}
template <class T, std::size_t N>
Gathering<detail::CollectArray<T, N, true, false>> gather_settled(std::array<Task<T>, N> ts) {
  return Gathering<detail::CollectArray<T, N, true, false>>(detail::join_list<T>(ts, true));
}

/// create_task() of a gather: the task awaits it (see Gathering).
template <class C>
Task<typename C::type> create_task(Gathering<C> g, std::string name = {}) {
  return create_task(Coro<typename C::type>(std::move(g)), std::move(name));
}

/// asyncio.wait_for: waits for aw at most `d`. On expiry cancels it, waits for it to
/// finish, and throws TimeoutError (unless it swallowed the cancel and returned a value,
/// which is then returned). Cancelling the awaiting task cancels aw. Resumes on the worker
/// that started the wait. Throws InvalidStateError for an empty Task.
template <class T, class Rep, class Period>
Coro<T> wait_for(Task<T> t, std::chrono::duration<Rep, Period> d) {
  detail::check_not_empty(t, "wait_for");
  return detail::wait_for_task(std::move(t), detail::to_ns(d));
}
/// The Coro runs as a task from this call on: a task made of this wait_for that is cancelled
/// before its first step cancels it (asyncio would never have started it).
template <class T, class Rep, class Period>
Coro<T> wait_for(Coro<T> c, std::chrono::duration<Rep, Period> d) {
  return detail::cancel_in_body(detail::wait_for_task(create_task(std::move(c)), detail::to_ns(d)));
}
/// On expiry the future is cancelled; so it is when the awaiting task is cancelled, even
/// before this wait_for's first step (the task that awaits the future then takes the cancel
/// at its await of it, on whichever worker it first runs).
template <class T, class Rep, class Period>
Coro<T> wait_for(Future<T> f, std::chrono::duration<Rep, Period> d) {
  return detail::cancel_in_body(detail::wait_for_task(
      create_task(detail::cancel_in_body(detail::await_future(std::move(f)))), detail::to_ns(d)));
}
template <class C, class Rep, class Period>
Coro<typename C::type> wait_for(Gathering<C> g, std::chrono::duration<Rep, Period> d) {
  return wait_for(Coro<typename C::type>(std::move(g)), d);
}
/// asyncio.timeout, as an expression: the same as wait_for(aw, d).
template <class A, class Rep, class Period>
auto timeout(std::chrono::duration<Rep, Period> d, A aw) {
  return wait_for(std::move(aw), d);
}

/// asyncio.shield: awaiting it waits for the task, but cancelling the awaiting task only
/// ends this wait (CancelledError here); the task itself runs on.
template <class T>
class [[nodiscard]] ShieldAwaiter final : public detail::ListWaiter {
 public:
  explicit ShieldAwaiter(Task<T> t) noexcept : t_(std::move(t)) {}
  bool await_ready() const noexcept { return t_.done(); }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    if (!arm(t_.header()->waiters_, h)) detail::yield_current(h);
  }
  decltype(auto) await_resume() const {
    check_cancel();
    if constexpr (std::is_void_v<T>) {
      t_.result();
    } else {
      return detail::take_result(t_, false);
    }
  }
  void cancel(detail::TaskHeader* task) noexcept override {
    if (t_.header()->waiters_.remove(this)) detail::wake(task, owner);
    cancelled_ = true;
  }

 private:
  Task<T> t_;
};
/// Throws InvalidStateError for an empty Task.
template <class T>
ShieldAwaiter<T> shield(Task<T> t) {
  detail::check_not_empty(t, "shield");
  return ShieldAwaiter<T>(std::move(t));
}
template <class T>
ShieldAwaiter<T> shield(Coro<T> c) {
  return ShieldAwaiter<T>(create_task(std::move(c)));
}
template <class C>
ShieldAwaiter<typename C::type> shield(Gathering<C> g) {
  return ShieldAwaiter<typename C::type>(create_task(std::move(g)));
}

enum class ReturnWhen { FirstCompleted, FirstException, AllCompleted };

template <class T>
struct WaitResult {
  std::vector<Task<T>> done;
  std::vector<Task<T>> pending;
};

/// asyncio.wait: waits until return_when holds or the timeout passes, and splits the tasks
/// into done and pending, each in list order; a task listed twice counts once (asyncio takes
/// a set). Never cancels them, never throws their exceptions. Throws
/// std::invalid_argument for an empty list, InvalidStateError for an empty Task in it.
template <class T, class Rep = std::int64_t, class Period = std::nano>
Coro<WaitResult<T>> wait(std::vector<Task<T>> ts, ReturnWhen when = ReturnWhen::AllCompleted,
                         std::optional<std::chrono::duration<Rep, Period>> timeout = {}) {
  if (ts.empty()) throw std::invalid_argument("corio: wait() of an empty list of tasks");
  for (const Task<T>& t : ts) detail::check_not_empty(t, "wait");
  detail::drop_duplicates(ts);
  auto nodes = detail::nodes_for(ts);
  detail::WaitMode mode = when == ReturnWhen::FirstCompleted   ? detail::WaitMode::kFirst
                          : when == ReturnWhen::FirstException ? detail::WaitMode::kFirstException
                                                               : detail::WaitMode::kAll;
  std::optional<std::int64_t> ns;
  if (timeout) ns = detail::to_ns(*timeout);
  detail::MultiWait w(nodes.get(), ts.size(), mode, ns, detail::OnTimeout::kWake, false);
  co_await w;
  WaitResult<T> r;
  for (auto& t : ts) (t.done() ? r.done : r.pending).push_back(std::move(t));
  co_return r;
}

namespace detail {
class AsCompletedAwaiter;
// Invariants (under mu): claims counts the next() calls that hold or wait for a task, at
// most tasks.size(). A finished task's index goes to the oldest parked next() (its got_) or,
// with none parked, to ready[next_ready..]; so ready has live items only while nobody waits.
struct AsCompletedState {
  struct Node : WaitNode {
    AsCompletedState* st;
    std::size_t index;
  };
  std::mutex mu;
  std::vector<std::size_t> ready;  // completion order; [0, next_ready) handed out already
  std::size_t next_ready = 0;
  std::size_t claims = 0;
  std::vector<AsCompletedAwaiter*> waiters;  // parked next() calls, oldest first
  std::unique_ptr<Node[]> nodes;
  std::vector<PromiseBase*> tasks;
};
void as_completed_arm(AsCompletedState& s);
void as_completed_detach(AsCompletedState& s) noexcept;

class AsCompletedAwaiter final : public Park {
 public:
  explicit AsCompletedAwaiter(AsCompletedState& s) noexcept : s_(s) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept;
  std::size_t await_resume();
  void cancel(TaskHeader* t) noexcept override;
  /// Hands the task that finished (its index) to the oldest parked call, waking it, or
  /// queues it when none is parked.
  static void deliver(AsCompletedState& s, std::size_t index) noexcept;

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};
  /// A cancelled call gives up its claim, and its task if it was handed one.
  void give_back() noexcept;

  AsCompletedState& s_;
  TaskHeader* task_ = nullptr;
  std::size_t got_ = kNone;  // the task's index (under s_.mu until the call resumes)
  bool cancelled_ = false;
};
}  // namespace detail

/// asyncio.as_completed: `co_await it.next()` gives the next task to finish, in completion
/// order, `size()` times (a task listed twice counts once, as asyncio takes a set). next() throws
/// std::out_of_range past the end. Cancelling a task waiting in next() ends that wait only (no task
/// is lost: it comes with the next call). Several tasks may wait in next() at once. The constructor
/// throws InvalidStateError for an empty Task in the list.
template <class T>
class AsCompleted {
 public:
  explicit AsCompleted(std::vector<Task<T>> ts)
      : ts_(std::move(ts)), s_(std::make_unique<detail::AsCompletedState>()) {
    for (const Task<T>& t : ts_) detail::check_not_empty(t, "as_completed");
    detail::drop_duplicates(ts_);
    for (auto& t : ts_) s_->tasks.push_back(t.header());
    detail::as_completed_arm(*s_);
  }
  AsCompleted(AsCompleted&&) noexcept = default;
  ~AsCompleted() {
    if (s_) detail::as_completed_detach(*s_);
  }
  std::size_t size() const noexcept { return ts_.size(); }

  [[nodiscard]] Coro<Task<T>> next() {
    std::size_t i = co_await detail::AsCompletedAwaiter(*s_);
    co_return ts_[i];
  }

 private:
  std::vector<Task<T>> ts_;
  std::unique_ptr<detail::AsCompletedState> s_;
};
template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> ts) {
  return AsCompleted<T>(std::move(ts));
}

namespace detail {
class TaskGroupState;
std::shared_ptr<TaskGroupState> make_task_group();
void task_group_add(const std::shared_ptr<TaskGroupState>& s, Task<void> t);
void task_group_check_open(const TaskGroupState& s);
Coro<void> task_group_wait(std::shared_ptr<TaskGroupState> s);
void task_group_abandon(TaskGroupState& s) noexcept;
}  // namespace detail

/// asyncio.TaskGroup: tasks created through it are awaited together by wait(). The first
/// child that raises (anything but CancelledError) cancels the others; wait() then throws
/// ExceptionGroup holding the real errors. Cancelling the task in wait() cancels the
/// children, waits for them, and rethrows CancelledError. Destroying a group whose tasks
/// still run cancels them (it cannot wait): always co_await wait(). Unlike asyncio's, a
/// failing child does not cancel the task that owns the group: without `async with`, that
/// CancelledError would unwind past wait() and the group's errors would be lost.
class TaskGroup {
 public:
  TaskGroup() : s_(detail::make_task_group()) {}
  ~TaskGroup() {
    if (s_) detail::task_group_abandon(*s_);
  }
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  /// Starts c as a task of this group. Throws std::runtime_error once wait() finished or the
  /// group is aborting, and what create_task() throws.
  template <class T>
  Task<T> create_task(Coro<T> c, std::string name = {}) {
    detail::task_group_check_open(*s_);
    Task<T> t = corio::create_task(std::move(c), std::move(name));
    detail::task_group_add(s_, t);
    return t;
  }
  template <class C>
  Task<typename C::type> create_task(Gathering<C> g, std::string name = {}) {
    return create_task(Coro<typename C::type>(std::move(g)), std::move(name));
  }
  /// Waits for every task of the group (including ones created meanwhile). Throws
  /// ExceptionGroup (the children's errors), CancelledError (the waiting task was
  /// cancelled), InvalidStateError when another task is already waiting on the group.
  [[nodiscard]] Coro<void> wait() { return detail::task_group_wait(s_); }

 private:
  std::shared_ptr<detail::TaskGroupState> s_;
};

namespace detail {
/// Runs job on the runtime's blocking pool; virtual time waits for it. Throws
/// std::runtime_error outside a worker.
void submit_blocking(std::function<void()> job);
}  // namespace detail

/// asyncio.to_thread: runs f(args...) on the blocking pool and returns its result.
/// Cancelling the awaiting task stops the wait (CancelledError); the call itself runs to its
/// end. Call from a task.
template <class F, class... Args>
auto to_thread(F f, Args... args) -> Coro<std::invoke_result_t<F&, Args&...>> {
  using R = std::invoke_result_t<F&, Args&...>;
  Future<R> fut;
  detail::submit_blocking([fut, f = std::move(f), ... args = std::move(args)]() mutable {
    // The call first, then the future: an InvalidStateError from setting it means the
    // awaiting task was cancelled (and the future with it), one from f is f's result.
    std::exception_ptr error;
    std::optional<detail::result_t<R>> value;
    try {
      if constexpr (std::is_void_v<R>) {
        f(args...);
      } else {
        value.emplace(f(args...));
      }
    } catch (...) {
      error = std::current_exception();
    }
    try {
      if (error) {
        fut.set_exception(error);
      } else if constexpr (std::is_void_v<R>) {
        fut.set_result();
      } else {
        fut.set_result(std::move(*value));
      }
    } catch (const InvalidStateError&) {
      // Cancelled meanwhile: nobody wants the result.
    } catch (...) {
      // Storing the value threw (its move): that is the result (and it cannot escape into
      // the blocking pool).
      try {
        fut.set_exception(std::current_exception());
      } catch (...) {
        // Cancelled meanwhile.
      }
    }
  });
  co_return co_await fut;
}

/// asyncio.run_coroutine_threadsafe: starts c on rt from a thread outside it and returns a
/// std::future for its result. Throws std::runtime_error when called from one of rt's
/// workers (blocking on the future there could deadlock) or after rt shut down.
template <class T>
std::future<T> run_coroutine_threadsafe(Coro<T> c, Runtime& rt);

}  // namespace corio
