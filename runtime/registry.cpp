#include "runtime/registry.hpp"

#include <mutex>

namespace corio::detail {

namespace {

/// Pushes x on a Treiber stack linked through x->*next; true when the stack was empty.
/// seq_cst: ordered before the caller's look at the sleepers (Shared::wake_owner).
template <class T>
bool push_deferred(std::atomic<T*>& head, T* x, T* T::*next) noexcept {
  T* h = head.load(std::memory_order_relaxed);
  do {
    x->*next = h;
  } while (!head.compare_exchange_weak(h, x, std::memory_order_seq_cst, std::memory_order_relaxed));
  return h == nullptr;
}

}  // namespace

Registry::Registry(std::size_t shards) : shards_(new Shard[shards]), n_(shards) {
  for (std::size_t i = 0; i < shards; ++i) shards_[i].tasks.reserve(1024);
}

void Registry::bind_owner(std::size_t shard) noexcept {
  shards_[shard].lock.bind_owner();
}

void Registry::add(TaskHeader* t, std::size_t shard) noexcept {
  Shard& s = shards_[shard];
  std::lock_guard g(s.lock);
  // asyncio numbers only unnamed tasks: a task named at creation uses up no number. id_ is
  // the finished name number, so a Task handle can name its task after the runtime is gone.
  t->id_ = t->extra_.load(std::memory_order_relaxed) == nullptr ? next_id(s, shard) : 0;
  t->shard_ = static_cast<std::uint16_t>(shard);
  t->reg_index_ = static_cast<std::uint32_t>(s.tasks.size());
  s.tasks.push_back(t);  // noexcept function: out of memory here terminates
}

void Registry::link_group(Shard& s, Join* j, std::size_t shard) noexcept {
  j->registry_.store(this, std::memory_order_relaxed);
  j->shard_ = static_cast<std::uint16_t>(shard);
  j->reg_index_ = static_cast<std::uint32_t>(s.groups.size());
  s.groups.push_back(j);  // noexcept function: out of memory here terminates
}

void Registry::remove_group(Join* j) noexcept {
  Shard& s = shards_[j->shard_];
  std::lock_guard g(s.lock);
  if (j->registry_.load(std::memory_order_relaxed) == this) unlink_group(s, j);
}

bool Registry::defer_remove_group(Join* j) noexcept {
  return push_deferred(shards_[j->shard_].deferred_groups, j, &Join::next_deferred_);
}

void Registry::detach_groups() noexcept {
  for (std::size_t i = 0; i < n_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard g(s.lock);
    for (Join* j : s.groups) j->registry_.store(nullptr, std::memory_order_release);
    s.groups.clear();
  }
}

bool Registry::defer_remove(TaskHeader* t) noexcept {
  return push_deferred(shards_[t->shard_].deferred, t, &TaskHeader::defer_next_);
}

bool Registry::drain_deferred(std::size_t shard) noexcept {
  Shard& s = shards_[shard];
  bool any = false;
  if (s.deferred_groups.load(std::memory_order_relaxed) != nullptr) {
    any = true;
    Join* batch = s.deferred_groups.exchange(nullptr, std::memory_order_acquire);
    {
      std::lock_guard g(s.lock);
      for (Join* j = batch; j != nullptr; j = j->next_deferred_) unlink_group(s, j);
    }
    while (batch != nullptr) {
      Join* next = batch->next_deferred_;
      Join::dispose(batch);  // Lifetime: batch is gone
      batch = next;
    }
  }
  if (s.deferred.load(std::memory_order_relaxed) == nullptr) return any;
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
  return true;
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
    // A registered Join holds a reference on each child: taking one more is safe.
    for (Join* j : s.groups) {
      for_live_children(j, [&out](TaskHeader* t) {
        retain_task(t);
        out.push_back(t);
      });
    }
  }
  return out;
}

std::size_t Registry::size() noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    std::lock_guard g(shards_[i].lock);
    n += shards_[i].tasks.size();
    for (Join* j : shards_[i].groups) n += live_children(j);
  }
  return n;
}

}  // namespace corio::detail
