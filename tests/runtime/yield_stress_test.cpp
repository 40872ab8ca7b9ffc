// Stress: yields, which go back to a run queue still claimed (kYielded), across workers —
// overflowing to the inject queue, stolen, cancelled from other workers, mixed with parks —
// checking that no task's step ever runs twice at once; and outside pushes into a
// single-thread runtime that is busy yielding or parked. CORIO_STRESS_ITERS sets the rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

struct Slot {
  std::atomic<bool> in_step{false};
  std::atomic<int> count{0};
  std::atomic<int> overlaps{0};
};

// Enter/leave a step: a second runner of the same task at once shows as an overlap.
struct StepGuard {
  Slot& s;
  explicit StepGuard(Slot& s) : s(s) {
    if (s.in_step.exchange(true)) s.overlaps.fetch_add(1);
  }
  ~StepGuard() { s.in_step.store(false); }
};

Coro<int> yielder(Slot& s, int k) {
  for (int i = 0; i < k; ++i) {
    {
      StepGuard g(s);
      s.count.fetch_add(1, std::memory_order_relaxed);
    }
    co_await sleep(0s);
  }
  co_return k;
}

TEST(YieldStress, ManyYieldersOverflowStealCancel) {
  const int rounds = static_cast<int>(test::stress_iters(20, 2));
  for (int r = 0; r < rounds; ++r) {
    run_test(
        [&]() -> Coro<void> {
          constexpr int kTasks = 700;  // > local capacity: overflow to inject
          constexpr int kYields = 60;
          std::vector<std::unique_ptr<Slot>> slots;
          std::vector<Task<int>> ts;
          for (int i = 0; i < kTasks; ++i) {
            slots.push_back(std::make_unique<Slot>());
            ts.push_back(create_task(yielder(*slots.back(), kYields)));
          }
          std::mt19937 rng(static_cast<unsigned>(r));
          std::vector<bool> asked(kTasks, false);
          for (int j = 0; j < kTasks / 3; ++j) {
            int i = static_cast<int>(rng() % kTasks);
            if (ts[static_cast<std::size_t>(i)].cancel()) asked[static_cast<std::size_t>(i)] = true;
            if (j % 16 == 0) co_await sleep(0s);
          }
          for (int i = 0; i < kTasks; ++i) {
            auto& t = ts[static_cast<std::size_t>(i)];
            try {
              int v = co_await t;
              EXPECT_EQ(v, kYields);
              EXPECT_EQ(slots[static_cast<std::size_t>(i)]->count.load(), kYields);
            } catch (const CancelledError&) {
              EXPECT_TRUE(asked[static_cast<std::size_t>(i)]);
            }
            EXPECT_EQ(slots[static_cast<std::size_t>(i)]->overlaps.load(), 0);
          }
        },
        test::multi_thread(3), 120s);
  }
}

// Task await of a done task in a loop: the budget makes it yield (arm fails -> yield_current).
TEST(YieldStress, BudgetYieldOnDoneTask) {
  run_test(
      [&]() -> Coro<void> {
        auto done = create_task([]() -> Coro<int> { co_return 7; }());
        co_await done;
        std::vector<Task<long>> ts;
        for (int i = 0; i < 64; ++i) {
          ts.push_back(create_task([](Task<int> d) -> Coro<long> {
            long sum = 0;
            for (int j = 0; j < 5000; ++j) sum += co_await d;
            co_return sum;
          }(done)));
        }
        for (auto& t : ts) EXPECT_EQ(co_await t, 35000);
      },
      test::multi_thread(3), 120s);
}

/// Yields once, then calls release — also when the yield throws CancelledError.
template <class Release>
Coro<void> yield_then(Release release) {
  try {
    co_await sleep(0s);
  } catch (...) {
    release();
    throw;
  }
  release();
}

// Yields mixed with parks and cross-worker wakes and cancels.
TEST(YieldStress, YieldAndParkMixed) {
  const int rounds = static_cast<int>(test::stress_iters(40, 2));
  for (int r = 0; r < rounds; ++r) {
    run_test(
        [&]() -> Coro<void> {
          Lock lk;
          Event ev;
          Semaphore sem(3);
          std::vector<std::unique_ptr<Slot>> slots;
          std::vector<Task<int>> ts;
          for (int i = 0; i < 200; ++i) {
            slots.push_back(std::make_unique<Slot>());
            ts.push_back(
                create_task([](Slot& s, Lock& lk, Event& ev, Semaphore& sem, int i) -> Coro<int> {
                  for (int j = 0; j < 40; ++j) {
                    { StepGuard g(s); }
                    switch ((i + j) % 4) {
                      case 0:
                        co_await sleep(0s);
                        break;
                      case 1:
                        co_await lk.acquire();
                        { StepGuard g(s); }
                        co_await yield_then([&lk] { lk.release(); });
                        break;
                      case 2:
                        co_await ev.wait();
                        break;
                      case 3:
                        co_await sem.acquire();
                        co_await yield_then([&sem] { sem.release(); });
                        break;
                    }
                  }
                  co_return 1;
                }(*slots.back(), lk, ev, sem, i)));
          }
          co_await sleep(0s);
          ev.set();
          for (int i = 0; i < 200; i += 7) ts[static_cast<std::size_t>(i)].cancel();
          for (auto& t : ts) {
            try {
              co_await t;
            } catch (const CancelledError&) {
            }
          }
          for (auto& s : slots) EXPECT_EQ(s->overlaps.load(), 0);
        },
        test::multi_thread(3), 120s);
  }
}

// Single thread: outside threads push while the worker yields, and while it parks.
TEST(YieldStress, SingleThreadInjectFlag) {
  const int n = static_cast<int>(test::stress_iters(20000, 4));
  Runtime rt(test::single_thread());
  std::atomic<int> ran{0};
  std::atomic<bool> stop{false};
  auto fut = run_coroutine_threadsafe(
      [](std::atomic<bool>& stop) -> Coro<int> {
        int y = 0;
        while (!stop.load()) {
          co_await sleep(0s);
          ++y;
        }
        co_return y;
      }(stop),
      rt);
  std::vector<std::thread> th;
  for (int k = 0; k < 2; ++k) {
    th.emplace_back([&] {
      for (int i = 0; i < n; ++i) rt.loop().call_soon_threadsafe([&] { ran.fetch_add(1); });
    });
  }
  for (auto& t : th) t.join();
  EXPECT_TRUE(test::eventually([&] { return ran.load() == 2 * n; }, 20s));
  stop = true;
  fut.get();
  // Now idle: every push must wake the parked worker.
  for (int i = 0; i < n / 4; ++i) {
    std::atomic<bool> done{false};
    rt.loop().call_soon_threadsafe([&] { done = true; });
    ASSERT_TRUE(test::eventually([&] { return done.load(); }, 10s)) << i;
  }
}

}  // namespace
}  // namespace corio
