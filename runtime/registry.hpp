// Registry: every task that has been created and is not yet done, for all_tasks() and for
// the cancel-everything step of shutdown.
//
// Invariants
//   A task sits in exactly one shard's slot array from create_task() until its run completes,
//   at tasks[t->reg_index_]. Shard i belongs to worker i; tasks created outside any worker go
//   to shard 0. A shard's array, id counter and the tasks' reg_index_ change only under the
//   shard's lock, an OwnerLock owned by the shard's worker, so that adding and removing cost
//   it no locked instruction. Other threads take it only to look (all_tasks, shutdown) or,
//   for shard 0, to add a task spawned from outside: a task that finishes on another worker
//   is queued on the shard's deferred stack instead. Removal swaps the
//   last slot in, so it touches one other task — the newest, usually still in cache — and
//   never a neighbour in a list.
//   Tasks on a deferred stack are done but still in the array (and hold a reference).
// Memory ordering
//   The lock orders the array. deferred is a Treiber stack: release pushes, acquire take.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <corio/detail/task_header.hpp>
#include "runtime/owner_lock.hpp"

namespace corio::detail {

class Registry {
 public:
  explicit Registry(std::size_t shards);

  /// Called by worker `shard` on its thread before any task is added anywhere.
  void bind_owner(std::size_t shard) noexcept;

  /// Adds ts[0, n) to `shard`, under one lock, and numbers each: id_ is asyncio's default name
  /// number (1, 2, 3, ... in creation order on one worker; unique across shards), 0 for a task
  /// named at creation. Terminates if out of memory.
  void add(TaskHeader* const* ts, std::size_t n, std::size_t shard) noexcept;
  /// Removes t from its shard; returns t's reference count as it was under the lock (once
  /// the lock is dropped, nobody can take a new reference through the registry).
  std::uint64_t remove(TaskHeader* t) noexcept {  // inline: once per task on the hot path
    Shard& s = shards_[t->shard_];
    std::lock_guard g(s.lock);
    unlink(s, t);
    return t->state_.load(std::memory_order_acquire) >> kRefShift;
  }
  /// A task registered on another shard finished here: queue it for that shard's owner,
  /// who removes it and drops the reference it carries (drain_deferred). Any thread.
  void defer_remove(TaskHeader* t) noexcept;
  /// Owner of `shard`: removes and releases the tasks other workers finished.
  void drain_deferred(std::size_t shard) noexcept;
  /// Every registered task not yet done, each with a reference the caller must release.
  std::vector<TaskHeader*> snapshot_retained();
  /// Number of tasks registered now (done ones awaiting deferred removal included).
  std::size_t size() noexcept;

 private:
  struct alignas(64) Shard {
    OwnerLock lock;
    std::uint32_t next_id = 0;
    std::vector<TaskHeader*> tasks;
    // On its own cache line: other workers write it, the owner's lock must not bounce.
    alignas(64) std::atomic<TaskHeader*> deferred{nullptr};
  };
  static void unlink(Shard& s, TaskHeader* t) noexcept {
    TaskHeader* last = s.tasks.back();
    last->reg_index_ = t->reg_index_;
    s.tasks[t->reg_index_] = last;
    s.tasks.pop_back();
  }

  std::unique_ptr<Shard[]> shards_;
  std::size_t n_;
};

}  // namespace corio::detail
