// Multi-thread mode: a task that awaits a gather first runs the children still on top of its
// worker's spawn deque inside its own step (Join::help), and a child that returns there without
// anyone else holding it is completed without firing its Join node. These tests pin down that
// such children are still tasks in every respect users see, and that the paths out of a nested
// step (suspend, yield, raise, cancel, deep recursion) end where they would have.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <corio/detail/join.hpp>
#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::multi_thread;
using test::run_test;

/// Keeps the other worker inside one long step until released, so that it steals nothing:
/// the gathering worker then runs every child itself. Call from a task that stays on its
/// worker (a sleep resumes where its timer is).
class Hog {
 public:
  Coro<void> start() {
    const auto here = std::this_thread::get_id();
    for (;;) {
      state_.store(kWaiting, std::memory_order_relaxed);
      task_ = create_task(spin(here));
      int s;
      while ((s = state_.load(std::memory_order_acquire)) == kWaiting) co_await sleep(100us);
      if (s == kSpinning) co_return;
      co_await task_;  // it ran on this worker, which it must not hold: try again
    }
  }
  Coro<void> stop() {
    release_.store(true, std::memory_order_release);
    co_await task_;
  }

 private:
  static constexpr int kWaiting = 0, kSpinning = 1, kRefused = 2;
  Coro<void> spin(std::thread::id avoid) {
    if (std::this_thread::get_id() == avoid) {
      state_.store(kRefused, std::memory_order_release);
      co_return;
    }
    state_.store(kSpinning, std::memory_order_release);
    while (!release_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  std::atomic<int> state_{kWaiting};
  std::atomic<bool> release_{false};
  Task<void> task_;
};

/// Runs body() on two workers, the other one held in a single step (Hog): every child of a
/// gather then runs on the gatherer's worker, nested when it can be.
template <class F>
void run_alone(F body) {
  run_test(
      [&body]() -> Coro<void> {
        Hog hog;
        co_await hog.start();
        co_await body();
        co_await hog.stop();
      },
      multi_thread(2));
}

struct Seen {
  int depth = 0;
  std::string name;
  bool listed = false;  // all_tasks() inside the child lists the child
  std::thread::id thread;
};

Coro<Seen> look_around() {
  Seen s;
  s.depth = detail::nested_depth();
  Task<void> me = current_task();
  s.name = me.get_name();
  for (const Task<void>& t : all_tasks()) s.listed |= (t == me);
  s.thread = std::this_thread::get_id();
  co_return s;
}

TEST(NestedGatherTest, ChildrenRunInsideTheGatheringStepAsTasksOfTheirOwn) {
  run_alone([]() -> Coro<void> {
    const std::string parent = current_task().get_name();
    const auto here = std::this_thread::get_id();
    std::vector<Coro<Seen>> cs;
    for (int i = 0; i < 10; ++i) cs.push_back(look_around());
    std::vector<Seen> seen = co_await gather(std::move(cs));
    std::vector<std::string> names;
    for (const Seen& s : seen) {
      EXPECT_EQ(s.depth, 1);  // inside this task's step
      EXPECT_EQ(s.thread, here);
      EXPECT_TRUE(s.listed);
      EXPECT_NE(s.name, parent);
      names.push_back(s.name);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
  });
}

/// Ends in its first step while a handle to it is kept elsewhere: not a quiet end.
Coro<int> keep_myself(std::vector<Task<void>>& kept, int v) {
  Task<void> me = current_task();
  me.set_name("kept-" + std::to_string(v));  // a TaskExtra to free at the end
  kept.push_back(me);
  EXPECT_EQ(detail::nested_depth(), 1);
  co_return v;
}

TEST(NestedGatherTest, AChildEndingNestedWhileOthersHoldItEndsForThemToo) {
  // The gatherer runs the child's end after its nested step (run_nested): with another
  // handle alive the end is the ordinary one, which the handle and its callbacks see.
  run_alone([]() -> Coro<void> {
    std::vector<Task<void>> kept;
    std::atomic<int> callbacks{0};
    std::array<Coro<int>, 3> cs{keep_myself(kept, 1), keep_myself(kept, 2), keep_myself(kept, 3)};
    const std::array<int, 3> got = co_await gather(std::move(cs));
    EXPECT_EQ(got, (std::array<int, 3>{1, 2, 3}));
    EXPECT_EQ(kept.size(), 3u);
    for (const Task<void>& t : kept) {
      EXPECT_TRUE(t.done());
      EXPECT_FALSE(t.cancelled());
      EXPECT_EQ(t.get_name().rfind("kept-", 0), 0u);
      t.add_done_callback([&callbacks](Task<void>) { ++callbacks; });  // done: runs soon
    }
    co_await sleep(1ms);
    EXPECT_EQ(callbacks.load(), 3);
  });
}

TEST(NestedGatherTest, SingleThreadModeNeverNests) {
  // asyncio's FIFO: the children run after the gathering task suspends, from the loop.
  run_test([]() -> Coro<void> {
    std::vector<Coro<Seen>> cs;
    for (int i = 0; i < 3; ++i) cs.push_back(look_around());
    for (const Seen& s : co_await gather(std::move(cs))) EXPECT_EQ(s.depth, 0);
  });
}

Coro<int> nap_then(int v, int naps) {
  for (int i = 0; i < naps; ++i) co_await sleep(i % 2 == 0 ? 0ms : 1ms);
  co_return v;
}

TEST(NestedGatherTest, ChildrenThatSuspendOrYieldInTheirNestedStepFinishAsTasks) {
  run_alone([]() -> Coro<void> {
    std::vector<Coro<int>> cs;
    for (int i = 0; i < 12; ++i) cs.push_back(nap_then(i, i % 4));
    std::vector<int> r = co_await gather(std::move(cs));
    for (int i = 0; i < 12; ++i) EXPECT_EQ(r[static_cast<std::size_t>(i)], i);
  });
}

Coro<int> count_then_maybe_raise(std::atomic<int>& ran, int i) {
  ran.fetch_add(1);
  if (i == 7) throw std::runtime_error("child 7");
  if (i < 3) co_await sleep(1ms);
  co_return i;
}

TEST(NestedGatherTest, AChildRaisingInItsNestedStepEndsTheGatherAndSiblingsRunOn) {
  run_alone([]() -> Coro<void> {
    std::atomic<int> ran{0};
    std::vector<Coro<int>> cs;
    for (int i = 0; i < 10; ++i) cs.push_back(count_then_maybe_raise(ran, i));
    bool raised = false;
    try {
      (void)co_await gather(std::move(cs));
    } catch (const std::runtime_error& e) {
      raised = std::string(e.what()) == "child 7";
    }
    EXPECT_TRUE(raised);
    // asyncio: the first error does not cancel the siblings; they all run.
    for (int k = 0; k < 1000 && ran.load() < 10; ++k) co_await sleep(1ms);
    EXPECT_EQ(ran.load(), 10);
  });
}

Coro<int> cancel_myself_and_return(int v) {
  EXPECT_TRUE(current_task().cancel());
  co_return v;  // asyncio: cancelled during the step it returned in, it ends cancelled
}

TEST(NestedGatherTest, AChildCancelledThroughItsOwnHandleEndsCancelled) {
  auto body = []() -> Coro<void> {
    std::vector<Coro<int>> cs;
    cs.push_back(cancel_myself_and_return(1));
    cs.push_back(cancel_myself_and_return(2));
    auto outcomes = co_await gather_settled(std::move(cs));
    for (auto& o : outcomes) {
      EXPECT_FALSE(o.has_value());
      EXPECT_THROW(std::rethrow_exception(o.error()), CancelledError);
    }
  };
  run_test(body, multi_thread(2));
  run_test(body);  // the same as single-thread mode, which never nests
}

Coro<int> await_sibling(Task<int> sibling) {
  co_return co_await sibling + 1;
}

TEST(NestedGatherTest, AChildAwaitingATaskBelowItOnTheDequeDoesNotBlockIt) {
  run_alone([]() -> Coro<void> {
    // The task goes on the spawn deque first, the children above it: the nested child
    // waits for a task that only the worker loop, after this step, can run.
    Task<int> below = create_task(nap_then(41, 0));
    std::vector<Coro<int>> cs;
    cs.push_back(await_sibling(below));
    cs.push_back(await_sibling(below));
    std::vector<int> r = co_await gather(std::move(cs));
    EXPECT_EQ(r, (std::vector<int>{42, 42}));
  });
}

Coro<long> chain(int n) {
  if (n == 0) co_return 0;
  std::vector<Coro<long>> one;
  one.push_back(chain(n - 1));
  std::vector<long> r = co_await gather(std::move(one));
  co_return r[0] + 1;
}

TEST(NestedGatherTest, AGatherChainDeeperThanTheNestingLimitDoesNotOverflowTheStack) {
  // Each nesting level is a few native frames: the depth is bounded, the chain is not.
  constexpr int kDepth = 200000;
  EXPECT_EQ(run_test([]() -> Coro<long> { co_return co_await chain(kDepth); }, multi_thread(2)),
            kDepth);
}

Coro<int> max_depth_below(int levels) {
  if (levels == 0) co_return detail::nested_depth();
  std::vector<Coro<int>> one;
  one.push_back(max_depth_below(levels - 1));
  co_return (co_await gather(std::move(one)))[0];
}

TEST(NestedGatherTest, NestingStopsAtItsLimit) {
  run_alone([]() -> Coro<void> {
    const int depth = co_await max_depth_below(100);
    EXPECT_GE(depth, 1);
    EXPECT_LE(depth, 32);
  });
}

Coro<void> sleep_forever_after(std::atomic<int>& started) {
  started.fetch_add(1);
  co_await sleep(3600s);
}

TEST(NestedGatherTest, CancellingTheGathererCancelsChildrenThatSuspendedInANestedStep) {
  run_test(
      []() -> Coro<void> {
        std::atomic<int> started{0};
        Task<void> g = create_task([](std::atomic<int>& s) -> Coro<void> {
          std::vector<Coro<void>> cs;
          for (int i = 0; i < 5; ++i) cs.push_back(sleep_forever_after(s));
          (void)co_await gather(std::move(cs));
        }(started));
        while (started.load() < 5) co_await sleep(1ms);
        EXPECT_TRUE(g.cancel());
        EXPECT_THROW(co_await g, CancelledError);
        EXPECT_TRUE(g.cancelled());
      },
      multi_thread(2));
}

Coro<int> count_run(std::atomic<int>& ran) {
  ran.fetch_add(1);
  co_return 1;
}

TEST(NestedGatherTest, AGathererCancelledBeforeItsFirstStepRunsNoChild) {
  // asyncio: the gather's cancel reaches the children before they start.
  run_alone([]() -> Coro<void> {
    std::atomic<int> ran{0};
    for (int r = 0; r < 50; ++r) {
      Task<std::tuple<int, int, int>> g =
          create_task(gather(count_run(ran), count_run(ran), count_run(ran)));
      EXPECT_TRUE(g.cancel());
      EXPECT_THROW(co_await g, CancelledError);
    }
    EXPECT_EQ(ran.load(), 0);
  });
}

TEST(NestedGatherTest, AGathererThatCancelledItselfRunsNoChildAndRaises) {
  run_alone([]() -> Coro<void> {
    std::atomic<int> ran{0};
    Task<void> t = create_task([](std::atomic<int>& n) -> Coro<void> {
      EXPECT_TRUE(current_task().cancel());
      (void)co_await gather(count_run(n), count_run(n));
      ADD_FAILURE() << "the gather returned";
    }(ran));
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_EQ(ran.load(), 0);
  });
}

Coro<int> cancel_then_return(Task<void> gatherer) {
  EXPECT_TRUE(gatherer.cancel());
  co_return 1;
}

TEST(NestedGatherTest, ACancelArrivingWhileChildrenRunNestedIsRaisedAtTheGather) {
  // Without nesting the gatherer would have parked and taken the cancel there.
  auto body = []() -> Coro<void> {
    Task<void> t = create_task([]() -> Coro<void> {
      std::vector<Coro<int>> cs;
      cs.push_back(cancel_then_return(current_task()));  // runs last, ending the wait
      cs.push_back(nap_then(2, 0));
      (void)co_await gather(std::move(cs));
      ADD_FAILURE() << "the gather returned";
    }());
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
  };
  // The other worker held: the children run nested. (Were it free, it could run both
  // before the gatherer reaches its await; the gather is then done without a suspension,
  // and the cancel waits for the gatherer's next one — multi-thread mode, nesting or not.)
  run_alone(body);
  run_test(body);
}

Coro<Seen> look_then_await(Task<int> done, int times) {
  Seen s = co_await look_around();
  for (int i = 0; i < times; ++i) EXPECT_EQ(co_await done, 7);  // ready: spends the budget
  co_return s;
}

TEST(NestedGatherTest, OneStepRunsABoundedNumberOfChildrenNested) {
  // The worker gets back to its timers, I/O and queues between runs of nested children, and
  // children spending the step's await budget do not reset that bound.
  run_alone([]() -> Coro<void> {
    Task<int> done = create_task(nap_then(7, 0));
    co_await done;
    std::vector<Coro<Seen>> cs;
    for (int i = 0; i < 3000; ++i) cs.push_back(look_then_await(done, i % 2 == 0 ? 0 : 60));
    int nested = 0;
    for (const Seen& s : co_await gather(std::move(cs))) nested += s.depth > 0 ? 1 : 0;
    EXPECT_GE(nested, 1);
    EXPECT_LE(nested, 1024);
  });
}

Coro<Seen> yield_first() {
  co_await sleep(0s);
  co_return Seen{};
}

TEST(NestedGatherTest, AChildThatYieldsEndsTheNestedRuns) {
  // A yield (sleep(0s), a spent budget) asks for the queues: the children after it run from
  // the loop.
  run_alone([]() -> Coro<void> {
    std::vector<Coro<Seen>> cs;
    for (int i = 0; i < 4; ++i) cs.push_back(look_around());
    cs.push_back(yield_first());  // runs first: the newest on the deque
    std::vector<Seen> seen = co_await gather(std::move(cs));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)].depth, 0) << i;
  });
}

}  // namespace
}  // namespace corio
