#include "runtime/heavy_barrier.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace corio::detail {

bool membarrier_ready() noexcept {
  static const bool ok = [] {
    long cmds = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    return ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }();
  return ok;
}

void heavy_barrier() noexcept {
  // It can fail for want of kernel memory (ENOMEM): the barrier has not happened then, and
  // the caller must not go on without it.
  while (::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
    std::this_thread::yield();
  }
}

}  // namespace corio::detail
