// Debug mode (asyncio's): a slow task step, a Coro destroyed without being awaited, and a
// task exception nobody retrieved are reported on stderr — and nothing is reported when the
// program did nothing wrong or debug mode is off.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

// A generous slow_step by default, so that a loaded machine does not make a normal step look
// slow; the slow-step test lowers it.
Options debug_options(std::chrono::nanoseconds slow_step = 1s) {
  return Options{.threads = 1, .virtual_time = true, .debug = true, .slow_step = slow_step};
}

Coro<int> answer() {
  co_return 42;
}

Coro<void> raise_soon() {
  co_await sleep(1ms);
  throw std::runtime_error("lost error");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(DebugTest, SlowStepIsReportedWithTheTaskName) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        auto slow = []() -> Coro<void> {
          std::this_thread::sleep_for(60ms);  // blocks the loop: what debug mode catches
          co_return;
        };
        co_await create_task(slow(), "sluggish");
      },
      debug_options(20ms));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "Executing sluggish took")) << err;
}

TEST(DebugTest, FastStepsAreNotReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        for (int i = 0; i < 10; ++i) co_await sleep(1s);
      },
      debug_options());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, SlowStepIsNotReportedOutsideDebugMode) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        std::this_thread::sleep_for(150ms);
        co_return;
      },
      test::virtual_time());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, NeverAwaitedCoroIsReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        { Coro<int> forgotten = answer(); }
        co_return;
      },
      debug_options());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "Coro")) << err;
  EXPECT_TRUE(contains(err, "awaited")) << err;
}

TEST(DebugTest, NeverAwaitedGatherIsReportedOnce) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        { auto forgotten = gather(answer(), answer()); }
        { Coro<std::tuple<int>> converted = gather(answer()); }  // reported as the Coro
        co_return;
      },
      debug_options());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "corio: a gather was destroyed without ever being awaited")) << err;
  EXPECT_TRUE(contains(err, "corio: a Coro was destroyed without ever being awaited")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
}

TEST(DebugTest, AwaitedOrScheduledGathersAreNotReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        auto [a] = co_await gather(answer());
        EXPECT_EQ(a, 42);
        Task<std::tuple<int, int>> t = create_task(gather(answer(), answer()));
        co_await t;
        auto g = gather(answer());
        auto target = std::move(g);  // the moved-from shell is empty, not forgotten
        co_await target;
      },
      debug_options());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, AwaitedOrScheduledCorosAreNotReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        EXPECT_EQ(co_await answer(), 42);
        Task<int> t = create_task(answer());
        EXPECT_EQ(co_await t, 42);
        Coro<int> moved = answer();
        Coro<int> target = std::move(moved);  // the moved-from shell is empty, not forgotten
        co_await target;
      },
      debug_options());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, NeverAwaitedCoroIsNotReportedOutsideDebugMode) {
  testing::internal::CaptureStderr();
  run_test([]() -> Coro<void> {
    { Coro<int> forgotten = answer(); }
    co_return;
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, NeverRetrievedTaskExceptionIsReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        (void)create_task(raise_soon(), "careless");
        co_await sleep(1s);
      },
      debug_options());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "never retrieved")) << err;
  EXPECT_TRUE(contains(err, "careless")) << err;
  EXPECT_TRUE(contains(err, "lost error")) << err;
}

TEST(DebugTest, RetrievedTaskExceptionsAreNotReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        Task<void> awaited = create_task(raise_soon());
        Task<void> inspected = create_task(raise_soon());
        Task<void> via_result = create_task(raise_soon());
        EXPECT_THROW(co_await awaited, std::runtime_error);
        co_await sleep(1s);
        EXPECT_NE(inspected.exception(), nullptr);
        EXPECT_THROW(via_result.result(), std::runtime_error);
      },
      debug_options());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, CancelledTasksAreNotReported) {
  testing::internal::CaptureStderr();
  run_test(
      []() -> Coro<void> {
        auto forever = []() -> Coro<void> { co_await sleep(3600s); };
        Task<void> t = create_task(forever());
        co_await sleep(0s);
        t.cancel();
        co_await sleep(0s);
      },
      debug_options());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(DebugTest, NeverRetrievedExceptionIsNotReportedOutsideDebugMode) {
  testing::internal::CaptureStderr();
  run_test([]() -> Coro<void> {
    (void)create_task(raise_soon());
    co_await sleep(1s);
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace corio
