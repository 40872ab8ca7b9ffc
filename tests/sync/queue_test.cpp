// Queue, LifoQueue, PriorityQueue, the asyncio way (CPython test_queues.py, 3.13 shutdown):
// ordering, maxsize, QueueFull / QueueEmpty, no switch on a ready get()/put(), FIFO hand-off
// to waiters, task_done()/join(), shutdown(immediate), move-only items, and cancellation that
// loses no item.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
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

TEST(QueueTest, FifoLifoAndPriorityOrder) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    LifoQueue<int> lq;
    PriorityQueue<int> pq;
    for (int v : {3, 1, 2}) {
      co_await q.put(v);
      co_await lq.put(v);
      co_await pq.put(v);
    }
    Ints a, b, c;
    for (int i = 0; i < 3; ++i) {
      a.push_back(co_await q.get());
      b.push_back(co_await lq.get());
      c.push_back(co_await pq.get());
    }
    EXPECT_EQ(a, (Ints{3, 1, 2}));
    EXPECT_EQ(b, (Ints{2, 1, 3}));
    EXPECT_EQ(c, (Ints{1, 2, 3}));
    PriorityQueue<int, std::greater<int>> maxq;
    for (int v : {3, 1, 2}) maxq.put_nowait(v);
    EXPECT_EQ(maxq.get_nowait(), 3);
  });
}

TEST(QueueTest, SizesAndNowaitErrors) {
  run_test([]() -> Coro<void> {
    Queue<int> q(2);
    EXPECT_EQ(q.maxsize(), 2u);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_THROW(q.get_nowait(), QueueEmpty);
    q.put_nowait(1);
    EXPECT_EQ(q.qsize(), 1u);
    q.put_nowait(2);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(3), QueueFull);
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_FALSE(q.full());
    Queue<int> unbounded(-5);  // <= 0: unbounded, as asyncio
    for (int i = 0; i < 1000; ++i) unbounded.put_nowait(i);
    EXPECT_FALSE(unbounded.full());
    EXPECT_EQ(unbounded.qsize(), 1000u);
    co_return;
  });
}

TEST(QueueTest, ReadyGetAndPutDoNotSwitch) {
  run_test([]() -> Coro<void> {
    Queue<int> q(4);
    bool other_ran = false;
    auto other = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> t = create_task(other());
    for (int i = 0; i < 4; ++i) co_await q.put(i);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(co_await q.get(), i);
    EXPECT_FALSE(other_ran);
    co_await t;
  });
}

TEST(QueueTest, BlockingGetIsWokenByPut) {
  // CPython test_blocking_get_wait / test_put_with_waiting_getters.
  run_test([]() -> Coro<void> {
    Queue<std::string> q;
    auto getter = [&]() -> Coro<std::string> { co_return co_await q.get(); };
    Task<std::string> t = create_task(getter());
    co_await sleep(0s);
    co_await q.put("a");
    EXPECT_EQ(co_await t, "a");
  });
}

TEST(QueueTest, BlockingPutIsWokenByGet) {
  // CPython test_blocking_put_wait.
  run_test([]() -> Coro<void> {
    Queue<int> q(1);
    Ints log;
    auto putter = [&]() -> Coro<void> {
      for (int i = 0; i < 3; ++i) {
        co_await q.put(i);
        log.push_back(i);
      }
    };
    Task<void> t = create_task(putter());
    co_await sleep(0s);
    EXPECT_EQ(log, Ints{0});  // the second put waits
    EXPECT_EQ(co_await q.get(), 0);
    co_await sleep(0s);
    EXPECT_EQ(log, (Ints{0, 1}));
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_EQ(co_await q.get(), 2);
    co_await t;
  });
}

TEST(QueueTest, WaitingGettersAreServedInFifoOrder) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    std::vector<std::pair<int, int>> got;
    auto getter = [&](int who) -> Coro<void> { got.emplace_back(who, co_await q.get()); };
    std::vector<Task<void>> ts;
    for (int i = 0; i < 4; ++i) ts.push_back(create_task(getter(i)));
    co_await sleep(0s);
    for (int v = 10; v < 14; ++v) q.put_nowait(v);
    for (auto& t : ts) co_await t;
    EXPECT_EQ(got, (std::vector<std::pair<int, int>>{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
  });
}

TEST(QueueTest, WokenPriorityGetterTakesTheSmallestItemWhenItRuns) {
  // asyncio decides which item a woken getter gets when it runs: put(5) then put(1) gives 1.
  run_test([]() -> Coro<void> {
    PriorityQueue<int> q;
    auto getter = [&]() -> Coro<int> { co_return co_await q.get(); };
    Task<int> t = create_task(getter());
    co_await sleep(0s);
    q.put_nowait(5);
    q.put_nowait(1);
    EXPECT_EQ(co_await t, 1);
    EXPECT_EQ(q.get_nowait(), 5);
  });
}

TEST(QueueTest, WhyArePuttersWaiting) {
  // CPython test_why_are_putters_waiting: every get frees a slot for a waiting putter.
  run_test([]() -> Coro<void> {
    Queue<int> q(2);
    auto putter = [&](int i) -> Coro<void> { co_await q.put(i); };
    auto getter = [&]() -> Coro<void> {
      co_await sleep(0s);
      std::size_t n = q.qsize();
      for (std::size_t i = 0; i < n; ++i) q.get_nowait();
    };
    Task<void> g = create_task(getter());
    std::vector<Task<void>> ps;
    for (int i = 0; i < 4; ++i) ps.push_back(create_task(putter(i)));
    co_await g;
    for (auto& p : ps) co_await p;
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_EQ(q.get_nowait(), 3);
  });
}

TEST(QueueTest, PutCancelledRace) {
  // CPython test_put_cancelled_race.
  run_test([]() -> Coro<void> {
    Queue<std::string> q(1);
    auto putter = [&](std::string v) -> Coro<void> { co_await q.put(std::move(v)); };
    Task<void> put_a = create_task(putter("a"));
    Task<void> put_b = create_task(putter("b"));
    Task<void> put_c = create_task(putter("X"));
    co_await sleep(0s);
    EXPECT_TRUE(put_a.done());
    EXPECT_FALSE(put_b.done());
    put_c.cancel();
    co_await sleep(0s);
    EXPECT_TRUE(put_c.done());
    EXPECT_EQ(q.get_nowait(), "a");
    co_await sleep(0s);
    EXPECT_EQ(q.get_nowait(), "b");
    co_await put_b;
    EXPECT_TRUE(q.empty());
  });
}

TEST(QueueTest, GetCancelledRace) {
  // CPython test_get_cancelled_race.
  run_test([]() -> Coro<void> {
    Queue<std::string> q;
    auto getter = [&]() -> Coro<std::string> { co_return co_await q.get(); };
    Task<std::string> t1 = create_task(getter());
    Task<std::string> t2 = create_task(getter());
    co_await sleep(0s);
    t1.cancel();
    co_await sleep(0s);
    EXPECT_TRUE(t1.done());
    co_await q.put("a");
    co_await sleep(0s);
    EXPECT_EQ(co_await t2, "a");
  });
}

TEST(QueueTest, CancelledGetterOwedAnItemPassesItOn) {
  // The getter was promised the item in the step it was cancelled: the item is not lost.
  run_test([]() -> Coro<void> {
    Queue<int> q;
    auto getter = [&]() -> Coro<int> { co_return co_await q.get(); };
    Task<int> t1 = create_task(getter());
    Task<int> t2 = create_task(getter());
    co_await sleep(0s);
    q.put_nowait(7);  // promised to t1
    t1.cancel();
    EXPECT_THROW(co_await t1, CancelledError);
    EXPECT_EQ(co_await t2, 7);
  });
}

TEST(QueueTest, CancelledPutterOwedASlotPassesItOn) {
  run_test([]() -> Coro<void> {
    Queue<int> q(1);
    q.put_nowait(0);
    auto putter = [&](int v) -> Coro<void> { co_await q.put(v); };
    Task<void> p1 = create_task(putter(1));
    Task<void> p2 = create_task(putter(2));
    co_await sleep(0s);
    EXPECT_EQ(q.get_nowait(), 0);  // the slot is promised to p1...
    p1.cancel();                   // ...which is cancelled before it runs
    EXPECT_THROW(co_await p1, CancelledError);
    co_await p2;
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_TRUE(q.empty());
  });
}

TEST(QueueTest, TaskDoneAndJoin) {
  // CPython test_task_done / test_join_empty_queue / test_task_done_underflow.
  run_test([]() -> Coro<void> {
    Queue<int> q;
    co_await q.join();  // nothing unfinished: returns at once
    EXPECT_THROW(q.task_done(), std::invalid_argument);
    int sum = 0;
    auto worker = [&]() -> Coro<void> {
      for (;;) {
        int v = co_await q.get();
        sum += v;
        q.task_done();
      }
    };
    for (int i = 0; i < 100; ++i) q.put_nowait(i);
    Task<void> w1 = create_task(worker());
    Task<void> w2 = create_task(worker());
    co_await q.join();
    EXPECT_EQ(sum, 4950);
    w1.cancel();
    w2.cancel();
    EXPECT_THROW(co_await w1, CancelledError);
    EXPECT_THROW(co_await w2, CancelledError);
    EXPECT_THROW(q.task_done(), std::invalid_argument);
  });
}

TEST(QueueTest, ShutdownKeepsItemsForGettersButRefusesPuts) {
  // Python 3.13 test_shutdown_nonempty / test_shutdown_empty.
  run_test([]() -> Coro<void> {
    Queue<int> q(2);
    Queue<int> empty;
    auto empty_getter = [&]() -> Coro<int> { co_return co_await empty.get(); };
    Task<int> g = create_task(empty_getter());
    co_await sleep(0s);
    empty.shutdown();
    EXPECT_THROW(co_await g, QueueShutDown);
    EXPECT_THROW(co_await empty.put(1), QueueShutDown);
    EXPECT_THROW(empty.put_nowait(1), QueueShutDown);
    EXPECT_THROW(co_await empty.get(), QueueShutDown);
    EXPECT_THROW(empty.get_nowait(), QueueShutDown);

    q.put_nowait(1);
    q.put_nowait(2);
    auto putter = [&]() -> Coro<void> { co_await q.put(3); };
    Task<void> p = create_task(putter());
    co_await sleep(0s);
    q.shutdown();
    EXPECT_TRUE(q.is_shutdown());
    EXPECT_THROW(co_await p, QueueShutDown);
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_THROW(co_await q.get(), QueueShutDown);
  });
}

TEST(QueueTest, ImmediateShutdownDiscardsItemsAndReleasesJoin) {
  // Python 3.13 test_shutdown_immediate.
  run_test([]() -> Coro<void> {
    Queue<int> q;
    for (int i = 0; i < 5; ++i) q.put_nowait(i);
    EXPECT_EQ(q.get_nowait(), 0);
    q.task_done();
    auto joiner = [&]() -> Coro<void> { co_await q.join(); };
    Task<void> j = create_task(joiner());
    co_await sleep(0s);
    EXPECT_FALSE(j.done());
    q.shutdown(true);
    co_await j;
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), QueueShutDown);
    EXPECT_THROW(q.task_done(), std::invalid_argument);
  });
}

TEST(QueueTest, ImmediateShutdownVoidsAnItemPromisedToAWokenGetter) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    auto getter = [&]() -> Coro<int> { co_return co_await q.get(); };
    Task<int> g = create_task(getter());
    co_await sleep(0s);
    q.put_nowait(1);  // promised to g
    q.shutdown(true);
    EXPECT_THROW(co_await g, QueueShutDown);
  });
}

TEST(QueueTest, MoveOnlyItems) {
  run_test([]() -> Coro<void> {
    Queue<std::unique_ptr<int>> q(1);
    co_await q.put(std::make_unique<int>(1));
    auto putter = [&]() -> Coro<void> { co_await q.put(std::make_unique<int>(2)); };
    Task<void> p = create_task(putter());
    co_await sleep(0s);
    std::unique_ptr<int> a = co_await q.get();
    co_await p;
    std::unique_ptr<int> b = q.get_nowait();
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
    LifoQueue<std::unique_ptr<int>> lq;
    lq.put_nowait(std::make_unique<int>(3));
    EXPECT_EQ(*co_await lq.get(), 3);
    auto cmp = [](const std::unique_ptr<int>& x, const std::unique_ptr<int>& y) { return *x < *y; };
    PriorityQueue<std::unique_ptr<int>, decltype(cmp)> pq(0, cmp);
    pq.put_nowait(std::make_unique<int>(9));
    pq.put_nowait(std::make_unique<int>(4));
    EXPECT_EQ(*pq.get_nowait(), 4);
  });
}

TEST(QueueTest, SameInterleavingEveryRun) {
  auto once = [] {
    std::vector<std::string> log;
    run_test([&]() -> Coro<void> {
      Queue<int> q(2);
      auto producer = [&](int id) -> Coro<void> {
        for (int i = 0; i < 5; ++i) {
          co_await q.put(id * 100 + i);
          log.push_back("p" + std::to_string(id) + ":" + std::to_string(i));
        }
      };
      auto consumer = [&](int id) -> Coro<void> {
        for (int i = 0; i < 5; ++i) {
          int v = co_await q.get();
          log.push_back("c" + std::to_string(id) + ":" + std::to_string(v));
          if (i % 2 == 0) co_await sleep(0s);
        }
      };
      std::vector<Task<void>> ts;
      for (int i = 0; i < 2; ++i) ts.push_back(create_task(producer(i)));
      for (int i = 0; i < 2; ++i) ts.push_back(create_task(consumer(i)));
      for (auto& t : ts) co_await t;
    });
    return log;
  };
  auto first = once();
  EXPECT_EQ(first.size(), 20u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(once(), first);
}

}  // namespace
}  // namespace corio
