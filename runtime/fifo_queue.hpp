// FifoQueue: the single-thread mode run queue — unbounded, owner-only, strictly FIFO, so
// ready tasks run in the order they became ready, as asyncio promises.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace corio::detail {

template <class T>
class FifoQueue {
 public:
  FifoQueue() : buf_(new T*[16]), cap_(16) {}

  /// May throw std::bad_alloc when growing; the queue is unchanged then.
  void push(T* item) {
    if (size_ == cap_) grow();
    buf_[(head_ + size_) & (cap_ - 1)] = item;
    ++size_;
  }
  T* pop() noexcept {
    if (size_ == 0) return nullptr;
    T* item = buf_[head_];
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return item;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  void grow() {
    std::unique_ptr<T*[]> next(new T*[cap_ * 2]);
    for (std::size_t i = 0; i < size_; ++i) next[i] = buf_[(head_ + i) & (cap_ - 1)];
    buf_ = std::move(next);
    cap_ *= 2;
    head_ = 0;
  }

  std::unique_ptr<T*[]> buf_;
  std::size_t cap_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace corio::detail
