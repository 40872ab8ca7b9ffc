// Stress: spawn and join across all workers — flat storms, fork-join trees (stealing), and
// spawns from foreign threads while the workers spawn too. Nothing may be lost or run twice.
// CORIO_STRESS_ITERS sets the number of rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

Coro<std::uint64_t> leaf(std::uint64_t i, bool yield) {
  if (yield) co_await sleep(0s);
  co_return i;
}

// A binary fork-join tree: 2^depth leaves, each task creating and awaiting two children.
// Leaves count how many of them ran on a thread other than `home`.
Coro<std::uint64_t> tree(int depth, std::thread::id home, std::atomic<std::uint64_t>& away) {
  if (depth == 0) {
    if (std::this_thread::get_id() != home) away.fetch_add(1, std::memory_order_relaxed);
    co_return 1;
  }
  Task<std::uint64_t> l = create_task(tree(depth - 1, home, away));
  Task<std::uint64_t> r = create_task(tree(depth - 1, home, away));
  co_return co_await l + co_await r;
}

TEST(SpawnStress, SpawnJoinStormAcrossAllWorkers) {
  const std::size_t rounds = test::stress_iters(200);
  constexpr std::uint64_t kTasks = 1000;
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          std::vector<Task<std::uint64_t>> ts;
          ts.reserve(kTasks);
          for (std::uint64_t i = 0; i < kTasks; ++i) ts.push_back(create_task(leaf(i, i % 3 == 0)));
          std::uint64_t sum = 0;
          for (auto& t : ts) sum += co_await t;
          EXPECT_EQ(sum, kTasks * (kTasks - 1) / 2) << "round " << r;
        }
      },
      test::multi_thread(), 120s);
}

TEST(SpawnStress, ForkJoinTreesAreStolenAndJoined) {
  const std::size_t rounds = test::stress_iters(40);
  constexpr int kDepth = 12;  // 8191 tasks per tree
  std::atomic<std::uint64_t> away{0};
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          EXPECT_EQ(co_await create_task(tree(kDepth, std::this_thread::get_id(), away)),
                    std::uint64_t{1} << kDepth);
        }
      },
      test::multi_thread(), 120s);
  if (std::thread::hardware_concurrency() >= 2) {
    EXPECT_GT(away.load(), 0u) << "no leaf ever ran on another worker: nothing was stolen";
  }
}

TEST(SpawnStress, ForeignThreadsSpawnWhileWorkersSpawn) {
  const std::size_t rounds = test::stress_iters(20);
  constexpr int kThreads = 3;
  constexpr int kPerThread = 300;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "ForeignThreadsSpawnWhileWorkersSpawn");
  for (std::size_t r = 0; r < rounds; ++r) {
    std::atomic<int> ran{0};
    auto count = [](std::atomic<int>& ran) -> Coro<void> {
      co_await sleep(0s);
      ++ran;
    };
    // Inside: a task spawning on the workers.
    Task<void> inner = rt.spawn([](std::atomic<int>& ran, auto count) -> Coro<void> {
      std::vector<Task<void>> ts;
      for (int i = 0; i < kThreads * kPerThread; ++i) ts.push_back(create_task(count(ran)));
      for (auto& t : ts) co_await t;
    }(ran, count));
    // Outside: foreign threads spawning into the inject queue at the same time.
    std::vector<std::thread> threads;
    std::vector<std::vector<Task<void>>> outer(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        for (int j = 0; j < kPerThread; ++j) {
          outer[static_cast<std::size_t>(i)].push_back(rt.spawn(count(ran)));
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(test::eventually([&] { return ran.load() == 2 * kThreads * kPerThread; }, 60s))
        << "round " << r << ": ran " << ran.load();
    ASSERT_TRUE(test::eventually([&] { return inner.done(); }));
    for (auto& ts : outer) {
      for (auto& t : ts) ASSERT_TRUE(test::eventually([&] { return t.done(); }));
    }
  }
}

}  // namespace
}  // namespace corio
