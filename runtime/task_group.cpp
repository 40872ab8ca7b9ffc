// TaskGroup's shared state and as_completed's: callbacks on the children's WaitLists.
#include <algorithm>

#include <corio/task.hpp>
#include "runtime/spin_lock.hpp"

namespace corio::detail {

// Invariants
//   running counts children not yet done; children holds exactly those. waiter is the task
//   parked in wait(), woken once when running reaches zero. Everything is under mu.
class TaskGroupState {
 public:
  std::mutex mu;
  std::vector<Task<void>> children;
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
      snapshot = children;
    }
    for (auto& c : snapshot) c.cancel();
  }
};

void TaskGroupState::child_done(TaskGroupState& s, const Task<void>& task) noexcept {
  PromiseBase* p = task.header();
  bool failed = p->error_ != nullptr &&
                (p->outcome_flags_.load(std::memory_order_relaxed) & kResultCancelled) == 0;
  bool start_abort = false;
  TaskHeader* to_wake = nullptr;
  {
    std::lock_guard g(s.mu);
    auto it = std::find(s.children.begin(), s.children.end(), task);
    if (it != s.children.end()) s.children.erase(it);
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
  {
    std::lock_guard g(s->mu);
    ++s->running;
    s->children.push_back(t);
  }
  try {
    // A done callback, as asyncio's TaskGroup uses: it runs after the step that finished the
    // child, so siblings finishing in the same round report their own errors before the
    // group reacts to the first one.
    add_task_callback(t.header(), [s, t] { TaskGroupState::child_done(*s, t); });
  } catch (...) {
    std::lock_guard g(s->mu);
    --s->running;
    s->children.pop_back();
    throw;
  }
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
    task_ = t_current;
    s_.waiter = task_;
    park_current(this, h);
    return true;
  }
  void await_resume() const {
    if (task_ != nullptr) take_cancel(task_);  // folded into s_.cancelled below
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
  co_await GroupWaitAwaiter(*s);
  std::vector<std::exception_ptr> errors;
  bool cancelled;
  {
    std::lock_guard g(s->mu);
    s->finished = true;
    errors = std::move(s->errors);
    cancelled = s->cancelled;
  }
  if (!errors.empty()) {
    throw ExceptionGroup("corio: unhandled errors in a TaskGroup", std::move(errors));
  }
  if (cancelled) throw CancelledError();
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
  s.ready.reserve(s.tasks.size());
  for (std::size_t i = 0; i < s.tasks.size(); ++i) {
    auto& n = s.nodes[i];
    n.st = &s;
    n.index = i;
    n.fn = [](WaitNode* wn) noexcept {
      auto* node = static_cast<AsCompletedState::Node*>(wn);
      AsCompletedState& st = *node->st;
      TaskHeader* w;
      {
        std::lock_guard g(st.mu);
        st.ready.push_back(node->index);
        w = std::exchange(st.waiter, nullptr);
      }
      if (w != nullptr) wake(w);
    };
    if (!s.tasks[i]->waiters_.add(&n)) n.fn(&n);
  }
}

void as_completed_detach(AsCompletedState& s) noexcept {
  if (!s.nodes) return;
  for (std::size_t i = 0; i < s.tasks.size(); ++i) s.tasks[i]->waiters_.remove(&s.nodes[i]);
}

bool AsCompletedAwaiter::await_ready() {
  std::lock_guard g(s_.mu);
  if (s_.taken >= s_.tasks.size()) {
    throw std::out_of_range("corio: as_completed: every task was already returned");
  }
  return s_.taken < s_.ready.size();
}

void AsCompletedAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  task_ = t_current;
  bool ready;
  {
    std::lock_guard g(s_.mu);
    ready = s_.taken < s_.ready.size();
    if (!ready) s_.waiter = task_;
  }
  park_current(this, h);
  if (ready) wake(task_);  // became ready meanwhile: resume at once (we are still running)
}

std::size_t AsCompletedAwaiter::await_resume() {
  if (task_ != nullptr) {
    if (cancelled_) throw_cancelled(task_);
    check_cancel_on_resume(task_);
  }
  std::lock_guard g(s_.mu);
  return s_.ready[s_.taken++];
}

void AsCompletedAwaiter::cancel(TaskHeader* t) noexcept {
  bool removed;
  {
    std::lock_guard g(s_.mu);
    removed = s_.waiter == t;
    if (removed) s_.waiter = nullptr;
  }
  // Either we took ourselves off (so we wake ourselves) or a completion woke us already; in
  // both cases the wait ends with CancelledError and no finished task is consumed.
  cancelled_ = true;
  if (removed) wake(t);
}

}  // namespace corio::detail
