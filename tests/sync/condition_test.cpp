// Condition, the asyncio way (CPython test_locks.ConditionTests): notify(n) / notify_all in
// FIFO order, the lock re-acquired before wait() returns — even when cancelled — RuntimeError
// without the lock, and no lost notification when a notified waiter is cancelled (3.13).
#include <gtest/gtest.h>

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

TEST(ConditionTest, WaitAndNotifyWithoutTheLockThrowRuntimeError) {
  run_test([]() -> Coro<void> {
    Condition cond;
    EXPECT_THROW(co_await cond.wait(), std::runtime_error);
    EXPECT_THROW(cond.notify(), std::runtime_error);
    EXPECT_THROW(cond.notify_all(), std::runtime_error);
    EXPECT_FALSE(cond.locked());
  });
}

TEST(ConditionTest, NotifyWakesWaitersOneByOneInFifoOrder) {
  // CPython test_wait.
  run_test([]() -> Coro<void> {
    Condition cond;
    Ints result;
    auto c = [&](int i) -> Coro<bool> {
      co_await cond.acquire();
      if (co_await cond.wait()) {
        EXPECT_TRUE(cond.locked());
        result.push_back(i);
        cond.release();
      }
      co_return true;
    };
    Task<bool> t1 = create_task(c(1));
    Task<bool> t2 = create_task(c(2));
    Task<bool> t3 = create_task(c(3));
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{});
    EXPECT_FALSE(cond.locked());

    EXPECT_TRUE(co_await cond.acquire());
    cond.notify();
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{});  // the notified task needs the lock we hold
    EXPECT_TRUE(cond.locked());
    cond.release();
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{1});

    co_await cond.acquire();
    cond.notify(2);
    cond.release();
    co_await sleep(0s);
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{1, 2, 3}));
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_FALSE(cond.locked());
  });
}

TEST(ConditionTest, NotifyAllWakesEveryone) {
  run_test([]() -> Coro<void> {
    Condition cond;
    Ints result;
    auto c = [&](int i) -> Coro<void> {
      auto g = co_await cond.scoped();
      co_await cond.wait();
      result.push_back(i);
    };
    std::vector<Task<void>> ts;
    for (int i = 1; i <= 4; ++i) ts.push_back(create_task(c(i)));
    co_await sleep(0s);
    {
      auto g = co_await cond.scoped();
      cond.notify_all();
    }
    for (auto& t : ts) co_await t;
    EXPECT_EQ(result, (Ints{1, 2, 3, 4}));
  });
}

TEST(ConditionTest, WaitForChecksThePredicateFirstAndAfterEachWakeUp) {
  // CPython test_wait_for.
  run_test([]() -> Coro<void> {
    Condition cond;
    int presult = 0;
    int calls = 0;
    auto predicate = [&] {
      ++calls;
      return presult;
    };
    Ints result;
    auto c = [&]() -> Coro<void> {
      co_await cond.acquire();
      int r = co_await cond.wait_for(predicate);
      EXPECT_EQ(r, 1);
      result.push_back(1);
      cond.release();
    };
    Task<void> t = create_task(c());
    co_await sleep(0s);
    EXPECT_EQ(calls, 1);
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{});
    EXPECT_EQ(calls, 2);
    presult = 1;
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await t;
    EXPECT_EQ(result, Ints{1});
    EXPECT_EQ(calls, 3);
  });
}

TEST(ConditionTest, CancelledWaitReacquiresTheLockBeforeRaising) {
  // CPython test_wait_cancel_contested: the cancelled waiter raises only once it holds the
  // lock again, even while another task holds it.
  run_test([]() -> Coro<void> {
    Condition cond;
    bool locked_in_handler = false;
    auto c = [&]() -> Coro<void> {
      co_await cond.acquire();
      try {
        co_await cond.wait();
      } catch (const CancelledError&) {
        locked_in_handler = cond.locked();
        cond.release();
        throw;
      }
    };
    Task<void> t = create_task(c());
    co_await sleep(0s);
    co_await cond.acquire();  // contested: hold the lock while the waiter is cancelled
    t.cancel();
    co_await sleep(0s);
    EXPECT_FALSE(t.done());  // still waiting for the lock
    cond.release();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(locked_in_handler);
    EXPECT_FALSE(cond.locked());
  });
}

// CPython 3.13 test_cancelled_wakeup and test_cancelled_wakeup_relock: a waiter notified and
// cancelled at the "same" time must not swallow the notification.
Coro<void> cancelled_wakeup(bool relock) {
  Condition condition;
  int state = 0;
  auto consumer = [&]() -> Coro<void> {
    auto g = co_await condition.scoped();
    for (;;) {
      co_await condition.wait_for([&] { return state != 0; });
      if (state < 0) co_return;
      state -= 1;
    }
  };
  Task<void> c0 = create_task(consumer());
  Task<void> c1 = create_task(consumer());
  co_await sleep(0s);
  {
    auto g = co_await condition.scoped();
    state += 1;
    condition.notify(1);
    if (relock) co_await sleep(0s);  // let the notified task settle on re-acquiring the lock
    c0.cancel();
    // Wait (bounded) for the item to be consumed: by c1, since c0 is gone.
    g.release();
    for (int i = 0; i < 10 && state != 0; ++i) co_await sleep(1ms);
    EXPECT_EQ(state, 0);
    co_await condition.acquire();
    state = -1;
    condition.notify_all();
    condition.release();
  }
  EXPECT_THROW(co_await c0, CancelledError);
  co_await c1;
}

TEST(ConditionTest, CancelledWakeupPassesTheNotificationOn) {
  run_test([]() -> Coro<void> { co_await cancelled_wakeup(false); });
}

TEST(ConditionTest, CancelledWakeupWhileRelockingPassesTheNotificationOn) {
  run_test([]() -> Coro<void> { co_await cancelled_wakeup(true); });
}

TEST(ConditionTest, SharesAnExternalLock) {
  run_test([]() -> Coro<void> {
    Lock lock;
    Condition cond(lock);
    co_await lock.acquire();
    EXPECT_TRUE(cond.locked());
    cond.notify();  // nobody waits: fine while holding the lock
    lock.release();
    EXPECT_FALSE(cond.locked());
    bool woke = false;
    auto c = [&]() -> Coro<void> {
      co_await lock.acquire();
      co_await cond.wait();
      woke = true;
      lock.release();
    };
    Task<void> t = create_task(c());
    co_await sleep(0s);
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await t;
    EXPECT_TRUE(woke);
    EXPECT_FALSE(lock.locked());
  });
}

TEST(ConditionTest, ProducerConsumerAcrossWorkers) {
  run_test(
      []() -> Coro<void> {
        Condition cond;
        std::vector<int> items;
        long consumed = 0;
        bool done = false;
        constexpr int kItems = 20000;
        auto consumer = [&]() -> Coro<void> {
          for (;;) {
            auto g = co_await cond.scoped();
            co_await cond.wait_for([&] { return !items.empty() || done; });
            if (items.empty()) co_return;
            consumed += items.back();
            items.pop_back();
          }
        };
        auto producer = [&](int base) -> Coro<void> {
          for (int i = 0; i < kItems; ++i) {
            auto g = co_await cond.scoped();
            items.push_back(base + i % 3);
            cond.notify();
          }
        };
        std::vector<Task<void>> cs;
        for (int i = 0; i < 3; ++i) cs.push_back(create_task(consumer()));
        Task<void> p1 = create_task(producer(0));
        Task<void> p2 = create_task(producer(1));
        co_await p1;
        co_await p2;
        {
          auto g = co_await cond.scoped();
          done = true;
          cond.notify_all();
        }
        for (auto& t : cs) co_await t;
        long expected = 0;
        for (int i = 0; i < kItems; ++i) expected += (i % 3) + (1 + i % 3);
        EXPECT_EQ(consumed, expected);
        EXPECT_TRUE(items.empty());
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
