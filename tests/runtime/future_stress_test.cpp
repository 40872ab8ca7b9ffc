// Stress: Futures completed from foreign threads while tasks on every worker are in the
// middle of awaiting them (before, during and after await_suspend). Every awaiter must get
// its value exactly once. CORIO_STRESS_ITERS sets the number of rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

TEST(FutureStress, ForeignThreadCompletionRacesAwaits) {
  const std::size_t rounds = test::stress_iters(500);
  constexpr int kFutures = 64;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "ForeignThreadCompletionRacesAwaits");
  auto waiter = [](Future<int> f, int spins) -> Coro<int> {
    for (int i = 0; i < spins; ++i) co_await sleep(0s);
    co_return co_await f;
  };
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<Future<int>> fs(kFutures);
    std::vector<Task<int>> ts;
    for (int i = 0; i < kFutures; ++i) {
      ts.push_back(rt.spawn(waiter(fs[static_cast<std::size_t>(i)], i % 3)));
    }
    std::thread setter([&] {
      for (int i = 0; i < kFutures; ++i) fs[static_cast<std::size_t>(i)].set_result(i);
    });
    int sum = rt.run([](std::vector<Task<int>> ts) -> Coro<int> {
      int s = 0;
      for (auto& t : ts) s += co_await t;
      co_return s;
    }(ts));
    setter.join();
    ASSERT_EQ(sum, kFutures * (kFutures - 1) / 2) << "round " << r;
  }
}

TEST(FutureStress, ManyAwaitersOfOneFutureSetFromAThread) {
  const std::size_t rounds = test::stress_iters(500);
  constexpr int kWaiters = 32;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "ManyAwaitersOfOneFutureSetFromAThread");
  auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
  for (std::size_t r = 0; r < rounds; ++r) {
    Future<int> f;
    std::vector<Task<int>> ts;
    for (int i = 0; i < kWaiters; ++i) ts.push_back(rt.spawn(waiter(f)));
    std::thread setter([f, r] { f.set_result(static_cast<int>(r)); });
    int sum = rt.run([](std::vector<Task<int>> ts) -> Coro<int> {
      int s = 0;
      for (auto& t : ts) s += co_await t;
      co_return s;
    }(ts));
    setter.join();
    ASSERT_EQ(sum, kWaiters * static_cast<int>(r)) << "round " << r;
  }
}

TEST(FutureStress, ForeignThreadsRaceToCompleteOneFuture) {
  const std::size_t rounds = test::stress_iters(500);
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "ForeignThreadsRaceToCompleteOneFuture");
  for (std::size_t r = 0; r < rounds; ++r) {
    Future<int> f;
    std::atomic<int> winners{0};
    auto racer = [&](int v) {
      try {
        if (v == 2) {
          if (f.cancel()) ++winners;
        } else {
          f.set_result(v);
          ++winners;
        }
      } catch (const InvalidStateError&) {
      }
    };
    Task<int> t = rt.spawn([](Future<int> f) -> Coro<int> {
      try {
        co_return co_await f;
      } catch (const CancelledError&) {
        co_return -1;
      }
    }(f));
    std::thread a(racer, 0), b(racer, 1), c(racer, 2);
    a.join();
    b.join();
    c.join();
    EXPECT_EQ(winners.load(), 1);
    int v = rt.run([](Task<int> t) -> Coro<int> { co_return co_await t; }(t));
    if (f.cancelled()) {
      EXPECT_EQ(v, -1);
    } else {
      EXPECT_EQ(v, f.result());
    }
  }
}

// The awaiter owns the only handle and drops it as soon as it resumes, which may be while
// the foreign thread that completed it is still closing the waiter list: the completion must
// keep the state alive itself (ASan and TSan see the use after free otherwise).
TEST(FutureStress, AwaiterDropsTheFutureWhileItsSetterFinishes) {
  const std::size_t rounds = test::stress_iters(20000, 4);
  test::Watchdog dog(120s, "AwaiterDropsTheFutureWhileItsSetterFinishes");
  std::atomic<Future<int>*> slot{nullptr};
  std::atomic<bool> done{false};
  std::thread setter([&] {
    int v = 0;
    while (!done.load(std::memory_order_acquire)) {
      // Through a plain pointer: the setter holds no handle of its own.
      if (Future<int>* f = slot.exchange(nullptr, std::memory_order_acq_rel)) f->set_result(v++);
    }
  });
  int in_order = 0;
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          auto f = std::make_unique<Future<int>>();
          slot.store(f.get(), std::memory_order_release);
          const int v = co_await *f;
          in_order += v == static_cast<int>(r) ? 1 : 0;
          f.reset();
        }
      },
      test::multi_thread(2), 120s);
  done.store(true, std::memory_order_release);
  setter.join();
  EXPECT_EQ(in_order, static_cast<int>(rounds));
}

}  // namespace
}  // namespace corio
