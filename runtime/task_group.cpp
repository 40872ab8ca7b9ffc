// TaskGroup's shared state and as_completed's: callbacks on the children's WaitLists.
#include <algorithm>
#include <unordered_map>

#include <corio/task.hpp>
#include "runtime/spin_lock.hpp"

namespace corio::detail {

// Invariants
//   running counts children not yet done; children holds exactly those. waiter is the task
//   parked in wait(), woken once when running reaches zero. Everything is under mu.
class TaskGroupState {
 public:
  std::mutex mu;
  // By task: a long-lived group (a server's connections) removes children in any order.
  std::unordered_map<PromiseBase*, Task<void>> children;
  std::vector<std::exception_ptr> errors;
  std::size_t running = 0;
  bool aborting = false;
  bool finished = false;
  bool cancelled = false;  // the task in wait() was cancelled
  TaskHeader* waiter = nullptr;

  static void child_done(TaskGroupState& s, const Task<void>& task) noexcept;
  /// Cancels every running child (outside mu: cancel_task may take other locks).
  void cancel_all() noexcept {
    std::vector<Task<void>> snapshot;
    {
      std::lock_guard g(mu);
      aborting = true;
      snapshot.reserve(children.size());
      for (const auto& [p, t] : children) snapshot.push_back(t);
    }
    for (auto& c : snapshot) c.cancel();
  }
};

void TaskGroupState::child_done(TaskGroupState& s, const Task<void>& task) noexcept {
  PromiseBase* p = task.header();
  bool failed =
      p->error_ && (p->outcome_flags_.load(std::memory_order_relaxed) & kResultCancelled) == 0;
  bool start_abort = false;
  TaskHeader* to_wake = nullptr;
  {
    std::lock_guard g(s.mu);
    s.children.erase(p);
    if (failed) {
      mark_retrieved(p);
      s.errors.push_back(p->error_);
      start_abort = !s.aborting;
    }
    if (--s.running == 0 && s.waiter != nullptr) to_wake = std::exchange(s.waiter, nullptr);
  }
  if (start_abort) s.cancel_all();
  if (to_wake != nullptr) wake(to_wake);
}

std::shared_ptr<TaskGroupState> make_task_group() {
  return std::make_shared<TaskGroupState>();
}

void task_group_check_open(const TaskGroupState& s) {
  auto& st = const_cast<TaskGroupState&>(s);
  std::lock_guard g(st.mu);
  if (st.finished) throw std::runtime_error("corio: TaskGroup is finished");
  if (st.aborting) throw std::runtime_error("corio: TaskGroup is shutting down");
}

void task_group_add(const std::shared_ptr<TaskGroupState>& s, Task<void> t) {
  // create_task() looked at the group before starting t, and another worker may have
  // changed it since: t has started either way and must not run on unwaited.
  bool finished;
  bool aborting;
  {
    std::lock_guard g(s->mu);
    finished = s->finished;
    aborting = s->aborting;
    if (!finished) {
      s->children.emplace(t.header(), t);  // may throw bad_alloc: then nothing changed
      ++s->running;
    }
  }
  if (finished) {
    t.cancel();
    throw std::runtime_error("corio: TaskGroup is finished");
  }
  try {
    // A done callback, as asyncio's TaskGroup uses: it runs after the step that finished the
    // child, so siblings finishing in the same round report their own errors before the
    // group reacts to the first one.
    add_task_callback(t.header(), [s, t] { TaskGroupState::child_done(*s, t); });
  } catch (...) {
    {
      std::lock_guard g(s->mu);
      --s->running;
      s->children.erase(t.header());
    }
    t.cancel();
    throw;
  }
  // The group began aborting after create_task() looked: cancel_all() did not see t.
  if (aborting) t.cancel();
}

namespace {
class GroupWaitAwaiter final : public Park {
 public:
  explicit GroupWaitAwaiter(TaskGroupState& s) noexcept : s_(s) {}
  bool await_ready() {
    std::lock_guard g(s_.mu);
    return s_.running == 0;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    std::lock_guard g(s_.mu);
    if (s_.running == 0) return false;
    if (s_.waiter != nullptr) {
      throw InvalidStateError("corio: TaskGroup::wait() is already awaited by another task");
    }
    task_ = t_current;
    s_.waiter = task_;
    park_current(this, h);
    return true;
  }
  void await_resume() {
    // A cancel that came after the last child woke us never reached cancel(): take it here,
    // as cancel() would have (a child created since is cancelled too).
    if (task_ != nullptr && take_cancel(task_)) cancel(task_);
  }
  /// asyncio: cancelling the task in wait() cancels the children; wait() still waits for
  /// them, then raises CancelledError.
  void cancel(TaskHeader*) noexcept override {
    {
      std::lock_guard g(s_.mu);
      s_.cancelled = true;
    }
    s_.cancel_all();
  }

 private:
  TaskGroupState& s_;
  TaskHeader* task_ = nullptr;
};
}  // namespace

Coro<void> task_group_wait(std::shared_ptr<TaskGroupState> s) {
  std::vector<std::exception_ptr> errors;
  bool cancelled;
  for (;;) {
    co_await GroupWaitAwaiter(*s);
    std::lock_guard g(s->mu);
    // A child may have been created between the wake and now (asyncio's __aexit__ loops
    // while the group has tasks): wait for it too.
    if (s->running != 0) continue;
    s->finished = true;
    errors = std::move(s->errors);
    cancelled = s->cancelled;
    break;
  }
  if (!errors.empty()) {
    throw ExceptionGroup("corio: unhandled errors in a TaskGroup", std::move(errors));
  }
  if (cancelled) throw_cancelled(t_current);  // with the cancel's message
}

void task_group_abandon(TaskGroupState& s) noexcept {
  bool running;
  {
    std::lock_guard g(s.mu);
    running = s.running != 0;
    s.finished = true;
  }
  if (running) s.cancel_all();
}

// --- as_completed --------------------------------------------------------------------------

void as_completed_arm(AsCompletedState& s) {
  s.nodes.reset(new AsCompletedState::Node[s.tasks.size()]);
  // Reserved so that nothing allocates under the lock, in a completion (noexcept).
  s.ready.reserve(s.tasks.size());
  s.waiters.reserve(s.tasks.size());
  for (std::size_t i = 0; i < s.tasks.size(); ++i) {
    auto& n = s.nodes[i];
    n.st = &s;
    n.index = i;
    n.fn = [](WaitNode* wn) noexcept {
      auto* node = static_cast<AsCompletedState::Node*>(wn);
      AsCompletedAwaiter::deliver(*node->st, node->index);
    };
    if (!s.tasks[i]->waiters_.add(&n)) n.fn(&n);
  }
}

void as_completed_detach(AsCompletedState& s) noexcept {
  if (!s.nodes) return;
  for (std::size_t i = 0; i < s.tasks.size(); ++i) s.tasks[i]->waiters_.remove(&s.nodes[i]);
}

void AsCompletedAwaiter::deliver(AsCompletedState& s, std::size_t index) noexcept {
  TaskHeader* to_wake = nullptr;
  {
    std::lock_guard g(s.mu);
    if (s.waiters.empty()) {
      s.ready.push_back(index);
    } else {
      AsCompletedAwaiter* w = s.waiters.front();
      s.waiters.erase(s.waiters.begin());
      w->got_ = index;
      to_wake = w->task_;
    }
  }
  if (to_wake != nullptr) wake(to_wake);
}

bool AsCompletedAwaiter::await_ready() {
  std::lock_guard g(s_.mu);
  if (s_.claims >= s_.tasks.size()) {
    throw std::out_of_range("corio: as_completed: every task was already returned");
  }
  ++s_.claims;
  if (s_.next_ready == s_.ready.size()) return false;
  got_ = s_.ready[s_.next_ready++];
  return true;
}

void AsCompletedAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  task_ = t_current;
  bool ready;
  {
    std::lock_guard g(s_.mu);
    ready = s_.next_ready != s_.ready.size();
    if (ready) {
      got_ = s_.ready[s_.next_ready++];
    } else {
      s_.waiters.push_back(this);  // within the reserve: one per claim
    }
  }
  park_current(this, h);
  if (ready) wake(task_);  // became ready meanwhile: resume at once (we are still running)
}

std::size_t AsCompletedAwaiter::await_resume() {
  if (task_ != nullptr && (cancelled_ || take_cancel(task_))) {
    give_back();
    throw_cancelled(task_);
  }
  return got_;
}

void AsCompletedAwaiter::give_back() noexcept {
  std::size_t index;
  {
    std::lock_guard g(s_.mu);
    --s_.claims;
    if (got_ == kNone) return;
    index = std::exchange(got_, kNone);
    if (s_.waiters.empty()) {
      // First in line again. With next_ready at 0 every item of ready is live and this
      // one is not among them, so the insert stays within the reserve.
      if (s_.next_ready != 0) {
        s_.ready[--s_.next_ready] = index;
      } else {
        s_.ready.insert(s_.ready.begin(), index);
      }
      return;
    }
  }
  deliver(s_, index);  // another call is parked: it gets the task
}

void AsCompletedAwaiter::cancel(TaskHeader* t) noexcept {
  bool removed;
  {
    std::lock_guard g(s_.mu);
    auto it = std::find(s_.waiters.begin(), s_.waiters.end(), this);
    removed = it != s_.waiters.end();
    if (removed) s_.waiters.erase(it);
  }
  // Either we took ourselves off (so we wake ourselves) or a completion handed us a task and
  // woke us already; either way the wait ends with CancelledError and the task goes back.
  cancelled_ = true;
  if (removed) wake(t);
}

}  // namespace corio::detail
