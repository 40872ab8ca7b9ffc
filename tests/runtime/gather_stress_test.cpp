// Stress: gather's Join and the task registry across all workers — fan-out trees whose
// children finish on other workers, a first error that ends the gather while its siblings
// run on (the last of them frees the Join), cancels racing completions, and all_tasks()
// from every worker and from outside while tasks come and go. Nothing may be lost, counted
// twice or leaked (ASan). CORIO_STRESS_ITERS sets the number of rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"
#include "support/counted.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

// A 4-ary tree of gathers, alternating vector and variadic gather; leaves yield now and then
// so that siblings interleave across workers.
Coro<std::uint64_t> fan(std::uint64_t id, int depth) {
  if (depth == 0) {
    if (id % 3 == 0) co_await sleep(0s);
    co_return id;
  }
  if (depth % 2 == 0) {
    std::vector<Coro<std::uint64_t>> cs;
    for (std::uint64_t i = 0; i < 4; ++i) cs.push_back(fan(id * 4 + i, depth - 1));
    std::uint64_t sum = 0;
    for (std::uint64_t v : co_await gather(std::move(cs))) sum += v;
    co_return sum;
  }
  auto [a, b, c, d] = co_await gather(fan(id * 4, depth - 1), fan(id * 4 + 1, depth - 1),
                                      fan(id * 4 + 2, depth - 1), fan(id * 4 + 3, depth - 1));
  co_return a + b + c + d;
}

TEST(GatherStress, FanOutTreesAcrossAllWorkers) {
  const std::size_t rounds = test::stress_iters(60, 4);
  constexpr int kDepth = 6;  // 4096 leaves, 5461 tasks
  constexpr std::uint64_t kLeaves = 4096;
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          EXPECT_EQ(co_await fan(0, kDepth), kLeaves * (kLeaves - 1) / 2) << "round " << r;
        }
      },
      test::multi_thread(), 120s);
}

Coro<int> slow_child(int i, std::atomic<int>& finished) {
  for (int k = 0; k < i % 4; ++k) co_await sleep(0s);
  finished.fetch_add(1, std::memory_order_relaxed);
  co_return i;
}

Coro<int> failing_child(std::atomic<int>& finished) {
  finished.fetch_add(1, std::memory_order_relaxed);
  throw std::runtime_error("boom");
  co_return 0;
}

// n children; child i raises when fails(i), else yields a few times and returns i.
template <class Fails>
std::vector<Coro<int>> children(int n, std::atomic<int>& finished, Fails fails) {
  std::vector<Coro<int>> cs;
  for (int i = 0; i < n; ++i)
    cs.push_back(fails(i) ? failing_child(finished) : slow_child(i, finished));
  return cs;
}

TEST(GatherStress, FirstErrorReturnsWhileSiblingsRunOn) {
  const std::size_t rounds = test::stress_iters(400, 4);
  constexpr int kChildren = 16;
  std::atomic<int> finished{0};
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          auto cs = children(kChildren, finished,
                             [&](int i) { return i == static_cast<int>(r % kChildren); });
          bool threw = false;
          try {
            co_await gather(std::move(cs));
          } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "boom";
          }
          EXPECT_TRUE(threw) << "round " << r;
        }
        // Every child runs to its end although its gather has gone: the Join's last child
        // frees it.
        while (finished.load(std::memory_order_relaxed) != static_cast<int>(rounds) * kChildren) {
          co_await sleep(0s);
        }
      },
      test::multi_thread(), 120s);
  EXPECT_EQ(finished.load(), static_cast<int>(rounds) * kChildren);
}

TEST(GatherStress, GatherSettledCollectsEveryOutcome) {
  const std::size_t rounds = test::stress_iters(300, 4);
  constexpr int kChildren = 12;
  std::atomic<int> finished{0};
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          auto out = co_await gather_settled(
              children(kChildren, finished, [](int i) { return i % 3 == 0; }));
          EXPECT_EQ(out.size(), static_cast<std::size_t>(kChildren));
          for (int i = 0; i < kChildren; ++i) {
            const auto& o = out[static_cast<std::size_t>(i)];
            if (i % 3 == 0) {
              EXPECT_FALSE(o.has_value()) << "round " << r << " child " << i;
            } else {
              EXPECT_TRUE(o.has_value() && o.value() == i) << "round " << r << " child " << i;
            }
          }
        }
      },
      test::multi_thread(), 120s);
  EXPECT_EQ(finished.load(), static_cast<int>(rounds) * kChildren);
}

Coro<int> spin_child(int i) {
  for (int k = 0; k < 1 + i % 5; ++k) co_await sleep(0s);
  co_return i;
}

Coro<int> gather_of_spinners(int n) {
  std::vector<Coro<int>> cs;
  for (int i = 0; i < n; ++i) cs.push_back(spin_child(i));
  int sum = 0;
  for (int v : co_await gather(std::move(cs))) sum += v;
  co_return sum;
}

TEST(GatherStress, CancelFromAnotherWorkerRacesTheChildren) {
  const std::size_t rounds = test::stress_iters(400, 4);
  constexpr int kChildren = 8;
  run_test(
      [&]() -> Coro<void> {
        int cancelled = 0;
        int completed = 0;
        for (std::size_t r = 0; r < rounds; ++r) {
          Task<int> g = create_task(gather_of_spinners(kChildren));
          // The canceller is another task, so it may run on the other worker.
          Task<void> c = create_task([](Task<int> g, std::size_t r) -> Coro<void> {
            for (std::size_t k = 0; k < r % 4; ++k) co_await sleep(0s);
            g.cancel();
          }(g, r));
          try {
            EXPECT_EQ(co_await g, kChildren * (kChildren - 1) / 2);
            ++completed;
          } catch (const CancelledError&) {
            ++cancelled;
          }
          co_await c;
          EXPECT_TRUE(g.done());
        }
        EXPECT_EQ(cancelled + completed, static_cast<int>(rounds));
      },
      test::multi_thread(), 120s);
}

Coro<void> held(Event& release, std::atomic<int>& parked) {
  parked.fetch_add(1, std::memory_order_relaxed);
  co_await release.wait();
}

Coro<void> churn(int n) {
  std::vector<Coro<int>> cs;
  for (int i = 0; i < n; ++i) cs.push_back(spin_child(i));
  co_await gather(std::move(cs));
}

// Every task that is known to be alive is in every all_tasks() snapshot, whichever worker
// or thread registered it and whichever thread looks, while other tasks come and go.
Coro<void> check_snapshots(const std::vector<Task<void>>& alive, int times, std::atomic<int>& bad) {
  for (int k = 0; k < times; ++k) {
    std::vector<Task<void>> all = all_tasks();
    for (const Task<void>& a : alive) {
      bool found = false;
      for (const Task<void>& t : all) found = found || t == a;
      if (!found) bad.fetch_add(1, std::memory_order_relaxed);
    }
    co_await sleep(0s);
  }
}

TEST(GatherStress, AllTasksSeesEveryLiveTaskWhileTasksComeAndGo) {
  const std::size_t rounds = test::stress_iters(30, 3);
  constexpr int kHeld = 40;
  Runtime rt(test::multi_thread());
  test::Watchdog dog(120s, "AllTasksSeesEveryLiveTaskWhileTasksComeAndGo");
  for (std::size_t r = 0; r < rounds; ++r) {
    Event release;
    std::atomic<int> parked{0};
    std::atomic<int> bad{0};
    // Held tasks registered from outside (shard 0, the foreign path) and from the workers.
    std::vector<Task<void>> alive;
    for (int i = 0; i < kHeld / 2; ++i) alive.push_back(rt.spawn(held(release, parked)));
    auto inner =
        rt.spawn([](Event& release, std::atomic<int>& parked) -> Coro<std::vector<Task<void>>> {
          std::vector<Task<void>> mine;
          for (int i = 0; i < kHeld / 2; ++i) mine.push_back(create_task(held(release, parked)));
          co_return mine;
        }(release, parked));
    ASSERT_TRUE(test::eventually([&] { return inner.done(); }));
    for (const Task<void>& t : inner.result()) alive.push_back(t);
    ASSERT_TRUE(test::eventually([&] { return parked.load() == kHeld; }));
    std::thread outside([&] {
      // A foreign thread keeps spawning short tasks into shard 0 meanwhile.
      for (int i = 0; i < 200; ++i) rt.spawn(churn(4));
    });
    Task<void> checkers =
        rt.spawn([](std::vector<Task<void>>& alive, std::atomic<int>& bad) -> Coro<void> {
          std::vector<Task<void>> churners;
          for (int i = 0; i < 6; ++i) churners.push_back(create_task(churn(16)));
          std::vector<Task<void>> checks;
          for (int i = 0; i < 4; ++i)
            checks.push_back(create_task(check_snapshots(alive, 25, bad)));
          for (auto& t : checks) co_await t;
          for (auto& t : churners) co_await t;
        }(alive, bad));
    outside.join();
    ASSERT_TRUE(test::eventually([&] { return checkers.done(); }, 60s)) << "round " << r;
    EXPECT_EQ(bad.load(), 0) << "round " << r << ": a live task was missing from all_tasks()";
    rt.spawn([](Event& e) -> Coro<void> {
      e.set();
      co_return;
    }(release));
    for (auto& t : alive) ASSERT_TRUE(test::eventually([&] { return t.done(); })) << r;
  }
}

// A child's result whose destructor edits a sibling's waiter list: when the gather ended
// early, the last child to finish lets go of the Join and its children — not inside its own
// close, where that sibling's list is locked (this hung).
struct CallbackOnDrop {
  Task<void> other;
  explicit CallbackOnDrop(Task<void> o) : other(std::move(o)) {}
  CallbackOnDrop(CallbackOnDrop&& o) noexcept : other(std::move(o.other)) { o.other = {}; }
  ~CallbackOnDrop() {
    if (other.valid()) other.add_done_callback([](Task<void>) {});
  }
};

Coro<CallbackOnDrop> holder(Task<void> t) {
  co_return CallbackOnDrop(std::move(t));
}

Coro<int> boom() {
  throw std::runtime_error("boom");
  co_return 0;
}

void run_sibling_destructor_rounds(Options opts, std::size_t rounds) {
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          Event go;
          Task<void> last = create_task([](Event& go) -> Coro<void> { co_await go.wait(); }(go));
          bool threw = false;
          try {
            co_await gather(holder(last), boom(), last);
          } catch (const std::runtime_error&) {
            threw = true;
          }
          EXPECT_TRUE(threw);
          go.set();
          co_await last;
        }
      },
      opts, 60s);
}

TEST(GatherStress, SiblingDestructorsRunOutsideTheLastChildsClose) {
  run_sibling_destructor_rounds(test::virtual_time(), 1);
  run_sibling_destructor_rounds(test::multi_thread(), test::stress_iters(500, 4));
}

// asyncio: cancelling a gather cancels the children and raises CancelledError, also for
// gather_settled and when a child swallows the cancel and returns.
Coro<int> swallow_cancel(Event& started) {
  started.set();
  try {
    co_await sleep(3600s);
  } catch (const CancelledError&) {
  }
  co_return 7;
}

TEST(GatherStress, CancelledGatherRaisesCancelledError) {
  run_test([]() -> Coro<void> {
    for (bool settled : {false, true}) {
      Event started;
      auto body = [](Event& started, bool settled) -> Coro<int> {
        if (settled) {
          auto out = co_await gather_settled(swallow_cancel(started), swallow_cancel(started));
          co_return std::get<0>(out).value();
        }
        auto [a, b] = co_await gather(swallow_cancel(started), swallow_cancel(started));
        co_return a + b;
      };
      Task<int> g = create_task(body(started, settled));
      co_await started.wait();
      co_await sleep(0s);
      g.cancel();
      bool cancelled = false;
      try {
        co_await g;
      } catch (const CancelledError&) {
        cancelled = true;
      }
      EXPECT_TRUE(cancelled) << (settled ? "gather_settled" : "gather");
    }
  });
}

// all_tasks() on one worker and shutdown's cancel-everything racing the quiet ends of gather
// children (registered through their Join) on both: every frame is freed, whatever won.
Coro<int> maybe_yield(int v) {
  if (v % 5 == 0) co_await sleep(0s);
  co_return v;
}
Coro<int> counted_value(test::Counted c, int v) {
  (void)c;
  co_return v;
}

TEST(GatherStress, AllTasksAndShutdownRaceQuietEnds) {
  const std::size_t rounds = test::stress_iters(20, 3);
  test::Watchdog dog(120s, "AllTasksAndShutdownRaceQuietEnds");
  for (std::size_t round = 0; round < rounds; ++round) {
    test::Counted::reset_counts();
    std::atomic<bool> stop{false};
    {
      Runtime rt(test::multi_thread(2));
      rt.spawn([](std::atomic<bool>* stop) -> Coro<void> {
        while (!stop->load()) {
          std::vector<Coro<int>> cs;
          for (int k = 0; k < 16; ++k) cs.push_back(maybe_yield(k));
          std::vector<int> v = co_await gather(std::move(cs));
          EXPECT_EQ(v.size(), 16u);
          std::vector<Coro<int>> ds;
          for (int k = 0; k < 4; ++k) ds.push_back(counted_value(test::Counted{}, k));
          (void)create_task(gather(std::move(ds)));  // dropped: freed whenever it ends
        }
      }(&stop));
      rt.spawn([](std::atomic<bool>* stop) -> Coro<void> {
        while (!stop->load()) {
          for (const Task<void>& t : all_tasks()) EXPECT_FALSE(t.get_name().empty());
          co_await sleep(0s);
        }
      }(&stop));
      std::this_thread::sleep_for(30ms);
      rt.shutdown();
    }
    EXPECT_EQ(test::Counted::active_count(), 0) << "round " << round;
  }
}

// A task that ends on a worker other than its registry shard's is handed to that shard's
// worker to unregister and free (so is a gather's Join freed elsewhere). When that worker
// is parked by then it must be woken, or the frame (and its arguments) stays until
// something else wakes it. Here the creator's long step keeps its child from its own worker
// (tasks spawned from outside wake the other one, which takes the child), and the child's
// long step outlasts the creator's worker going to sleep.
Coro<void> outlasting_child(test::Counted c, std::atomic<bool>* started) {
  (void)c;
  started->store(true);
  const auto until = std::chrono::steady_clock::now() + 20ms;
  while (std::chrono::steady_clock::now() < until) {
  }
  co_return;
}

TEST(GatherStress, AChildFinishingElsewhereIsFreedWhileItsCreatorsWorkerSleeps) {
  const std::size_t rounds = test::stress_iters(10, 2);
  Runtime rt(test::multi_thread(2));
  test::Watchdog dog(120s, "AChildFinishingElsewhereIsFreedWhileItsCreatorsWorkerSleeps");
  for (std::size_t round = 0; round < rounds; ++round) {
    test::Counted::reset_counts();
    std::atomic<bool> started{false};
    Task<void> creator = rt.spawn([](std::atomic<bool>* started) -> Coro<void> {
      (void)create_task(outlasting_child(test::Counted{}, started));
      const auto give_up = std::chrono::steady_clock::now() + 5s;
      while (!started->load() && std::chrono::steady_clock::now() < give_up) {
      }
      co_return;
    }(&started));
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!started.load() && std::chrono::steady_clock::now() < give_up) {
      (void)rt.spawn([]() -> Coro<void> { co_return; }());
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(started.load()) << "round " << round << ": nobody took the child";
    ASSERT_TRUE(test::eventually([&] { return creator.done(); }));
    ASSERT_TRUE(test::eventually([] { return test::Counted::active_count() == 0; }, 2s))
        << "round " << round << ": the child's frame was never freed";
  }
}

}  // namespace
}  // namespace corio
