// Stress: cancellation racing everything it can race — completion (from a foreign thread and
// from another worker), sleep expiry, a Future being set, and a callback's run. Whatever wins, the
// task ends exactly once, its state agrees with what its awaiter saw, and nothing hangs or leaks.
// CORIO_STRESS_ITERS sets the number of rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
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

// How one raced task ended, as seen by its awaiter; checked against the task's own state.
struct Tally {
  int completed = 0;
  int cancelled = 0;
  void record(const Task<int>& t, bool threw_cancelled, int value, int expected) {
    EXPECT_TRUE(t.done());
    if (threw_cancelled) {
      ++cancelled;
      EXPECT_TRUE(t.cancelled());
    } else {
      ++completed;
      EXPECT_FALSE(t.cancelled());
      EXPECT_EQ(value, expected);
    }
  }
};

Coro<void> await_and_record(Task<int> t, int expected, Tally& tally) {
  bool threw = false;
  int v = -1;
  try {
    v = co_await t;
  } catch (const CancelledError&) {
    threw = true;
  }
  tally.record(t, threw, v, expected);
}

Coro<int> short_work(int i) {
  for (int k = 0; k < i % 4; ++k) co_await sleep(0s);
  co_return i;
}

// As short_work, but counts its first step, so a canceller can wait until the tasks run.
Coro<int> counted_work(int i, std::atomic<int>& started) {
  ++started;
  co_return co_await short_work(i);
}

TEST(CancelStress, ForeignThreadCancelRacesCompletion) {
  const std::size_t rounds = test::stress_iters(200);
  constexpr int kTasks = 100;
  Tally tally;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "ForeignThreadCancelRacesCompletion");
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<Task<int>> ts;
    std::atomic<int> started{0};
    for (int i = 0; i < kTasks; ++i) ts.push_back(rt.spawn(counted_work(i, started)));
    // Half the rounds cancel at once (mostly before the first step), half once the tasks
    // run (racing their steps and their completion).
    std::thread canceller([&, wait = r % 2 == 1] {
      while (wait && started.load() < kTasks / 2) std::this_thread::yield();
      for (auto& t : ts) t.cancel();
    });
    canceller.join();
    rt.run([](std::vector<Task<int>> ts, Tally& tally) -> Coro<void> {
      for (int i = 0; i < kTasks; ++i) {
        co_await await_and_record(ts[static_cast<std::size_t>(i)], i, tally);
      }
    }(ts, tally));
  }
  EXPECT_EQ(tally.completed + tally.cancelled, static_cast<int>(rounds) * kTasks);
  std::printf("completed %d, cancelled %d\n", tally.completed, tally.cancelled);
}

// Awaits nothing after its first step, so it cannot swallow a cancel: asyncio's cancel() returns
// true exactly when the task will end cancelled (a cancel pending when the coroutine returns
// cancels it).
Coro<int> spin_then_return(int i, std::atomic<int>& started) {
  ++started;
  volatile int sink = 0;
  for (int k = 0; k < (i * 37) % 400; ++k) sink = sink + k;
  co_return i;
}

TEST(CancelStress, CancelReturnsTrueExactlyWhenTheTaskEndsCancelled) {
  const std::size_t rounds = test::stress_iters(300);
  constexpr int kTasks = 100;
  constexpr int kCancellers = 2;  // two cancels of one task can race each other too
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "CancelReturnsTrueExactlyWhenTheTaskEndsCancelled");
  int cancelled = 0;
  int completed = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<Task<int>> ts;
    std::atomic<int> started{0};
    for (int i = 0; i < kTasks; ++i) ts.push_back(rt.spawn(spin_then_return(i, started)));
    std::vector<std::vector<char>> said(kCancellers, std::vector<char>(kTasks));
    // Each cancel lands somewhere around its task's end: before, during or after it.
    auto cancel_each = [&](int c) {
      while (started.load() == 0) std::this_thread::yield();
      for (int i = 0; i < kTasks; ++i) {
        volatile int sink = 0;
        for (int k = 0; k < static_cast<int>((r * 131 + i * 17 + c * 7) % 300); ++k)
          sink = sink + k;
        said[static_cast<std::size_t>(c)][static_cast<std::size_t>(i)] =
            ts[static_cast<std::size_t>(i)].cancel() ? 1 : 0;
      }
    };
    std::thread c0(cancel_each, 0);
    std::thread c1(cancel_each, 1);
    c0.join();
    c1.join();
    rt.run([](std::vector<Task<int>> ts) -> Coro<void> {
      for (Task<int>& t : ts) {
        try {
          (void)co_await t;
        } catch (const CancelledError&) {
        }
      }
    }(ts));
    for (int i = 0; i < kTasks; ++i) {
      const Task<int>& t = ts[static_cast<std::size_t>(i)];
      // A true answer promises the end; the task never cancels itself, so it ends cancelled
      // only if some cancel() said true (a later one finds it done and says false).
      bool any = false;
      for (int c = 0; c < kCancellers; ++c) {
        const bool yes = said[static_cast<std::size_t>(c)][static_cast<std::size_t>(i)] != 0;
        if (yes) {
          EXPECT_TRUE(t.cancelled()) << "round " << r << " task " << i << " canceller " << c;
        }
        any |= yes;
      }
      EXPECT_EQ(any, t.cancelled()) << "round " << r << " task " << i;
      (t.cancelled() ? cancelled : completed) += 1;
    }
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(completed, 0);
}

TEST(CancelStress, CancelFromAnotherWorkerRacesCompletion) {
  const std::size_t rounds = test::stress_iters(200);
  constexpr int kTasks = 100;
  Tally tally;
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          std::vector<Task<int>> ts;
          for (int i = 0; i < kTasks; ++i) ts.push_back(create_task(short_work(i)));
          // The canceller is a task of its own: it may run on either worker, at any point.
          auto cancel_all = [](std::vector<Task<int>> ts) -> Coro<void> {
            for (auto& t : ts) t.cancel();
            co_return;
          };
          Task<void> c = create_task(cancel_all(ts));
          for (int i = 0; i < kTasks; ++i) {
            co_await await_and_record(ts[static_cast<std::size_t>(i)], i, tally);
          }
          co_await c;
        }
      },
      test::multi_thread(), 120s);
  EXPECT_EQ(tally.completed + tally.cancelled, static_cast<int>(rounds) * kTasks);
}

TEST(CancelStress, CancelRacesSleepExpiry) {
  const std::size_t rounds = test::stress_iters(100);
  constexpr int kTasks = 50;
  Tally tally;
  std::mt19937 rng(12345);
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "CancelRacesSleepExpiry");
  auto sleeper = [](int i, std::chrono::microseconds d) -> Coro<int> {
    co_await sleep(d);
    co_return i;
  };
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<Task<int>> ts;
    std::vector<std::chrono::microseconds> ds;
    for (int i = 0; i < kTasks; ++i) {
      auto d = std::chrono::microseconds(rng() % 300);
      ts.push_back(rt.spawn(sleeper(i, d)));
    }
    // Cancel each one at about the time its sleep ends, from a foreign thread.
    std::thread canceller([&ts, us = rng() % 300] {
      std::this_thread::sleep_for(std::chrono::microseconds(us));
      for (auto& t : ts) t.cancel();
    });
    rt.run([](std::vector<Task<int>> ts, Tally& tally) -> Coro<void> {
      for (int i = 0; i < kTasks; ++i) {
        co_await await_and_record(ts[static_cast<std::size_t>(i)], i, tally);
      }
    }(ts, tally));
    canceller.join();
  }
  EXPECT_EQ(tally.completed + tally.cancelled, static_cast<int>(rounds) * kTasks);
  std::printf("completed %d, cancelled %d\n", tally.completed, tally.cancelled);
}

TEST(CancelStress, CancelFromAWorkerRacesSleepExpiry) {
  const std::size_t rounds = test::stress_iters(200);
  constexpr int kTasks = 50;
  Tally tally;
  run_test(
      [&]() -> Coro<void> {
        auto sleeper = [](int i) -> Coro<int> {
          co_await sleep(std::chrono::microseconds(i * 7 % 200));
          co_return i;
        };
        auto cancel_later = [](std::vector<Task<int>> ts, int us) -> Coro<void> {
          co_await sleep(std::chrono::microseconds(us));
          for (auto& t : ts) t.cancel();
        };
        for (std::size_t r = 0; r < rounds; ++r) {
          std::vector<Task<int>> ts;
          for (int i = 0; i < kTasks; ++i) ts.push_back(create_task(sleeper(i)));
          Task<void> c = create_task(cancel_later(ts, static_cast<int>(r * 13 % 200)));
          for (int i = 0; i < kTasks; ++i) {
            co_await await_and_record(ts[static_cast<std::size_t>(i)], i, tally);
          }
          co_await c;
        }
      },
      test::multi_thread(), 120s);
  EXPECT_EQ(tally.completed + tally.cancelled, static_cast<int>(rounds) * kTasks);
}

TEST(CancelStress, CancelRacesAFutureBeingSet) {
  const std::size_t rounds = test::stress_iters(300);
  constexpr int kTasks = 50;
  Tally tally;
  int futures_cancelled = 0;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "CancelRacesAFutureBeingSet");
  auto waiter = [](Future<int> f, std::atomic<int>& started) -> Coro<int> {
    ++started;
    co_return co_await f;
  };
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<Future<int>> fs(kTasks);
    std::vector<Task<int>> ts;
    std::atomic<int> started{0};
    for (int i = 0; i < kTasks; ++i) {
      ts.push_back(rt.spawn(waiter(fs[static_cast<std::size_t>(i)], started)));
    }
    // Let the waiters reach their futures, then release setter and canceller together.
    while (started.load() < kTasks) std::this_thread::yield();
    std::atomic<int> ready{0};
    auto go = [&ready] {
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
    };
    std::thread setter([&] {
      go();
      for (int i = 0; i < kTasks; ++i) {
        try {
          fs[static_cast<std::size_t>(i)].set_result(i);
        } catch (const InvalidStateError&) {
          // The task was cancelled first and cancelled its future with it.
        }
      }
    });
    std::thread canceller([&] {
      go();
      for (auto& t : ts) t.cancel();
    });
    setter.join();
    canceller.join();
    rt.run([](std::vector<Task<int>> ts, Tally& tally) -> Coro<void> {
      for (int i = 0; i < kTasks; ++i) {
        co_await await_and_record(ts[static_cast<std::size_t>(i)], i, tally);
      }
    }(ts, tally));
    for (int i = 0; i < kTasks; ++i) {
      const auto& f = fs[static_cast<std::size_t>(i)];
      EXPECT_TRUE(f.done());
      if (f.cancelled()) {
        ++futures_cancelled;
        // A cancelled future means the cancel reached the waiter first: it must be cancelled.
        EXPECT_TRUE(ts[static_cast<std::size_t>(i)].cancelled()) << "round " << r << " i " << i;
      }
    }
  }
  EXPECT_EQ(tally.completed + tally.cancelled, static_cast<int>(rounds) * kTasks);
  std::printf("completed %d, cancelled %d, futures cancelled %d\n", tally.completed,
              tally.cancelled, futures_cancelled);
}

// Counts its destructions: a callback's captures must go exactly once, whoever wins.
struct Probe {
  explicit Probe(std::atomic<int>& freed) : freed(freed) {}
  ~Probe() { ++freed; }
  std::atomic<int>& freed;
};

TEST(CancelStress, CallbackCancelRacesItsRun) {
  const std::size_t rounds = test::stress_iters(200);
  constexpr int kCallbacks = 100;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "CallbackCancelRacesItsRun");
  int ran_total = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<std::atomic<int>> ran(kCallbacks);
    std::atomic<int> freed{0};
    std::vector<TimerHandle> hs;
    rt.run([&]() -> Coro<void> {
      Loop& loop = get_running_loop();
      for (int i = 0; i < kCallbacks; ++i) {
        auto p = std::make_shared<Probe>(freed);
        auto fn = [&ran, i, p] { ++ran[static_cast<std::size_t>(i)]; };
        // Queued, and due now or within a few microseconds: the run races the cancels.
        hs.push_back(i % 2 == 0 ? loop.call_soon(fn)
                                : loop.call_later(std::chrono::microseconds(i % 7), fn));
      }
      // One canceller on a foreign thread, one a task on whichever worker takes it; each
      // cancels every handle (a second cancel changes nothing).
      Future<void> done;
      std::thread foreign([&hs, done] {
        for (auto& h : hs) h.cancel();
        done.set_result();
      });
      auto cancel_all = [](std::vector<TimerHandle>& hs) -> Coro<void> {
        for (std::size_t k = hs.size(); k-- > 0;) hs[k].cancel();
        co_return;
      };
      co_await create_task(cancel_all(hs));
      co_await done;
      foreign.join();
      co_await sleep(1ms);  // the due timers fire (and free what they hold)
    }());
    for (auto& h : hs) EXPECT_TRUE(h.cancelled());
    hs.clear();
    for (int i = 0; i < kCallbacks; ++i) {
      const int n = ran[static_cast<std::size_t>(i)].load();
      EXPECT_LE(n, 1) << "round " << r << " callback " << i;
      ran_total += n;
    }
    // A worker may still be between a callback's run and its destruction (a loaded machine
    // can stall it past the sleep above): wait for it rather than for a fixed time.
    EXPECT_TRUE(test::eventually([&freed] { return freed.load() >= kCallbacks; })) << "round " << r;
    EXPECT_EQ(freed.load(), kCallbacks) << "round " << r;
  }
  std::printf("ran %d of %zu\n", ran_total, rounds * kCallbacks);
}

}  // namespace
}  // namespace corio
