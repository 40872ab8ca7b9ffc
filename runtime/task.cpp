// Task state machine: run, wake, cancel, complete, release. See task_header.hpp for the
// state word's invariants.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <corio/detail/cpu_relax.hpp>
#include <corio/detail/join.hpp>
#include <corio/task.hpp>
#include "runtime/shared.hpp"
#include "runtime/task_extra.hpp"
#include "runtime/worker.hpp"

namespace corio::detail {

constinit thread_local TaskHeader* t_current = nullptr;

namespace {

/// How the task that just ran ended its step, set by complete_task() for run_task().
enum class Finish : std::uint8_t {
  kNo,     // still alive: suspended, yielding
  kRun,    // finished: finish_run() drops the scheduler's reference
  kQuiet,  // finished with no reference but the scheduler's and its Join's: finish_quiet()
};
constinit thread_local Finish t_finish = Finish::kNo;

/// Puts a task that just became scheduled into a queue: the calling worker's when there is
/// one (LIFO slot when a running task woke it), else the runtime's inject queue.
void enqueue(TaskHeader* t, int owner) {
  Worker* w = t_worker;
  if (owner >= 0 &&
      (w == nullptr || static_cast<int>(w->index()) != owner || &w->shared() != t->rt_)) {
    t->rt_->workers[static_cast<std::size_t>(owner)]->post(t);
  } else if (w != nullptr && &w->shared() == t->rt_) {
    w->schedule_woken(t, t_current != nullptr);
  } else {
    t->rt_->push_inject(t);
  }
}

/// destroy_task() for a task with an exception or a TaskExtra: out of line, so that the
/// common case does not pay for this one's stack frame.
[[gnu::noinline]] void destroy_task_slow(TaskHeader* t) noexcept {
  auto* p = static_cast<PromiseBase*>(t);
  // Only the task's own flags: the last handle may be dropped after the runtime is gone.
  if (p->error_ && (t->outcome_flags_.load(std::memory_order_relaxed) &
                    (kDebugTask | kRetrieved | kResultCancelled)) == kDebugTask) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(p->error_);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "corio: Task exception was never retrieved: %s: %s\n",
                 task_name(t).c_str(), what.c_str());
  }
  delete t->extra_.load(std::memory_order_acquire);
  t->resume_.destroy();  // the root frame (set by final_suspend). Lifetime: t is gone
}

void destroy_task(TaskHeader* t) noexcept {
  if (static_cast<PromiseBase*>(t)->error_ || t->extra_.load(std::memory_order_acquire) != nullptr)
      [[unlikely]] {
    destroy_task_slow(t);
    return;
  }
  t->resume_.destroy();  // the root frame (set by final_suspend). Lifetime: t is gone
}

/// settle_outcome's rare part, out of the way of the common one.
[[gnu::cold, gnu::noinline]] void settle_outcome_slow(PromiseBase* p) noexcept {
  if (!p->error_ && take_cancel(p)) {
    try {
      throw_cancelled(p);
    } catch (...) {
      p->error_ = std::current_exception();
    }
  }
  if (p->error_) {
    try {
      std::rethrow_exception(p->error_);
    } catch (const CancelledError&) {
      p->outcome_flags_.fetch_or(kResultCancelled, std::memory_order_relaxed);
    } catch (...) {
    }
  }
}

/// Fixes how a finished task ended, just before its waiters are told. asyncio: a task asked
/// to cancel during the step in which it returned ends cancelled, as its cancel() promised (a
/// raised exception stays what it was). Called inside close() once the list is closing, with
/// a seq_cst load: a cancel_task() whose request this misses sees the list closing and takes
/// its request back (returns false), so cancel() returns true exactly when it counted.
inline void settle_outcome(PromiseBase* p) noexcept {
  if (p->error_ || (p->state_.load(std::memory_order_seq_cst) & kCancelReq) != 0) [[unlikely]] {
    settle_outcome_slow(p);
  }
}

/// The run that saw the coroutine reach final_suspend: drop the scheduler's reference
/// (complete_task fired the waiters and, on the task's own shard, unregistered it).
/// `claimed`: the state bits the run holds (kRunning, and kScheduled for a first run),
/// cleared by one fetch_add.
void finish_run(TaskHeader* t, std::uint64_t claimed) noexcept {
  // A gather's child has nothing to remove: its Join's entry covers it (closed: skipped).
  if (t->shard_ != t_worker->index() && (t->flags_ & kJoined) == 0) {
    // Registered on another worker: rather than take that worker's lock from here (its
    // cache line would bounce on every task), hand the removal to it. The scheduler's
    // reference goes with the task; the owner releases it once unlinked.
    t->state_.fetch_add(kComplete - claimed, std::memory_order_acq_rel);
    Shared& sh = *t->rt_;
    const std::uint16_t shard = t->shard_;
    // The owner may be parked: wake it, or the task (its frame, its arguments) lingers.
    if (sh.registry.defer_remove(t)) sh.wake_owner(shard);  // Lifetime: t may be gone
    return;
  }
  const std::uint64_t delta = kComplete - claimed - kRefOne;  // wraps: one fetch_add
  std::uint64_t prev = t->state_.fetch_add(delta, std::memory_order_acq_rel);
  if (((prev + delta) >> kRefShift) == 0) destroy_task(t);
}

/// The run that saw the coroutine finish when complete_task() found nobody but the scheduler
/// and the task's Join (if any) holding it: nobody can take a reference or edit its waiter
/// list any more, so the state is written with a store and the list closed without a locked
/// instruction (asyncio's done callbacks are the Join's node alone). A cancel racing in from
/// the Join (a CAS) is overwritten: the task is done.
void finish_quiet(TaskHeader* t) noexcept {
  settle_outcome(static_cast<PromiseBase*>(t));
  if ((t->flags_ & kJoined) == 0) {
    t->waiters_.close_quiet();
    destroy_task(t);
    return;
  }
  // The Join's reference stays; the store is published by the Join node's RMW on its count.
  // (No closing phase: a Join::cancel racing this end returns true and is overwritten, which
  // nobody sees — the gather ends in CancelledError either way.)
  t->state_.store(kComplete | kRefOne, std::memory_order_relaxed);
  // As if still inside the step (as close() in complete_task is): the waiting task this
  // wakes goes to the LIFO slot, so fork-join code stays depth-first.
  TaskHeader* const running = std::exchange(t_current, t);
  t->waiters_.close_quiet();  // Lifetime: t may be gone (the Join frees it)
  t_current = running;
}

/// Whether park p is bound to a worker other than w (only that one may touch what it waits
/// on, and the task resumes there).
bool owned_elsewhere(const Park* p, const Worker* w) noexcept {
  return p != nullptr && p->owner >= 0 && static_cast<std::uint32_t>(p->owner) != w->index();
}

/// Ends a run (kRunning held) leaving the task scheduled, with `keep` (kWoken: a wake to
/// resume it): the caller queues it, and no wake can push it elsewhere meanwhile.
void end_run_scheduled(TaskHeader* t, std::uint64_t keep) noexcept {
  std::uint64_t s = t->state_.load(std::memory_order_relaxed);
  while (!t->state_.compare_exchange_weak(s, (s & ~kRunning) | kScheduled | keep,
                                          std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
}

/// Ends a run by sending the task to its park's owner.
void hand_to_owner(TaskHeader* t, std::uint64_t keep) noexcept {
  const auto owner = static_cast<std::size_t>(t->park_->owner);
  end_run_scheduled(t, keep);
  t->rt_->workers[owner]->post(t);
}

/// Ends a run whose task was woken while running: back of the queue, so every other ready
/// task goes first. (A yield takes the cheaper way in run_task: it keeps its claim.)
void requeue(TaskHeader* t) noexcept {
  if (owned_elsewhere(t->park_, t_worker)) {
    hand_to_owner(t, kWoken);
    return;
  }
  end_run_scheduled(t, kWoken);
  t_worker->schedule_woken(t, false);
}

void resume(TaskHeader* t, Worker* w) noexcept {
  t->park_ = nullptr;
  t_current = t;
  const bool debug = t->rt_->opts.debug;
  std::int64_t start = debug ? t->rt_->real_now() : 0;
  t->resume_.resume();
  t_current = nullptr;
  if (debug) {
    std::int64_t took = t->rt_->real_now() - start;
    if (took > t->rt_->opts.slow_step.count()) {
      std::fprintf(stderr, "corio: Executing %s took %.3f seconds\n", task_name(t).c_str(),
                   static_cast<double>(took) / 1e9);
    }
  }
  (void)w;
}

}  // namespace

namespace {

/// complete_task's ordinary end: fix the outcome and fire the waiters; finish_run drops the
/// scheduler's reference (and, for a task of another shard, has the registry removal done).
[[gnu::noinline]] Finish close_and_finish(PromiseBase* p) noexcept {
  p->waiters_.close([p] { settle_outcome(p); });
  return Finish::kRun;
}

/// complete_task() for a task of the calling worker's shard.
[[gnu::always_inline]] inline Finish complete_on_shard(PromiseBase* p, Shared& sh) noexcept {
  // Nobody can add or remove a node or take a reference any more when the only references
  // left are the scheduler's and a gather's Join's (which never edits the list after
  // start_new and hands out no handle): every other node owner holds a reference while its
  // node is listed. The registry removal, done under the shard's lock while the count is read,
  // keeps all_tasks() from taking a new one. The quiet close waits for run_task: once the
  // Join's node fired the Join may free the frame, which must be suspended by then. Debug mode
  // keeps the ordinary path: its slow-step report reads the task after the step.
  const std::uint64_t quiet = (p->flags_ & kJoined) ? 2 : 1;
  if (sh.registry.remove(p) == quiet && !sh.opts.debug) [[likely]] {
    return Finish::kQuiet;
  }
  return close_and_finish(p);
}

[[gnu::noinline]] Finish complete_main_or_foreign(PromiseBase* p) noexcept;

/// Fixes how a finished task ends (the shard's registry removal or its deferral, and its
/// waiters): the common case, a task of the calling worker's shard that is not run()'s main
/// task, inline; the rest out of line. Says how the run that saw it finish must end.
[[gnu::always_inline]] inline Finish complete(PromiseBase* p, Worker* w) noexcept {
  if ((p->flags_ & kIsMain) != 0 || p->shard_ != w->index()) [[unlikely]] {
    return complete_main_or_foreign(p);
  }
  return complete_on_shard(p, w->shared());
}

Finish complete_main_or_foreign(PromiseBase* p) noexcept {
  // asyncio stops the loop when run()'s main task is done: in virtual time the clock must
  // not run on to other tasks' deadlines before shutdown cancels them. Set before the
  // waiters fire, so the thread in run() (which restarts the clock) comes after.
  if (p->flags_ & kIsMain) p->rt_->clock_paused.store(true, std::memory_order_release);
  if (p->shard_ != t_worker->index()) {
    return close_and_finish(p);  // finish_run defers the registry removal
  }
  return complete_on_shard(p, *p->rt_);
}

}  // namespace

namespace {

/// After a resume that did not finish the coroutine: a yield goes to the back of the queue
/// still claimed (true: the run is over).
[[gnu::always_inline]] inline bool requeue_if_yielded(TaskHeader* t, Worker* w) noexcept {
  if (!t_yield) return false;
  t_yield = false;
  // Back of the queue still claimed: a yield needs no wake, and keeping kRunning keeps
  // wake and cancel from queueing it a second time (a cancel is taken on resume).
  t->flags_ |= kYielded;
  w->schedule_woken(t, false);
  return true;
}

/// The rest of a run holding `claimed`: resume the task if woken, deliver a pending cancel
/// to its park, and end the run from the state as it is then.
[[gnu::always_inline]] inline void drive(TaskHeader* t, Worker* w, std::uint64_t claimed,
                                         bool woken, bool resumed) noexcept {
  std::uint64_t s;
  for (;;) {
    if (woken) {
      // A park bound to a worker (a timer's) is resumed there alone: its await_resume edits
      // that worker's heap. A wake may have left the task in a stealable queue (pushed out
      // of the LIFO slot by a second wake).
      if (owned_elsewhere(t->park_, w)) {
        hand_to_owner(t, kWoken);
        return;
      }
      resume(t, w);
      resumed = true;
      if (const Finish f = t_finish; f != Finish::kNo) {
        t_finish = Finish::kNo;
        if (f == Finish::kQuiet) {
          finish_quiet(t);  // Lifetime: t may be gone
        } else {
          finish_run(t, claimed);  // Lifetime: t may be gone
        }
        if (Join::has_deferred()) Join::free_deferred();
        return;
      }
      if (requeue_if_yielded(t, w)) return;
    } else if (t->park_ != nullptr) {
      s = t->state_.load(std::memory_order_acquire);
      if ((s & kCancelReq) && !(s & kWoken)) {
        Park* p = t->park_;
        if (owned_elsewhere(p, w)) {
          // Only the owning worker may touch what the park waits on.
          hand_to_owner(t, 0);
          return;
        }
        t->state_.fetch_and(~kCancelReq, std::memory_order_acq_rel);
        p->cancel(t);  // may wake t (sets kWoken: we hold kRunning)
      }
    }
    // Decide what comes next from the state as it is now.
    s = t->state_.load(std::memory_order_acquire);
    for (;;) {
      if (s & kWoken) {
        if (resumed) {
          requeue(t);
          return;
        }
        if (t->state_.compare_exchange_weak(s, s & ~kWoken, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
          woken = true;
          break;
        }
        continue;
      }
      if ((s & kCancelReq) && t->park_ != nullptr) {
        woken = false;
        break;
      }
      if (t->state_.compare_exchange_weak(s, s & ~claimed, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
        return;
      }
    }
  }
}

}  // namespace

/// A worker runs a task: resume it if its park completed, deliver a pending cancel to its
/// park otherwise. The caller popped it from a queue, so kScheduled is set.
void run_task(Runnable* r) noexcept {
  auto* t = static_cast<TaskHeader*>(r);
  std::uint64_t claimed = kRunning;
  bool woken;
  if ((t->flags_ & kStarted) == 0) {
    // First run: the task was born kScheduled | kRunning and the queue gave it to us alone,
    // so there is nothing to claim. kScheduled stays set until this step ends (wake and
    // cancel leave it to us meanwhile).
    claimed |= kScheduled;
    woken = true;
    t->park_ = nullptr;  // never parked (see TaskHeader)
  } else if ((t->flags_ & kYielded) != 0) {
    // It yielded: its last run queued it without letting go, so, as for a first run, there
    // is nothing to claim and nobody else queued it. Only this runner clears these bits.
    // kWoken cannot be set: a yield leaves no park, and only a park's completion wakes.
    t->flags_ &= static_cast<std::uint8_t>(~kYielded);
    claimed = t->state_.load(std::memory_order_relaxed) & (kScheduled | kRunning);
    woken = true;
  } else {
    std::uint64_t s = t->state_.load(std::memory_order_relaxed);
    while (!t->state_.compare_exchange_weak(s, (s & ~(kScheduled | kWoken)) | kRunning,
                                            std::memory_order_acquire, std::memory_order_relaxed)) {
    }
    woken = (s & kWoken) != 0;
  }
  drive(t, t_worker, claimed, woken, false);
}

NestedEnd run_nested(TaskHeader* t) noexcept {
  Worker* w = t_worker;
  TaskHeader* const gatherer = std::exchange(t_current, t);
  // Should the step end the task, FinalAwaiter leaves the end to us (kInlineSync): it is
  // done here, inline, rather than by a call from inside the coroutine. resume_ stays the
  // root frame, as destroy_task needs: a park rewrites it only as the task suspends, which
  // would have ended this resume.
  t->flags_ |= kInlineSync;
  t->park_ = nullptr;  // as before any step: a suspension that is not a park leaves it so
  t->resume_.resume();
  t_current = gatherer;
  constexpr std::uint64_t claimed = kScheduled | kRunning;  // a first run's
  if ((t->flags_ & kFinished) != 0) {
    auto* p = static_cast<PromiseBase*>(t);
    if (complete(p, w) == Finish::kQuiet) {
      // Nobody but the Join holds it and nobody can take a reference any more (see
      // complete_on_shard), so nobody can cancel it or wait for it: done, the node unfired.
      if (!p->error_ && (t->state_.load(std::memory_order_relaxed) & kCancelReq) == 0) {
        t->state_.store(kComplete | kRefOne, std::memory_order_relaxed);
        t->waiters_.close_unfired();
        return NestedEnd::kQuiet;
      }
      finish_quiet(t);  // settles the cancel or error, fires the node
    } else {
      finish_run(t, claimed);
    }
    return NestedEnd::kFinished;
  }
  t->flags_ &= static_cast<std::uint8_t>(~kInlineSync);  // it ends later, as any task
  if (requeue_if_yielded(t, w)) return NestedEnd::kYielded;
  drive(t, w, claimed, false, true);  // as run_task ends a first step that suspended
  return NestedEnd::kSuspended;
}

void wake(TaskHeader* t, int owner) noexcept {
  std::uint64_t s = t->state_.load(std::memory_order_relaxed);
  std::uint64_t ns;
  do {
    ns = s | kWoken;
    if ((s & (kScheduled | kRunning | kComplete)) == 0) ns |= kScheduled;
  } while (!t->state_.compare_exchange_weak(s, ns, std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
  if ((ns & kScheduled) && !(s & kScheduled)) enqueue(t, owner);
}

bool cancel_task(TaskHeader* t, const char* msg) noexcept {
  if (t == nullptr || t->waiters_.closed()) return false;
  if (msg != nullptr) {
    try {
      TaskExtra* x = task_extra(t);
      std::lock_guard g(x->mu);
      x->cancel_msg = msg;
    } catch (...) {
      // Out of memory for the message: cancel without it.
    }
  }
  std::uint64_t s = t->state_.load(std::memory_order_relaxed);
  std::uint64_t ns;
  do {
    if (s & kComplete) return false;
    ns = s | kCancelReq;
    if ((s & (kScheduled | kRunning)) == 0) ns |= kScheduled;
  } while (!t->state_.compare_exchange_weak(s, ns, std::memory_order_seq_cst,
                                            std::memory_order_relaxed));
  if ((ns & kScheduled) && !(s & kScheduled)) enqueue(t, -1);
  // The task may have returned since the first look. settle_outcome reads the state once the
  // list is closing; both that read and our look at the list are seq_cst, so if we do not see
  // the list closing, it will see our request: the task ends cancelled.
  if (!t->waiters_.closing()) return true;
  // Otherwise the outcome is being fixed: wait for it (a few loads and stores). A request
  // still pending then was seen by nobody — take it back, ours or a concurrent cancel's that
  // is about to find the same; if none is left, settle_outcome took one or the task ended
  // without: answer with the outcome, so that every cancel() agrees with it.
  while (!t->waiters_.closed()) cpu_relax();
  if ((t->state_.fetch_and(~kCancelReq, std::memory_order_acq_rel) & kCancelReq) != 0) {
    return false;
  }
  return (t->outcome_flags_.load(std::memory_order_relaxed) & kResultCancelled) != 0;
}

void release_task(TaskHeader* t) noexcept {
  // The last reference needs no RMW: a reference is only ever taken from another one (a
  // handle, the running task's scheduler reference, the registry's, which outlives its
  // entry), so when ours is the only one, nobody can take a new one.
  if ((t->state_.load(std::memory_order_acquire) >> kRefShift) == 1) {
    destroy_task(t);
    return;
  }
  std::uint64_t prev = t->state_.fetch_sub(kRefOne, std::memory_order_acq_rel);
  if ((prev >> kRefShift) == 1) destroy_task(t);
}

void complete_task(PromiseBase* p) noexcept {
  t_finish = complete(p, t_worker);
}

void throw_cancelled(TaskHeader* t) {
  if (TaskExtra* x = t->extra_.load(std::memory_order_acquire)) {
    std::lock_guard g(x->mu);
    if (!x->cancel_msg.empty()) throw CancelledError(x->cancel_msg);
  }
  throw CancelledError();
}

void init_task(PromiseBase* p, std::coroutine_handle<> h, std::string name) noexcept {
  init_new_task(p, h);
  if (!name.empty()) {
    try {
      set_task_name(p, std::move(name));
    } catch (...) {
    }
  }
}

void schedule_new(TaskHeader* t) {
  Worker* w = t_worker;
  if (w == nullptr) throw std::runtime_error("corio: create_task() needs a running event loop");
  Shared& sh = w->shared();
  t->rt_ = &sh;
  if (sh.opts.debug) t->outcome_flags_.store(kDebugTask, std::memory_order_relaxed);
  sh.registry.add(t, w->index());
  w->schedule_spawned(t);
}

void schedule_joined(Join& j) noexcept {
  if (j.size() == 0) return;
  Worker* w = t_worker;  // the caller runs a task (check_startable)
  Shared& sh = w->shared();
  const std::uint8_t debug = sh.opts.debug ? kDebugTask : 0;
  sh.registry.add_group(&j, w->index(), [&](std::size_t i) {
    j.start_new(i);
    TaskHeader* t = j.child(i);
    t->rt_ = &sh;
    if (debug) t->outcome_flags_.store(debug, std::memory_order_relaxed);
  });
  w->schedule_spawned_each(
      j.size(), [&j](std::size_t i) -> Runnable* { return j.created(i) ? j.child(i) : nullptr; });
}

void spawn_external(Shared* sh, TaskHeader* t) {
  sh->clock_paused.store(false, std::memory_order_release);
  t->rt_ = sh;
  if (sh->opts.debug) t->outcome_flags_.store(kDebugTask, std::memory_order_relaxed);
  sh->registry.add(t, 0);
  sh->push_inject(t);
}

bool budget_exhausted() noexcept {
  Worker* w = t_worker;
  return w != nullptr && w->budget_exhausted();
}

void yield_current(std::coroutine_handle<> h) noexcept {
  TaskHeader* t = t_current;
  t->resume_ = h;
  t->park_ = nullptr;
  t_yield = true;
}

void report_never_awaited(const char* what) noexcept {
  Shared* sh = current_shared();
  if (sh != nullptr && sh->opts.debug) {
    std::fprintf(stderr, "corio: %s was destroyed without ever being awaited\n", what);
  }
}

void FutureCore::claim(const char* what) {
  if (!try_claim()) {
    throw InvalidStateError(std::string("corio: Future::") + what + "(): already done");
  }
}

void FutureCore::cancel_with(const char* msg) noexcept {
  cancelled = true;
  try {
    error = std::make_exception_ptr(msg ? CancelledError(msg) : CancelledError());
  } catch (...) {
    error = std::current_exception();
  }
  finish();
}

}  // namespace corio::detail

namespace corio {

// Public API: defined outside detail so that corio::current_task() and corio::all_tasks()
// (declared in task.hpp) link.
Task<void> current_task() {
  detail::TaskHeader* t = detail::t_current;
  if (t == nullptr) return {};
  detail::retain_task(t);
  return Task<void>::adopt(static_cast<detail::PromiseBase*>(t));
}

std::vector<Task<void>> all_tasks() {
  detail::Shared* sh = detail::current_shared();
  if (sh == nullptr) throw std::runtime_error("corio: all_tasks() needs a running event loop");
  std::vector<Task<void>> out;
  for (detail::TaskHeader* t : sh->registry.snapshot_retained()) {
    out.push_back(Task<void>::adopt(static_cast<detail::PromiseBase*>(t)));
  }
  return out;
}

}  // namespace corio

namespace corio::detail {

void run_callback(Runnable* r) noexcept;  // loop.cpp

void run_runnable(Runnable* r) noexcept {
  if (r->kind == Runnable::Kind::kTask) {
    run_task(r);
  } else {
    run_callback(r);
  }
}

}  // namespace corio::detail
