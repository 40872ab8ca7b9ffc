// Event, the asyncio way (CPython test_locks.EventTests): set() wakes every waiter in FIFO
// order, wait() on a set event does not switch, clear() does not un-wake, cancellation.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
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

TEST(EventTest, StartsClearAndSetClearToggle) {
  run_test([]() -> Coro<void> {
    Event ev;
    EXPECT_FALSE(ev.is_set());
    ev.set();
    EXPECT_TRUE(ev.is_set());
    ev.set();  // idempotent
    EXPECT_TRUE(ev.is_set());
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    co_return;
  });
}

TEST(EventTest, WaitOnSetEventReturnsTrueWithoutSwitching) {
  run_test([]() -> Coro<void> {
    Event ev;
    ev.set();
    bool other_ran = false;
    auto other = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> t = create_task(other());
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_FALSE(other_ran);
    co_await t;
  });
}

TEST(EventTest, SetWakesEveryWaiterInFifoOrder) {
  // CPython test_wait.
  run_test([]() -> Coro<void> {
    Event ev;
    Ints result;
    auto c = [&](int i) -> Coro<bool> {
      if (co_await ev.wait()) result.push_back(i);
      co_return true;
    };
    Task<bool> t1 = create_task(c(1));
    Task<bool> t2 = create_task(c(2));
    co_await sleep(0s);
    EXPECT_EQ(result, Ints{});
    Task<bool> t3 = create_task(c(3));
    ev.set();
    co_await sleep(0s);
    EXPECT_EQ(result, (Ints{3, 1, 2}));  // t3's first step was already queued before set()
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done() && t2.result());
    EXPECT_TRUE(t3.done() && t3.result());
  });
}

TEST(EventTest, ClearAfterSetDoesNotUnwakeWaiters) {
  // CPython test_clear_with_waiters.
  run_test([]() -> Coro<void> {
    Event ev;
    Ints result;
    auto c = [&]() -> Coro<void> {
      if (co_await ev.wait()) result.push_back(1);
    };
    Task<void> t = create_task(c());
    co_await sleep(0s);
    ev.set();
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    ev.set();
    ev.set();
    ev.clear();
    co_await t;
    EXPECT_EQ(result, Ints{1});
    EXPECT_FALSE(ev.is_set());
  });
}

TEST(EventTest, CancelledWaiterLeavesAndOthersStillWake) {
  // CPython test_wait_cancel + the others unaffected.
  run_test([]() -> Coro<void> {
    Event ev;
    Ints result;
    auto c = [&](int i) -> Coro<void> {
      co_await ev.wait();
      result.push_back(i);
    };
    Task<void> a = create_task(c(1));
    Task<void> b = create_task(c(2));
    co_await sleep(0s);
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    ev.set();
    co_await b;
    EXPECT_EQ(result, Ints{2});
  });
}

TEST(EventTest, CancelInTheStepOfSetRaisesCancelledError) {
  run_test([]() -> Coro<void> {
    Event ev;
    bool returned = false;
    auto c = [&]() -> Coro<void> {
      co_await ev.wait();
      returned = true;
    };
    Task<void> a = create_task(c());
    co_await sleep(0s);
    ev.set();
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_FALSE(returned);
  });
}

TEST(EventTest, SetFromAForeignThread) {
  run_test(
      []() -> Coro<void> {
        Event ev;
        std::thread th([&] {
          std::this_thread::sleep_for(5ms);
          ev.set();
        });
        EXPECT_TRUE(co_await ev.wait());
        th.join();
      },
      test::single_thread());
}

TEST(EventTest, BroadcastAcrossWorkers) {
  run_test(
      []() -> Coro<void> {
        for (int round = 0; round < 20; ++round) {
          Event ev;
          std::atomic<int> woke{0};
          auto c = [&]() -> Coro<void> {
            co_await ev.wait();
            woke.fetch_add(1);
          };
          std::vector<Task<void>> ts;
          for (int i = 0; i < 200; ++i) ts.push_back(create_task(c()));
          co_await sleep(0s);
          ev.set();
          for (auto& t : ts) co_await t;
          EXPECT_EQ(woke.load(), 200);
        }
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
