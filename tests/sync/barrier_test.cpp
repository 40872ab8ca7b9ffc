// Barrier, the asyncio way (CPython test_locks.BarrierTests): arrival indices, the last
// arrival does not switch, rounds repeat, abort()/reset() break waiters with
// BrokenBarrierError, and a cancelled waiter no longer counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;
using Sizes = std::vector<std::size_t>;

// Waits at the barrier; a BrokenBarrierError is counted in `broken` instead of thrown.
Coro<void> wait_counting_broken(Barrier& b, int& broken) {
  try {
    co_await b.wait();
  } catch (const BrokenBarrierError&) {
    ++broken;
  }
}

TEST(BarrierTest, PartiesMustBePositive) {
  EXPECT_THROW(Barrier(0), std::invalid_argument);
  Barrier b(3);
  EXPECT_EQ(b.parties(), 3u);
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}

TEST(BarrierTest, ReleasesAllWithTheirArrivalIndices) {
  run_test([]() -> Coro<void> {
    Barrier b(3);
    Sizes got;
    auto c = [&]() -> Coro<void> { got.push_back(co_await b.wait()); };
    Task<void> t1 = create_task(c());
    Task<void> t2 = create_task(c());
    co_await sleep(0s);
    EXPECT_EQ(b.n_waiting(), 2u);
    EXPECT_EQ(got, Sizes{});
    bool other_ran = false;
    auto other = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> o = create_task(other());
    std::size_t mine = co_await b.wait();  // the last arrival: no switch
    EXPECT_EQ(mine, 2u);
    EXPECT_FALSE(other_ran);
    EXPECT_EQ(b.n_waiting(), 0u);
    co_await t1;
    co_await t2;
    co_await o;
    EXPECT_EQ(got, (Sizes{0, 1}));
  });
}

TEST(BarrierTest, OnePartyNeverWaits) {
  run_test([]() -> Coro<void> {
    Barrier b(1);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(co_await b.wait(), 0u);
  });
}

TEST(BarrierTest, RoundsRepeat) {
  run_test([]() -> Coro<void> {
    Barrier b(4);
    std::vector<Sizes> rounds(3);
    auto c = [&]() -> Coro<void> {
      for (int r = 0; r < 3; ++r) {
        std::size_t i = co_await b.wait();
        rounds[static_cast<std::size_t>(r)].push_back(i);
      }
    };
    std::vector<Task<void>> ts;
    for (int i = 0; i < 4; ++i) ts.push_back(create_task(c()));
    for (auto& t : ts) co_await t;
    for (auto& r : rounds) {
      std::sort(r.begin(), r.end());
      EXPECT_EQ(r, (Sizes{0, 1, 2, 3}));
    }
  });
}

TEST(BarrierTest, AbortBreaksWaitersAndLaterWaits) {
  // CPython test_abort_barrier.
  run_test([]() -> Coro<void> {
    Barrier b(3);
    int broken = 0;
    Task<void> t1 = create_task(wait_counting_broken(b, broken));
    Task<void> t2 = create_task(wait_counting_broken(b, broken));
    co_await sleep(0s);
    b.abort();
    co_await t1;
    co_await t2;
    EXPECT_EQ(broken, 2);
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(co_await b.wait(), BrokenBarrierError);
    b.reset();
    EXPECT_FALSE(b.broken());
    Task<void> t3 = create_task(wait_counting_broken(b, broken));
    Task<void> t4 = create_task(wait_counting_broken(b, broken));
    co_await sleep(0s);
    EXPECT_EQ(co_await b.wait(), 2u);
    co_await t3;
    co_await t4;
    EXPECT_EQ(broken, 2);
  });
}

TEST(BarrierTest, ResetBreaksWaitersAndRefills) {
  // CPython test_reset_barrier.
  run_test([]() -> Coro<void> {
    Barrier b(3);
    int broken = 0;
    Task<void> t1 = create_task(wait_counting_broken(b, broken));
    co_await sleep(0s);
    EXPECT_EQ(b.n_waiting(), 1u);
    b.reset();
    co_await t1;
    EXPECT_EQ(broken, 1);
    EXPECT_FALSE(b.broken());
    EXPECT_EQ(b.n_waiting(), 0u);
  });
}

TEST(BarrierTest, CancelledWaiterNoLongerCounts) {
  run_test([]() -> Coro<void> {
    Barrier b(2);
    auto c = [&]() -> Coro<std::size_t> { co_return co_await b.wait(); };
    Task<std::size_t> t1 = create_task(c());
    co_await sleep(0s);
    EXPECT_EQ(b.n_waiting(), 1u);
    t1.cancel();
    EXPECT_THROW(co_await t1, CancelledError);
    EXPECT_EQ(b.n_waiting(), 0u);
    Task<std::size_t> t2 = create_task(c());
    co_await sleep(0s);
    EXPECT_EQ(co_await b.wait(), 1u);
    EXPECT_EQ(co_await t2, 0u);
  });
}

TEST(BarrierTest, CancelInTheReleasingStepRaisesCancelledError) {
  // Cancelled after the round completed but before it ran: it raises, the others pass.
  run_test([]() -> Coro<void> {
    Barrier b(2);
    auto c = [&]() -> Coro<std::size_t> { co_return co_await b.wait(); };
    Task<std::size_t> t1 = create_task(c());
    co_await sleep(0s);
    EXPECT_EQ(co_await b.wait(), 1u);
    t1.cancel();
    EXPECT_THROW(co_await t1, CancelledError);
  });
}

TEST(BarrierTest, ManyRoundsAcrossWorkers) {
  run_test(
      []() -> Coro<void> {
        constexpr int kParties = 6;
        constexpr int kRounds = 300;
        Barrier b(kParties);
        std::atomic<int> phase_errors{0};
        std::atomic<int> arrived{0};
        std::vector<std::atomic<int>> index_seen(kParties);
        auto c = [&]() -> Coro<void> {
          for (int r = 0; r < kRounds; ++r) {
            arrived.fetch_add(1);
            std::size_t i = co_await b.wait();
            // Everyone of round r arrived before anyone of round r passes.
            if (arrived.load() < (r + 1) * kParties) phase_errors.fetch_add(1);
            index_seen[i].fetch_add(1);
          }
        };
        std::vector<Task<void>> ts;
        for (int i = 0; i < kParties; ++i) ts.push_back(create_task(c()));
        for (auto& t : ts) co_await t;
        EXPECT_EQ(phase_errors.load(), 0);
        for (auto& n : index_seen) EXPECT_EQ(n.load(), kRounds);
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
