// Coroutine frames come from mimalloc, through a small per-thread LIFO cache whose fast
// paths are inline (include/corio/detail/frame_cache.hpp).
//
// Fork-join code frees a frame and allocates one of the same size right after, over and
// over. mimalloc's free lists are sharded: a freed block is handed out again only once the
// page's other free blocks went round, so each new frame lands on a cold cache line. The
// cache hands back the block freed last, which is still in L1. It keeps at most kPerClass
// blocks of each 16-byte size class up to kMaxCached bytes; everything else goes straight
// to mimalloc, whose thread-local free lists make the rest cheap and which takes back
// blocks freed on another thread without a lock.
//
// Sanitizer builds use the ordinary allocator and no cache (the limit stays 0), so that
// ASan sees frame overflows, use-after-free and leaks (CORIO_SYSTEM_FRAME_ALLOC).
//
// Invariants
//   See frame_cache.hpp. A thread's limit becomes kPerClass when it first frees a frame
//   (it then owns the cache) and 0 again when the thread exits, after the cache is emptied.
#include <cstddef>
#include <cstdint>
#include <new>

#include <corio/detail/frame_cache.hpp>

#ifndef CORIO_SYSTEM_FRAME_ALLOC
#include <mimalloc.h>
#endif

namespace corio::detail {

constinit thread_local FrameCache t_frame_cache{};

[[gnu::noinline]] FrameCache& frame_cache_lookup() noexcept {
  return t_frame_cache;
}

#ifdef CORIO_SYSTEM_FRAME_ALLOC

void* frame_alloc_slow(std::size_t n) {
  return ::operator new(n);
}

void frame_free_slow(void* p, std::size_t n) noexcept {
  (void)n;  // clang does not declare sized delete without -fsized-deallocation
  ::operator delete(p);
}

#else

namespace {

constexpr std::uint32_t kPerClass = 32;

struct FrameCacheOwner {
  ~FrameCacheOwner() {
    FrameCache& c = frame_cache();
    c.limit = 0;  // frames freed later in this thread's exit go to mimalloc
    for (std::size_t k = 0; k < FrameCache::kClasses; ++k) {
      while (FrameCache::Block* b = c.head[k]) {
        c.head[k] = b->next;
        mi_free(b);
      }
      c.count[k] = 0;
    }
  }
};

void own_cache() noexcept {
  static thread_local FrameCacheOwner owner;  // Lifetime: destroyed at thread exit
  (void)owner;
  frame_cache().limit = kPerClass;
}

}  // namespace

void* frame_alloc_slow(std::size_t n) {
  // Round up to the class, so that any block of the class can serve any size in it.
  if (n <= FrameCache::kMaxCached) n = (FrameCache::class_of(n) + 1) * FrameCache::kGrain;
  void* p = mi_malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void frame_free_slow(void* p, std::size_t n) noexcept {
  // The first free of a thread that never owned its cache: own it (once), then cache.
  static constinit thread_local bool t_owned = false;
  if (n <= FrameCache::kMaxCached && !t_owned) {
    t_owned = true;
    own_cache();
    frame_free(p, n);
    return;
  }
  mi_free(p);
}

#endif

}  // namespace corio::detail
