#include "runtime/task_extra.hpp"

#include <memory>

#include <corio/task.hpp>
#include "runtime/shared.hpp"

namespace corio::detail {

TaskExtra* task_extra(TaskHeader* t) {
  TaskExtra* x = t->extra_.load(std::memory_order_acquire);
  if (x != nullptr) return x;
  auto fresh = std::make_unique<TaskExtra>();
  // Pairs with the acquire loads above: the winner's TaskExtra is fully built when seen.
  if (t->extra_.compare_exchange_strong(x, fresh.get(), std::memory_order_acq_rel)) {
    return fresh.release();
  }
  return x;
}

std::string task_name(TaskHeader* t) {
  if (TaskExtra* x = t->extra_.load(std::memory_order_acquire)) {
    std::lock_guard g(x->mu);
    if (x->named) return x->name;
  }
  if (t->id_ == 0) return "Task";
  return "Task-" + std::to_string(t->id_);
}

void set_task_name(TaskHeader* t, std::string name) {
  TaskExtra* x = task_extra(t);
  std::lock_guard g(x->mu);
  x->name = std::move(name);
  x->named = true;
}

}  // namespace corio::detail
