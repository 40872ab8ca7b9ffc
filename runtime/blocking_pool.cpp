#include "runtime/blocking_pool.hpp"

#include <iterator>
#include <stdexcept>
#include <utility>

namespace corio::detail {

BlockingPool::BlockingPool(std::size_t max_threads, std::chrono::milliseconds keep_alive)
    : max_threads_(max_threads), keep_alive_(keep_alive) {
  if (max_threads == 0) throw std::invalid_argument("corio: blocking pool needs max_threads > 0");
}

BlockingPool::~BlockingPool() {
  shutdown();
}

void BlockingPool::submit(std::function<void()> job) {
  if (!job) throw std::invalid_argument("corio: empty job submitted to blocking pool");
  ThreadList dead;
  {
    std::unique_lock lock(mu_);
    if (stopping_) throw std::runtime_error("corio: blocking pool is shut down");
    queue_.push_back(std::move(job));  // may throw bad_alloc; nothing else changed yet
    dead = take_zombies_locked();
    if (queue_.size() > idle_ && threads_.size() < max_threads_) {
      // More queued jobs than waiting threads: grow so this job does not wait behind blocked
      // ones. The new worker blocks on mu_ until we release it, so *self is assigned by then.
      threads_.emplace_back();
      const auto self = std::prev(threads_.end());
      try {
        *self = std::thread([this, self] { worker_main(self); });
      } catch (...) {
        threads_.erase(self);
        // Keep the strong guarantee only when the job would otherwise be stranded; with other
        // live threads it will still run, so a failed spawn just means less parallelism.
        if (threads_.empty()) {
          queue_.pop_back();
          lock.unlock();
          join_all(dead);
          throw;
        }
      }
    } else if (idle_ > 0) {
      cv_.notify_one();
    }
  }
  join_all(dead);
}

void BlockingPool::shutdown() {
  std::lock_guard serial(shutdown_mu_);
  ThreadList all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    all.splice(all.end(), threads_);
    all.splice(all.end(), zombies_);
  }
  cv_.notify_all();
  join_all(all);
}

std::size_t BlockingPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_.size();
}

void BlockingPool::worker_main(ThreadList::iterator self) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;  // shutdown owns our std::thread and joins it
      // One deadline per idle period, so spurious or stolen wake-ups do not extend it.
      const auto deadline = std::chrono::steady_clock::now() + keep_alive_;
      ++idle_;
      bool timed_out = false;
      while (queue_.empty() && !stopping_ && !timed_out) {
        timed_out = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
      }
      --idle_;
      if (queue_.empty() && !stopping_) {
        // Retire: reap earlier retirees, then become the zombie the next reaper (a later
        // retiree, submit or shutdown) joins. So at most one exited-but-unjoined thread lingers,
        // and shutdown still joins everyone transitively: it joins us, we join `dead`.
        ThreadList dead = take_zombies_locked();
        zombies_.splice(zombies_.end(), threads_, self);  // noexcept, allocation-free
        lock.unlock();
        join_all(dead);
        return;
      }
      continue;
    }
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();          // an escaping exception terminates (documented in the header)
    job = nullptr;  // destroy captures outside mu_: their destructors may be arbitrary
    lock.lock();
  }
}

BlockingPool::ThreadList BlockingPool::take_zombies_locked() noexcept {
  ThreadList out;
  out.splice(out.end(), zombies_);
  return out;
}

void BlockingPool::join_all(ThreadList& list) noexcept {
  for (std::thread& t : list) {
    if (t.joinable()) t.join();
  }
  list.clear();
}

}  // namespace corio::detail
