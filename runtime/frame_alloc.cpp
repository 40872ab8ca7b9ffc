// Coroutine frames come from mimalloc, through a small per-thread LIFO cache.
//
// Fork-join code frees a frame and allocates one of the same size right after, over and
// over. mimalloc's free lists are sharded: a freed block is handed out again only once the
// page's other free blocks went round, so each new frame lands on a cold cache line. The
// cache hands back the block freed last, which is still in L1. It keeps at most kPerClass
// blocks of each 16-byte size class up to kMaxCached bytes; everything else goes straight
// to mimalloc, whose thread-local free lists make the rest cheap and which takes back
// blocks freed on another thread without a lock.
//
// Sanitizer builds use the ordinary allocator and no cache, so that ASan sees frame
// overflows, use-after-free and leaks (CORIO_SYSTEM_FRAME_ALLOC).
//
// Invariants
//   A cached block is free memory of mimalloc's, at least its class's size, owned by the
//   thread whose cache holds it. A thread's cache is emptied when the thread exits.
#include <cstddef>
#include <cstdint>
#include <new>

#include <corio/detail/task_header.hpp>

#ifndef CORIO_SYSTEM_FRAME_ALLOC
#include <mimalloc.h>
#endif

namespace corio::detail {

#ifdef CORIO_SYSTEM_FRAME_ALLOC

void* frame_alloc(std::size_t n) {
  return ::operator new(n);
}

void frame_free(void* p, std::size_t n) noexcept {
  (void)n;  // clang does not declare sized delete without -fsized-deallocation
  ::operator delete(p);
}

#else

namespace {

constexpr std::size_t kGrain = 16;
constexpr std::size_t kMaxCached = 1024;
constexpr std::size_t kClasses = kMaxCached / kGrain;
constexpr std::uint32_t kPerClass = 32;

struct Block {
  Block* next;
};

// Trivial, so that reaching it costs no TLS guard; FrameCacheOwner empties it at exit.
struct FrameCache {
  Block* head[kClasses];
  std::uint32_t count[kClasses];
  bool owned;  // this thread's FrameCacheOwner exists
};
constinit thread_local FrameCache t_cache{};

std::size_t class_of(std::size_t n) noexcept {
  return (n - 1) / kGrain;  // n in (16k, 16k + 16] -> k
}

struct FrameCacheOwner {
  ~FrameCacheOwner() {
    FrameCache& c = t_cache;
    for (std::size_t k = 0; k < kClasses; ++k) {
      while (Block* b = c.head[k]) {
        c.head[k] = b->next;
        mi_free(b);
      }
      c.count[k] = kPerClass;  // frames freed later in this thread's exit go to mimalloc
    }
  }
};

[[gnu::noinline]] void own_cache() noexcept {
  static thread_local FrameCacheOwner owner;
  (void)owner;
  t_cache.owned = true;
}

}  // namespace

void* frame_alloc(std::size_t n) {
  if (n <= kMaxCached) {
    FrameCache& c = t_cache;
    const std::size_t k = class_of(n);
    if (Block* b = c.head[k]) {
      c.head[k] = b->next;
      --c.count[k];
      return b;
    }
    // Round up to the class, so that any block of the class can serve any size in it.
    n = (k + 1) * kGrain;
  }
  void* p = mi_malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void frame_free(void* p, std::size_t n) noexcept {
  if (n <= kMaxCached) {
    FrameCache& c = t_cache;
    const std::size_t k = class_of(n);
    if (c.count[k] < kPerClass) {
      if (!c.owned) own_cache();
      auto* b = static_cast<Block*>(p);
      b->next = c.head[k];
      c.head[k] = b;
      ++c.count[k];
      return;
    }
  }
  mi_free(p);
}

#endif

}  // namespace corio::detail
