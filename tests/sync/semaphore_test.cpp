// Semaphore and BoundedSemaphore, the asyncio way (CPython test_locks.SemaphoreTests): FIFO
// hand-off of permits, locked(), ValueError (std::invalid_argument) on a bad initial value or
// an over-release of the bounded one, and cancellation that loses no permit.
#include <gtest/gtest.h>

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
using Ints = std::vector<int>;

// Acquires a permit, keeps it, and records `i` in `got`.
Coro<void> acquire_and_record(Semaphore& sem, Ints& got, int i) {
  co_await sem.acquire();
  got.push_back(i);
}

TEST(SemaphoreTest, InitialValueMustNotBeNegative) {
  EXPECT_THROW(Semaphore(-1), std::invalid_argument);
  EXPECT_THROW(BoundedSemaphore(-1), std::invalid_argument);
  Semaphore s0(0);
  EXPECT_TRUE(s0.locked());
  Semaphore s;
  EXPECT_EQ(s.value(), 1u);
  EXPECT_FALSE(s.locked());
}

TEST(SemaphoreTest, AcquireWithinValueDoesNotSwitch) {
  run_test([]() -> Coro<void> {
    Semaphore sem(3);
    bool other_ran = false;
    auto other = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> t = create_task(other());
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(co_await sem.acquire());
    EXPECT_FALSE(other_ran);
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.value(), 0u);
    for (int i = 0; i < 3; ++i) sem.release();
    EXPECT_EQ(sem.value(), 3u);
    co_await t;
  });
}

TEST(SemaphoreTest, ReleaseHandsPermitsToWaitersInFifoOrder) {
  // CPython test_acquire.
  run_test([]() -> Coro<void> {
    Semaphore sem(3);
    Ints result;
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_FALSE(sem.locked());
    auto c = [&](int i) -> Coro<bool> {
      co_await sem.acquire();
      result.push_back(i);
      co_return true;
    };
    Task<bool> t1 = create_task(c(1));
    Task<bool> t2 = create_task(c(2));
    Task<bool> t3 = create_task(c(3));
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{1});
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.value(), 0u);
    Task<bool> t4 = create_task(c(4));
    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 0u);  // both permits went to waiters
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{1, 2, 3}));
    EXPECT_TRUE(sem.locked());
    sem.release();
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{1, 2, 3, 4}));
    EXPECT_TRUE(t1.done() && t2.done() && t3.done() && t4.done());
    for (int i = 0; i < 4; ++i) sem.release();
    EXPECT_EQ(sem.value(), 4u);  // an unbounded semaphore may grow past its initial value
  });
}

TEST(SemaphoreTest, BoundedOverReleaseThrowsInvalidArgument) {
  run_test([]() -> Coro<void> {
    BoundedSemaphore sem(2);
    EXPECT_THROW(sem.release(), std::invalid_argument);
    co_await sem.acquire();
    sem.release();
    EXPECT_THROW(sem.release(), std::invalid_argument);
    EXPECT_EQ(sem.value(), 2u);
    BoundedSemaphore zero(0);
    EXPECT_THROW(zero.release(), std::invalid_argument);
    Semaphore& as_base = sem;  // the bound holds through the base class too
    EXPECT_THROW(as_base.release(), std::invalid_argument);
  });
}

TEST(SemaphoreTest, CancelledWaiterLeavesTheQueue) {
  // CPython test_acquire_cancel.
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    auto c = [&]() -> Coro<bool> { co_return co_await sem.acquire(); };
    Task<bool> t = create_task(c());
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(sem.locked());
    sem.release();
    EXPECT_FALSE(sem.locked());
    EXPECT_EQ(sem.value(), 1u);
  });
}

TEST(SemaphoreTest, CancelAfterReleaseHandsThePermitOn) {
  // CPython test_acquire_cancel_before_awoken / test_acquire_hang: no permit may be lost.
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    Ints got;
    Task<void> t1 = create_task(acquire_and_record(sem, got, 1));
    Task<void> t2 = create_task(acquire_and_record(sem, got, 2));
    Task<void> t3 = create_task(acquire_and_record(sem, got, 3));
    co_await sleep(0s);
    sem.release();  // t1 is handed the permit...
    t1.cancel();    // ...and cancelled before it runs
    sem.release();  // t2 gets this one
    co_await sleep(0s);
    EXPECT_TRUE(t1.cancelled());
    co_await t2;
    co_await t3;  // t1's permit was passed on, not lost
    EXPECT_EQ(got, (Ints{2, 3}));
    EXPECT_EQ(sem.value(), 0u);
  });
}

TEST(SemaphoreTest, CancelledFirstWaiterIsSkippedByRelease) {
  // CPython test_acquire_cancel_before_awoken: a waiter cancelled before the release is
  // skipped, so the permit goes straight to the next one.
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    Ints got;
    Task<void> t1 = create_task(acquire_and_record(sem, got, 1));
    Task<void> t2 = create_task(acquire_and_record(sem, got, 2));
    co_await sleep(0s);
    t1.cancel();
    sem.release();
    co_await sleep(0s);
    EXPECT_TRUE(t1.cancelled());
    EXPECT_TRUE(t2.done());
    EXPECT_EQ(got, Ints{2});
  });
}

TEST(SemaphoreTest, ScopedReturnsThePermitAtScopeEnd) {
  run_test([]() -> Coro<void> {
    Semaphore sem(1);
    {
      auto g = co_await sem.scoped();
      EXPECT_TRUE(g.owns_permit());
      EXPECT_TRUE(sem.locked());
    }
    EXPECT_EQ(sem.value(), 1u);
    {
      auto g = co_await sem.scoped();
      g.release();
      EXPECT_EQ(sem.value(), 1u);
    }
    EXPECT_EQ(sem.value(), 1u);
  });
}

TEST(SemaphoreTest, ConcurrencyNeverExceedsTheValueAcrossWorkers) {
  run_test(
      []() -> Coro<void> {
        Semaphore sem(3);
        std::atomic<int> in_use{0};
        std::atomic<int> max_seen{0};
        auto c = [&]() -> Coro<void> {
          for (int k = 0; k < 2000; ++k) {
            co_await sem.acquire();
            int n = in_use.fetch_add(1) + 1;
            int m = max_seen.load();
            while (n > m && !max_seen.compare_exchange_weak(m, n)) {
            }
            in_use.fetch_sub(1);
            sem.release();
          }
        };
        std::vector<Task<void>> ts;
        for (int i = 0; i < 8; ++i) ts.push_back(create_task(c()));
        for (auto& t : ts) co_await t;
        EXPECT_LE(max_seen.load(), 3);
        EXPECT_EQ(sem.value(), 3u);
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
