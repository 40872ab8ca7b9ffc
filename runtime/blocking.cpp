// submit_blocking: to_thread's way onto the blocking pool.
#include <stdexcept>

#include <corio/task.hpp>
#include "runtime/shared.hpp"
#include "runtime/worker.hpp"

namespace corio::detail {

void submit_blocking(std::function<void()> job) {
  Shared* s = current_shared();
  if (s == nullptr) throw std::runtime_error("corio: to_thread() needs a running event loop");
  // Virtual time must not jump while the job runs: its result is what the task waits for.
  s->external_pending.fetch_add(1, std::memory_order_acq_rel);
  try {
    s->blocking.submit([s, job = std::move(job)] {
      job();
      s->external_pending.fetch_sub(1, std::memory_order_acq_rel);
      // A single worker may be parked without a timeout waiting for this count to drop.
      if (s->single) s->workers[0]->unpark();
    });
  } catch (...) {
    s->external_pending.fetch_sub(1, std::memory_order_acq_rel);
    throw;
  }
}

}  // namespace corio::detail
