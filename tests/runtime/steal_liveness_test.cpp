// Tasks spawned by a step that does not end (CPU-bound, or waiting on its children without
// awaiting) must still reach an idle worker that is awake: the spawning worker's private
// spawn part may not hold them until the step ends (see runtime/spawn_deque.hpp). A parked
// worker is woken when a spawning step ends, so here outside spawns keep the other worker
// waking up, as I/O or timers would. Each test waits a bounded time for something that only
// stealing makes happen, and fails instead of hanging.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::multi_thread;

using Clock = std::chrono::steady_clock;
constexpr auto kPatience = 10s;  // far beyond any steal; a miss means held work

/// Spins without a co_await until `until` holds or kPatience passed; true if it held.
template <class Pred>
bool spin_for(Pred until) {
  const auto deadline = Clock::now() + kPatience;
  while (!until()) {
    if (Clock::now() > deadline) return false;
  }
  return true;
}

/// Marks itself started, then waits in one long step until at least two children started:
/// it and one on the other worker.
Coro<bool> meet(std::atomic<int>& started) {
  started.fetch_add(1);
  co_return spin_for([&] { return started.load() >= 2; });
}

Coro<void> nothing() {
  co_return;
}

/// Runs body() as the main task on two workers while a thread spawns an empty task every
/// millisecond (so the worker without work keeps waking up), and returns its value.
template <class F>
auto run_awake(F body) {
  Runtime rt(multi_thread(2));
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    while (!stop.load()) {
      rt.spawn(nothing());
      std::this_thread::sleep_for(1ms);
    }
  });
  test::Watchdog dog(60s, test::current_test_name());
  auto r = rt.run(body());
  stop = true;
  ticker.join();
  return r;
}

TEST(StealLiveness, TwoLongStepsOfOneGatherRunAtOnce) {
  // After the parent's step the worker runs one child in a step that ends only once the
  // other has started: the other is the lone item of a busy worker's private part.
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> started{0};
    auto [a, b] = run_awake([&]() -> Coro<std::tuple<bool, bool>> {
      co_return co_await gather(meet(started), meet(started));
    });
    EXPECT_TRUE(a && b) << "round " << round << ": the children never ran at the same time";
  }
}

TEST(StealLiveness, ManyLongStepsOfOneGather) {
  // Eight such children: the first on each worker waits for one on the other.
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> started{0};
    auto r = run_awake([&]() -> Coro<std::vector<bool>> {
      std::vector<Coro<bool>> cs;
      for (int i = 0; i < 8; ++i) cs.push_back(meet(started));
      co_return co_await gather(std::move(cs));
    });
    for (std::size_t i = 0; i < r.size(); ++i)
      EXPECT_TRUE(r[i]) << "round " << round << " child " << i;
  }
}

std::atomic<bool> g_ran_elsewhere{false};
Coro<void> mark_ran() {
  g_ran_elsewhere.store(true);
  co_return;
}
/// A step that creates `children` tasks (one sets the flag) and spins until the flag is set.
void spawn_then_spin(int children) {
  g_ran_elsewhere = false;
  const bool ok = run_awake([children]() -> Coro<bool> {
    std::vector<Task<void>> ts;
    ts.push_back(create_task(mark_ran()));
    for (int i = 1; i < children; ++i) ts.push_back(create_task(nothing()));
    const bool seen = spin_for([] { return g_ran_elsewhere.load(); });
    for (auto& t : ts) co_await t;
    co_return seen;
  });
  EXPECT_TRUE(ok) << "the child sat in the busy worker's private spawn part";
}

TEST(StealLiveness, LoneChildOfABusyStepIsStolen) {
  spawn_then_spin(1);
}
TEST(StealLiveness, ChildrenOfABusyStepAreStolen) {
  spawn_then_spin(3);
}

}  // namespace
}  // namespace corio
