// Future<T>: completion from another task and from a foreign thread, the InvalidStateError
// rules, cancellation in both directions, many awaiters, move-only values.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

TEST(FutureTest, NewFutureIsPending) {
  Future<int> f;
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_THROW(f.result(), InvalidStateError);
  EXPECT_THROW(f.exception(), InvalidStateError);
}

TEST(FutureTest, SetResultOutsideALoopCompletesIt) {
  Future<std::string> f;
  f.set_result(std::string("x"));
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), "x");
  EXPECT_EQ(f.exception(), nullptr);
  Future<std::string> copy = f;  // a handle to the same state
  EXPECT_EQ(copy.result(), "x");
}

TEST(FutureTest, SetTwiceThrowsInvalidState) {
  Future<int> f;
  f.set_result(1);
  EXPECT_THROW(f.set_result(2), InvalidStateError);
  EXPECT_THROW(f.set_exception(std::make_exception_ptr(std::runtime_error("e"))),
               InvalidStateError);
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.result(), 1);

  Future<void> v;
  v.set_result();
  EXPECT_THROW(v.set_result(), InvalidStateError);
}

TEST(FutureTest, SetExceptionNullIsRejected) {
  Future<int> f;
  EXPECT_THROW(f.set_exception(nullptr), std::invalid_argument);
  EXPECT_FALSE(f.done());
}

TEST(FutureTest, SetFromAnotherTaskWakesTheAwaiter) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto setter = [](Future<int> f) -> Coro<void> {
      co_await sleep(1s);
      f.set_result(42);
    };
    Task<void> t = create_task(setter(f));
    EXPECT_EQ(co_await f, 42);
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 1.0);
    co_await t;
  });
}

TEST(FutureTest, ExceptionIsRethrownToEveryAwaiter) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto waiter = [](Future<int> f) -> Coro<bool> {
      try {
        co_await f;
      } catch (const std::out_of_range&) {
        co_return true;
      }
      co_return false;
    };
    std::vector<Task<bool>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(create_task(waiter(f)));
    co_await sleep(0s);
    f.set_exception(std::make_exception_ptr(std::out_of_range("nope")));
    for (auto& t : ts) EXPECT_TRUE(co_await t);
    EXPECT_THROW(f.result(), std::out_of_range);
    EXPECT_NE(f.exception(), nullptr);
  });
}

TEST(FutureTest, AwaitingADoneFutureDoesNotSuspend) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    f.set_result(3);
    bool other_ran = false;
    auto other = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> t = create_task(other());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(co_await f, 3);
    EXPECT_FALSE(other_ran);
    co_await t;
  });
}

TEST(FutureTest, SetFromAForeignThreadWakesTheAwaiter) {
  for (Options opts : {test::single_thread(), test::multi_thread(2), test::virtual_time()}) {
    run_test(
        [&]() -> Coro<void> {
          Future<std::string> f;
          std::thread setter([f] {
            std::this_thread::sleep_for(10ms);
            f.set_result(std::string("from a thread"));
          });
          EXPECT_EQ(co_await f, "from a thread");
          setter.join();
        },
        opts);
  }
}

TEST(FutureTest, CancelWakesEveryAwaiterWithCancelledError) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto waiter = [](Future<int> f) -> Coro<std::string> {
      try {
        co_await f;
      } catch (const CancelledError& e) {
        co_return "cancelled: " + e.message();
      }
      co_return "not cancelled";
    };
    std::vector<Task<std::string>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(create_task(waiter(f)));
    co_await sleep(0s);
    EXPECT_TRUE(f.cancel("bye"));
    EXPECT_FALSE(f.cancel());
    EXPECT_TRUE(f.done());
    EXPECT_TRUE(f.cancelled());
    for (auto& t : ts) {
      EXPECT_EQ(co_await t, "cancelled: bye");
      EXPECT_FALSE(t.cancelled());  // they caught it
    }
    EXPECT_THROW(f.result(), CancelledError);
    EXPECT_THROW(f.exception(), CancelledError);
    EXPECT_THROW(f.set_result(1), InvalidStateError);
  });
}

TEST(FutureTest, CancellingTheAwaitingTaskCancelsTheFuture) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
    Task<int> t = create_task(waiter(f));
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_TRUE(f.cancelled());
  });
}

TEST(FutureTest, CancellingAnAwaiterOfADoneFutureDoesNotChangeIt) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
    Task<int> t = create_task(waiter(f));
    co_await sleep(0s);
    f.set_result(1);
    t.cancel();  // the waiter is woken but has not run: it gets CancelledError
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_FALSE(f.cancelled());
    EXPECT_EQ(f.result(), 1);
  });
}

TEST(FutureTest, MoveOnlyValueIsMovedToTheAwaiter) {
  run_test([&]() -> Coro<void> {
    Future<std::unique_ptr<int>> f;
    f.set_result(std::make_unique<int>(11));
    std::unique_ptr<int> p = co_await f;
    EXPECT_EQ(p ? *p : -1, 11);
  });
}

TEST(FutureTest, CopyableValueIsCopiedToEachAwaiter) {
  run_test([&]() -> Coro<void> {
    Future<std::vector<int>> f;
    f.set_result(std::vector<int>{1, 2, 3});
    std::vector<int> a = co_await f;
    std::vector<int> b = co_await f;
    EXPECT_EQ(a, b);
    EXPECT_EQ(f.result().size(), 3u);
  });
}

// --- found by review -------------------------------------------------------------------

struct CopyThrows {
  CopyThrows() = default;
  CopyThrows(const CopyThrows&) { throw std::runtime_error("copy"); }
  CopyThrows(CopyThrows&&) = default;
};

// Storing the value failed: the future is still pending, and can be completed or cancelled.
TEST(FutureTest, SetResultWhoseCopyThrowsLeavesTheFuturePending) {
  Future<CopyThrows> fut;
  CopyThrows v;
  EXPECT_THROW(fut.set_result(v), std::runtime_error);
  EXPECT_FALSE(fut.done());
  fut.set_result(CopyThrows{});
  EXPECT_TRUE(fut.done());
}

}  // namespace
}  // namespace corio
