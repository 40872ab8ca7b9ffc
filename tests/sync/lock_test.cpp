// Lock, the asyncio way: FIFO hand-off, no switch when uncontended, RuntimeError on a bad
// release, and cancellation that leaves no trace (ported from CPython's test_locks.py).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
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

TEST(LockTest, UncontendedAcquireDoesNotSwitch) {
  run_test([]() -> Coro<void> {
    Lock lock;
    bool other_ran = false;
    auto other_body = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> other = create_task(other_body());
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(co_await lock.acquire());
    EXPECT_TRUE(lock.locked());
    EXPECT_FALSE(other_ran);  // no suspension: the ready task has not run
    lock.release();
    EXPECT_FALSE(lock.locked());
    co_await other;
    EXPECT_TRUE(other_ran);
  });
}

TEST(LockTest, ReleaseWakesOldestWaiter) {
  // CPython test_locks.LockTests.test_acquire.
  run_test([]() -> Coro<void> {
    Lock lock;
    Ints result;
    EXPECT_TRUE(co_await lock.acquire());
    auto c = [&](int i) -> Coro<bool> {
      if (co_await lock.acquire()) result.push_back(i);
      co_return true;
    };
    Task<bool> t1 = create_task(c(1));
    Task<bool> t2 = create_task(c(2));
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{});
    lock.release();
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{1});
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{1});
    Task<bool> t3 = create_task(c(3));
    lock.release();
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{1, 2}));
    lock.release();
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{1, 2, 3}));
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done() && t2.result());
    EXPECT_TRUE(t3.done() && t3.result());
    lock.release();
  });
}

TEST(LockTest, ReleaseOfUnlockedLockThrowsRuntimeError) {
  run_test([]() -> Coro<void> {
    Lock lock;
    EXPECT_THROW(lock.release(), std::runtime_error);
    co_await lock.acquire();
    lock.release();
    EXPECT_THROW(lock.release(), std::runtime_error);
    EXPECT_FALSE(lock.locked());
  });
}

TEST(LockTest, HandedOffLockCountsAsHeldOnlyOnceTheWaiterRuns) {
  // As asyncio: after release() wakes a waiter, locked() is false and a second release()
  // raises, until the waiter runs and takes the lock; a newcomer still queues behind it.
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<std::string> log;
    co_await lock.acquire();
    auto locker = [&](std::string name) -> Coro<void> {
      co_await lock.acquire();
      log.push_back(name);
      lock.release();
    };
    Task<void> w = create_task(locker("waiter"));
    co_await sleep(0s);
    lock.release();
    EXPECT_FALSE(lock.locked());
    EXPECT_THROW(lock.release(), std::runtime_error);
    Task<void> late = create_task(locker("late"));
    co_await w;
    co_await late;
    EXPECT_EQ(log, (std::vector<std::string>{"waiter", "late"}));
    EXPECT_FALSE(lock.locked());
  });
}

TEST(LockTest, CancelledWaiterLeavesTheQueue) {
  // CPython test_acquire_cancel.
  run_test([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    auto acquirer = [&]() -> Coro<bool> { co_return co_await lock.acquire(); };
    Task<bool> t = create_task(acquirer());
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    lock.release();
    EXPECT_FALSE(lock.locked());  // nobody was left waiting to take it
    EXPECT_TRUE(co_await lock.acquire());
    lock.release();
  });
}

TEST(LockTest, CancelRacingReleaseHandsTheLockOn) {
  // CPython test_cancel_race: B is cancelled in the same step A releases; C must get the
  // lock, and B never holds it.
  run_test([]() -> Coro<void> {
    Lock lock;
    Future<void> fa;
    std::vector<std::string> held;
    auto lockit = [&](std::string name, Future<void>* blocker) -> Coro<void> {
      co_await lock.acquire();
      held.push_back(name);
      try {
        if (blocker != nullptr) co_await *blocker;
      } catch (...) {
      }
      lock.release();
    };
    Task<void> ta = create_task(lockit("A", &fa));
    co_await sleep(0s);
    EXPECT_TRUE(lock.locked());
    Task<void> tb = create_task(lockit("B", nullptr));
    co_await sleep(0s);
    Task<void> tc = create_task(lockit("C", nullptr));
    co_await sleep(0s);
    fa.set_result();
    tb.cancel();
    co_await sleep(0s);
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(ta.done());
    EXPECT_TRUE(tb.cancelled());
    co_await tc;
    EXPECT_EQ(held, (std::vector<std::string>{"A", "C"}));
    EXPECT_FALSE(lock.locked());
  });
}

TEST(LockTest, CancelAfterReleaseTakesOnlyOneLock) {
  // CPython test_cancel_release_race (bpo-32734): cancel t1 and release in one step; only one
  // task may end up holding the lock.
  run_test([]() -> Coro<void> {
    Lock lock;
    int lock_count = 0;
    int call_count = 0;
    auto lockit = [&]() -> Coro<void> {
      ++call_count;
      co_await lock.acquire();
      ++lock_count;
    };
    co_await lock.acquire();
    Task<void> t1 = create_task(lockit());
    Task<void> t2 = create_task(lockit());
    Task<void> t3 = create_task(lockit());
    co_await sleep(0s);
    get_running_loop().call_soon([&] {
      t1.cancel();
      lock.release();
    });
    EXPECT_THROW(co_await t1, CancelledError);
    EXPECT_EQ(lock_count, 1);
    EXPECT_EQ(call_count, 3);
    EXPECT_TRUE(t1.cancelled() && t2.done());
    t3.cancel();
    co_await sleep(0s);
    EXPECT_TRUE(t3.cancelled());
  });
}

TEST(LockTest, FinishedWaiterCancelledWakesTheNext) {
  // CPython test_finished_waiter_cancelled.
  run_test([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    auto acquirer = [&]() -> Coro<bool> { co_return co_await lock.acquire(); };
    Task<bool> tb = create_task(acquirer());
    co_await sleep(0s);
    Task<bool> tc = create_task(acquirer());
    tb.cancel();
    lock.release();
    co_await sleep(0s);
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(tb.cancelled());
    co_await sleep(0s);
    EXPECT_TRUE(tc.done());
    lock.release();
  });
}

TEST(LockTest, ScopedReleasesAtScopeEndEvenOnException) {
  run_test([]() -> Coro<void> {
    Lock lock;
    {
      auto g = co_await lock.scoped();
      EXPECT_TRUE(g.owns_lock());
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
    try {
      auto g = co_await lock.scoped();
      throw std::logic_error("boom");
    } catch (const std::logic_error&) {
    }
    EXPECT_FALSE(lock.locked());
    {
      auto g = co_await lock.scoped();
      g.release();
      EXPECT_FALSE(lock.locked());
      EXPECT_FALSE(g.owns_lock());
    }
    EXPECT_FALSE(lock.locked());
  });
}

TEST(LockTest, WaitersAcquireInFifoOrder) {
  run_test([]() -> Coro<void> {
    Lock lock;
    Ints order;
    co_await lock.acquire();
    auto body = [&](int i) -> Coro<void> {
      auto g = co_await lock.scoped();
      order.push_back(i);
      co_await sleep(1ms);  // hold it across a suspension
    };
    std::vector<Task<void>> ts;
    for (int i = 0; i < 10; ++i) ts.push_back(create_task(body(i)));
    co_await sleep(0s);
    lock.release();
    for (auto& t : ts) co_await t;
    EXPECT_EQ(order, (Ints{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  });
}

TEST(LockTest, SameInterleavingEveryRun) {
  auto once = [] {
    std::vector<std::string> log;
    run_test([&]() -> Coro<void> {
      Lock lock;
      auto body = [&](int i) -> Coro<void> {
        for (int k = 0; k < 3; ++k) {
          co_await lock.acquire();
          log.push_back(std::to_string(i) + ":" + std::to_string(k));
          co_await sleep(0s);
          lock.release();
          co_await sleep(0s);
        }
      };
      std::vector<Task<void>> ts;
      for (int i = 0; i < 4; ++i) ts.push_back(create_task(body(i)));
      for (auto& t : ts) co_await t;
    });
    return log;
  };
  auto first = once();
  EXPECT_EQ(first.size(), 12u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(once(), first);
}

TEST(LockTest, ReleaseFromAForeignThreadWakesTheWaiter) {
  std::atomic<bool> waiting{false};
  run_test(
      [&]() -> Coro<void> {
        Lock lock;
        co_await lock.acquire();
        std::thread th;
        auto body = [&]() -> Coro<void> {
          waiting = true;
          co_await lock.acquire();
          lock.release();
        };
        Task<void> w = create_task(body());
        co_await sleep(0s);
        th = std::thread([&] { lock.release(); });
        co_await w;
        th.join();
        EXPECT_FALSE(lock.locked());
      },
      test::single_thread());
}

TEST(LockTest, MultiThreadMutualExclusion) {
  run_test(
      [&]() -> Coro<void> {
        Lock lock;
        long counter = 0;
        std::atomic<int> inside{0};
        std::atomic<bool> overlap{false};
        auto body = [&]() -> Coro<void> {
          for (int k = 0; k < 20000; ++k) {
            co_await lock.acquire();
            if (inside.fetch_add(1) != 0) overlap = true;
            ++counter;
            inside.fetch_sub(1);
            lock.release();
          }
        };
        std::vector<Task<void>> ts;
        for (int i = 0; i < 4; ++i) ts.push_back(create_task(body()));
        for (auto& t : ts) co_await t;
        EXPECT_EQ(counter, 80000);
        EXPECT_FALSE(overlap.load());
        EXPECT_FALSE(lock.locked());
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
