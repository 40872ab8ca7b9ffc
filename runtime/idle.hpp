// Idle: which workers sleep and how many search for work, so that new work wakes a sleeper
// only when nobody is already looking, and no more than half the workers search at once.
//
// Invariants
//   num_searching_ <= num_unparked_ <= n_. A worker is in sleepers_ iff it is parked (or
//   about to) and nobody has picked it to wake. A worker picked by notify() leaves
//   sleepers_ already counted as unparked and searching.
// Memory ordering
//   Counters change under mu_ but are read without it on the hot path. notify() runs after
//   its caller published work and issues a seq_cst fence before reading them; a parking worker
//   registers under mu_ (seq_cst) before its last look at the queues. One of the two always
//   sees the other: either the worker finds the work, or notify() finds the sleeper.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace corio::detail {

class Idle {
 public:
  explicit Idle(std::uint32_t workers) : n_(workers), num_unparked_(workers) {
    sleepers_.reserve(workers);
  }

  /// Called after work was made available to others. Returns the worker to unpark, if any;
  /// that worker is counted as searching.
  std::optional<std::uint32_t> worker_to_notify(bool pusher_runs_it) noexcept;

  /// Before a worker steals: false when enough workers search already.
  bool transition_to_searching() noexcept;
  /// A searching worker found work. True if it was the last searcher (it then notifies
  /// another, so that remaining work still gets a searcher).
  bool transition_from_searching() noexcept;
  /// Registers the worker as a sleeper. True if it was the last searcher.
  bool transition_to_parked(std::uint32_t worker, bool searching) noexcept;
  /// After waking: true if some notify() picked this worker (it is now searching), false if
  /// it woke on its own (timer, I/O) and took itself off the sleepers.
  bool transition_from_parked(std::uint32_t worker) noexcept;

  /// Whether some worker is parked or about to park (seq_cst: see Shared::wake_owner).
  bool any_parked() const noexcept { return num_unparked_.load(std::memory_order_seq_cst) < n_; }

  std::uint32_t num_searching() const noexcept {
    return num_searching_.load(std::memory_order_seq_cst);
  }

 private:
  bool should_notify() const noexcept {
    return num_searching_.load(std::memory_order_seq_cst) == 0 &&
           num_unparked_.load(std::memory_order_seq_cst) < n_;
  }

  const std::uint32_t n_;
  std::atomic<std::uint32_t> num_searching_{0};
  std::atomic<std::uint32_t> num_unparked_;
  std::mutex mu_;
  std::vector<std::uint32_t> sleepers_;  // guarded by mu_
};

}  // namespace corio::detail
