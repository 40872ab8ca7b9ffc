// Stress: cross-worker wake-ups. Pairs of tasks ping-pong through Futures (each wake may
// cross workers), and many waiters are woken at once by one completion. A lost wake-up
// shows as a watchdog abort. CORIO_STRESS_ITERS sets the number of exchanges.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::run_test;

// One message slot. Only the receiver replaces the Future, after taking the message and before
// replying, so the sender (who writes only after the reply) always sets a fresh one.
struct Channel {
  Future<int> slot;
};

Coro<int> player(Channel& in, Channel& out, std::size_t rounds, bool serves) {
  int last = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    if (serves) {
      out.slot.set_result(static_cast<int>(i));
      last = co_await in.slot;
      in.slot = Future<int>();
    } else {
      last = co_await in.slot;
      in.slot = Future<int>();
      out.slot.set_result(last);
    }
  }
  co_return last;
}

TEST(WakeStress, PingPongAcrossWorkers) {
  const std::size_t rounds = test::stress_iters(100'000);
  constexpr int kPairs = 4;
  run_test(
      [&]() -> Coro<void> {
        std::vector<std::unique_ptr<Channel>> chans;
        std::vector<Task<int>> ts;
        for (int p = 0; p < kPairs; ++p) {
          chans.push_back(std::make_unique<Channel>());
          chans.push_back(std::make_unique<Channel>());
          Channel& a = *chans[chans.size() - 2];
          Channel& b = *chans[chans.size() - 1];
          ts.push_back(create_task(player(a, b, rounds, true)));
          ts.push_back(create_task(player(b, a, rounds, false)));
        }
        for (auto& t : ts) EXPECT_EQ(co_await t, static_cast<int>(rounds - 1));
      },
      test::multi_thread(), 120s);
}

TEST(WakeStress, OneCompletionWakesManyWaitersOnAllWorkers) {
  const std::size_t rounds = test::stress_iters(2'000);
  constexpr int kWaiters = 16;
  run_test(
      [&]() -> Coro<void> {
        for (std::size_t r = 0; r < rounds; ++r) {
          Future<int> f;
          auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
          std::vector<Task<int>> ts;
          for (int i = 0; i < kWaiters; ++i) ts.push_back(create_task(waiter(f)));
          if (r % 2 == 0) co_await sleep(0s);  // sometimes they are parked, sometimes not yet
          f.set_result(static_cast<int>(r));
          for (auto& t : ts) EXPECT_EQ(co_await t, static_cast<int>(r));
        }
      },
      test::multi_thread(), 120s);
}

TEST(WakeStress, TaskAwaitedFromOtherWorkersWhileItCompletes) {
  const std::size_t rounds = test::stress_iters(5'000);
  run_test(
      [&]() -> Coro<void> {
        auto target = [](std::size_t r) -> Coro<std::size_t> {
          if (r % 3 == 0) co_await sleep(0s);
          co_return r;
        };
        auto awaiter = [](Task<std::size_t> t) -> Coro<std::size_t> { co_return co_await t; };
        for (std::size_t r = 0; r < rounds; ++r) {
          Task<std::size_t> t = create_task(target(r));
          Task<std::size_t> a = create_task(awaiter(t));
          Task<std::size_t> b = create_task(awaiter(t));
          EXPECT_EQ(co_await a + co_await b, 2 * r);
        }
      },
      test::multi_thread(), 120s);
}

}  // namespace
}  // namespace corio
