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
//   The children a gather creates are registered through their Join instead (one group
//   entry per gather, in groups): the Join holds a reference on each and stays registered
//   until it is freed, so a group's children can be reached under the shard's lock. Such a
//   child (kJoined) is numbered when its group is added; its reg_index_ is unused until its
//   run completes on the group's worker, which sets kGroupDone under the lock (a child that
//   completes elsewhere closes its waiter list first, which is what the snapshot checks).
//   A Join freed on another worker goes to the shard's deferred group stack (only workers
//   push there, so stop() drains it for good once they are joined); any other thread
//   unregisters it under the foreign lock. stop() then detaches the groups left
//   (registry_ = nullptr, under the lock), whose Joins later free themselves unaided.
// Memory ordering
//   The lock orders the array. deferred is a Treiber stack: release pushes, acquire take.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <corio/detail/join.hpp>
#include <corio/detail/task_header.hpp>
#include "runtime/owner_lock.hpp"

namespace corio::detail {

class Registry {
 public:
  explicit Registry(std::size_t shards);

  /// Called by worker `shard` on its thread before any task is added anywhere.
  void bind_owner(std::size_t shard) noexcept;

  /// Adds t to `shard` and numbers it: id_ is asyncio's default name number (1, 2, 3, ... in
  /// creation order on one worker; unique across shards), 0 for a task named at creation.
  /// Terminates if out of memory.
  void add(TaskHeader* t, std::size_t shard) noexcept;
  /// Registers the children j created (adopt_new) as one group entry on `shard` and
  /// numbers them in index order, calling set_up(i) for each child i (with its fields set)
  /// under the lock, so that it is ready before anyone can see it. j stays registered until
  /// Join::free. Shard's worker only; terminates if out of memory.
  template <class F>
  void add_group(Join* j, std::size_t shard, F set_up) noexcept {
    Shard& s = shards_[shard];
    OwnerLock::AsOwner g(s.lock);
    // The counter in a local: the stores into the children could alias it.
    std::uint32_t seq = s.next_id;
    const std::size_t n = j->size();
    for (std::size_t i = 0; i < n; ++i) {
      if (!j->created(i)) continue;
      TaskHeader* t = j->child(i);
      t->id_ = id_for(seq++, shard);  // a gather's children are never named
      t->shard_ = static_cast<std::uint16_t>(shard);
      set_up(i);  // sets kJoined, which says the task is a group's
    }
    s.next_id = seq;
    link_group(s, j, shard);
  }
  /// Removes t (or, for a group's child, marks it done) in its shard; returns t's reference
  /// count as it was under the lock (once the lock is dropped, nobody can take a new
  /// reference through the registry). Called by the shard's worker.
  std::uint64_t remove(TaskHeader* t) noexcept {  // inline: once per task on the hot path
    Shard& s = shards_[t->shard_];
    OwnerLock::AsOwner g(s.lock);
    if (t->flags_ & kJoined) {
      t->reg_index_ = kGroupDone;
    } else {
      unlink(s, t);
    }
    return t->state_.load(std::memory_order_acquire) >> kRefShift;
  }
  /// A task registered on another shard finished here: queue it for that shard's owner,
  /// who removes it and drops the reference it carries (drain_deferred). Any thread.
  /// Returns true when the stack was empty: the caller wakes the owner.
  bool defer_remove(TaskHeader* t) noexcept;
  /// Removes j's group entry unless detach_groups() forgot it already. Any thread: the
  /// shard's worker takes the lock cheaply, others pay the foreign lock's membarrier.
  void remove_group(Join* j) noexcept;
  /// Another worker of the runtime: queues j for its shard's worker, which removes it and
  /// disposes of it. Returns true when the stack was empty: the caller wakes that worker.
  bool defer_remove_group(Join* j) noexcept;
  /// Owner of `shard`: removes and releases the tasks other workers finished, and disposes
  /// of the Joins they freed.
  /// Returns whether there was anything.
  bool drain_deferred(std::size_t shard) noexcept;
  /// Whether `shard`'s deferred stacks hold anything (seq_cst: see Shared::wake_owner).
  bool has_deferred(std::size_t shard) const noexcept {
    const Shard& s = shards_[shard];
    return s.deferred.load(std::memory_order_seq_cst) != nullptr ||
           s.deferred_groups.load(std::memory_order_seq_cst) != nullptr;
  }
  /// Once no worker runs (after the last drain): forgets the groups left, whose Joins are
  /// freed later without unregistering.
  void detach_groups() noexcept;
  /// Every registered task not yet done, each with a reference the caller must release.
  std::vector<TaskHeader*> snapshot_retained();
  /// Number of tasks registered now (done ones awaiting deferred removal included; a group
  /// counts its children not yet done).
  std::size_t size() noexcept;

 private:
  static constexpr std::uint32_t kGroupDone = ~std::uint32_t{0};

  struct alignas(64) Shard {
    OwnerLock lock;
    std::uint32_t next_id = 0;
    std::vector<TaskHeader*> tasks;
    std::vector<Join*> groups;
    // On its own cache line: other workers write them, the owner's lock must not bounce.
    alignas(64) std::atomic<TaskHeader*> deferred{nullptr};
    std::atomic<Join*> deferred_groups{nullptr};
  };
  std::uint32_t next_id(Shard& s, std::size_t shard) noexcept { return id_for(s.next_id++, shard); }
  /// The name number of the shard's seq-th task.
  std::uint32_t id_for(std::uint32_t seq, std::size_t shard) const noexcept {
    return static_cast<std::uint32_t>(std::uint64_t{seq} * n_ + shard + 1);
  }
  /// Calls f on each child j created that is not done yet. Under j's shard's lock.
  template <class F>
  static void for_live_children(Join* j, F f) {
    for (std::size_t k = 0; k < j->size(); ++k) {
      if (!j->created(k)) continue;  // a Task handed to gather: registered on its own
      TaskHeader* t = j->child(k);
      if (t->reg_index_ == kGroupDone || t->waiters_.closed()) continue;
      f(t);
    }
  }
  static std::size_t live_children(Join* j) noexcept {
    std::size_t n = 0;
    for_live_children(j, [&n](TaskHeader*) { ++n; });
    return n;
  }
  void link_group(Shard& s, Join* j, std::size_t shard) noexcept;
  static void unlink_group(Shard& s, Join* j) noexcept {
    Join* last = s.groups.back();
    last->reg_index_ = j->reg_index_;
    s.groups[j->reg_index_] = last;
    s.groups.pop_back();
  }
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
