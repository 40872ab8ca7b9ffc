// Stress: parking and unparking. Bursts of work arrive after idle periods long enough for
// every worker to park — from foreign threads (spawn, call_soon_threadsafe, Future) and from
// timers — and every burst must be fully processed: a lost wake-up leaves work behind a
// parked worker, which the bounded waits below turn into a failure.
// CORIO_STRESS_ITERS sets the number of bursts.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

std::chrono::microseconds idle_gap(std::mt19937& rng) {
  return std::chrono::microseconds(200 + rng() % 3000);  // long enough to park, usually
}

TEST(ParkStress, SpawnBurstsAfterIdlePeriodsAreNeverLost) {
  const std::size_t bursts = test::stress_iters(300);
  constexpr int kBurst = 50;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "SpawnBurstsAfterIdlePeriodsAreNeverLost");
  std::mt19937 rng(7);
  std::atomic<int> ran{0};
  auto work = [](std::atomic<int>& ran, int i) -> Coro<void> {
    if (i % 2 == 0) co_await sleep(0s);
    ++ran;
  };
  for (std::size_t b = 0; b < bursts; ++b) {
    std::this_thread::sleep_for(idle_gap(rng));
    const int before = ran.load();
    for (int i = 0; i < kBurst; ++i) (void)rt.spawn(work(ran, i));
    ASSERT_TRUE(test::eventually([&] { return ran.load() == before + kBurst; }, 20s))
        << "burst " << b << ": " << ran.load() - before << " of " << kBurst << " ran";
  }
}

TEST(ParkStress, CallSoonThreadsafeAfterIdlePeriodsIsNeverLost) {
  const std::size_t bursts = test::stress_iters(300);
  constexpr int kBurst = 20;
  for (Options opts : {test::single_thread(), test::multi_thread()}) {
    Runtime rt(opts);
    test::Watchdog dog(120s, "CallSoonThreadsafeAfterIdlePeriodsIsNeverLost");
    std::mt19937 rng(8);
    std::atomic<int> ran{0};
    for (std::size_t b = 0; b < bursts; ++b) {
      std::this_thread::sleep_for(idle_gap(rng));
      const int before = ran.load();
      for (int i = 0; i < kBurst; ++i) rt.loop().call_soon_threadsafe([&] { ++ran; });
      ASSERT_TRUE(test::eventually([&] { return ran.load() == before + kBurst; }, 20s))
          << "threads=" << opts.threads << " burst " << b;
    }
  }
}

TEST(ParkStress, ForeignFutureCompletionWakesParkedWorkers) {
  const std::size_t bursts = test::stress_iters(200);
  constexpr int kWaiters = 8;
  for (Options opts : {test::single_thread(), test::multi_thread()}) {
    Runtime rt(opts);
    test::Watchdog dog(120s, "ForeignFutureCompletionWakesParkedWorkers");
    std::mt19937 rng(9);
    auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
    for (std::size_t b = 0; b < bursts; ++b) {
      std::vector<Future<int>> fs(kWaiters);
      std::vector<Task<int>> ts;
      for (auto& f : fs) ts.push_back(rt.spawn(waiter(f)));
      std::this_thread::sleep_for(idle_gap(rng));  // the waiters park, then the workers do
      for (int i = 0; i < kWaiters; ++i) fs[static_cast<std::size_t>(i)].set_result(i);
      for (int i = 0; i < kWaiters; ++i) {
        const Task<int>& t = ts[static_cast<std::size_t>(i)];
        ASSERT_TRUE(test::eventually([&] { return t.done(); }, 20s))
            << "threads=" << opts.threads << " burst " << b << " waiter " << i;
        EXPECT_EQ(t.result(), i);
      }
    }
  }
}

TEST(ParkStress, ForeignThreadPingPongHitsTheParkingWindow) {
  // A foreign thread posts a callback, waits until a worker ran it, and posts the next one at
  // once: each post lands just as the worker that ran the previous one goes to park, which is
  // exactly the window where a wake-up can be lost (the worker checks the inject queue while
  // the poster checks for sleepers). No timers exist, so a lost wake-up is a hang.
  const std::size_t rounds = test::stress_iters(50'000);
  for (Options opts : {test::single_thread(), test::multi_thread()}) {
    Runtime rt(opts);
    test::Watchdog dog(120s, "ForeignThreadPingPongHitsTheParkingWindow");
    std::atomic<std::size_t> ran{0};
    for (std::size_t r = 0; r < rounds; ++r) {
      rt.loop().call_soon_threadsafe([&ran] { ran.fetch_add(1, std::memory_order_release); });
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (ran.load(std::memory_order_acquire) != r + 1) {
        if (std::chrono::steady_clock::now() > deadline) {
          FAIL() << "threads=" << opts.threads << ": callback " << r
                 << " never ran: a wake-up was lost";
        }
      }
    }
  }
}

TEST(ParkStress, ForeignFuturePingPongHitsTheParkingWindow) {
  // The same window, through Future::set_result from a foreign thread waking a parked task.
  const std::size_t rounds = test::stress_iters(20'000);
  for (Options opts : {test::single_thread(), test::multi_thread()}) {
    Runtime rt(opts);
    test::Watchdog dog(120s, "ForeignFuturePingPongHitsTheParkingWindow");
    std::atomic<std::size_t> got{0};
    // One slot per round, handed over through an atomic index: the task awaits slot r,
    // the thread sets it once the task has taken slot r - 1.
    std::vector<Future<int>> slots(rounds);
    auto task = [](std::vector<Future<int>>& slots, std::atomic<std::size_t>& got) -> Coro<void> {
      for (std::size_t r = 0; r < slots.size(); ++r) {
        co_await slots[r];
        got.store(r + 1, std::memory_order_release);
      }
    };
    Task<void> t = rt.spawn(task(slots, got));
    for (std::size_t r = 0; r < rounds; ++r) {
      slots[r].set_result(static_cast<int>(r));
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (got.load(std::memory_order_acquire) != r + 1) {
        if (std::chrono::steady_clock::now() > deadline) {
          FAIL() << "threads=" << opts.threads << ": wake " << r << " was lost";
        }
      }
    }
    EXPECT_TRUE(test::eventually([&] { return t.done(); }));
  }
}

TEST(ParkStress, TimersWakeParkedWorkersOnTime) {
  // Every worker parks with a timer as its only wake-up; each burst of sleepers must end,
  // and not much later than asked (a parked worker that ignores its next deadline would
  // sleep on until something else woke it).
  const std::size_t bursts = test::stress_iters(100);
  run_test(
      [&]() -> Coro<void> {
        auto sleeper = [](int ms) -> Coro<double> {
          Loop& loop = get_running_loop();
          double t0 = loop.time();
          co_await sleep(std::chrono::milliseconds(ms));
          co_return loop.time() - t0;
        };
        for (std::size_t b = 0; b < bursts; ++b) {
          std::vector<Task<double>> ts;
          for (int i = 0; i < 8; ++i) ts.push_back(create_task(sleeper(1 + i % 3)));
          for (int i = 0; i < 8; ++i) {
            double took = co_await ts[static_cast<std::size_t>(i)];
            EXPECT_GE(took, (1 + i % 3) / 1000.0);
            EXPECT_LT(took, 2.0) << "a timer fired very late: a parked worker missed it";
          }
          co_await sleep(2ms);  // idle: every worker parks
        }
      },
      test::multi_thread(), 120s);
}

TEST(ParkStress, CrossWorkerWakeAfterIdle) {
  // One task sleeps (its worker parks with a timer), the other waits on a Future the
  // sleeper sets: the wake crosses to a worker that is parked without any timer.
  const std::size_t rounds = test::stress_iters(300);
  run_test(
      [&]() -> Coro<void> {
        auto setter = [](Future<int> f, int v) -> Coro<void> {
          co_await sleep(500us);
          f.set_result(v);
        };
        auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
        for (std::size_t r = 0; r < rounds; ++r) {
          Future<int> f;
          Task<int> w = create_task(waiter(f));
          Task<void> s = create_task(setter(f, static_cast<int>(r)));
          EXPECT_EQ(co_await w, static_cast<int>(r));
          co_await s;
        }
      },
      test::multi_thread(), 120s);
}

}  // namespace
}  // namespace corio
