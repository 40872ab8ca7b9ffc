// TaskHeader: the scheduler's view of a task, embedded at the start of every coroutine promise.
//
// Invariants
//   A task is in at most one run queue (kScheduled) and is run by at most one worker at a
//   time (kRunning): whoever sets kScheduled pushes it, whoever pops it sets kRunning. A new
//   task is born kScheduled | kRunning: the queue hands it to one worker, which runs its
//   first step without claiming it and clears both bits when the step ends. That worker may
//   be running another task's step: a gatherer runs its children's first steps nested in its
//   own (run_nested), with t_current set to the child meanwhile. A task that
//   yields goes back to a queue still holding them (kYielded): its next run resumes it
//   without a claim, as a first run does, and wake and cancel never queue it meanwhile.
//   While suspended the task waits in exactly one Park; the event that completes the park
//   calls wake() once, which sets kWoken. Only a run that observes kWoken (or kYielded)
//   resumes the coroutine, so spurious runs (for cancellation) never resume it twice.
//   Fields without atomics (resume_, park_, flags_) belong to whoever holds kRunning.
//   Whoever adds a node to waiters_ holds a reference to the task until the node fired or
//   was removed; a gather's Join, which holds the reference a Task handle would, attaches
//   its node before the task is published and never removes it (complete_task relies on
//   both to close the list without a locked instruction).
//
// Memory ordering
//   wake()/cancel() publish with a release CAS on state_; the runner takes the task with an
//   acquire CAS, so it sees what the waker wrote into the park before waking.
//
// Lifetime
//   state_ counts references above kRefShift: one for the scheduler until the task is
//   complete, one per Task<T> handle. The frame is destroyed when the count reaches zero.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include <corio/detail/frame_cache.hpp>
#include <corio/detail/wait_list.hpp>

namespace corio::detail {

/// Anything a worker can run: a task or a queued callback. A one-byte tag rather than a
/// function pointer, so that it shares a word with the task's small fields.
struct Runnable {
  enum class Kind : std::uint8_t { kTask, kCallback };
  Kind kind = Kind::kTask;
};

struct TaskHeader;

/// The awaiter a suspended task waits in. Its completion calls wake(task).
class Park {
 public:
  /// The runner has already consumed the task's cancel request (kCancelReq) when it calls
  /// this, so a park that finds it was completed meanwhile must itself remember the cancel
  /// (and throw CancelledError from await_resume, handing on what it was given) — doing
  /// nothing would lose it.
  /// Asked to give up the wait because the task was cancelled. Called by the task's runner,
  /// on worker `owner` when that is not -1, never concurrently with a resume of the task.
  /// If it ends the wait it calls wake(task) and makes await_resume throw CancelledError;
  /// otherwise the wait still ends by itself (a task awaiting another passes the cancel on).
  virtual void cancel(TaskHeader* task) noexcept = 0;

  /// The worker whose thread alone may touch the resource waited on (-1: any). Cancel is
  /// delivered there, and the task resumes there.
  int owner = -1;

 protected:
  ~Park() = default;
};

// state_ bits.
inline constexpr std::uint64_t kScheduled = 1u << 0;  // in a run queue, or being pushed there
inline constexpr std::uint64_t kRunning = 1u << 1;    // a worker runs it now
inline constexpr std::uint64_t kWoken = 1u << 2;      // its park completed: resume it
inline constexpr std::uint64_t kCancelReq = 1u << 3;  // cancel() asked; not yet delivered
inline constexpr std::uint64_t kComplete = 1u << 4;   // finished and the scheduler let go
inline constexpr std::uint64_t kFlagMask = (1u << 8) - 1;
inline constexpr int kRefShift = 8;
inline constexpr std::uint64_t kRefOne = std::uint64_t{1} << kRefShift;

// flags_ bits (runner-owned).
inline constexpr std::uint8_t kIsTask = 1u << 0;    // a scheduled root, not an inline Coro
inline constexpr std::uint8_t kStarted = 1u << 1;   // the coroutine body has begun
inline constexpr std::uint8_t kFinished = 1u << 2;  // reached final_suspend
inline constexpr std::uint8_t kJoined = 1u << 3;    // a gather's Join holds the handle
// A cancel from before the first step goes to the body's first await instead of skipping the
// body: gather() and wait_for() of a Coro, whose body must pass it on to the work they
// already started (asyncio cancels a gather's children).
inline constexpr std::uint8_t kCancelInBody = 1u << 4;
// It yielded and waits in a run queue still claimed (kRunning held): its next run resumes it
// without a CAS. Set and cleared by the runner; the queue hands it over.
inline constexpr std::uint8_t kYielded = 1u << 6;
inline constexpr std::uint8_t kIsMain = 1u << 7;  // the main task of a Runtime::run

// outcome_flags_ bits (any thread).
inline constexpr std::uint8_t kResultCancelled = 1u << 3;  // finished with CancelledError
inline constexpr std::uint8_t kRetrieved = 1u << 4;        // someone looked at the outcome (debug)
inline constexpr std::uint8_t kDebugTask = 1u << 6;        // runs on a debug-mode runtime

struct TaskExtra;
class Shared;

// Every coroutine frame carries one, but most frames never become tasks (inline Coros), and
// fork-join code makes millions of frames: fields that every task gets written when it
// becomes one, or before they are first read, are left unset by the constructor (in
// anonymous unions when their type would initialize them: state_, resume_, waiters_; and
// park_, rt_), so that a frame's set-up does not write them twice. start_new_task, the one
// way a frame becomes a task, constructs state_ and waiters_; resume_ is assigned before
// it. (The ASan build checks the pointers among them: its frames come from operator new,
// which ASan fills with 0xbe, so following one before its write crashes.)
struct TaskHeader : Runnable {
  // The small fields first: they fill the word that starts with Runnable's tag.
  std::uint8_t flags_ = 0;
  std::uint16_t shard_ = 0;
  std::uint32_t id_ = 0;
  TaskHeader() noexcept {}  // leaves the fields in unions unset (see above)
  union {
    std::atomic<std::uint64_t> state_;  // constructed by start_new_task
  };
  union {
    // The innermost suspended coroutine of this task; once it finished, its root frame
    // (which is what is destroyed at refcount zero). Set before start_new_task.
    std::coroutine_handle<> resume_;
  };
  union {
    // While alive: where the task waits (runner-owned). Written before every step (run_task,
    // run_nested) and by every suspension (park_current, yield_current).
    Park* park_;
    TaskHeader* defer_next_;  // once complete: the registry's deferred-removal link
  };
  union {
    WaitList waiters_;  // fired when the task is done; constructed by start_new_task
  };
  std::atomic<TaskExtra*> extra_{nullptr};  // name, cancel message, created lazily
  Shared* rt_;  // the runtime the task runs on: set as it is scheduled (schedule_new, ...)
  std::uint32_t reg_index_ = 0;  // registry slot (or group mark), under the shard's lock
  std::atomic<std::uint8_t> outcome_flags_{0};  // kResultCancelled / kRetrieved, any thread
};

// Scheduler entry points, defined in runtime/. All are safe from any thread unless noted.

/// Runs what a worker popped from a queue (a task step or a callback).
void run_runnable(Runnable* r) noexcept;

/// The park of the task completed: mark it woken and schedule it if idle. `owner` is the
/// park's owner: a park bound to a worker (a timer, a ring op) resumes on that worker, so its
/// await_resume may touch the worker's timers and ring.
void wake(TaskHeader* t, int owner = -1) noexcept;
/// How a child's first step run by run_nested() ended.
enum class NestedEnd : std::uint8_t {
  kQuiet,      // returned a value while only its Join held it: complete, its node not fired
  kFinished,   // finished otherwise: completed as any task, its node fired
  kYielded,    // yielded: queued, still claimed (the worker wants its queues looked at)
  kSuspended,  // parked: its first step ended as run_task ends one
};
/// Runs the first step of t, a gather's child that the calling worker just took back from its
/// spawn deque (so still born claimed), inside the running task's step.
NestedEnd run_nested(TaskHeader* t) noexcept;
/// Schedules a new task (first run). From a worker: its local queue; else the inject queue.
void schedule_new(TaskHeader* t);
/// Requests cancellation; false if the task was already done.
bool cancel_task(TaskHeader* t, const char* msg) noexcept;
/// Drops one reference; destroys the frame at zero.
void release_task(TaskHeader* t) noexcept;
inline void retain_task(TaskHeader* t) noexcept {
  t->state_.fetch_add(kRefOne, std::memory_order_relaxed);
}
/// Consumes a pending cancellation of t if any (called by awaiters in await_resume).
inline bool take_cancel(TaskHeader* t) noexcept {
  if ((t->state_.load(std::memory_order_relaxed) & kCancelReq) == 0) return false;
  return (t->state_.fetch_and(~kCancelReq, std::memory_order_acq_rel) & kCancelReq) != 0;
}
/// Throws CancelledError (with the task's cancel message) — out of line to keep awaiters small.
[[noreturn]] void throw_cancelled(TaskHeader* t);
/// Reports a debug-mode warning for `what` (a Coro, a gather) destroyed without being awaited.
void report_never_awaited(const char* what = "a Coro") noexcept;

/// The task the calling worker runs now, or nullptr outside a task.
extern constinit thread_local TaskHeader* t_current;

/// Marks `t` as parked in `p`, suspended at `h`. Call from await_suspend.
inline void park_current(Park* p, std::coroutine_handle<> h) noexcept {
  TaskHeader* t = t_current;
  t->park_ = p;
  t->resume_ = h;
}

/// Checks on resume after a park: throws CancelledError if a cancel is pending.
inline void check_cancel_on_resume(TaskHeader* t) {
  if (take_cancel(t)) throw_cancelled(t);
}

/// The first await of a kCancelInBody task's body ended without suspending (what it waits for
/// was done already): throws CancelledError for a cancel that arrived before (or during) the
/// step, which no park could deliver.
inline void take_start_cancel() {
  TaskHeader* t = t_current;
  if (t != nullptr && (t->flags_ & kCancelInBody) != 0 && take_cancel(t)) throw_cancelled(t);
}

}  // namespace corio::detail
