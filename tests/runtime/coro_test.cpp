// Coro<T>: lazy start, inline await without a switch, values and exceptions crossing the
// await, and the misuse errors (empty, awaited twice, handed to create_task after starting).
#include <gtest/gtest.h>

#include <vector>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

Coro<int> add(int a, int b) {
  co_return a + b;
}

Coro<int> add_after_sleep(int a, int b) {
  co_await sleep(1s);
  co_return a + b;
}

Coro<void> throw_runtime_error(std::string msg) {
  throw std::runtime_error(msg);
  co_return;
}

TEST(CoroTest, DoesNothingUntilAwaited) {
  bool ran = false;
  auto body = [&]() -> Coro<void> {
    ran = true;
    co_return;
  };
  {
    Coro<void> c = body();
    EXPECT_FALSE(ran);
    EXPECT_TRUE(c.valid());
  }  // destroyed without being awaited: the body never runs
  EXPECT_FALSE(ran);
}

TEST(CoroTest, AwaitReturnsTheValue) {
  int v = run_test([]() -> Coro<int> { co_return co_await add(2, 3); });
  EXPECT_EQ(v, 5);
}

TEST(CoroTest, AwaitRunsInlineOnTheSameTaskAndThread) {
  run_test([]() -> Coro<void> {
    Task<void> outer = current_task();
    const auto tid = std::this_thread::get_id();
    Task<void> inner_task;
    std::thread::id inner_tid;
    auto inner = [&]() -> Coro<void> {
      inner_task = current_task();
      inner_tid = std::this_thread::get_id();
      co_return;
    };
    co_await inner();
    EXPECT_TRUE(inner_task == outer);
    EXPECT_EQ(inner_tid, tid);
  });
}

TEST(CoroTest, AwaitOfReadyCoroDoesNotSwitch) {
  // Single-thread mode: another ready task must not run across an await that completes
  // synchronously.
  run_test([]() -> Coro<void> {
    bool other_ran = false;
    auto other_body = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> other = create_task(other_body());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(co_await add(i, 1), i + 1);
    EXPECT_FALSE(other_ran);
    co_await other;
    EXPECT_TRUE(other_ran);
  });
}

TEST(CoroTest, AwaitAcrossASuspensionReturnsTheValue) {
  double t = 0;
  int v = run_test([&]() -> Coro<int> {
    int r = co_await add_after_sleep(20, 22);
    t = get_running_loop().time();
    co_return r;
  });
  EXPECT_EQ(v, 42);
  EXPECT_DOUBLE_EQ(t, 1.0);
}

Coro<std::vector<int>> numbers(int n) {
  co_await sleep(0s);
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  co_return v;
}

TEST(CoroTest, RangeForOverTheResultOfATemporaryCoro) {
  // The Coro temporary dies at the end of the range-init expression, before the loop body:
  // the awaited value must be the loop's own, not a reference into the dead frame.
  EXPECT_EQ(run_test([]() -> Coro<int> {
              int sum = 0;
              for (int v : co_await numbers(100)) sum += v;
              std::vector<Coro<int>> cs;
              for (int i = 0; i < 10; ++i) cs.push_back(add(i, 0));
              for (int v : co_await gather(std::move(cs))) sum += v;
              co_return sum;
            }),
            4950 + 45);
}

TEST(CoroTest, ExceptionPropagatesToTheAwaiter) {
  run_test([]() -> Coro<void> {
    try {
      co_await throw_runtime_error("boom");
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
  });
}

TEST(CoroTest, ExceptionAfterSuspensionPropagatesToTheAwaiter) {
  run_test([]() -> Coro<void> {
    auto late = []() -> Coro<int> {
      co_await sleep(10ms);
      throw std::logic_error("late");
    };
    EXPECT_THROW(co_await late(), std::logic_error);
  });
}

TEST(CoroTest, MainExceptionIsRethrownByRun) {
  EXPECT_THROW(run_test([]() -> Coro<void> { co_await throw_runtime_error("main"); }),
               std::runtime_error);
}

TEST(CoroTest, MoveOnlyResult) {
  auto v = run_test([]() -> Coro<std::unique_ptr<int>> {
    auto make = []() -> Coro<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
    std::unique_ptr<int> p = co_await make();
    EXPECT_EQ(*p, 7);
    co_return std::make_unique<int>(*p + 1);
  });
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 8);
}

TEST(CoroTest, AwaitingAnEmptyCoroThrowsInvalidState) {
  run_test([]() -> Coro<void> {
    Coro<int> empty;
    EXPECT_FALSE(empty.valid());
    EXPECT_THROW(co_await empty, InvalidStateError);
  });
}

TEST(CoroTest, AwaitingTwiceThrowsInvalidState) {
  run_test([]() -> Coro<void> {
    Coro<int> c = add(1, 1);
    EXPECT_EQ(co_await c, 2);
    EXPECT_THROW(co_await c, InvalidStateError);
  });
}

TEST(CoroTest, CreateTaskOfAnAwaitedCoroThrowsInvalidState) {
  run_test([]() -> Coro<void> {
    Coro<int> c = add(1, 1);
    co_await c;
    EXPECT_THROW(create_task(std::move(c)), InvalidStateError);
    EXPECT_THROW(create_task(Coro<int>{}), InvalidStateError);
  });
}

TEST(CoroTest, MovedFromCoroIsEmpty) {
  run_test([]() -> Coro<void> {
    Coro<int> a = add(3, 4);
    Coro<int> b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(co_await b, 7);
    a = add(1, 2);
    EXPECT_EQ(co_await a, 3);
  });
}

TEST(CoroTest, NestedAwaitsUnwindInOrder) {
  std::string trace;
  run_test([&]() -> Coro<void> {
    auto leaf = [&]() -> Coro<int> {
      trace += "leaf;";
      co_await sleep(1s);
      trace += "leaf-done;";
      co_return 1;
    };
    auto mid = [&]() -> Coro<int> {
      trace += "mid;";
      int v = co_await leaf();
      trace += "mid-done;";
      co_return v + 1;
    };
    int v = co_await mid();
    trace += "top-done;";
    EXPECT_EQ(v, 2);
  });
  EXPECT_EQ(trace, "mid;leaf;leaf-done;mid-done;top-done;");
}

}  // namespace
}  // namespace corio
