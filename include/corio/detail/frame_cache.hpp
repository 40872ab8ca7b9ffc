// The per-thread cache in front of the frame allocator (runtime/frame_alloc.cpp): its fast
// paths, inline so that a coroutine's allocation, whose size the compiler knows, costs a
// few instructions and no call.
//
// Invariants
//   A cached block is free memory of the frame allocator's, at least its class's size,
//   owned by the thread whose cache holds it. count[k] <= limit, which is 0
//   when frames come from the ordinary allocator (sanitizer builds): nothing is ever cached
//   then, and every call takes the library's slow path. Blocks are cached only by a thread
//   whose cache is owned (emptied when the thread exits).
#pragma once

#include <cstddef>
#include <cstdint>

namespace corio::detail {

struct FrameCache {
  static constexpr std::size_t kGrain = 16;
  static constexpr std::size_t kMaxCached = 1024;
  static constexpr std::size_t kClasses = kMaxCached / kGrain;
  struct Block {
    Block* next;
  };
  static constexpr std::size_t class_of(std::size_t n) noexcept {
    return (n - 1) / kGrain;  // n in (16k, 16k + 16] -> k
  }

  Block* head[kClasses];
  std::uint32_t count[kClasses];
  std::uint32_t limit;  // blocks per class: 0 until the thread owns its cache
};
// Trivial, so that reaching it costs no TLS guard.
extern constinit thread_local FrameCache t_frame_cache;

void* frame_alloc_slow(std::size_t n);
void frame_free_slow(void* p, std::size_t n) noexcept;

/// This thread's cache, looked up afresh: out of line. The inline fast paths run inside
/// coroutine bodies, which may resume on another thread, and clang may keep a thread-local's
/// address across a suspension (LLVM issues 47179 and 63022): it would then use the first
/// thread's cache from the second. Defined in the library for every compiler.
FrameCache& frame_cache_lookup() noexcept;

#if defined(__clang__)
inline FrameCache& frame_cache() noexcept {
  return frame_cache_lookup();
}
#else
/// g++ splits a coroutine before optimizing, so every resumption computes the address anew
/// and the lookup can be inline. The empty asm hides where the address comes from: g++'s
/// UBSan null check of a thread-local's address jumps on the flags of the `add` that
/// computes it, which the linker rewrites into a flagless `lea` in executables, so the check
/// read stale flags and reported a null pointer. From a register, the check tests it.
inline FrameCache& frame_cache() noexcept {
  FrameCache* c = &t_frame_cache;
  asm("" : "+r"(c));
  return *c;
}
#endif

/// Frame allocation. Throws std::bad_alloc.
inline void* frame_alloc(std::size_t n) {
  if (n <= FrameCache::kMaxCached) {
    FrameCache& c = frame_cache();
    const std::size_t k = FrameCache::class_of(n);
    if (FrameCache::Block* b = c.head[k]) {
      c.head[k] = b->next;
      --c.count[k];
      return b;
    }
  }
  return frame_alloc_slow(n);
}

inline void frame_free(void* p, std::size_t n) noexcept {
  if (n <= FrameCache::kMaxCached) {
    FrameCache& c = frame_cache();
    const std::size_t k = FrameCache::class_of(n);
    if (c.count[k] < c.limit) {
      auto* b = static_cast<FrameCache::Block*>(p);
      b->next = c.head[k];
      c.head[k] = b;
      ++c.count[k];
      return;
    }
  }
  frame_free_slow(p, n);
}

}  // namespace corio::detail
