// ChunkedArray: a growable array of trivially copyable T in fixed chunks of N.
//
// Why not std::vector: growing a vector copies it into a buffer twice the size and frees the
// old one, and the allocator keeps the freed pages resident for a while, so a container that
// grows to n entries costs up to 4n entries of memory. Chunks are never copied, and memory is
// the entries in use rounded up to a chunk (plus one spare chunk, so that a size going back
// and forth across a chunk boundary does not allocate each time).
//
// Invariants
//   Entry i is chunks_[i / N][i % N] for i < size_. chunks_ holds ceil(size_ / N) chunks,
//   or one more (the spare).
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::detail {

template <class T, std::size_t N>
class ChunkedArray {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(N > 0 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return chunks_[i / N][i % N]; }
  const T& operator[](std::size_t i) const noexcept { return chunks_[i / N][i % N]; }
  T& front() noexcept { return (*this)[0]; }
  const T& front() const noexcept { return (*this)[0]; }
  T& back() noexcept { return (*this)[size_ - 1]; }

  /// Strong guarantee: throws std::bad_alloc with nothing changed.
  void push_back(const T& v) {
    if (size_ == chunks_.size() * N) {
      chunks_.reserve(chunks_.size() + 1);  // may throw; nothing changed yet
      chunks_.push_back(std::make_unique<T[]>(N));
    }
    (*this)[size_++] = v;
  }

  void pop_back() noexcept {
    --size_;
    // Keep one spare chunk beyond the one being filled; free the one after it.
    if (chunks_.size() * N - size_ > 2 * N) chunks_.pop_back();
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace corio::detail
