// Registry: every task that has been created and is not yet done, for all_tasks() and for
// the cancel-everything step of shutdown.
//
// Invariants
//   A task is linked in exactly one shard from create_task() until its run completes.
//   Shard i belongs to worker i; tasks created outside any worker go to shard 0.
//   A shard's list, count and id counter change only under the shard's lock.
// Memory ordering
//   The lock orders every access; no field is read outside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <corio/detail/task_header.hpp>
#include "runtime/spin_lock.hpp"

namespace corio::detail {

class Registry {
 public:
  explicit Registry(std::size_t shards);

  /// Links t into `shard` and numbers it (id_, shard_).
  void add(TaskHeader* t, std::size_t shard) noexcept;
  /// Unlinks t from its shard.
  void remove(TaskHeader* t) noexcept;
  /// Every registered task, each with a reference the caller must release.
  std::vector<TaskHeader*> snapshot_retained();
  /// Number of tasks registered now.
  std::size_t size() noexcept;
  /// asyncio's default name number: 1, 2, 3, ... in creation order on one worker.
  std::uint64_t name_number(const TaskHeader* t) const noexcept {
    return std::uint64_t{t->id_ - 1} * n_ + t->shard_ + 1;
  }

 private:
  struct alignas(64) Shard {
    SpinLock lock;
    TaskHeader* head = nullptr;
    std::size_t count = 0;
    std::uint32_t next_id = 0;
  };
  std::unique_ptr<Shard[]> shards_;
  std::size_t n_;
};

}  // namespace corio::detail
