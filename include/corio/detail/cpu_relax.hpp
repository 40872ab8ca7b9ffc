#pragma once

namespace corio::detail {

/// Spin-wait hint: lets the sibling hyper-thread run and saves power in a short spin.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace corio::detail
