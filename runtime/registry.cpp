#include "runtime/registry.hpp"

#include <mutex>

namespace corio::detail {

Registry::Registry(std::size_t shards) : shards_(new Shard[shards]), n_(shards) {
  for (std::size_t i = 0; i < shards; ++i) shards_[i].tasks.reserve(1024);
}

void Registry::bind_owner(std::size_t shard) noexcept {
  shards_[shard].lock.bind_owner();
}

void Registry::add(TaskHeader* const* ts, std::size_t n, std::size_t shard) noexcept {
  Shard& s = shards_[shard];
  std::lock_guard g(s.lock);
  for (std::size_t i = 0; i < n; ++i) {
    TaskHeader* t = ts[i];
    // asyncio numbers only unnamed tasks: a task named at creation uses up no number.
    // id_ is the finished name number, so a Task handle can name its task after the runtime
    // is gone.
    t->id_ = t->extra_.load(std::memory_order_relaxed) == nullptr
                 ? static_cast<std::uint32_t>(std::uint64_t{s.next_id++} * n_ + shard + 1)
                 : 0;
    t->shard_ = static_cast<std::uint16_t>(shard);
    t->reg_index_ = static_cast<std::uint32_t>(s.tasks.size());
    s.tasks.push_back(t);  // noexcept function: out of memory here terminates
  }
}

void Registry::defer_remove(TaskHeader* t) noexcept {
  std::atomic<TaskHeader*>& head = shards_[t->shard_].deferred;
  TaskHeader* h = head.load(std::memory_order_relaxed);
  do {
    t->defer_next_ = h;
  } while (!head.compare_exchange_weak(h, t, std::memory_order_release, std::memory_order_relaxed));
}

void Registry::drain_deferred(std::size_t shard) noexcept {
  Shard& s = shards_[shard];
  if (s.deferred.load(std::memory_order_relaxed) == nullptr) return;
  TaskHeader* batch = s.deferred.exchange(nullptr, std::memory_order_acquire);
  {
    std::lock_guard g(s.lock);
    for (TaskHeader* t = batch; t != nullptr; t = t->defer_next_) unlink(s, t);
  }
  while (batch != nullptr) {
    TaskHeader* next = batch->defer_next_;
    release_task(batch);  // Lifetime: batch may be gone
    batch = next;
  }
}

std::vector<TaskHeader*> Registry::snapshot_retained() {
  std::vector<TaskHeader*> out;
  for (std::size_t i = 0; i < n_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard g(s.lock);
    out.reserve(out.size() + s.tasks.size());
    // Registered tasks hold the scheduler's reference (or, once done, the deferred
    // removal's), so taking one more is safe.
    for (TaskHeader* t : s.tasks) {
      if (t->waiters_.closed()) continue;  // done, waiting on a deferred stack
      retain_task(t);
      out.push_back(t);
    }
  }
  return out;
}

std::size_t Registry::size() noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    std::lock_guard g(shards_[i].lock);
    n += shards_[i].tasks.size();
  }
  return n;
}

}  // namespace corio::detail
