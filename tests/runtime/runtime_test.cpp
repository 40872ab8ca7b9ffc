// corio::run and Runtime: return values and exceptions, the end-of-run cancellation of tasks
// still alive, a Runtime reused for several runs, spawn from foreign threads, Options checks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
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

TEST(RuntimeTest, RunReturnsMainsValue) {
  EXPECT_EQ(corio::run([]() -> Coro<int> { co_return 7; }()), 7);
  EXPECT_EQ(corio::run([]() -> Coro<std::string> { co_return "hi"; }(), test::virtual_time()),
            "hi");
}

TEST(RuntimeTest, RunRethrowsMainsException) {
  EXPECT_THROW(corio::run([]() -> Coro<void> {
                 co_await sleep(1ms);
                 throw std::out_of_range("main failed");
               }()),
               std::out_of_range);
}

TEST(RuntimeTest, RunCancelsAndAwaitsTasksStillAliveWhenMainReturns) {
  // asyncio.run stops the loop when main is done, then cancels the rest: in virtual time the
  // clock must not run on to the lingering tasks' deadlines in between. Repeated, because
  // the end of main and the start of the cancellation race.
  for (Options opts : {test::virtual_time(), test::single_thread(), test::multi_thread(2)}) {
    for (int run = 0; run < 10; ++run) {
      std::atomic<int> started{0};
      std::atomic<int> cleaned{0};
      std::atomic<int> finished_normally{0};
      // Tasks that outlive main must not live in main's frame, nor may the lambdas they run.
      auto lingering = [&]() -> Coro<void> {
        ++started;
        try {
          co_await sleep(3600s);
          ++finished_normally;
          co_return;
        } catch (const CancelledError&) {
        }
        co_await sleep(1ms);  // clean-up may await; run() waits for it
        ++cleaned;
        throw CancelledError();
      };
      run_test(
          [&]() -> Coro<void> {
            for (int i = 0; i < 5; ++i) (void)create_task(lingering());
            // One yield lets them all start in single-thread mode; with several workers a
            // stolen task may start later, and a task cancelled before it starts never runs
            // its body (asyncio), so wait until every one is inside its sleep.
            do {
              co_await sleep(0s);
            } while (started.load() < 5);
          },
          opts);
      ASSERT_EQ(cleaned.load(), 5)
          << "threads=" << opts.threads << " virtual=" << opts.virtual_time << " run " << run;
      ASSERT_EQ(finished_normally.load(), 0);
    }
  }
}

TEST(RuntimeTest, RunCancelsTasksCreatedDuringShutdown) {
  // A task cancelled at the end of run() may create another before it finishes; that one is
  // cancelled too, before or after its first step (asyncio.run's cancellation round).
  std::atomic<int> first_cancelled{0};
  std::atomic<bool> first_started{false};
  Task<void> second_task;  // written by `first` on a worker, read after run() joined them
  auto second = []() -> Coro<void> { co_await sleep(3600s); };
  auto first = [&]() -> Coro<void> {
    try {
      first_started = true;
      co_await sleep(3600s);
    } catch (const CancelledError&) {
      ++first_cancelled;
      second_task = create_task(second());
      throw;
    }
  };
  run_test(
      [&]() -> Coro<void> {
        (void)create_task(first());
        // On two workers sleep(0s) does not promise that `first` ran meanwhile (another
        // worker may hold it, not yet started, and a task cancelled before its first step
        // never runs its body): wait until it has.
        while (!first_started) co_await sleep(1ms);
      },
      test::multi_thread(2));
  EXPECT_EQ(first_cancelled.load(), 1);
  ASSERT_TRUE(second_task.valid());
  EXPECT_TRUE(second_task.done());
  EXPECT_TRUE(second_task.cancelled());
}

TEST(RuntimeTest, RunShutsDownWithTasksOnEveryWorker) {
  std::atomic<int> cancelled{0};
  const auto start = std::chrono::steady_clock::now();
  auto lingering = [&]() -> Coro<void> {
    try {
      co_await sleep(3600s);
    } catch (const CancelledError&) {
      ++cancelled;
      throw;
    }
  };
  run_test(
      [&]() -> Coro<void> {
        for (int i = 0; i < 200; ++i) (void)create_task(lingering());
        co_await sleep(10ms);
      },
      test::multi_thread());
  EXPECT_EQ(cancelled.load(), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(RuntimeTest, RuntimeRunsSeveralMainsInTurn) {
  Runtime rt(test::multi_thread(2));
  test::Watchdog dog(30s, "RuntimeRunsSeveralMainsInTurn");
  EXPECT_EQ(rt.workers(), 2u);
  for (int i = 0; i < 5; ++i) {
    int v = rt.run([](int i) -> Coro<int> {
      co_await sleep(1ms);
      co_return i * 10;
    }(i));
    EXPECT_EQ(v, i * 10);
  }
  EXPECT_THROW(rt.run([]() -> Coro<void> {
    throw std::runtime_error("third");
    co_return;
  }()),
               std::runtime_error);
  EXPECT_EQ(rt.run([]() -> Coro<int> { co_return 1; }()), 1);  // still usable after a throw
}

TEST(RuntimeTest, TasksKeepRunningBetweenRuns) {
  Runtime rt(test::single_thread());
  test::Watchdog dog(30s, "TasksKeepRunningBetweenRuns");
  std::atomic<int> ticks{0};
  auto tick = [&ticks]() -> Coro<void> {
    for (;;) {
      ++ticks;
      co_await sleep(1ms);
    }
  };
  Task<void> ticker = rt.run([&]() -> Coro<Task<void>> { co_return create_task(tick()); }());
  EXPECT_TRUE(test::eventually([&] { return ticks.load() > 5; }));
  EXPECT_FALSE(ticker.done());
  rt.shutdown();  // cancels the ticker
  EXPECT_TRUE(ticker.done());
  EXPECT_TRUE(ticker.cancelled());
}

TEST(RuntimeTest, SpawnFromForeignThreads) {
  Runtime rt(test::multi_thread(2));
  test::Watchdog dog(30s, "SpawnFromForeignThreads");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<Task<int>>> tasks(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        tasks[static_cast<std::size_t>(i)].push_back(
            rt.spawn([](std::atomic<int>& ran, int v) -> Coro<int> {
              co_await sleep(0s);
              ++ran;
              co_return v;
            }(ran, j)));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(test::eventually([&] { return ran.load() == kThreads * kPerThread; }));
  for (auto& ts : tasks) {
    for (int j = 0; j < kPerThread; ++j) {
      const Task<int>& t = ts[static_cast<std::size_t>(j)];
      EXPECT_TRUE(test::eventually([&] { return t.done(); }));
      EXPECT_EQ(t.result(), j);
    }
  }
}

TEST(RuntimeTest, SpawnAfterShutdownThrows) {
  Runtime rt(test::single_thread());
  rt.shutdown();
  rt.shutdown();  // idempotent
  EXPECT_THROW(rt.spawn([]() -> Coro<void> { co_return; }()), std::runtime_error);
}

TEST(RuntimeTest, RunFromAWorkerThrows) {
  Runtime rt(test::single_thread());
  test::Watchdog dog(30s, "RunFromAWorkerThrows");
  rt.run([&]() -> Coro<void> {
    EXPECT_THROW(rt.run([]() -> Coro<void> { co_return; }()), std::runtime_error);
    co_return;
  }());
}

TEST(RuntimeTest, OptionsAreChecked) {
  EXPECT_THROW(Runtime(Options{.threads = 2, .virtual_time = true}), std::invalid_argument);
  EXPECT_THROW(Runtime(Options{.threads = 0, .virtual_time = true}), std::invalid_argument);
  Runtime one(Options{.threads = 1});
  EXPECT_EQ(one.workers(), 1u);
  Runtime all(Options{});
  EXPECT_EQ(all.workers(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(all.options().threads, 0u);
}

TEST(RuntimeTest, SingleThreadModeRunsEveryTaskOnOneThread) {
  run_test(
      [&]() -> Coro<void> {
        const auto tid = std::this_thread::get_id();
        std::vector<Task<bool>> ts;
        auto where = [tid]() -> Coro<bool> {
          co_await sleep(1ms);
          co_return std::this_thread::get_id() == tid;
        };
        for (int i = 0; i < 100; ++i) ts.push_back(create_task(where()));
        for (auto& t : ts) EXPECT_TRUE(co_await t);
      },
      test::single_thread());
}

TEST(RuntimeTest, MultiThreadModeUsesEveryWorker) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core";
  std::mutex mu;
  std::vector<std::thread::id> seen;
  run_test(
      [&]() -> Coro<void> {
        auto spin = [&]() -> Coro<void> {
          std::this_thread::sleep_for(1ms);  // block, so the other worker steals the rest
          std::lock_guard g(mu);
          if (std::find(seen.begin(), seen.end(), std::this_thread::get_id()) == seen.end()) {
            seen.push_back(std::this_thread::get_id());
          }
          co_return;
        };
        std::vector<Task<void>> ts;
        for (int i = 0; i < 200; ++i) ts.push_back(create_task(spin()));
        for (auto& t : ts) co_await t;
      },
      test::multi_thread(2));
  EXPECT_EQ(seen.size(), 2u);
}

// --- found by review -------------------------------------------------------------------

TEST(RuntimeTest, SpawnOfAnAlreadyAwaitedCoroThrows) {
  test::Watchdog dog(5s, "SpawnOfAnAlreadyAwaitedCoroThrows");
  Runtime rt(test::single_thread());
  rt.run([&]() -> Coro<void> {
    Coro<int> c = []() -> Coro<int> { co_return 7; }();
    EXPECT_EQ(co_await c, 7);
    EXPECT_THROW(rt.spawn(std::move(c)), InvalidStateError);
  }());
}

// asyncio cancels the concurrent future: the caller gets CancelledError, not a broken promise.
TEST(RuntimeTest, RunCoroutineThreadsafeCancelledAtShutdownGivesCancelledError) {
  test::Watchdog dog(10s, "RunCoroutineThreadsafeCancelledAtShutdownGivesCancelledError");
  Runtime rt(test::single_thread());
  std::atomic<bool> busy{false};
  rt.spawn([](std::atomic<bool>& b) -> Coro<void> {  // keeps the only worker busy
    b = true;
    std::this_thread::sleep_for(200ms);
    co_return;
  }(busy));
  while (!busy) std::this_thread::yield();
  std::future<int> f = run_coroutine_threadsafe([]() -> Coro<int> { co_return 7; }(), rt);
  rt.shutdown();
  EXPECT_THROW(f.get(), CancelledError);
}

// asyncio lets a coroutine be submitted to another loop from inside a loop: only the target
// runtime's own workers are refused (they could deadlock on the future).
TEST(RuntimeTest, RunCoroutineThreadsafeFromAnotherRuntimesWorker) {
  test::Watchdog dog(10s, "RunCoroutineThreadsafeFromAnotherRuntimesWorker");
  Runtime other(test::single_thread());
  Runtime rt(test::single_thread());
  std::future<int> f;
  rt.run([&]() -> Coro<void> {
    f = run_coroutine_threadsafe([]() -> Coro<int> { co_return 7; }(), other);
    EXPECT_THROW(run_coroutine_threadsafe([]() -> Coro<int> { co_return 7; }(), rt),
                 std::runtime_error);
    co_return;
  }());
  EXPECT_EQ(f.get(), 7);
}

TEST(RuntimeTest, ShutdownFromSeveralThreadsAtOnce) {
  test::Watchdog dog(20s, "ShutdownFromSeveralThreadsAtOnce");
  for (int round = 0; round < 20; ++round) {
    Runtime rt(test::multi_thread(2));
    for (int i = 0; i < 8; ++i) {
      rt.spawn([]() -> Coro<void> { co_await sleep(3600s); }());
    }
    std::atomic<int> done{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i) {
      ts.emplace_back([&] {
        rt.shutdown();
        done.fetch_add(1);
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(done.load(), 3);
  }
}

}  // namespace
}  // namespace corio
