// sleep(): a timer on the calling worker's heap; the task parks until it fires.
#include <stdexcept>

#include <corio/task.hpp>
#include "runtime/worker.hpp"

namespace corio {

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  detail::Worker* w = detail::t_worker;
  if (w == nullptr || detail::t_current == nullptr) {
    throw std::runtime_error("corio: sleep() needs a running task");
  }
  task_ = detail::t_current;
  if (deadline <= 0) {
    detail::yield_current(h);
    return;
  }
  kind = Kind::kSleep;
  deadline = detail::deadline_after(w->now(), deadline);
  w->timers().push(this);  // may throw bad_alloc: then nothing was changed
  owner = static_cast<int>(w->index());
  detail::park_current(this, h);
}

void SleepAwaiter::await_resume() const {
  if (cancelled.load(std::memory_order_relaxed)) detail::throw_cancelled(task_);
  detail::check_cancel_on_resume(task_);
}

void SleepAwaiter::cancel(detail::TaskHeader* t) noexcept {
  // Runs on the owning worker (owner), so the heap is ours to edit.
  if (detail::t_worker->timers().remove(this)) {
    cancelled.store(true, std::memory_order_relaxed);  // read by our own resume, same worker
    detail::wake(t);
  }
}

void SleepAwaiter::on_fire(detail::Timer* t) noexcept {
  detail::wake(static_cast<SleepAwaiter*>(t)->task_);
}

}  // namespace corio
