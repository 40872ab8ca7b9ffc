// corio::detail::BlockingPool -- growable thread pool for blocking work (to_thread, getaddrinfo).
//
// It never runs coroutines: a job is an opaque std::function that may block for a long time, so
// the pool grows a thread whenever a job would otherwise wait behind blocked ones, up to
// max_threads, and shrinks again when threads sit idle for keep_alive. Submission is not a hot
// path, so one mutex + condition_variable + deque is deliberately chosen over anything clever.
//
// Invariants (all guarded by mu_):
//   * threads_ holds exactly the live workers that may still take jobs; a worker removes itself
//     (by splicing into zombies_) in the same critical section in which it decides to retire, so
//     threads_.size() never counts a thread that will not look at the queue again.
//   * idle_ == number of workers blocked in cv_ waiting for work (0 <= idle_ <= threads_.size()).
//   * growth rule: submit spawns a thread iff, with the new job queued, queue_.size() > idle_ and
//     threads_.size() < max_threads_. Hence a job only queues behind busy (possibly blocked)
//     threads when the pool is at its cap (or a thread could not be created).
//   * a worker checks the queue after every wake-up, timed out or not, before retiring; so a job
//     handed to an idle thread whose keep_alive just expired is still taken.
//   * zombies_ holds std::thread objects of workers that retired; they never touch the pool again
//     after releasing mu_, so joining them (outside mu_) cannot deadlock. A thread that takes
//     zombies_ out of the list joins them before it returns (or exits itself).
//   * once stopping_ is set, no thread is added to threads_ and none retires, so shutdown can
//     take the whole list and join it.
//
// Shutdown:
//   shutdown() sets stopping_ (later submits throw std::runtime_error), wakes every worker, and
//   joins all threads. Workers keep taking jobs until the queue is empty, so every job accepted
//   before shutdown runs exactly once. A queued job that itself calls submit during shutdown gets
//   the exception. shutdown() is idempotent and concurrent callers all return after the join;
//   it must not be called from inside a job (it would join its own thread). The destructor calls
//   shutdown().
//
// Exceptions from jobs: jobs are expected to be noexcept wrappers that deliver results (and
// exceptions) through their own channel. If one throws anyway it escapes the worker's thread
// function and std::terminate is called; the pool does not try to survive that.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace corio::detail {

class BlockingPool {
 public:
  // Throws std::invalid_argument if max_threads == 0.
  explicit BlockingPool(std::size_t max_threads = 512,
                        std::chrono::milliseconds keep_alive = std::chrono::seconds(10));
  ~BlockingPool();

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Callable from any thread, including from a job. Strong guarantee: if it throws (shut down,
  // empty job -> std::invalid_argument, bad_alloc, or std::system_error when the very thread the
  // job needs cannot be created) the job was not queued.
  void submit(std::function<void()> job);

  // Stop accepting, run what is queued, join every thread. Idempotent.
  void shutdown();

  // Live worker threads (retired-but-not-yet-joined ones are not counted).
  std::size_t threads() const;

 private:
  using ThreadList = std::list<std::thread>;

  void worker_main(ThreadList::iterator self);
  // Moves zombies_ out under mu_ so the caller can join them after unlocking.
  ThreadList take_zombies_locked() noexcept;
  static void join_all(ThreadList& list) noexcept;

  const std::size_t max_threads_;
  const std::chrono::milliseconds keep_alive_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  ThreadList threads_;
  ThreadList zombies_;
  std::size_t idle_ = 0;
  bool stopping_ = false;

  // Serialises shutdown() callers so a second caller returns only after the join finished.
  std::mutex shutdown_mu_;
};

}  // namespace corio::detail
