// Shared: runtime-wide state every worker and every outside thread may use.
//
// Invariants
//   workers_ is fixed after construction. inject_ holds runnables pushed from outside the
//   workers (spawn, call_soon_threadsafe, wakes from foreign threads) and overflow from local
//   queues; every push is followed by notify_work() so a parked worker picks it up.
// Shutdown
//   Runtime::shutdown() cancels every registered task until none is left, then sets
//   stopping_ and unparks every worker; workers exit their loop and join.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <corio/runtime.hpp>
#include "runtime/blocking_pool.hpp"
#include "runtime/idle.hpp"
#include "runtime/registry.hpp"

namespace corio::detail {

class Worker;

class Shared {
 public:
  explicit Shared(Options opts);
  ~Shared();

  void start(Runtime* rt);  // spawns the worker threads and waits until their rings are up
  void stop() noexcept;     // stops and joins the workers (queues must be empty)

  /// From any thread: queue r on the inject queue and wake a worker for it.
  void push_inject(Runnable* r);
  /// Work became available to other workers: wake a parked one if nobody searches.
  /// pusher_runs_it: the caller is a worker that pushed onto its own queues (see Idle).
  void notify_work(bool pusher_runs_it = false) noexcept;

  std::int64_t real_now() const noexcept;  // ns since the runtime started
  /// Clears clock_paused and unparks the workers so that an idle one looks at its timers.
  void resume_clock() noexcept;
  /// After a push on worker `shard`'s deferred registry stack that found it empty: wakes
  /// that worker if it may be parked. The push (a seq_cst CAS) comes before the look at
  /// the sleepers, and a parking worker registers (seq_cst) before its last look at the
  /// stacks (Worker::has_remote_work): one of the two sees the other.
  void wake_owner(std::uint32_t shard) noexcept;

  const Options opts;
  const std::uint32_t nworkers;
  const bool single;  // single-thread mode: FIFO, no LIFO slot, no stealing
  std::vector<std::unique_ptr<Worker>> workers;
  moodycamel::ConcurrentQueue<Runnable*> inject;
  // Set after every push_inject(), cleared by the single-thread worker before it drains the
  // queue: its loop looks at this flag each round instead of at every producer's sub-queue.
  std::atomic<bool> injected{false};
  Idle idle;
  Registry registry;
  BlockingPool blocking;
  Loop loop;
  Runtime* runtime = nullptr;
  std::atomic<bool> stopping{false};
  std::atomic<bool> closed{false};  // no more spawns from outside
  std::mutex shutdown_mu;           // one Runtime::shutdown() at a time (threads may race)
  /// Operations that will wake a task from outside the workers (to_thread jobs, and so on).
  /// Virtual time does not jump while any are pending.
  std::atomic<std::int64_t> external_pending{0};
  /// Set when a Runtime::run main task finishes, cleared by the next spawn from outside and
  /// by shutdown: virtual time does not jump meanwhile (asyncio's loop is stopped then).
  std::atomic<bool> clock_paused{false};
  /// Calls from threads outside this runtime that are inside push_inject() / Worker::post():
  /// what they pushed may run, finish and let the Runtime be destroyed before they return,
  /// so ~Shared waits for this to drop to zero.
  std::atomic<std::uint32_t> outside_calls{0};

  /// Counts the enclosing push in outside_calls when the calling thread is not one of this
  /// runtime's workers. Create it before the push: once queued, a runnable may run and end
  /// the Runtime.
  class OutsideCall {
   public:
    explicit OutsideCall(Shared& sh) noexcept;
    ~OutsideCall() {
      if (sh_ != nullptr) sh_->outside_calls.fetch_sub(1, std::memory_order_release);
    }
    OutsideCall(const OutsideCall&) = delete;
    OutsideCall& operator=(const OutsideCall&) = delete;

   private:
    Shared* sh_;  // null: a worker of the runtime, not counted
  };

 private:
  const std::int64_t start_ns_;
};

/// The runtime whose worker is the calling thread, or nullptr.
Shared* current_shared() noexcept;

}  // namespace corio::detail
