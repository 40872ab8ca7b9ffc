// Gathering, what gather() and gather_settled() return: awaited once inside the awaiting task,
// and taken wherever a Coro is (create_task, TaskGroup, wait_for, timeout, shield, a nested
// gather, Runtime::run and spawn, run, run_coroutine_threadsafe), through its conversion.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;
using test::value_after;

Coro<int> fail_after(std::chrono::milliseconds d, std::string msg) {
  co_await sleep(d);
  throw std::runtime_error(msg);
}

double now() {
  return get_running_loop().time();
}

std::vector<Coro<int>> values(int n) {
  std::vector<Coro<int>> cs;
  for (int i = 0; i < n; ++i) cs.push_back(value_after(std::chrono::seconds(i), i));
  return cs;
}

TEST(GatheringTest, AwaitingGivesTheResultsWithoutACoroutineOfItsOwn) {
  static_assert(!std::is_same_v<decltype(gather(values(1))), Coro<std::vector<int>>>);
  run_test([]() -> Coro<void> {
    auto g = gather(values(3));
    EXPECT_TRUE(g.valid());
    std::vector<int> r = co_await g;  // an lvalue awaits as well as a temporary
    EXPECT_EQ(r, (std::vector<int>{0, 1, 2}));
    EXPECT_DOUBLE_EQ(now(), 2.0);
    EXPECT_FALSE(g.valid());
  });
}

TEST(GatheringTest, AwaitingTwiceOrAfterAMoveThrowsInvalidStateError) {
  run_test([]() -> Coro<void> {
    auto g = gather(value_after(1s, 1), value_after(2s, 2));
    auto [a, b] = co_await g;
    EXPECT_EQ(a + b, 3);
    EXPECT_THROW(co_await g, InvalidStateError);

    auto h = gather_settled(values(2));
    auto moved = std::move(h);
    EXPECT_FALSE(h.valid());
    EXPECT_THROW(co_await h, InvalidStateError);
    std::vector<Outcome<int>> r = co_await moved;
    EXPECT_EQ(r.size(), 2u);
  });
}

TEST(GatheringTest, ConvertingOneThatIsNotValidThrowsInvalidStateError) {
  run_test([]() -> Coro<void> {
    auto g = gather(values(2));
    (void)co_await g;
    EXPECT_THROW((void)create_task(std::move(g)), InvalidStateError);
    auto h = gather(values(1));
    auto kept = std::move(h);
    EXPECT_THROW((void)Coro<std::vector<int>>(std::move(h)), InvalidStateError);
    std::vector<int> r = co_await kept;
    EXPECT_EQ(r, std::vector<int>{0});
  });
}

TEST(GatheringTest, AnotherOneAssignedInReleasesTheFirst) {
  run_test([]() -> Coro<void> {
    auto g = gather(values(2));
    g = gather(values(3));  // the first gather's children run on, unawaited
    std::vector<int> r = co_await g;
    EXPECT_EQ(r.size(), 3u);
    EXPECT_EQ(all_tasks().size(), 1u);  // both gathers' children are done
  });
}

TEST(GatheringTest, CreateTaskAndTaskGroupTakeIt) {
  run_test([]() -> Coro<void> {
    Task<std::vector<int>> t = create_task(gather(values(3)), "gathering");
    EXPECT_EQ(t.get_name(), "gathering");
    std::vector<int> r = co_await t;
    EXPECT_EQ(r, (std::vector<int>{0, 1, 2}));

    TaskGroup tg;
    Task<std::tuple<int, int>> u = tg.create_task(gather(value_after(1s, 4), value_after(0s, 5)));
    co_await tg.wait();
    EXPECT_EQ(u.result(), std::make_tuple(4, 5));
  });
}

TEST(GatheringTest, AsATaskACancelBeforeItsFirstStepCancelsTheChildren) {
  // asyncio: the gathering future's cancel reaches its children whenever it comes.
  int cancelled = 0;
  run_test([&]() -> Coro<void> {
    auto child = [](int* n) -> Coro<int> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        ++*n;
        throw;
      }
      co_return 0;
    };
    Task<std::tuple<int, int>> t = create_task(gather(child(&cancelled), child(&cancelled)));
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
  });
  EXPECT_EQ(cancelled, 2);
}

TEST(GatheringTest, WaitForTimeoutAndShieldTakeIt) {
  run_test([]() -> Coro<void> {
    std::vector<int> in_time = co_await wait_for(gather(values(2)), 5s);
    EXPECT_EQ(in_time, (std::vector<int>{0, 1}));
    EXPECT_THROW(co_await wait_for(gather(values(4)), 1500ms), TimeoutError);
    EXPECT_DOUBLE_EQ(now(), 2.5);
    auto [v] = co_await timeout(5s, gather(value_after(1s, 7)));
    EXPECT_EQ(v, 7);
    std::vector<Outcome<int>> r = co_await shield(gather_settled(values(2)));
    EXPECT_EQ(r[1].value(), 1);
  });
}

TEST(GatheringTest, AGatherOfGathersNestsThem) {
  run_test([]() -> Coro<void> {
    auto [inner, c] =
        co_await gather(gather(value_after(2s, 1), value_after(1s, 2)), value_after(0s, 3));
    EXPECT_EQ(inner, std::make_tuple(1, 2));
    EXPECT_EQ(c, 3);
    EXPECT_DOUBLE_EQ(now(), 2.0);

    auto [settled] = co_await gather_settled(gather(fail_after(1s, "inner")));
    EXPECT_THROW(settled.value(), std::runtime_error);

    // Refused before anything starts: the other argument never becomes a task.
    auto awaited = gather(values(1));
    (void)co_await awaited;
    int ran = 0;
    auto count = [](int* n) -> Coro<int> { co_return ++*n; };
    try {
      (void)gather(std::move(awaited), count(&ran));
      ADD_FAILURE() << "a gather of an awaited gather was accepted";
    } catch (const InvalidStateError& e) {
      EXPECT_NE(std::string(e.what()).find("gather() of an empty or awaited gather"),
                std::string::npos)
          << e.what();
    }
    co_await sleep(1s);
    EXPECT_EQ(ran, 0);
  });
}

TEST(GatheringTest, ItConvertsToTheCoroThatAwaitsIt) {
  run_test([]() -> Coro<void> {
    Coro<std::vector<int>> c = gather(values(2));
    std::vector<int> v = co_await c;
    EXPECT_EQ(v, (std::vector<int>{0, 1}));
    auto d = Coro(gather(value_after(0s, 1)));
    static_assert(std::is_same_v<decltype(d), Coro<std::tuple<int>>>);
    std::vector<Coro<std::vector<int>>> lists;
    lists.push_back(gather(values(1)));
    lists.push_back(gather(values(2)));
    std::vector<std::vector<int>> r = co_await gather(std::move(lists));
    EXPECT_EQ(r, (std::vector<std::vector<int>>{{0}, {0, 1}}));
    std::tuple<int> one = co_await std::move(d);
    EXPECT_EQ(std::get<0>(one), 1);
  });
}

TEST(GatheringTest, RuntimeRunSpawnRunAndRunCoroutineThreadsafeTakeIt) {
  // A gather of Tasks needs no running task: it can be made outside the runtime.
  Runtime rt(test::single_thread());
  std::vector<Task<int>> ts;
  for (int i = 0; i < 3; ++i) ts.push_back(rt.spawn(value_after(1ms, i)));
  EXPECT_EQ(rt.run(gather(ts)), (std::vector<int>{0, 1, 2}));
  Task<std::vector<int>> spawned = rt.spawn(gather(ts), "spawned");
  std::future<std::vector<int>> f = run_coroutine_threadsafe(gather(ts), rt);
  EXPECT_EQ(f.get(), (std::vector<int>{0, 1, 2}));
  std::array<Task<int>, 2> pair{ts[2], ts[0]};
  EXPECT_EQ(rt.run(gather_settled(pair))[0].value(), 2);
  rt.shutdown();
  EXPECT_EQ(spawned.result().size(), 3u);
  EXPECT_TRUE(run(gather(std::vector<Task<int>>{})).empty());
}

}  // namespace
}  // namespace corio
