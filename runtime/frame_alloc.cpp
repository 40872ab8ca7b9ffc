// Coroutine frames come from mimalloc: its thread-local free lists make the frequent
// allocate/free of small frames cheap, and frames freed on another worker go back to the
// owning heap without a lock. Sanitizer builds use the ordinary allocator so that ASan sees
// frame overflows and leaks (CORIO_SYSTEM_FRAME_ALLOC).
#include <cstddef>
#include <new>

#include <corio/detail/task_header.hpp>

#ifndef CORIO_SYSTEM_FRAME_ALLOC
#include <mimalloc.h>
#endif

namespace corio::detail {

void* frame_alloc(std::size_t n) {
#ifdef CORIO_SYSTEM_FRAME_ALLOC
  return ::operator new(n);
#else
  void* p = mi_malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
#endif
}

void frame_free(void* p, std::size_t n) noexcept {
#ifdef CORIO_SYSTEM_FRAME_ALLOC
  (void)n;  // clang does not declare sized delete without -fsized-deallocation
  ::operator delete(p);
#else
  mi_free_size(p, n);
#endif
}

}  // namespace corio::detail
