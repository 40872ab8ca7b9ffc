#include "runtime/shared.hpp"

#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>

#include "runtime/callback.hpp"
#include "runtime/worker.hpp"

namespace corio::detail {

namespace {

std::uint32_t worker_count(const Options& o) {
  if (o.threads != 0) return static_cast<std::uint32_t>(o.threads);
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Options checked(Options o) {
  if (o.threads > 4096) throw std::invalid_argument("corio: Options::threads above 4096");
  if (o.virtual_time && o.threads != 1) {
    throw std::invalid_argument("corio: Options::virtual_time needs threads = 1");
  }
  if (o.slow_step.count() < 0) throw std::invalid_argument("corio: negative Options::slow_step");
  return o;
}

}  // namespace

Shared::Shared(Options o)
    : opts(checked(o)),
      nworkers(worker_count(opts)),
      single(nworkers == 1),
      idle(nworkers),
      registry(nworkers),
      loop(this),
      start_ns_(steady_ns()) {
  workers.reserve(nworkers);
  for (std::uint32_t i = 0; i < nworkers; ++i) {
    workers.push_back(std::make_unique<Worker>(*this, i));
  }
}

Shared::~Shared() {
  stop();
  // Lifetime: a foreign waker may still be in notify_work() for a task that already ran.
  while (outside_calls.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void Shared::start(Runtime* rt) {
  runtime = rt;
  std::latch ready(nworkers);
  std::vector<std::exception_ptr> errors(nworkers);
  for (std::uint32_t i = 0; i < nworkers; ++i) workers[i]->start(ready, errors[i]);
  ready.wait();
  for (auto& e : errors) {
    if (e) {
      stop();
      std::rethrow_exception(e);
    }
  }
}

void Shared::stop() noexcept {
  stopping.store(true, std::memory_order_release);
  for (auto& w : workers) w->unpark();
  for (auto& w : workers) w->join();
  // A task that finished on one worker after its shard's worker had already drained and
  // exited is still on that shard's deferred stack: free it now that nothing runs.
  // Freeing may run destructors that schedule callbacks: repeat until nothing is left.
  bool any;
  do {
    any = false;
    for (std::uint32_t i = 0; i < nworkers; ++i) any |= registry.drain_deferred(i);
    Runnable* r = nullptr;
    while (inject.try_dequeue(r)) {
      any = true;
      CallbackState::discard(r);
    }
    for (auto& w : workers) any |= w->discard_leftovers();
  } while (any);
  // Every task is done; a gather's Join still registered belongs to a Gathering that outlives
  // the runtime (kept unawaited somewhere): let it free itself unaided.
  registry.detach_groups();
}

Shared::OutsideCall::OutsideCall(Shared& sh) noexcept
    : sh_(t_worker != nullptr && &t_worker->shared() == &sh ? nullptr : &sh) {
  if (sh_ != nullptr) sh_->outside_calls.fetch_add(1, std::memory_order_relaxed);
}

void Shared::push_inject(Runnable* r) {
  OutsideCall call(*this);
  if (!inject.enqueue(r)) throw std::bad_alloc();
  // Only the single-thread worker reads it (the store would dirty Idle's line for nothing).
  if (single) injected.store(true, std::memory_order_release);
  notify_work();
}

void Shared::notify_work(bool pusher_runs_it) noexcept {
  if (auto w = idle.worker_to_notify(pusher_runs_it)) workers[*w]->unpark();
}

void Shared::wake_owner(std::uint32_t shard) noexcept {
  if (idle.any_parked()) workers[shard]->unpark();
}

void Shared::resume_clock() noexcept {
  clock_paused.store(false, std::memory_order_release);
  for (auto& w : workers) w->unpark();
}

std::int64_t Shared::real_now() const noexcept {
  return steady_ns() - start_ns_;
}

Shared* current_shared() noexcept {
  Worker* w = t_worker;
  return w != nullptr ? &w->shared() : nullptr;
}

}  // namespace corio::detail
