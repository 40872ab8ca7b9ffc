// The heavy side of an asymmetric fence: membarrier(2) makes every thread of the process
// execute a full memory barrier, so that a hot path can order a store before a load with a
// compiler fence alone and leave the cost to a rare path.
#pragma once

namespace corio::detail {

/// membarrier(PRIVATE_EXPEDITED) is usable (registered once per process). False on old
/// kernels or under seccomp: callers must then use ordinary fences on both sides.
bool membarrier_ready() noexcept;

/// Returns once every thread of the process has executed a full barrier. Requires
/// membarrier_ready().
void heavy_barrier() noexcept;

}  // namespace corio::detail
