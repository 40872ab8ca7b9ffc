// What the queue stress tests pass around and how they check it: items with plain fields the
// producer writes before it publishes them (a consumer reading a wrong payload, or TSan, shows
// a broken hand-over), and a ledger that counts every delivery, so that a lost or duplicated
// item fails the test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace corio::test {

struct QueueItem {
  std::uint32_t id = 0;
  std::uint64_t payload = 0;
};

class Ledger {
 public:
  explicit Ledger(std::size_t n) : items_(n), seen_(n) {}

  std::size_t size() const noexcept { return items_.size(); }
  /// Item i, filled in: the producer calls this before publishing it.
  QueueItem* make(std::size_t i) noexcept {
    QueueItem& it = items_[i];
    it.id = static_cast<std::uint32_t>(i);
    it.payload = payload_of(it.id);
    return &it;
  }
  /// A consumer got it (any thread).
  void deliver(const QueueItem* it) noexcept {
    if (it->payload != payload_of(it->id)) bad_.fetch_add(1, std::memory_order_relaxed);
    seen_[it->id].fetch_add(1, std::memory_order_relaxed);
    delivered_.fetch_add(1, std::memory_order_relaxed);
  }
  std::size_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
  bool complete() const noexcept { return delivered() >= size(); }

  /// After every thread stopped: each item arrived once, intact.
  void expect_exactly_once() const {
    EXPECT_EQ(delivered(), size());
    EXPECT_EQ(bad_.load(), 0u) << "items with a payload other than their producer wrote";
    std::size_t wrong = 0;
    for (const auto& s : seen_) wrong += s.load(std::memory_order_relaxed) != 1;
    EXPECT_EQ(wrong, 0u) << "items not delivered exactly once";
  }

 private:
  static constexpr std::uint64_t payload_of(std::uint32_t id) {
    return id * 0x9e3779b97f4a7c15ull + 1;
  }

  std::vector<QueueItem> items_;
  std::vector<std::atomic<std::uint8_t>> seen_;
  std::atomic<std::size_t> delivered_{0};
  std::atomic<std::size_t> bad_{0};
};

}  // namespace corio::test
