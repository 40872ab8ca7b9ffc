#include "runtime/idle.hpp"

#include <algorithm>

namespace corio::detail {

std::optional<std::uint32_t> Idle::worker_to_notify(bool pusher_runs_it) noexcept {
  // Fast path without a fence, only for a worker that pushed onto its own queues: a stale
  // "everyone is awake" can then only delay parallelism, never lose work, because that
  // worker runs what it pushed itself. Work pushed where no running worker will look (the
  // inject queue, from outside) must take the fenced path, or a worker parking right now
  // could miss it while we miss the worker.
  if (pusher_runs_it && (num_searching_.load(std::memory_order_relaxed) != 0 ||
                         num_unparked_.load(std::memory_order_relaxed) == n_)) {
    return std::nullopt;
  }
  // seq_cst: the caller's publication of work must be ordered before our read of the
  // counters, against the parking worker's registration before its last queue check
  // (a store-load pattern that acquire/release cannot order).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!should_notify()) return std::nullopt;
  std::lock_guard g(mu_);
  if (!should_notify() || sleepers_.empty()) return std::nullopt;
  std::uint32_t w = sleepers_.back();
  sleepers_.pop_back();
  num_searching_.fetch_add(1, std::memory_order_seq_cst);
  num_unparked_.fetch_add(1, std::memory_order_seq_cst);
  return w;
}

bool Idle::transition_to_searching() noexcept {
  std::uint32_t s = num_searching_.load(std::memory_order_seq_cst);
  if (2 * s >= n_) return false;
  num_searching_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool Idle::transition_from_searching() noexcept {
  return num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1;
}

bool Idle::transition_to_parked(std::uint32_t worker, bool searching) noexcept {
  std::lock_guard g(mu_);
  bool last = false;
  if (searching) last = num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1;
  num_unparked_.fetch_sub(1, std::memory_order_seq_cst);
  sleepers_.push_back(worker);
  return last;
}

bool Idle::transition_from_parked(std::uint32_t worker) noexcept {
  std::lock_guard g(mu_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
  if (it == sleepers_.end()) return true;  // notify() picked us and counted us already
  sleepers_.erase(it);
  num_unparked_.fetch_add(1, std::memory_order_seq_cst);
  return false;
}

}  // namespace corio::detail
