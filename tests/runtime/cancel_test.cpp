// Cancellation as asyncio does it: CancelledError at the suspended co_await, a task cancelled
// before its first step never runs (gather and wait_for pass it on to what they started), messages,
// catch-and-continue, pass-through to an awaited task, timers removed on cancel, and cancel() from
// another worker or a foreign thread.
#include <gtest/gtest.h>

#include <atomic>
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
using Lines = std::vector<std::string>;
using test::run_test;

Coro<void> sleep_forever() {
  co_await sleep(3600s);
}

TEST(CancelTest, CancelledErrorIsThrownAtTheSuspendedAwait) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    auto victim = [&]() -> Coro<void> {
      lines.push_back("before sleep");
      try {
        co_await sleep(1h);
        lines.push_back("sleep returned");
      } catch (const CancelledError&) {
        lines.push_back("cancelled in sleep");
        throw;
      }
    };
    Task<void> t = create_task(victim());
    co_await sleep(0s);
    EXPECT_TRUE(t.cancel());
    lines.push_back("cancel requested");
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.0);
  });
  EXPECT_EQ(lines, (Lines{"before sleep", "cancel requested", "cancelled in sleep"}));
}

TEST(CancelTest, TaskCancelledBeforeItsFirstStepNeverRunsItsBody) {
  bool ran = false;
  run_test([&]() -> Coro<void> {
    auto body = [&]() -> Coro<int> {
      ran = true;
      co_return 1;
    };
    Task<int> t = create_task(body());
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
  });
  EXPECT_FALSE(ran);
}

/// A child that records how it ended.
Coro<int> child_until_cancelled(std::vector<std::string>& ends, std::string name) {
  try {
    co_await sleep(1h);
  } catch (const CancelledError&) {
    ends.push_back(name + " cancelled");
    throw;
  }
  ends.push_back(name + " finished");
  co_return 1;
}

// asyncio: ensure_future(gather(a, b)).cancel() cancels a and b, whenever it comes; the
// gather's body is what passes the cancel on, so it runs even when cancelled before its first
// step (the children it started would otherwise run on, unwaited).
TEST(CancelTest, GatherTaskCancelledBeforeItsFirstStepCancelsItsChildren) {
  Lines ends;
  Lines ended_with_t;  // what had ended when awaiting t returned (shutdown cancels the rest)
  run_test([&]() -> Coro<void> {
    auto t =
        create_task(gather(child_until_cancelled(ends, "a"), child_until_cancelled(ends, "b")));
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    ended_with_t = ends;
    EXPECT_TRUE(t.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.0);
  });
  EXPECT_EQ(ended_with_t, (Lines{"a cancelled", "b cancelled"}));
}

TEST(CancelTest, GatherOfTasksCancelledBeforeItsFirstStepCancelsThem) {
  Lines ends;
  Lines ended_with_t;  // what had ended when awaiting t returned (shutdown cancels the rest)
  run_test([&]() -> Coro<void> {
    std::vector<Task<int>> children;
    children.push_back(create_task(child_until_cancelled(ends, "a")));
    children.push_back(create_task(child_until_cancelled(ends, "b")));
    auto t = create_task(gather_settled(children));
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    ended_with_t = ends;
    EXPECT_TRUE(children[0].cancelled());
    EXPECT_TRUE(children[1].cancelled());
  });
  EXPECT_EQ(ended_with_t, (Lines{"a cancelled", "b cancelled"}));
}

// The children finish before the gather task's first step (they were queued first): the
// cancel reaches nobody, and the gather ends cancelled, as its cancel() promised.
TEST(CancelTest, GatherTaskCancelledAfterItsChildrenEndedEndsCancelled) {
  run_test([&]() -> Coro<void> {
    auto one = []() -> Coro<int> { co_return 1; };
    auto t = create_task(gather(one(), one()));
    EXPECT_TRUE(t.cancel());
    co_await sleep(0s);  // the children run
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
  });
}

TEST(CancelTest, WaitForTaskCancelledBeforeItsFirstStepCancelsTheInnerTask) {
  Lines ends;
  Lines ended_with_t;  // what had ended when awaiting t returned (shutdown cancels the rest)
  run_test([&]() -> Coro<void> {
    auto t = create_task(wait_for(child_until_cancelled(ends, "inner"), 2h));
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    ended_with_t = ends;
    EXPECT_TRUE(t.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.0);
  });
  EXPECT_EQ(ended_with_t, (Lines{"inner cancelled"}));
}

TEST(CancelTest, WaitForFutureCancelledBeforeItsFirstStepCancelsTheFuture) {
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto t = create_task(wait_for(f, 2h));
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    // asyncio: cancelling wait_for cancels what it waits for, at once, not at shutdown.
    EXPECT_TRUE(f.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.0);
  });
}

TEST(CancelTest, WaitForFutureCancelledBeforeItsFirstStepCancelsTheFutureOnTwoWorkers) {
  // Whichever of wait_for's task and the task awaiting the future runs first, the cancel
  // reaches the future.
  run_test(
      [&]() -> Coro<void> {
        for (int i = 0; i < 500; ++i) {
          Future<int> f;
          auto t = create_task(wait_for(f, 2h));
          EXPECT_TRUE(t.cancel());
          EXPECT_THROW(co_await t, CancelledError);
          EXPECT_TRUE(f.cancelled()) << "iteration " << i;
          if (!f.cancelled()) break;
        }
      },
      Options{.threads = 2});
}

// A combinator body (kCancelInBody) cancelled before its first step whose first await finds
// the future done ends cancelled without taking the value: it stays in the future.
TEST(CancelTest, BodyCancelledBeforeItsFirstStepLeavesADoneFuturesValue) {
  run_test([&]() -> Coro<void> {
    Future<std::unique_ptr<int>> f;
    f.set_result(std::make_unique<int>(5));
    auto body = [](Future<std::unique_ptr<int>> f) -> Coro<std::unique_ptr<int>> {
      co_return co_await f;
    };
    auto t = create_task(detail::cancel_in_body(body(f)));
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    auto v = co_await f;  // move-only: the one awaiter that gets it
    EXPECT_TRUE(v != nullptr && *v == 5);
  });
}

TEST(CancelTest, CancelMessageReachesTheTaskAndItsAwaiter) {
  std::string seen_inside;
  run_test([&]() -> Coro<void> {
    auto victim = [&]() -> Coro<void> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError& e) {
        seen_inside = e.message();
        throw;
      }
    };
    Task<void> t = create_task(victim());
    co_await sleep(0s);
    t.cancel("stop now");
    try {
      co_await t;
      ADD_FAILURE() << "no CancelledError";
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "stop now");
      EXPECT_STREQ(e.what(), "stop now");
    }
  });
  EXPECT_EQ(seen_inside, "stop now");
}

TEST(CancelTest, TaskMayCatchTheCancelAwaitMoreAndReturn) {
  run_test([&]() -> Coro<void> {
    auto stubborn = []() -> Coro<int> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
      }
      co_await sleep(1s);  // clean-up that itself suspends
      co_return 42;
    };
    Task<int> t = create_task(stubborn());
    co_await sleep(0s);
    t.cancel();
    EXPECT_EQ(co_await t, 42);
    EXPECT_FALSE(t.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 1.0);
  });
}

TEST(CancelTest, TaskMayCleanUpWithAwaitsThenRethrow) {
  bool cleaned = false;
  run_test([&]() -> Coro<void> {
    auto careful = [&]() -> Coro<void> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        cleaned = true;
      }
      co_await sleep(2s);
      throw CancelledError("rethrown after clean-up");
    };
    Task<void> t = create_task(careful());
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 2.0);
  });
  EXPECT_TRUE(cleaned);
}

TEST(CancelTest, TwoCancelsBeforeDeliveryThrowOnce) {
  run_test([&]() -> Coro<void> {
    auto once = []() -> Coro<int> {
      int caught = 0;
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        ++caught;
      }
      co_await sleep(1s);  // a second CancelledError would come out of here
      co_return caught;
    };
    Task<int> t = create_task(once());
    co_await sleep(0s);
    EXPECT_TRUE(t.cancel());
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(co_await t, 1);
  });
}

TEST(CancelTest, SelfCancelIsDeliveredAtTheNextSuspendingAwait) {
  Lines lines;
  run_test([&]() -> Coro<void> {
    auto self = [&]() -> Coro<void> {
      EXPECT_TRUE(current_task().cancel());
      co_await test::ready();  // completes without suspending: no switch, no CancelledError
      lines.push_back("after ready await");
      try {
        co_await sleep(0s);
        lines.push_back("not cancelled");
      } catch (const CancelledError&) {
        lines.push_back("cancelled at sleep");
        throw;
      }
    };
    Task<void> t = create_task(self());
    EXPECT_THROW(co_await t, CancelledError);
  });
  EXPECT_EQ(lines, (Lines{"after ready await", "cancelled at sleep"}));
}

TEST(CancelTest, CancelOfAWokenButNotYetRunTaskStillThrows) {
  // asyncio: the future is done and the task's step is queued; cancel() then makes that step
  // throw CancelledError into the coroutine instead of returning the result.
  run_test([&]() -> Coro<void> {
    Future<int> f;
    auto waiter = [&]() -> Coro<int> { co_return co_await f; };
    Task<int> t = create_task(waiter());
    co_await sleep(0s);
    f.set_result(1);
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(f.cancelled());
  });
}

TEST(CancelTest, CancellingAnAwaiterCancelsTheAwaitedTask) {
  run_test([&]() -> Coro<void> {
    Task<void> inner = create_task(sleep_forever());
    auto outer_body = [&]() -> Coro<void> { co_await inner; };
    Task<void> outer = create_task(outer_body());
    co_await sleep(0s);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(outer.cancelled());
    EXPECT_TRUE(inner.done());
    EXPECT_TRUE(inner.cancelled());
  });
}

TEST(CancelTest, CancelPassedToAnAwaitedTaskThatSwallowsItReturnsItsValue) {
  // asyncio: outer.cancel() cancels the task outer waits on and does not mark outer itself;
  // if inner swallows the cancel and returns, outer gets the value.
  run_test([&]() -> Coro<void> {
    auto swallow = []() -> Coro<int> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
      }
      co_return 7;
    };
    Task<int> inner = create_task(swallow());
    auto outer_body = [&]() -> Coro<int> { co_return co_await inner + 1; };
    Task<int> outer = create_task(outer_body());
    co_await sleep(0s);
    outer.cancel();
    EXPECT_EQ(co_await outer, 8);
    EXPECT_FALSE(outer.cancelled());
    EXPECT_FALSE(inner.cancelled());
  });
}

TEST(CancelTest, CancelledSleepRemovesItsTimer) {
  // If the cancelled 3600 s timer stayed in the heap, the virtual clock would jump to it
  // while main waits for the foreign thread's callback.
  double time_after = -1;
  const auto start = std::chrono::steady_clock::now();
  run_test([&]() -> Coro<void> {
    Task<void> t = create_task(sleep_forever());
    co_await sleep(0s);
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    Future<void> f;
    Loop& loop = get_running_loop();
    std::thread poker([&loop, f] {
      std::this_thread::sleep_for(50ms);
      loop.call_soon_threadsafe([f] { f.set_result(); });
    });
    co_await f;
    poker.join();
    time_after = get_running_loop().time();
  });
  EXPECT_DOUBLE_EQ(time_after, 0.0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(CancelTest, ManyCancelledSleepsLeaveNoTimers) {
  run_test([&]() -> Coro<void> {
    std::vector<Task<void>> ts;
    for (int i = 0; i < 1000; ++i) ts.push_back(create_task(sleep_forever()));
    co_await sleep(0s);
    for (auto& t : ts) t.cancel();
    for (auto& t : ts) EXPECT_THROW(co_await t, CancelledError);
    co_await sleep(5s);  // the next timer is this one, not a stale 3600 s one
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 5.0);
  });
}

TEST(CancelTest, CancelFromAForeignThread) {
  for (Options opts : {test::single_thread(), test::multi_thread(2)}) {
    const auto start = std::chrono::steady_clock::now();
    run_test(
        [&]() -> Coro<void> {
          Future<void> started;
          auto victim = [&]() -> Coro<void> {
            started.set_result();
            co_await sleep(3600s);
          };
          Task<void> t = create_task(victim());
          co_await started;
          std::thread canceller([t] {
            std::this_thread::sleep_for(10ms);
            EXPECT_TRUE(t.cancel("from a thread"));
          });
          try {
            co_await t;
            ADD_FAILURE() << "not cancelled";
          } catch (const CancelledError& e) {
            EXPECT_EQ(e.message(), "from a thread");
          }
          canceller.join();
          EXPECT_TRUE(t.cancelled());
        },
        opts);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "threads=" << opts.threads;
  }
}

TEST(CancelTest, CancelFromAnotherWorker) {
  // The victim's timer lives on one worker; the cancel must come from a task on the other
  // one, so that it travels to the timer's owner. Probes block their worker for a moment, so
  // the other worker steals the next probe; a probe that finds itself on a different thread
  // than the victim cancels it.
  run_test(
      [&]() -> Coro<void> {
        std::atomic<std::thread::id> victim_tid{};
        Future<void> started;
        auto victim = [&]() -> Coro<void> {
          victim_tid = std::this_thread::get_id();
          started.set_result();
          co_await sleep(3600s);
        };
        Task<void> t = create_task(victim());
        co_await started;
        std::atomic<bool> cancelled_remotely{false};
        auto probe = [&]() -> Coro<void> {
          std::this_thread::sleep_for(2ms);  // blocks this worker: the next probe goes elsewhere
          if (std::this_thread::get_id() != victim_tid.load() && !cancelled_remotely.load()) {
            if (t.cancel()) cancelled_remotely = true;
          }
          co_return;
        };
        for (int attempt = 0; attempt < 500 && !cancelled_remotely; ++attempt) {
          Task<void> a = create_task(probe());
          Task<void> b = create_task(probe());
          co_await a;
          co_await b;
        }
        EXPECT_TRUE(cancelled_remotely.load()) << "no probe ran on the other worker";
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
      },
      test::multi_thread(2));
}

TEST(CancelTest, CancelAfterCompletionIsANoOp) {
  run_test(
      [&]() -> Coro<void> {
        Task<int> t = create_task(test::ready(5));
        co_await t;
        std::thread other([t] { EXPECT_FALSE(t.cancel()); });
        other.join();
        EXPECT_FALSE(t.cancelled());
        EXPECT_EQ(t.result(), 5);
      },
      test::multi_thread(2));
}

// asyncio (Task.__step): a cancel requested during the step in which the task returns makes
// it end cancelled, not with its value.
TEST(CancelTest, TaskCancelledDuringTheStepItReturnsInEndsCancelled) {
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task([]() -> Coro<int> {
      EXPECT_TRUE(current_task().cancel("late"));
      co_return 1;
    }());
    try {
      (void)co_await t;
      ADD_FAILURE() << "returned its value";
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "late");
    }
    EXPECT_TRUE(t.cancelled());
  });
}

// A raised exception stays what it was.
TEST(CancelTest, TaskCancelledDuringTheStepItRaisesInKeepsItsError) {
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task([]() -> Coro<int> {
      current_task().cancel();
      throw std::logic_error("own error");
      co_return 1;
    }());
    EXPECT_THROW(co_await t, std::logic_error);
    EXPECT_FALSE(t.cancelled());
  });
}

}  // namespace
}  // namespace corio
