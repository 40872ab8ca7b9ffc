// Runtime: starts the workers, runs a main task from an outside thread, and shuts down by
// cancelling whatever is still alive.
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <corio/runtime.hpp>
#include "runtime/callback.hpp"
#include "runtime/shared.hpp"
#include "runtime/worker.hpp"

namespace corio {

namespace detail {

void check_not_in_worker(const char* what) {
  if (t_worker != nullptr) throw std::runtime_error(std::string("corio: ") + what);
}

void check_not_in_worker_of(const Loop& loop, const char* what) {
  if (t_worker != nullptr && &t_worker->shared().loop == &loop) {
    throw std::runtime_error(std::string("corio: ") + what);
  }
}

void check_open(Shared* s) {
  if (s->closed.load(std::memory_order_acquire)) {
    throw std::runtime_error("corio: the runtime is shut down; it takes no new tasks");
  }
}

void block_until_done(TaskHeader* t) {
  struct Blocker : WaitNode {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  } b;
  b.fn = [](WaitNode* n) noexcept {
    auto* self = static_cast<Blocker*>(n);
    std::lock_guard g(self->mu);
    self->done = true;
    self->cv.notify_one();
  };
  if (!t->waiters_.add(&b)) return;
  std::unique_lock lk(b.mu);
  b.cv.wait(lk, [&] { return b.done; });
}

}  // namespace detail

Runtime::Runtime(Options opts) : shared_(std::make_unique<detail::Shared>(opts)) {
  shared_->start(this);
}

Runtime::~Runtime() {
  try {
    shutdown();
  } catch (...) {
    // shutdown() only throws when called on a worker; a destructor cannot be.
  }
}

void Runtime::shutdown() {
  if (shared_->stopping.load(std::memory_order_acquire)) return;
  detail::check_not_in_worker("Runtime::shutdown() cannot be called from a worker");
  // A second thread waits for the first one's shutdown, then finds it done.
  std::lock_guard g(shared_->shutdown_mu);
  if (shared_->stopping.load(std::memory_order_acquire)) return;
  shared_->closed.store(true, std::memory_order_release);
  // asyncio.run's _cancel_all_tasks, repeated until nothing is left: a task cancelled in the
  // first round may have created others before it finished.
  for (;;) {
    std::vector<detail::TaskHeader*> tasks = shared_->registry.snapshot_retained();
    if (tasks.empty()) break;
    // asyncio cancels them all before the loop runs again: hold virtual time still until
    // every cancel is in, so no task reaches its deadline between two cancels.
    shared_->clock_paused.store(true, std::memory_order_release);
    for (detail::TaskHeader* t : tasks) detail::cancel_task(t, nullptr);
    shared_->resume_clock();  // cancelled tasks may sleep while they clean up
    for (detail::TaskHeader* t : tasks) {
      detail::block_until_done(t);
      detail::release_task(t);
    }
  }
  shared_->stop();
}

Loop& Runtime::loop() noexcept {
  return shared_->loop;
}
const Options& Runtime::options() const noexcept {
  return shared_->opts;
}
std::size_t Runtime::workers() const noexcept {
  return shared_->nworkers;
}

}  // namespace corio
