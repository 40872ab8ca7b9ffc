// Single-thread ordering, the asyncio guarantees: ready tasks run FIFO, sleep(0) yields to
// every ready task, timers with equal deadlines fire in the order they were set, and the
// same program gives the same interleaving every run. All on virtual time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"
#include "support/factorial.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::factorial;
using test::Lines;
using test::run_test;

TEST(OrderingTest, ShorterSleepWakesFirstAtItsVirtualDeadline) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    auto sleeper = [&](int secs) -> Coro<void> {
      co_await sleep(std::chrono::seconds(secs));
      lines.push_back(std::to_string(secs) + "s at " +
                      std::to_string(static_cast<int>(get_running_loop().time())));
    };
    Task<void> a = create_task(sleeper(3));
    Task<void> b = create_task(sleeper(1));
    Task<void> c = create_task(sleeper(2));
    co_await a;
    co_await b;
    co_await c;
  });
  EXPECT_EQ(lines, (Lines{"1s at 1", "2s at 2", "3s at 3"}));
}

TEST(OrderingTest, EqualDeadlinesFireInTheOrderTheyWereSet) {
  // Task i sets its 2 s deadline at time (10 - i) * 100 ms, so the timers are set in the
  // order 9, 8, ..., 0 although the tasks were created 0..9.
  Lines lines;
  run_test([&]() -> Coro<void> {
    std::vector<Task<void>> ts;
    auto waiter = [&](int i) -> Coro<void> {
      co_await sleep(std::chrono::milliseconds((10 - i) * 100));
      auto now = std::chrono::nanoseconds(
          static_cast<std::int64_t>(get_running_loop().time() * 1e9 + 0.5));
      co_await sleep(2s - now);
      EXPECT_DOUBLE_EQ(get_running_loop().time(), 2.0);
      lines.push_back(std::to_string(i));
    };
    for (int i = 0; i < 10; ++i) {
      ts.push_back(create_task(waiter(i)));
    }
    for (auto& t : ts) co_await t;
  });
  EXPECT_EQ(lines, (Lines{"9", "8", "7", "6", "5", "4", "3", "2", "1", "0"}));
}

TEST(OrderingTest, EqualSleepsFromOneStepFireInCreationOrder) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    std::vector<Task<void>> ts;
    auto sleeper = [&](int i) -> Coro<void> {
      co_await sleep(1s);
      lines.push_back(std::to_string(i));
    };
    for (int i = 0; i < 20; ++i) {
      ts.push_back(create_task(sleeper(i)));
    }
    for (auto& t : ts) co_await t;
  });
  Lines want;
  for (int i = 0; i < 20; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(lines, want);
}

TEST(OrderingTest, ReadyTasksRunInCreationOrder) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    std::vector<Task<void>> ts;
    auto step = [&](int i) -> Coro<void> {
      lines.push_back("start " + std::to_string(i));
      co_await sleep(0s);
      lines.push_back("end " + std::to_string(i));
    };
    for (int i = 0; i < 5; ++i) {
      ts.push_back(create_task(step(i)));
    }
    for (auto& t : ts) co_await t;
  });
  EXPECT_EQ(lines, (Lines{"start 0", "start 1", "start 2", "start 3", "start 4", "end 0", "end 1",
                          "end 2", "end 3", "end 4"}));
}

TEST(OrderingTest, SleepZeroYieldsToEveryReadyTask) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    std::vector<Task<void>> ts;
    auto task = [&](int i) -> Coro<void> {
      lines.push_back("task " + std::to_string(i));
      co_return;
    };
    for (int i = 0; i < 3; ++i) {
      ts.push_back(create_task(task(i)));
    }
    lines.push_back("main before yield");
    co_await sleep(0s);
    lines.push_back("main after yield");
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.0);  // a yield takes no time
    for (auto& t : ts) co_await t;
  });
  EXPECT_EQ(lines, (Lines{"main before yield", "task 0", "task 1", "task 2", "main after yield"}));
}

TEST(OrderingTest, TwoYieldingTasksAlternate) {
  std::string trace;
  run_test([&]() -> Coro<void> {
    auto ping = [&](char c) -> Coro<void> {
      for (int i = 0; i < 4; ++i) {
        trace += c;
        co_await sleep(0s);
      }
    };
    Task<void> a = create_task(ping('a'));
    Task<void> b = create_task(ping('b'));
    co_await a;
    co_await b;
  });
  EXPECT_EQ(trace, "abababab");
}

TEST(OrderingTest, WokenTasksRunInTheOrderTheyWereWoken) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    std::vector<Future<int>> fs(3);
    std::vector<Task<void>> ts;
    auto waiter = [&](int i) -> Coro<void> {
      int v = co_await fs[static_cast<std::size_t>(i)];
      lines.push_back("waiter " + std::to_string(i) + " got " + std::to_string(v));
    };
    for (int i = 0; i < 3; ++i) {
      ts.push_back(create_task(waiter(i)));
    }
    co_await sleep(0s);  // every waiter is parked on its future now
    fs[2].set_result(20);
    fs[0].set_result(0);
    fs[1].set_result(10);
    lines.push_back("setter done");
    for (auto& t : ts) co_await t;
  });
  EXPECT_EQ(lines, (Lines{"setter done", "waiter 2 got 20", "waiter 0 got 0", "waiter 1 got 10"}));
}

TEST(OrderingTest, VirtualTimeMakesAnHourTakeNoTime) {
  const auto start = std::chrono::steady_clock::now();
  double t = run_test([]() -> Coro<double> {
    co_await sleep(3600s);
    co_return get_running_loop().time();
  });
  EXPECT_DOUBLE_EQ(t, 3600.0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// The asyncio documentation's gather example (support/factorial.hpp), written with
// create_task so that it does not depend on the combinators.
Lines run_factorials() {
  Lines out;
  run_test([&]() -> Coro<void> {
    Task<int> a = create_task(factorial(out, "A", 2));
    Task<int> b = create_task(factorial(out, "B", 3));
    Task<int> c = create_task(factorial(out, "C", 4));
    std::string results = "[" + std::to_string(co_await a) + ", " + std::to_string(co_await b) +
                          ", " + std::to_string(co_await c) + "]";
    out.push_back(results);
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 3.0);
  });
  return out;
}

TEST(OrderingTest, FactorialInterleavingMatchesAsyncioEveryRun) {
  const Lines& asyncio_output = test::factorial_asyncio_output();
  for (int run = 0; run < 20; ++run) {
    ASSERT_EQ(run_factorials(), asyncio_output) << "run " << run;
  }
}

}  // namespace
}  // namespace corio
