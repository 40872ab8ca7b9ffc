// Task<T>: the asyncio.Task surface — result/exception/done/cancelled, InvalidStateError
// before done, names, done callbacks, many awaiters, handles that do not own the task, and
// create_task/current_task/all_tasks.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"
#include "support/counted.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;
using test::value_after;

Coro<void> raise_after(std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error("task failed");
}

TEST(TaskTest, ResultOfAFinishedTask) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(1ms, 41));
    EXPECT_FALSE(t.done());
    EXPECT_EQ(co_await t, 41);
    EXPECT_TRUE(t.done());
    EXPECT_FALSE(t.cancelled());
    EXPECT_EQ(t.result(), 41);
    EXPECT_EQ(t.exception(), nullptr);
  });
}

TEST(TaskTest, ResultAndExceptionBeforeDoneThrowInvalidState) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(1s, 1));
    EXPECT_THROW(t.result(), InvalidStateError);
    EXPECT_THROW(t.exception(), InvalidStateError);
    co_await t;
  });
}

TEST(TaskTest, ExceptionOfAFailedTask) {
  run_test([]() -> Coro<void> {
    Task<void> t = create_task(raise_after(1ms));
    EXPECT_THROW(co_await t, std::runtime_error);
    EXPECT_TRUE(t.done());
    EXPECT_FALSE(t.cancelled());
    std::exception_ptr e = t.exception();
    EXPECT_NE(e, nullptr);
    if (e) {
      EXPECT_THROW(std::rethrow_exception(e), std::runtime_error);
    }
    EXPECT_THROW(t.result(), std::runtime_error);
  });
}

TEST(TaskTest, CancelledTaskReportsCancelled) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(1h, 1));
    co_await sleep(0s);
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.cancelled());
    EXPECT_THROW(t.result(), CancelledError);
    EXPECT_THROW(t.exception(), CancelledError);  // asyncio raises it from exception() too
    EXPECT_FALSE(t.cancel());                     // already done
  });
}

TEST(TaskTest, CancelOfAFinishedTaskReturnsFalse) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(0ms, 3));
    co_await t;
    EXPECT_FALSE(t.cancel());
    EXPECT_FALSE(t.cancelled());
    EXPECT_EQ(t.result(), 3);
  });
}

TEST(TaskTest, MainIsTaskOneAndTasksAreNumberedInCreationOrder) {
  std::vector<std::string> names;
  run_test([&]() -> Coro<void> {
    names.push_back(current_task().get_name());
    Task<int> a = create_task(value_after(1ms, 1));
    Task<int> b = create_task(value_after(1ms, 2));
    names.push_back(a.get_name());
    names.push_back(b.get_name());
    co_await a;
    co_await b;
  });
  EXPECT_EQ(names, (std::vector<std::string>{"Task-1", "Task-2", "Task-3"}));
}

TEST(TaskTest, NamedTasksDoNotUseUpANumber) {
  // asyncio: only unnamed tasks take the next number (Task.__init__: name is None).
  std::vector<std::string> names;
  run_test([&]() -> Coro<void> {
    Task<int> a = create_task(value_after(1ms, 1));
    Task<int> b = create_task(value_after(1ms, 2), "named");
    Task<int> c = create_task(value_after(1ms, 3));
    names = {a.get_name(), b.get_name(), c.get_name()};
    co_await a;
    co_await b;
    co_await c;
  });
  EXPECT_EQ(names, (std::vector<std::string>{"Task-2", "named", "Task-3"}));
}

TEST(TaskTest, NamesAreUniqueInMultiThreadMode) {
  std::vector<std::string> names;
  run_test(
      [&]() -> Coro<void> {
        std::vector<Task<int>> ts;
        for (int i = 0; i < 50; ++i) ts.push_back(create_task(value_after(0ms, i)));
        for (auto& t : ts) {
          co_await t;
          names.push_back(t.get_name());
        }
      },
      test::multi_thread(2));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (const auto& n : names) EXPECT_EQ(n.rfind("Task-", 0), 0u) << n;
}

TEST(TaskTest, SetNameRenamesTheTask) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(1ms, 1));
    t.set_name("worker");
    EXPECT_EQ(t.get_name(), "worker");
    Task<int> copy = t;
    EXPECT_EQ(copy.get_name(), "worker");  // the name belongs to the task, not the handle
    current_task().set_name("main");
    EXPECT_EQ(current_task().get_name(), "main");
    co_await t;
    EXPECT_EQ(t.get_name(), "worker");
  });
}

TEST(TaskTest, DoneCallbackRunsAfterCompletionNotInline) {
  test::Log log;
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task(value_after(1s, 5));
    t.add_done_callback([&](Task<int> done) {
      EXPECT_TRUE(done.done());
      log("callback " + std::to_string(done.result()));
    });
    co_await t;
    log("awaiter resumed");
    co_await sleep(0s);
    // On a finished task the callback is scheduled soon, not called inside add_done_callback.
    t.add_done_callback([&](Task<int>) { log("late callback"); });
    log("after add");
    co_await sleep(0s);
  });
  EXPECT_EQ(log.events(), (std::vector<std::string>{"callback 5", "awaiter resumed", "after add",
                                                    "late callback"}));
}

TEST(TaskTest, DoneCallbacksRunInRegistrationOrder) {
  std::string order;
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task(value_after(1ms, 5));
    for (char c = 'a'; c <= 'e'; ++c) t.add_done_callback([&order, c](Task<int>) { order += c; });
    co_await t;
    co_await sleep(0s);
  });
  EXPECT_EQ(order, "abcde");
}

TEST(TaskTest, AwaitedByManyTasksEachGetsTheResult) {
  run_test(
      [&]() -> Coro<void> {
        Task<std::string> t = create_task([]() -> Coro<std::string> {
          co_await sleep(10ms);
          co_return std::string("shared result");
        }());
        std::vector<Task<std::string>> waiters;
        for (int i = 0; i < 10; ++i) {
          waiters.push_back(create_task(
              [](Task<std::string> t) -> Coro<std::string> { co_return co_await t; }(t)));
        }
        for (auto& w : waiters) EXPECT_EQ(co_await w, "shared result");
        EXPECT_EQ(co_await t, "shared result");  // still there for a late awaiter
      },
      test::multi_thread());
}

TEST(TaskTest, AwaitingAFinishedTaskDoesNotSwitch) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(0ms, 1));
    co_await t;
    bool other_ran = false;
    auto other_body = [&]() -> Coro<void> {
      other_ran = true;
      co_return;
    };
    Task<void> other = create_task(other_body());
    for (int i = 0; i < 10; ++i) co_await t;
    EXPECT_FALSE(other_ran);
    co_await other;
  });
}

TEST(TaskTest, DroppingEveryHandleDoesNotCancel) {
  bool finished = false;
  run_test([&]() -> Coro<void> {
    auto finish_later = [&]() -> Coro<void> {
      co_await sleep(1s);
      finished = true;
    };
    { Task<void> t = create_task(finish_later()); }  // the only handle is gone
    co_await sleep(2s);
    EXPECT_TRUE(finished);
  });
  EXPECT_TRUE(finished);
}

TEST(TaskTest, TaskWithoutHandlesRunsToCompletionWhileMainWaits) {
  int done = 0;
  run_test(
      [&]() -> Coro<void> {
        Future<void> all_done;
        auto count = [&](int) -> Coro<void> {
          co_await sleep(1ms);
          if (++done == 100) all_done.set_result();
        };
        for (int i = 0; i < 100; ++i) {
          (void)create_task(count(i));
        }
        co_await all_done;
      },
      test::single_thread());
  EXPECT_EQ(done, 100);
}

TEST(TaskTest, HandleMayOutliveItsRuntime) {
  // As in asyncio, a finished task object stays usable after its loop is gone.
  Task<int> kept;
  {
    Runtime rt(test::single_thread());
    kept = rt.run([]() -> Coro<Task<int>> {
      Task<int> t = create_task(value_after(1ms, 8));
      co_await t;
      co_return t;
    }());
  }
  EXPECT_TRUE(kept.done());
  EXPECT_EQ(kept.result(), 8);
  EXPECT_EQ(kept.get_name(), "Task-2");
  kept = Task<int>();  // the last handle: frees the frame without touching the runtime
}

TEST(TaskTest, FailedTaskHandleMayOutliveItsDebugRuntime) {
  Task<void> kept;
  run_test(
      [&]() -> Coro<void> {
        kept = create_task(raise_after(1ms));
        co_await sleep(1s);
      },
      Options{.threads = 1, .virtual_time = true, .debug = true});
  EXPECT_TRUE(kept.done());
  EXPECT_THROW(kept.result(), std::runtime_error);
  kept = Task<void>();
}

TEST(TaskTest, CreateTaskOutsideARunningLoopThrows) {
  EXPECT_THROW(create_task(value_after(1ms, 1)), std::runtime_error);
}

TEST(TaskTest, CurrentTaskOutsideATaskIsEmpty) {
  EXPECT_FALSE(current_task().valid());
}

TEST(TaskTest, CurrentTaskIsTheRunningTask) {
  run_test([]() -> Coro<void> {
    Task<void> me = current_task();
    EXPECT_TRUE(me.valid());
    EXPECT_FALSE(me.done());
    Task<void> seen;
    Task<void> child = create_task([](Task<void>* out) -> Coro<void> {
      *out = current_task();
      co_return;
    }(&seen));
    co_await child;
    EXPECT_TRUE(seen == child);
    EXPECT_FALSE(seen == me);
  });
}

TEST(TaskTest, AllTasksListsTheLiveTasks) {
  run_test([]() -> Coro<void> {
    Task<int> a = create_task(value_after(1s, 1));
    Task<int> b = create_task(value_after(2s, 2));
    auto contains = [](const std::vector<Task<void>>& v, const Task<void>& t) {
      return std::find(v.begin(), v.end(), t) != v.end();
    };
    std::vector<Task<void>> all = all_tasks();
    EXPECT_EQ(all.size(), 3u);
    EXPECT_TRUE(contains(all, current_task()));
    EXPECT_TRUE(contains(all, a));
    EXPECT_TRUE(contains(all, b));
    co_await a;
    all = all_tasks();
    EXPECT_EQ(all.size(), 2u);
    EXPECT_FALSE(contains(all, a));
    co_await b;
  });
}

TEST(TaskTest, AllTasksNeverListsADoneTask) {
  // asyncio.all_tasks() returns the tasks not yet done. In multi-thread mode the awaiter of a
  // finished task may run on another worker while the finished task's worker is still
  // wrapping it up; it must not show up then either.
  int listed_done = 0;
  run_test(
      [&]() -> Coro<void> {
        for (int i = 0; i < 2000; ++i) {
          Task<int> t = create_task(test::ready(i));
          co_await t;
          for (const Task<void>& x : all_tasks()) listed_done += x.done() ? 1 : 0;
        }
      },
      test::multi_thread(2));
  EXPECT_EQ(listed_done, 0);
}

// gather's children are registered through their Join, not one by one: all_tasks() must
// still list each one until it is done, and number them as create_task would.
Coro<int> record_self(std::vector<Task<void>>* me, std::size_t i, std::chrono::milliseconds d) {
  (*me)[i] = current_task();
  co_await sleep(d);
  co_return static_cast<int>(i);
}

TEST(TaskTest, AllTasksListsAGathersChildrenUntilEachIsDone) {
  std::vector<std::string> names;
  run_test([&]() -> Coro<void> {
    auto contains = [](const std::vector<Task<void>>& v, const Task<void>& t) {
      return std::find(v.begin(), v.end(), t) != v.end();
    };
    std::vector<Task<void>> kids(3);
    std::vector<Coro<int>> cs;
    for (std::size_t i = 0; i < kids.size(); ++i) {
      cs.push_back(record_self(&kids, i, std::chrono::seconds(i + 1)));
    }
    Task<std::vector<int>> g = create_task(gather(std::move(cs)));
    co_await sleep(500ms);  // every child started and sleeps
    std::vector<Task<void>> all = all_tasks();
    EXPECT_EQ(all.size(), 5u);  // main, the gathering task and its three children
    for (const Task<void>& k : kids) {
      EXPECT_TRUE(contains(all, k));
      names.push_back(k.get_name());
    }
    co_await sleep(1s);  // the first child is done, the other two sleep on
    all = all_tasks();
    EXPECT_EQ(all.size(), 4u);
    EXPECT_FALSE(contains(all, kids[0]));
    EXPECT_TRUE(contains(all, kids[1]));
    EXPECT_TRUE(contains(all, kids[2]));
    std::vector<int> got = co_await g;
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    all = all_tasks();
    EXPECT_EQ(all.size(), 1u);
  });
  // As asyncio: gather() wraps its children in tasks when called, before the task around it.
  EXPECT_EQ(names, (std::vector<std::string>{"Task-2", "Task-3", "Task-4"}));
}

TEST(TaskTest, AllTasksNeverListsADoneGatherChild) {
  int listed_done = 0;
  run_test(
      [&]() -> Coro<void> {
        for (int i = 0; i < 500; ++i) {
          std::vector<Coro<int>> cs;
          for (int k = 0; k < 8; ++k) cs.push_back(test::ready(k));
          (void)co_await gather(std::move(cs));
          for (const Task<void>& x : all_tasks()) listed_done += x.done() ? 1 : 0;
        }
      },
      test::multi_thread(2));
  EXPECT_EQ(listed_done, 0);
}

TEST(TaskTest, ShutdownCancelsTheChildrenOfADroppedGather) {
  // The gather is dropped unawaited: nobody holds its children but the Join's
  // registry entry, through which shutdown must find and cancel them (or run() hangs).
  int cancelled = 0;
  run_test(
      [&]() -> Coro<void> {
        auto sleeper = [](int* cancelled) -> Coro<int> {
          try {
            co_await sleep(24h);
          } catch (const CancelledError&) {
            ++*cancelled;
            throw;
          }
          co_return 0;
        };
        std::vector<Coro<int>> cs;
        for (int k = 0; k < 4; ++k) cs.push_back(sleeper(&cancelled));
        { auto dropped = gather(std::move(cs)); }
        co_await sleep(1ms);
        EXPECT_EQ(all_tasks().size(), 5u);
      },
      test::virtual_time());
  EXPECT_EQ(cancelled, 4);
}

TEST(TaskTest, AGatherOutlivingItsRuntimeIsFreedCleanly) {
  // An unawaited gather kept past the runtime's end: its Join is unregistered when the
  // runtime stops, so dropping it later touches nothing of the runtime (ASan checks).
  std::optional<Coro<std::vector<int>>> kept;
  {
    Runtime rt(test::virtual_time());
    kept = rt.run([]() -> Coro<Coro<std::vector<int>>> {
      std::vector<Coro<int>> cs;
      for (int k = 0; k < 3; ++k) cs.push_back(value_after(1s, k));
      co_return gather(std::move(cs));
    }());
  }
  EXPECT_TRUE(kept->valid());
  kept.reset();
}

Coro<int> counted_child(test::Counted c, int v) {
  (void)c;
  co_return v;
}

Task<std::vector<int>> counted_gather(int n) {
  std::vector<Coro<int>> cs;
  for (int k = 0; k < n; ++k) cs.push_back(counted_child(test::Counted{}, k));
  return create_task(gather(std::move(cs)));
}

TEST(TaskTest, AGatherTaskDroppedOutsideTheLoopFreesItsChildrenAtOnce) {
  // The last handle goes on the thread that called run(): its children's frames (and their
  // arguments) go with it, not at the worker's next look at its registry.
  test::Counted::reset_counts();
  Runtime rt(test::single_thread());
  Task<std::vector<int>> g = rt.run([]() -> Coro<Task<std::vector<int>>> {
    Task<std::vector<int>> t = counted_gather(3);
    (void)co_await t;
    co_return t;
  }());
  EXPECT_TRUE(g.done());
  EXPECT_EQ(test::Counted::active_count(), 3);
  g = {};
  EXPECT_EQ(test::Counted::active_count(), 0);
}

TEST(TaskTest, AGatherTaskDroppedOnABlockingThreadAfterShutdownIsFreed) {
  // A to_thread job holds the last handle past the runtime's stop: the Join, unregistered by
  // then, frees itself without touching the runtime.
  test::Counted::reset_counts();
  {
    Runtime rt(test::multi_thread(2));
    rt.run([]() -> Coro<void> {
      Task<std::vector<int>> g = counted_gather(3);
      (void)co_await g;
      (void)create_task(to_thread(
          [](const Task<std::vector<int>>&) { std::this_thread::sleep_for(100ms); }, std::move(g)));
      co_await sleep(10ms);  // the job has started
    }());
    rt.shutdown();
  }
  EXPECT_EQ(test::Counted::active_count(), 0);
}

TEST(TaskTest, AllTasksOutsideALoopThrows) {
  EXPECT_THROW(all_tasks(), std::runtime_error);
}

TEST(TaskTest, TaskOfVoidViewsATaskOfAnyType) {
  run_test([]() -> Coro<void> {
    Task<int> t = create_task(value_after(1ms, 9));
    Task<void> v = t;
    co_await v;
    EXPECT_TRUE(v.done());
    EXPECT_EQ(t.result(), 9);
    EXPECT_TRUE(v == Task<void>(t));
  });
}

TEST(TaskTest, MoveOnlyResultIsMovedToTheAwaiter) {
  run_test([]() -> Coro<void> {
    Task<std::unique_ptr<int>> t =
        create_task([]() -> Coro<std::unique_ptr<int>> { co_return std::make_unique<int>(5); }());
    std::unique_ptr<int> p = co_await t;
    EXPECT_EQ(p ? *p : -1, 5);
  });
}

TEST(TaskTest, NewTaskStartsAfterTheCreatorSuspends) {
  test::Log log;
  run_test([&]() -> Coro<void> {
    auto child = [&]() -> Coro<void> {
      log("child");
      co_return;
    };
    Task<void> t = create_task(child());
    log("creator before await");
    co_await t;
    log("creator after await");
  });
  EXPECT_EQ(log.events(),
            (std::vector<std::string>{"creator before await", "child", "creator after await"}));
}

// --- found by review -------------------------------------------------------------------

TEST(TaskTest, ATaskAwaitingItselfThrows) {
  run_test(
      [&]() -> Coro<void> {
        Task<void> me = current_task();
        EXPECT_THROW(co_await me, std::runtime_error);  // asyncio: RuntimeError
      },
      test::virtual_time(), 5s);
}

TEST(TaskTest, AddDoneCallbackOfAnEmptyFunctionThrows) {
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task([]() -> Coro<int> { co_return 7; }());
    EXPECT_THROW(t.add_done_callback(std::function<void(Task<int>)>{}), std::invalid_argument);
    EXPECT_EQ(co_await t, 7);
  });
}

TEST(TaskTest, AnEmptyTaskThrowsInsteadOfCrashing) {
  Task<int> t;
  EXPECT_FALSE(t.valid());
  EXPECT_FALSE(t.done());
  EXPECT_FALSE(t.cancelled());
  EXPECT_FALSE(t.cancel());
  EXPECT_THROW((void)t.result(), InvalidStateError);
  EXPECT_THROW((void)t.exception(), InvalidStateError);
  EXPECT_THROW((void)t.get_name(), InvalidStateError);
  EXPECT_THROW(t.set_name("x"), InvalidStateError);
  EXPECT_THROW(t.add_done_callback([](Task<int>) {}), InvalidStateError);
  run_test([&]() -> Coro<void> { EXPECT_THROW(co_await t, InvalidStateError); });
}

TEST(TaskTest, SetNameOfTheEmptyStringNamesItSo) {
  run_test([&]() -> Coro<void> {
    Task<int> t = create_task([]() -> Coro<int> { co_return 1; }());
    EXPECT_EQ(t.get_name(), "Task-2");
    t.set_name("");
    EXPECT_EQ(t.get_name(), "");  // asyncio: set_name(value) sets str(value)
    co_await t;
  });
}

TEST(TaskTest, AddDoneCallbackAfterShutdownIsDroppedQuietly) {
  Runtime rt(test::single_thread());
  Task<int> kept = rt.run([]() -> Coro<Task<int>> {
    Task<int> t = create_task([]() -> Coro<int> { co_return 7; }());
    co_await t;
    co_return t;
  }());
  rt.shutdown();
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> weak = captured;
  bool called = false;
  EXPECT_NO_THROW(kept.add_done_callback([&called, captured](Task<int>) { called = true; }));
  captured.reset();
  EXPECT_TRUE(weak.expired());  // dropped at once, not queued until ~Runtime
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace corio
