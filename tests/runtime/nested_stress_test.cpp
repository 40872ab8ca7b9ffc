// Stress: gather children run nested in their gatherer's step (Join::help) on all workers,
// mixed with every way a child can leave that step — returning quietly, returning while
// someone else holds its handle, raising, yielding, parking, gathering further — while other
// tasks await those handles, cancel them, take all_tasks() snapshots, and the other workers
// steal. Every result must add up, every cancel must end in CancelledError, and every frame
// must be freed once (Counted probes; ASan). CORIO_STRESS_ITERS sets the number of rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"
#include "support/counted.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::Counted;
using test::run_test;

constexpr std::uint64_t kErrorValue = 1000;  // what a raising child adds to its parent's sum

/// Handles that children hand out of their nested step, taken by other tasks.
class Pool {
 public:
  void put(Task<void> t) {
    std::lock_guard g(mu_);
    if (tasks_.size() < 256) tasks_.push_back(std::move(t));
  }
  Task<void> take() {
    std::lock_guard g(mu_);
    if (tasks_.empty()) return {};
    Task<void> t = std::move(tasks_.front());
    tasks_.pop_front();
    return t;
  }
  void clear() {
    std::lock_guard g(mu_);
    tasks_.clear();
  }

 private:
  std::mutex mu_;
  std::deque<Task<void>> tasks_;
};

std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

enum class Kind { kQuiet, kHanded, kRaise, kYield, kPark, kGather };

Kind kind_of(std::uint32_t seed, int depth) {
  const std::uint32_t k = mix(seed) % 8;
  if (depth > 0 && k >= 5) return Kind::kGather;
  switch (k % 5) {
    case 0:
      return Kind::kQuiet;
    case 1:
      return Kind::kHanded;
    case 2:
      return Kind::kRaise;
    case 3:
      return Kind::kYield;
    default:
      return Kind::kPark;
  }
}

/// What node(seed, depth) returns when nothing is cancelled.
std::uint64_t expected(std::uint32_t seed, int depth) {
  switch (kind_of(seed, depth)) {
    case Kind::kRaise:
      return kErrorValue;  // counted by the parent, which sees the error
    case Kind::kGather: {
      std::uint64_t sum = 0;
      for (std::uint32_t i = 0; i < 4; ++i) sum += expected(mix(seed + i), depth - 1);
      return sum;
    }
    default:
      return seed % 97;
  }
}

Coro<std::uint64_t> node(std::uint32_t seed, int depth, Pool& pool, Counted probe) {
  (void)probe;
  switch (kind_of(seed, depth)) {
    case Kind::kQuiet:
      co_return seed % 97;
    case Kind::kHanded:
      pool.put(current_task());  // its end cannot be quiet: someone else holds it
      co_return seed % 97;
    case Kind::kRaise:
      throw std::runtime_error("child");
    case Kind::kYield:
      co_await sleep(0s);
      co_return seed % 97;
    case Kind::kPark:
      co_await sleep(std::chrono::microseconds(seed % 50));
      co_return seed % 97;
    case Kind::kGather:
      break;
  }
  std::vector<Coro<std::uint64_t>> cs;
  for (std::uint32_t i = 0; i < 4; ++i) cs.push_back(node(mix(seed + i), depth - 1, pool, {}));
  std::uint64_t sum = 0;
  for (auto& o : co_await gather_settled(std::move(cs))) {
    if (o.has_value()) {
      sum += o.value();
    } else {
      try {
        std::rethrow_exception(o.error());
      } catch (const CancelledError&) {
        throw;  // a cancelled descendant: the whole tree reports it
      } catch (const std::runtime_error&) {
        sum += kErrorValue;
      }
    }
  }
  co_return sum;
}

/// Awaits handed-out children (their waiter lists get nodes after a nested step) and takes
/// all_tasks() snapshots, which reach the nested children through their Join.
Coro<void> bystander(Pool& pool, std::atomic<bool>& stop, bool cancel) {
  std::uint32_t n = 0;
  while (!stop.load(std::memory_order_acquire)) {
    if (Task<void> t = pool.take(); t.valid()) {
      if (cancel && ++n % 2 == 0) t.cancel();
      try {
        co_await t;
      } catch (const CancelledError&) {
        EXPECT_TRUE(cancel);
      }
    } else if (++n % 16 == 0) {
      EXPECT_FALSE(all_tasks().empty());  // this task, at least
    } else {
      co_await sleep(0s);
    }
  }
}

/// The pool and two bystanders working on it, from construction until stop().
class Bystanders {
 public:
  explicit Bystanders(bool cancel)
      : b1_(create_task(bystander(pool, stop_, cancel))),
        b2_(create_task(bystander(pool, stop_, cancel))) {}
  Coro<void> stop() {
    stop_.store(true, std::memory_order_release);
    co_await b1_;
    co_await b2_;
    pool.clear();
  }
  Pool pool;

 private:
  std::atomic<bool> stop_{false};
  Task<void> b1_, b2_;
};

TEST(NestedStress, TreesAddUpWhileHandlesAreAwaitedAndSnapshotsTaken) {
  Counted::reset_counts();
  const std::size_t rounds = test::stress_iters(4000, 2);
  run_test(
      [rounds]() -> Coro<void> {
        Bystanders by(false);
        Pool& pool = by.pool;
        for (std::size_t r = 0; r < rounds; ++r) {
          const auto seed = static_cast<std::uint32_t>(r * 7919 + 1);
          std::vector<Coro<std::uint64_t>> roots;
          for (std::uint32_t i = 0; i < 4; ++i) roots.push_back(node(mix(seed + i), 4, pool, {}));
          std::uint64_t want = 0;
          for (std::uint32_t i = 0; i < 4; ++i) {
            const std::uint32_t s = mix(seed + i);
            want += kind_of(s, 4) == Kind::kRaise ? 0 : expected(s, 4);
          }
          std::uint64_t got = 0;
          for (auto& o : co_await gather_settled(std::move(roots))) {
            if (o.has_value()) got += o.value();
          }
          EXPECT_EQ(got, want) << "round " << r;
        }
        co_await by.stop();
      },
      test::multi_thread(), 240s);
  EXPECT_EQ(Counted::active_count(), 0);
}

TEST(NestedStress, CancelsFromEveryDirectionEndInCancelledError) {
  Counted::reset_counts();
  const std::size_t rounds = test::stress_iters(4000, 2);
  run_test(
      [rounds]() -> Coro<void> {
        Bystanders by(true);
        Pool& pool = by.pool;
        std::size_t cancelled = 0;
        for (std::size_t r = 0; r < rounds; ++r) {
          const auto seed = static_cast<std::uint32_t>(r * 104729 + 3);
          Task<std::uint64_t> tree = create_task(node(mix(seed), 4, pool, {}));
          // Cancel the whole tree now and then: before it starts, while its children run
          // nested, or while they park.
          if (r % 3 == 0) {
            if (r % 2 == 0) co_await sleep(std::chrono::microseconds(r % 40));
            tree.cancel();
          }
          try {
            const std::uint64_t v = co_await tree;
            // Not cancelled anywhere (or too late to matter): the full sum.
            if (kind_of(mix(seed), 4) != Kind::kRaise) {
              EXPECT_EQ(v, expected(mix(seed), 4));
            }
          } catch (const CancelledError&) {
            ++cancelled;
            EXPECT_TRUE(tree.cancelled());
          } catch (const std::runtime_error&) {
            EXPECT_EQ(kind_of(mix(seed), 4), Kind::kRaise);
          }
        }
        co_await by.stop();
        EXPECT_GT(cancelled, 0u);
      },
      test::multi_thread(), 240s);
  EXPECT_EQ(Counted::active_count(), 0);
}

}  // namespace
}  // namespace corio
