#include <corio/detail/multi_wait.hpp>

#include "runtime/worker.hpp"

namespace corio::detail {

namespace {
bool raised(const PromiseBase* p) noexcept {
  return static_cast<bool>(p->error_);
}
bool was_cancelled(const PromiseBase* p) noexcept {
  return (p->outcome_flags_.load(std::memory_order_relaxed) & kResultCancelled) != 0;
}
}  // namespace

bool MultiWait::satisfied(PromiseBase* p, bool all_done) const noexcept {
  switch (mode_) {
    case WaitMode::kAll:
      return all_done;
    case WaitMode::kFirst:
      return true;
    case WaitMode::kFirstException:
      return all_done || (raised(p) && !was_cancelled(p));
  }
  return all_done;
}

void MultiWait::note_error(const Node* n) noexcept {
  if (!raised(n->task)) return;
  std::size_t expected = kNone;
  first_error_.compare_exchange_strong(expected, static_cast<std::size_t>(n - nodes_),
                                       std::memory_order_acq_rel);
}

bool MultiWait::await_ready() noexcept {
  if (n_ == 0) return true;
  // Everything (or enough) finished already: no switch, as asyncio.
  std::size_t done = 0;
  bool any = false;
  for (std::size_t i = 0; i < n_; ++i) {
    if (nodes_[i].task->waiters_.closed()) {
      ++done;
      note_error(&nodes_[i]);
      if (mode_ != WaitMode::kAll && satisfied(nodes_[i].task, false)) any = true;
    }
  }
  return done == n_ || any;
}

void MultiWait::await_suspend(std::coroutine_handle<> h) {
  task_ = t_current;
  remaining_.store(n_, std::memory_order_relaxed);
  if (timeout_ns_) {
    // Set before any node is added: a node firing on another thread reads owner (the add's
    // lock orders it).
    Timer::kind = Timer::Kind::kMultiWait;
    owner = timer_add(this, deadline_after(clock_now(), *timeout_ns_));
    timer_armed_ = true;
  }
  for (std::size_t i = 0; i < n_; ++i) {
    Node& nd = nodes_[i];
    nd.self = this;
    nd.fn = &MultiWait::fire;
    // Already done: count it now. A trigger from here wakes us while we still run, which
    // the runner turns into a requeue once we have suspended below.
    if (!nd.task->waiters_.add(&nd)) fire(&nd);
  }
  park_current(this, h);
}

void MultiWait::fire(WaitNode* wn) noexcept {
  auto* n = static_cast<Node*>(wn);
  MultiWait* m = n->self;
  m->note_error(n);
  bool all_done = m->remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  if (m->satisfied(n->task, all_done)) m->trigger();
}

void MultiWait::on_timer(Timer* t) noexcept {
  auto* m = static_cast<MultiWait*>(t);
  m->timer_armed_ = false;
  m->timed_out_.store(true, std::memory_order_release);
  if (m->on_timeout_ == OnTimeout::kWake) {
    m->trigger();
  } else {
    for (std::size_t i = 0; i < m->n_; ++i) cancel_task(m->nodes_[i].task, nullptr);
  }
}

void MultiWait::trigger() noexcept {
  if (!triggered_.exchange(true, std::memory_order_acq_rel)) wake(task_, owner);
}

void MultiWait::cancel(TaskHeader*) noexcept {
  if (cancel_children_) {
    bool passed_on = false;
    for (std::size_t i = 0; i < n_; ++i) passed_on |= cancel_task(nodes_[i].task, nullptr);
    if (passed_on) {
      cancel_passed_ = true;
      return;  // they finish cancelled and wake us; their outcome decides
    }
  } else {
    trigger();
  }
  cancelled_ = true;
}

void MultiWait::detach() noexcept {
  for (std::size_t i = 0; i < n_; ++i) nodes_[i].task->waiters_.remove(&nodes_[i]);
  if (timer_armed_) {
    // We resume on the timer's worker (owner), so its heap is ours to edit.
    timer_remove(this);
    timer_armed_ = false;
  }
}

void MultiWait::await_resume() {
  if (task_ == nullptr) {  // did not suspend
    take_start_cancel();
    return;
  }
  detach();
  if (cancelled_) throw_cancelled(task_);
  check_cancel_on_resume(task_);
}

}  // namespace corio::detail
