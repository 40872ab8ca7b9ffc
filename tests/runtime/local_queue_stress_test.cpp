// Stress test for corio::detail::LocalQueue: one owner pushes and pops (spilling the oldest half
// to a mutex-protected overflow list when full and re-draining it), while 1-3 thieves steal from
// the owner and from each other into their own queues. Every item must be delivered exactly once
// with the contents the owner wrote (non-atomic fields, so TSan checks the publication chain).
// CORIO_STRESS_ITERS sets the number of items per test case (default 2M, 300k under TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/local_queue.hpp"
#include "support/queue_item.hpp"

namespace corio::detail {
namespace {

using Item = test::QueueItem;

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
constexpr bool kUnderTsan = __has_feature(thread_sanitizer);
#else
constexpr bool kUnderTsan = false;
#endif

std::size_t stress_items() {
  if (const char* s = std::getenv("CORIO_STRESS_ITERS")) {
    const unsigned long long v = std::strtoull(s, nullptr, 10);
    if (v > 0) return static_cast<std::size_t>(v);
  }
  return kUnderTsan ? 300'000 : 2'000'000;  // TSan is ~10-20x slower
}

template <std::uint32_t Cap>
class Harness {
  using Q = LocalQueue<Item, Cap>;

 public:
  Harness(int thieves, std::size_t n) : ledger_(n), owner_q_(new Q) {
    for (int i = 0; i < thieves; ++i) thief_q_.emplace_back(new Q);
  }

  void run() {
    std::thread watchdog([this] { watch(); });
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < thief_q_.size(); ++i) threads.emplace_back([this, i] { thief(i); });
    owner();
    for (auto& t : threads) t.join();
    {
      std::lock_guard<std::mutex> lock(watch_mu_);
      finished_ = true;
    }
    watch_cv_.notify_one();
    watchdog.join();

    EXPECT_FALSE(stalled_.load()) << "no progress for " << kStallLimit.count() << " s; lost items?";
    ledger_.expect_exactly_once();
    EXPECT_TRUE(owner_q_->is_empty());
    for (auto& q : thief_q_) EXPECT_TRUE(q->is_empty());
    EXPECT_TRUE(overflow_.empty());
    EXPECT_GT(steals_.load(), 0u);
    std::printf("  items=%zu thieves=%zu steals=%zu spills=%zu\n", ledger_.size(), thief_q_.size(),
                steals_.load(), spills_.load());
  }

 private:
  static constexpr std::chrono::seconds kStallLimit{20};

  // A lost item would leave every thread waiting for it forever; fail the test instead.
  void watch() {
    std::unique_lock<std::mutex> lock(watch_mu_);
    std::size_t last = 0;
    auto last_change = std::chrono::steady_clock::now();
    while (
        !watch_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return finished_; })) {
      const std::size_t now = ledger_.delivered();
      if (now != last) {
        last = now;
        last_change = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_change > kStallLimit) {
        stalled_.store(true, std::memory_order_relaxed);
        return;
      }
    }
  }

  bool done() const { return ledger_.complete() || stalled_.load(std::memory_order_relaxed); }

  void deliver(Item* it) {
    // A little "task" work, so consuming an item costs about as much as producing one.
    std::uint64_t x = it->payload;
    for (int i = 0; i < 16; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink_.store(x, std::memory_order_relaxed);
    ledger_.deliver(it);
  }

  Item* take_overflow() {
    std::lock_guard<std::mutex> lock(mu_);
    if (overflow_.empty()) return nullptr;
    Item* it = overflow_.back();
    overflow_.pop_back();
    overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
    return it;
  }

  void push_or_spill(Item* it) {
    while (!owner_q_->push(it) && !done()) {
      Item* out[Cap / 2];
      const std::uint32_t k = owner_q_->take_half(out);
      if (k == 0) {  // a thief is freeing room; let it run
        std::this_thread::yield();
        continue;
      }
      spills_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mu_);
      overflow_.insert(overflow_.end(), out, out + k);
      overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
    }
  }

  // Moves spilled items back into the local queue until it is full again.
  void redrain() {
    std::lock_guard<std::mutex> lock(mu_);
    while (!overflow_.empty() && owner_q_->push(overflow_.back())) overflow_.pop_back();
    overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
  }

  void owner() {
    while (ready_.load(std::memory_order_acquire) != thief_q_.size()) std::this_thread::yield();
    // Each round pushes 0-3 items (1.5 on average) and pops one, so the queue keeps some work for
    // thieves, fills and spills when they fall behind, and sometimes drains so that pops race
    // steals for the last items.
    std::uint32_t rng = 12345;
    std::size_t next = 0;
    while (!done()) {
      rng = rng * 1664525u + 1013904223u;
      for (std::uint32_t k = (rng >> 16) % 4; k > 0 && next < ledger_.size(); --k, ++next) {
        push_or_spill(ledger_.make(next));
      }
      if (Item* it = owner_q_->pop()) deliver(it);
      if (owner_q_->len() < Cap / 2 && overflow_size_.load(std::memory_order_relaxed) != 0) {
        redrain();
      } else if ((next == ledger_.size() && owner_q_->is_empty()) || (rng >> 24) == 0) {
        // Idle, or now and then anyway: on an oversubscribed machine this lets thieves run while
        // the queue holds work, instead of only between the owner's time slices.
        std::this_thread::yield();
      }
    }
  }

  void thief(std::size_t self) {
    Q& mine = *thief_q_[self];
    Q* peer = thief_q_.size() > 1 ? thief_q_[(self + 1) % thief_q_.size()].get() : nullptr;
    ready_.fetch_add(1, std::memory_order_release);
    for (std::uint32_t idle = 0; !done();) {
      Item* it = owner_q_->steal_into(mine);
      if (it == nullptr && peer != nullptr) it = peer->steal_into(mine);
      if (it != nullptr) {
        steals_.fetch_add(1, std::memory_order_relaxed);
        deliver(it);
      }
      // Pop only a couple, so peers find work in our queue and our own steals sometimes see a
      // dst that is more than half full.
      int popped = 0;
      for (; popped < 2; ++popped) {
        Item* own = mine.pop();
        if (own == nullptr) break;
        deliver(own);
      }
      if (it != nullptr || popped != 0) {
        idle = 0;
      } else if (++idle % 64 == 0) {
        // Like a worker checking the global queue: rarely, so stealing stays the main path.
        if (Item* spilled = take_overflow()) {
          deliver(spilled);
        } else {
          std::this_thread::yield();
        }
      }
    }
  }

  test::Ledger ledger_;
  std::atomic<std::size_t> steals_{0};
  std::atomic<std::size_t> spills_{0};
  std::atomic<std::size_t> ready_{0};
  std::atomic<std::uint64_t> sink_{0};
  std::atomic<bool> stalled_{false};
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool finished_ = false;  // guarded by watch_mu_
  std::unique_ptr<Q> owner_q_;
  std::vector<std::unique_ptr<Q>> thief_q_;
  std::mutex mu_;
  std::vector<Item*> overflow_;
  std::atomic<std::size_t> overflow_size_{0};  // hint, so the owner skips the lock when empty
};

TEST(LocalQueueStressTest, OneThief) {
  Harness<256>(1, stress_items()).run();
}
TEST(LocalQueueStressTest, TwoThieves) {
  Harness<256>(2, stress_items()).run();
}
TEST(LocalQueueStressTest, ThreeThieves) {
  Harness<256>(3, stress_items()).run();
}
TEST(LocalQueueStressTest, CapacityFourOneThief) {
  Harness<4>(1, stress_items()).run();
}
TEST(LocalQueueStressTest, CapacityFourThreeThieves) {
  Harness<4>(3, stress_items()).run();
}

}  // namespace
}  // namespace corio::detail
