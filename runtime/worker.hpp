// Worker: one OS thread, one io_uring ring, run queues and timers.
//
// Core state (owner thread only, no synchronisation): ring_, timers_, fifo_ (single-thread
// mode), lifo_, tick counters, clock. Remote state (other threads): local_ and spawn_'s public
// part (thieves steal from them and ask for spawn_'s private part), inbox_ (runnables that must run
// on this worker: cancellation of a park whose resource this worker owns), wake_fd_ (unpark).
//
// Invariants
//   A runnable is in at most one queue. spawn_ holds nothing but tasks that have not started
//   (new ones, and new ones stolen from another worker's spawn_): a gatherer may take its own
//   children back from it and run them nested (Join::help). The LIFO slot and spawn_'s private part
//   are never stolen, and the LIFO slot is never used in single-thread mode. Every pushed runnable
//   is either visible to a thief or followed by notify_work(), so no work waits behind a parked
//   worker; spawn_'s private part goes public when a thief asks (before the owner's next
//   task) or is taken by the thief when the owner does not answer, and a worker only parks
//   once its own queues are empty.
// Shutdown
//   The loop exits when Shared::stopping is set; by then every task is done, so the queues
//   and timers are empty apart from cancelled callback timers, which are freed, and what
//   destructors run by that freeing (or by the deferred registry removals) schedule, which
//   is discarded until nothing is left.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <corio/detail/task_header.hpp>
#include <corio/detail/timer_node.hpp>
#include "io/ring.hpp"
#include "runtime/fifo_queue.hpp"
#include "runtime/local_queue.hpp"
#include "runtime/spawn_deque.hpp"
#include "runtime/timer_heap.hpp"

namespace corio::detail {

class Shared;

class Worker {
 public:
  Worker(Shared& shared, std::uint32_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts the thread; it counts `ready` down once its ring is up (or `error` is set).
  void start(std::latch& ready, std::exception_ptr& error);
  void join();
  std::uint32_t index() const noexcept { return index_; }
  Shared& shared() const noexcept { return shared_; }

  // --- Owner thread only -------------------------------------------------------------
  /// A task woken (or yielding): to the LIFO slot when a running task woke it (multi-thread
  /// mode), else to the back of the local queue.
  void schedule_woken(Runnable* r, bool lifo);
  /// A new task: onto the spawn deque (multi-thread) or the FIFO (single-thread).
  void schedule_spawned(Runnable* r);
  /// schedule_spawned() of item(0), ..., item(n - 1) (nullptrs skipped), in that order.
  template <class F>
  void schedule_spawned_each(std::size_t n, F item) {
    std::size_t i = 0;
    if (!single_) {
      i = spawn_.push_each(n, item);
      notify_pending_ = true;
    }
    for (; i < n; ++i) {
      Runnable* r = item(i);
      if (r == nullptr) continue;
      if (single_) {
        fifo_.push(r);
      } else {
        push_local(r);
      }
    }
  }
  /// Takes r back from the spawn deque if it is the newest private item (serving a thief's
  /// request first). Multi-thread mode.
  bool take_spawned(Runnable* r) noexcept {
    if (spawn_.wanted()) [[unlikely]] {
      publish_spawned();
    }
    return spawn_.pop_if(r);
  }
  std::int64_t now() const noexcept;
  TimerHeap& timers() noexcept { return timers_; }
  bool budget_exhausted() noexcept {
    if (single_) return false;  // asyncio: a ready await never switches
    if (--budget_ > 0) return false;
    budget_ = kBudget;
    return true;
  }
  void reset_budget() noexcept { budget_ = kBudget; }
  /// Counts one child run nested in this step (Join::help); false once the step has run
  /// kNestBudget of them, so that a fork-join tree cannot keep the worker from its timers,
  /// I/O and queues for longer than that many children.
  bool spend_nest_budget() noexcept { return --nest_budget_ > 0; }

  /// Frees the callbacks left in the queues; true when there were any. The worker's own
  /// thread once its loop ended, or any thread after join().
  bool discard_leftovers() noexcept;

  // --- Any thread --------------------------------------------------------------------
  /// Runs r on this worker (not stealable) and unparks it.
  void post(Runnable* r);
  void unpark() noexcept;

 private:
  static constexpr std::uint32_t kGlobalInterval = 61;  // check the inject queue this often
  static constexpr std::uint32_t kMaxLifoPolls = 3;
  static constexpr int kBudget = 128;
  static constexpr int kNestBudget = 1024;
  static constexpr std::uint32_t kLocalCapacity = 256;
  static constexpr std::uint32_t kSpawnCapacity = 8192;
  static constexpr std::uint32_t kStealBatch = 32;
  static constexpr int kRequestSpins = 256;          // a thief's wait for a requested publish
  static constexpr int kMaxForceSpins = 1 << 16;     // its longest wait before forcing again
  static constexpr std::uint32_t kForceBatch = 256;  // most items one forced steal takes

  void main(std::latch& ready, std::exception_ptr& error);
  void loop_multi();
  void loop_single();
  void run(Runnable* r) noexcept;
  Runnable* next_local() noexcept;
  Runnable* next_global() noexcept;
  Runnable* steal() noexcept;
  /// Takes from victim's public spawned work, keeping a batch for later. Owner thread.
  Runnable* steal_spawned(Worker& victim) noexcept;
  /// Timers due, finished I/O, inbox. Returns true when it made something runnable.
  bool maintenance();
  bool fire_timers();
  bool reap();
  bool drain_inbox();
  void park();
  void flush_notify() noexcept;
  void arm_wake_read();
  std::optional<std::int64_t> next_timeout() noexcept;
  bool has_remote_work() noexcept;
  void push_local(Runnable* r);
  /// Serves a thief's request for spawned work (see SpawnDeque).
  void publish_spawned() noexcept;
  void free_leftover_timers() noexcept;

  Shared& shared_;
  const std::uint32_t index_;
  const bool single_;  // Shared::single, at hand for the hot paths
  std::thread thread_;

  // Core
  std::optional<Ring> ring_;
  TimerHeap timers_;
  FifoQueue<Runnable> fifo_;
  Runnable* lifo_ = nullptr;
  std::uint32_t lifo_polls_ = 0;
  std::uint32_t tick_ = 0;
  int budget_ = kBudget;
  int nest_budget_ = kNestBudget;
  bool searching_ = false;
  // The last forced steal (see steal()): from whom, in which of its steps, and how long to
  // wait before forcing that same step again.
  Worker* force_victim_ = nullptr;
  std::uint32_t force_step_ = 0;
  int force_spins_ = 0;
  bool notify_pending_ = false;  // this step made work others could steal
  bool wake_armed_ = false;
  std::uint32_t io_inflight_ = 0;  // ring operations in flight, the wake read excluded
  std::uint64_t wake_buf_ = 0;
  std::int64_t virtual_now_ = 0;
  std::uint32_t rng_;

  // Remote
  LocalQueue<Runnable, kLocalCapacity> local_;
  SpawnDeque<Runnable, kSpawnCapacity, kSpawnCapacity> spawn_;
  std::mutex inbox_mu_;
  std::vector<Runnable*> inbox_;  // guarded by inbox_mu_
  std::atomic<bool> inbox_nonempty_{false};
  int wake_fd_ = -1;
  // Steps run so far (owner writes, thieves read): on its own line, written every step.
  alignas(64) std::atomic<std::uint32_t> steps_{0};
};

/// The worker whose thread calls this, or nullptr.
extern constinit thread_local Worker* t_worker;

/// Set by yield_current(): the task that just ran asked to go to the back of the queue.
extern constinit thread_local bool t_yield;

}  // namespace corio::detail
