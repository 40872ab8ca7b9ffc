// Loop: asyncio's event-loop methods over the calling worker (call_soon, call_later, time).
#include <cstdio>
#include <stdexcept>

#include <corio/runtime.hpp>
#include "runtime/callback.hpp"
#include "runtime/shared.hpp"
#include "runtime/worker.hpp"

namespace corio {

namespace detail {

namespace {}  // namespace

void run_callback(Runnable* r) noexcept {
  auto* cs = static_cast<CallbackState*>(r);
  std::shared_ptr<CallbackState> keep = std::move(cs->self_);
  // A callback runs once: what it captured goes when it returns, even while a TimerHandle
  // lives on (a callback that holds its own handle would otherwise keep itself alive).
  std::function<void()> fn = cs->take();
  if (!fn) return;  // cancelled
  try {
    fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corio: Exception in callback: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "corio: Exception in callback\n");
  }
}

void fire_callback_timer(Timer* t) noexcept {
  auto* cs = static_cast<CallbackState*>(t);
  if (cs->cancelled.load(std::memory_order_acquire) || t_worker == nullptr) {
    cs->self_.reset();  // Lifetime: cs may be gone
    return;
  }
  // asyncio moves a due timer to the ready queue; it runs in FIFO order with the rest.
  t_worker->schedule_woken(cs, false);
}

namespace {

Worker& worker_or_throw(const char* what) {
  Worker* w = t_worker;
  if (w == nullptr) {
    throw std::runtime_error(std::string("corio: Loop::") + what +
                             "() must be called from one of the runtime's workers");
  }
  return *w;
}

}  // namespace

std::shared_ptr<CallbackState> CallbackState::make(std::function<void()> fn) {
  if (!fn) throw std::invalid_argument("corio: empty callback");
  auto cs = std::make_shared<CallbackState>();
  cs->fn = std::move(fn);
  cs->Runnable::kind = Runnable::Kind::kCallback;
  cs->Timer::kind = Timer::Kind::kCallback;
  cs->self_ = cs;
  return cs;
}

void CallbackState::discard(Runnable* r) noexcept {
  if (r->kind != Runnable::Kind::kCallback) return;  // a task: nothing to free
  static_cast<CallbackState*>(r)->self_.reset();
}

int timer_add(Timer* t, std::int64_t deadline) {
  Worker& w = worker_or_throw("timer_add");
  t->deadline = deadline;
  w.timers().push(t);
  return static_cast<int>(w.index());
}

bool timer_remove(Timer* t) noexcept {
  Worker* w = t_worker;
  return w != nullptr && w->timers().remove(t);
}

std::int64_t clock_now() {
  return worker_or_throw("time").now();
}

}  // namespace detail

void TimerHandle::cancel() noexcept {
  if (!s_) return;
  // Lifetime: what the callback captured may own this handle; destroying it may destroy
  // *this. Work through a reference of our own, and destroy the callback last.
  std::shared_ptr<detail::CallbackState> s = s_;
  s->cancelled.store(true, std::memory_order_release);
  // asyncio drops a cancelled callback, and what it captured, at once: on any thread, unless
  // its run took it first (cancelling a callback that runs or ran changes nothing).
  std::function<void()> fn = s->take();
  // The worker whose heap holds the timer takes the entry out too; another thread may not
  // touch that heap, so there the emptied entry goes at its deadline.
  detail::Worker* w = detail::t_worker;
  if (w != nullptr && s->timer_owner == w && detail::timer_remove(s.get())) {
    s->self_.reset();  // the heap's reference
  }                    // fn, then s: the callback's captures go here, after the last use of *this
}
bool TimerHandle::cancelled() const noexcept {
  return s_ && s_->cancelled.load(std::memory_order_acquire);
}
double TimerHandle::when() const noexcept {
  return s_ ? s_->when : 0.0;
}

double Loop::time() const {
  detail::Worker* w = detail::t_worker;
  if (w != nullptr && &w->shared() == s_) return static_cast<double>(w->now()) / 1e9;
  if (s_->opts.virtual_time) {
    throw std::runtime_error("corio: Loop::time() in virtual time needs the worker thread");
  }
  return static_cast<double>(s_->real_now()) / 1e9;
}

TimerHandle Loop::call_soon(std::function<void()> fn) {
  detail::Worker& w = detail::worker_or_throw("call_soon");
  auto cs = detail::CallbackState::make(std::move(fn));
  w.schedule_woken(cs.get(), false);
  return TimerHandle(std::move(cs));
}

TimerHandle Loop::call_later_ns(std::int64_t delay_ns, std::function<void()> fn) {
  detail::Worker& w = detail::worker_or_throw("call_later");
  return call_at_ns(detail::deadline_after(w.now(), delay_ns), std::move(fn));
}

TimerHandle Loop::call_at(double when, std::function<void()> fn) {
  detail::worker_or_throw("call_at");
  return call_at_ns(detail::seconds_to_ns(when, "call_at"), std::move(fn));
}

TimerHandle Loop::call_at_ns(std::int64_t deadline, std::function<void()> fn) {
  auto cs = detail::CallbackState::make(std::move(fn));
  cs->when = static_cast<double>(deadline) / 1e9;
  try {
    detail::timer_add(cs.get(), deadline);
    cs->timer_owner = detail::t_worker;
  } catch (...) {
    cs->self_.reset();  // never queued: drop the queue's reference
    throw;
  }
  return TimerHandle(std::move(cs));
}

TimerHandle Loop::call_soon_threadsafe(std::function<void()> fn) {
  if (s_->stopping.load(std::memory_order_acquire)) {
    throw std::runtime_error("corio: call_soon_threadsafe() after the runtime shut down");
  }
  auto cs = detail::CallbackState::make(std::move(fn));
  try {
    s_->push_inject(cs.get());
  } catch (...) {
    cs->self_.reset();
    throw;
  }
  return TimerHandle(std::move(cs));
}

Runtime& Loop::runtime() const noexcept {
  return *s_->runtime;
}

Loop& get_running_loop() {
  detail::Shared* s = detail::current_shared();
  if (s == nullptr) throw std::runtime_error("corio: no running event loop");
  return s->loop;
}

}  // namespace corio

namespace corio::detail {

void add_task_callback(TaskHeader* t, std::function<void()> fn) {
  struct Node : WaitNode {
    CallbackState* cs;
    Shared* rt;
  };
  // Nobody takes the queues any more: the callback would never run. Drop it rather than
  // throw: destructors add done callbacks too (asyncio would raise 'Event loop is closed').
  if (t->rt_->stopping.load(std::memory_order_acquire)) return;
  auto cs = CallbackState::make(std::move(fn));
  auto* node = new Node;
  node->cs = cs.get();
  node->rt = t->rt_;
  node->fn = [](WaitNode* n) noexcept {
    auto* nd = static_cast<Node*>(n);
    // asyncio schedules done callbacks with call_soon; they never run inside complete.
    Worker* w = t_worker;
    if (w != nullptr && &w->shared() == nd->rt) {
      w->schedule_woken(nd->cs, false);
    } else {
      try {
        nd->rt->push_inject(nd->cs);
      } catch (...) {
        nd->cs->self_.reset();
      }
    }
    delete nd;
  };
  if (!t->waiters_.add(node)) node->fn(node);
}

}  // namespace corio::detail
