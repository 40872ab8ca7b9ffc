// TaskExtra: the rarely used parts of a task, allocated on first use so that a plain task
// stays small.
#pragma once

#include <mutex>
#include <string>

#include <corio/detail/task_header.hpp>

namespace corio::detail {

struct TaskExtra {
  std::mutex mu;           // guards the strings: set_name/cancel may come from any thread
  std::string name;        // when named: set_name("") names it "" (as asyncio)
  bool named = false;      // false: the default "Task-N"
  std::string cancel_msg;  // message of the last cancel(msg)
};

/// t's extra part, created on first use (any thread). Throws std::bad_alloc.
TaskExtra* task_extra(TaskHeader* t);

}  // namespace corio::detail
