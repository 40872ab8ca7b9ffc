#include "runtime/registry.hpp"

#include <mutex>

namespace corio::detail {

Registry::Registry(std::size_t shards) : shards_(new Shard[shards]), n_(shards) {}

void Registry::add(TaskHeader* t, std::size_t shard) noexcept {
  Shard& s = shards_[shard];
  std::lock_guard g(s.lock);
  // asyncio numbers only unnamed tasks: a task named at creation uses up no number.
  t->id_ = t->extra_.load(std::memory_order_relaxed) == nullptr ? ++s.next_id : 0;
  t->shard_ = static_cast<std::uint16_t>(shard);
  t->reg_prev_ = nullptr;
  t->reg_next_ = s.head;
  if (s.head != nullptr) s.head->reg_prev_ = t;
  s.head = t;
  ++s.count;
}

void Registry::remove(TaskHeader* t) noexcept {
  Shard& s = shards_[t->shard_];
  std::lock_guard g(s.lock);
  if (t->reg_prev_ != nullptr) {
    t->reg_prev_->reg_next_ = t->reg_next_;
  } else {
    s.head = t->reg_next_;
  }
  if (t->reg_next_ != nullptr) t->reg_next_->reg_prev_ = t->reg_prev_;
  t->reg_prev_ = t->reg_next_ = nullptr;
  --s.count;
}

std::vector<TaskHeader*> Registry::snapshot_retained() {
  std::vector<TaskHeader*> out;
  for (std::size_t i = 0; i < n_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard g(s.lock);
    out.reserve(out.size() + s.count);
    // Registered tasks are not complete, so they still hold the scheduler's reference and
    // taking one more is safe.
    for (TaskHeader* t = s.head; t != nullptr; t = t->reg_next_) {
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
    n += shards_[i].count;
  }
  return n;
}

}  // namespace corio::detail
