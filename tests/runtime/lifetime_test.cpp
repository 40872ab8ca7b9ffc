// Coroutine bugs are lifetime bugs: every frame is destroyed exactly once on every path
// (returned, thrown, cancelled, never started, never awaited, shut down), results are
// destroyed once, and synchronous completions use no stack (cppcoro's task_tests). Leaks
// show up under ASan's leak checker.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
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

// A frame holding two probes: the parameter copy and a local.
Coro<int> holds_probes(Counted param, std::chrono::milliseconds d) {
  Counted local;
  if (d.count() > 0) co_await sleep(d);
  co_return param.id + local.id;
}

Coro<void> holds_probe_and_throws(Counted) {
  co_await sleep(1ms);
  throw std::runtime_error("boom");
}

Coro<void> holds_probe_forever(Counted) {
  co_await sleep(3600s);
}

class LifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override { Counted::reset_counts(); }
  void TearDown() override {
    EXPECT_EQ(Counted::active_count(), 0) << "a probe (frame or result) was leaked";
    EXPECT_EQ(Counted::destruction_count.load(), Counted::construction_count())
        << "a probe was destroyed twice";
  }
};

TEST_F(LifetimeTest, CoroFrameIsDestroyedWhenTheAwaitCompletes) {
  run_test([]() -> Coro<void> {
    co_await holds_probes(Counted{}, 0ms);
    EXPECT_EQ(Counted::active_count(), 0);
    co_await holds_probes(Counted{}, 5ms);
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(LifetimeTest, CoroNeverAwaitedIsDestroyedWithoutRunning) {
  {
    Coro<int> c = holds_probes(Counted{}, 0ms);
    EXPECT_EQ(Counted::active_count(), 1);                     // the parameter copy in the frame
    EXPECT_EQ(Counted::default_construction_count.load(), 1);  // the body never made `local`
  }
  EXPECT_EQ(Counted::active_count(), 0);
}

TEST_F(LifetimeTest, CoroFrameIsDestroyedWhenItThrows) {
  run_test([]() -> Coro<void> {
    EXPECT_THROW(co_await holds_probe_and_throws(Counted{}), std::runtime_error);
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(LifetimeTest, TaskFrameLivesUntilTheLastHandleIsDropped) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(holds_probes(Counted{}, 1ms));
    co_await t;
    EXPECT_EQ(Counted::active_count(), 1);  // done, but a handle keeps the frame (param)
    Task<int> copy = t;
    t = Task<int>();
    EXPECT_EQ(Counted::active_count(), 1);
    EXPECT_EQ(copy.result(), 0 + 1);
    copy = Task<int>();
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(LifetimeTest, TaskFrameWithoutHandlesIsDestroyedWhenItFinishes) {
  run_test([]() -> Coro<void> {
    (void)create_task(holds_probes(Counted{}, 1ms));
    EXPECT_EQ(Counted::active_count(), 1);
    co_await sleep(1s);
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(LifetimeTest, FailedTaskFrameIsDestroyed) {
  run_test([]() -> Coro<void> {
    Task<void> t = create_task(holds_probe_and_throws(Counted{}));
    EXPECT_THROW(co_await t, std::runtime_error);
  });
}

TEST_F(LifetimeTest, TaskCancelledBeforeItsFirstStepIsDestroyed) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(holds_probes(Counted{}, 0ms));
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_EQ(Counted::default_construction_count.load(), 1);  // `local` never made
  });
}

TEST_F(LifetimeTest, TaskCancelledInASleepIsDestroyed) {
  run_test([]() -> Coro<void> {
    Task<void> t = create_task(holds_probe_forever(Counted{}));
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
  });
}

TEST_F(LifetimeTest, TasksAliveAtShutdownAreDestroyed) {
  for (Options opts : {test::virtual_time(), test::multi_thread(2)}) {
    run_test(
        []() -> Coro<void> {
          for (int i = 0; i < 100; ++i) (void)create_task(holds_probe_forever(Counted{}));
          co_await sleep(1ms);
        },
        opts);
    EXPECT_EQ(Counted::active_count(), 0);
  }
}

TEST_F(LifetimeTest, RuntimeDestroyedWithUnstartedSpawnsFreesThem) {
  {
    Runtime rt(test::single_thread());
    for (int i = 0; i < 10; ++i) (void)rt.spawn(holds_probe_forever(Counted{}));
  }
  EXPECT_EQ(Counted::active_count(), 0);
}

TEST_F(LifetimeTest, CoroResultIsDestroyedOnce) {
  run_test([]() -> Coro<void> {
    auto make = []() -> Coro<Counted> { co_return Counted{}; };
    {
      Counted c = co_await make();
      EXPECT_EQ(Counted::active_count(), 1);
      EXPECT_EQ(Counted::default_construction_count.load(), 1);
      EXPECT_EQ(Counted::copy_construction_count.load(), 0);  // moved all the way
    }
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(LifetimeTest, TaskResultIsDestroyedOnceAfterManyAwaiters) {
  run_test(
      []() -> Coro<void> {
        auto make = []() -> Coro<Counted> {
          co_await sleep(1ms);
          co_return Counted{};
        };
        Task<Counted> t = create_task(make());
        auto awaiter = [](Task<Counted> t) -> Coro<int> {
          Counted c = co_await t;  // each awaiter gets its own copy
          co_return c.id;
        };
        std::vector<Task<int>> ws;
        for (int i = 0; i < 5; ++i) ws.push_back(create_task(awaiter(t)));
        for (auto& w : ws) EXPECT_EQ(co_await w, 0);
        EXPECT_EQ(Counted::default_construction_count.load(), 1);
      },
      test::multi_thread(2));
}

TEST_F(LifetimeTest, UnretrievedTaskResultIsDestroyed) {
  run_test([]() -> Coro<void> {
    auto make = []() -> Coro<Counted> { co_return Counted{}; };
    (void)create_task(make());
    co_await sleep(0s);
    co_await sleep(0s);
  });
}

TEST_F(LifetimeTest, FutureValueIsDestroyedWithTheLastHandle) {
  {
    Future<Counted> f;
    f.set_result(Counted{});
    Future<Counted> g = f;
    EXPECT_EQ(Counted::active_count(), 1);
  }
  EXPECT_EQ(Counted::active_count(), 0);
}

Coro<int> completes_synchronously(int i) {
  co_return i;
}

TEST(StackTest, AMillionSynchronousCompletionsDoNotOverflowTheStack) {
  long long sum = run_test(
      []() -> Coro<long long> {
        long long s = 0;
        for (int i = 0; i < 1'000'000; ++i) s += co_await completes_synchronously(i);
        co_return s;
      },
      test::single_thread(), 120s);
  EXPECT_EQ(sum, 999'999LL * 1'000'000LL / 2);
}

TEST(StackTest, AMillionAwaitsOfDoneTasksAndFuturesDoNotOverflowTheStack) {
  for (Options opts : {test::single_thread(), test::multi_thread(2)}) {
    long long sum = run_test(
        []() -> Coro<long long> {
          Task<int> t = create_task(completes_synchronously(2));
          co_await t;
          Future<int> f;
          f.set_result(1);
          long long s = 0;
          for (int i = 0; i < 500'000; ++i) s += co_await t + co_await f;
          co_return s;
        },
        opts, 120s);
    EXPECT_EQ(sum, 1'500'000LL);
  }
}

// A chain of `depth` nested Coros, the innermost of which completes without suspending.
Coro<int> nested_sync(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested_sync(depth - 1);
}

// The same chain, but the innermost suspends first: the chain then completes through
// final_suspend continuations (symmetric transfer), which must not grow the stack.
Coro<int> nested_suspending(int depth) {
  if (depth == 0) {
    co_await sleep(0s);
    co_return 0;
  }
  co_return 1 + co_await nested_suspending(depth - 1);
}

TEST(StackTest, DeepChainOfNestedSynchronousAwaits) {
  constexpr int kDepth = 10'000;
  EXPECT_EQ(run_test([]() -> Coro<int> { co_return co_await nested_sync(kDepth); }), kDepth);
}

TEST(StackTest, DeepChainResumedAfterASuspensionUnwindsWithoutRecursion) {
  constexpr int kDepth = 10'000;
  EXPECT_EQ(run_test([]() -> Coro<int> { co_return co_await nested_suspending(kDepth); }), kDepth);
}

}  // namespace
}  // namespace corio
