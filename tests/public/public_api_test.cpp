// A user's program: it includes only the umbrella header, links only corio_dep, and uses
// only the names API.md promises for tasks and running. If this stops compiling or linking,
// the public surface broke (a symbol left in detail::, a private header leaking, a missing
// transitive dependency).
#include <corio/corio.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;

corio::Coro<int> factorial(std::vector<std::string>& out, std::string name, int number) {
  int f = 1;
  for (int i = 2; i <= number; ++i) {
    out.push_back(name + " i=" + std::to_string(i));
    co_await corio::sleep(1s);
    f *= i;
  }
  co_return f;
}

TEST(PublicApi, GatherOfTasksInterleavesLikeAsyncio) {
  std::vector<std::string> out;
  auto main = [&]() -> corio::Coro<std::vector<int>> {
    auto [a, b, c] = co_await corio::gather(factorial(out, "A", 2), factorial(out, "B", 3),
                                            factorial(out, "C", 4));
    EXPECT_DOUBLE_EQ(corio::get_running_loop().time(), 3.0);
    co_return std::vector<int>{a, b, c};
  };
  auto results = corio::run(main(), corio::Options{.threads = 1, .virtual_time = true});
  EXPECT_EQ(results, (std::vector<int>{2, 6, 24}));
  EXPECT_EQ(out, (std::vector<std::string>{"A i=2", "B i=2", "C i=2", "B i=3", "C i=3", "C i=4"}));
}

TEST(PublicApi, TasksFuturesAndCancellation) {
  auto main = []() -> corio::Coro<std::string> {
    corio::Future<std::string> fut;
    auto setter = [](corio::Future<std::string> f) -> corio::Coro<void> {
      co_await corio::sleep(10ms);
      f.set_result("resolved");
    };
    corio::Task<void> t = corio::create_task(setter(fut), "setter");
    EXPECT_EQ(t.get_name(), "setter");
    std::string v = co_await fut;

    auto eternity = []() -> corio::Coro<void> { co_await corio::sleep(3600s); };
    corio::Task<void> forever = corio::create_task(eternity());
    co_await corio::sleep(0s);
    forever.cancel();
    try {
      co_await forever;
    } catch (const corio::CancelledError&) {
      v += ", cancelled";
    }
    try {
      co_await corio::wait_for(eternity(), 1s);
    } catch (const corio::TimeoutError&) {
      v += ", timed out";
    }
    EXPECT_TRUE(corio::current_task().valid());
    EXPECT_FALSE(corio::all_tasks().empty());
    co_await t;
    co_return v;
  };
  EXPECT_EQ(corio::run(main(), corio::Options{.threads = 1, .virtual_time = true}),
            "resolved, cancelled, timed out");
}

TEST(PublicApi, RuntimeSpawnAndRunCoroutineThreadsafe) {
  corio::Runtime rt(corio::Options{.threads = 2});
  auto twice = [](int x) -> corio::Coro<int> {
    co_await corio::sleep(1ms);
    co_return 2 * x;
  };
  EXPECT_EQ(rt.run(twice(4)), 8);
  std::future<int> f = corio::run_coroutine_threadsafe(twice(21), rt);
  EXPECT_EQ(f.get(), 42);
  corio::Task<int> t = rt.spawn(twice(5));
  EXPECT_EQ(rt.run([](corio::Task<int> t) -> corio::Coro<int> { co_return co_await t; }(t)), 10);
}

TEST(PublicApi, LoopAndErrors) {
  auto main = []() -> corio::Coro<double> {
    corio::Loop& loop = corio::get_running_loop();
    corio::Future<void> done;
    loop.call_later(2s, [done] { done.set_result(); });
    co_await done;
    co_return loop.time();
  };
  EXPECT_DOUBLE_EQ(corio::run(main(), corio::Options{.threads = 1, .virtual_time = true}), 2.0);
  EXPECT_THROW(corio::get_running_loop(), std::runtime_error);
  corio::Future<int> f;
  EXPECT_THROW(f.result(), corio::InvalidStateError);
}

}  // namespace
