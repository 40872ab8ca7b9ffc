// Stress: cross-worker wake-ups. Pairs of tasks ping-pong through Futures (each wake may
// cross workers), and many waiters are woken at once by one completion. A lost wake-up
// shows as a watchdog abort. CORIO_STRESS_ITERS sets the number of exchanges.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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

// A thread outside the runtime wakes its main task; main returns and the Runtime is
// destroyed while the waker is still inside the wake (queueing the task, unparking a worker):
// the runtime must wait for it rather than free the workers under it (TSan sees the race).
template <class Wake>
void wake_main_then_destroy_runtime(std::size_t rounds, Wake wake) {
  for (std::size_t r = 0; r < rounds; ++r) {
    std::atomic<Future<int>*> slot{nullptr};
    std::atomic<Runtime*> rtp{nullptr};
    std::thread waker([&] {
      Future<int>* f;
      while ((f = slot.exchange(nullptr, std::memory_order_acq_rel)) == nullptr) {
        std::this_thread::yield();
      }
      wake(*f, *rtp.load(std::memory_order_acquire));
    });
    {
      Runtime rt(test::multi_thread(2));
      rtp.store(&rt, std::memory_order_release);
      rt.run([](std::atomic<Future<int>*>& slot) -> Coro<void> {
        Future<int> f;
        slot.store(&f, std::memory_order_release);
        const int v = co_await f;
        EXPECT_EQ(v, 1);
      }(slot));
    }
    waker.join();
  }
}

TEST(WakeStress, RuntimeDestroyedWhileAForeignSetResultReturns) {
  test::Watchdog dog(300s, "RuntimeDestroyedWhileAForeignSetResultReturns");
  wake_main_then_destroy_runtime(test::stress_iters(500, 2),
                                 [](Future<int>& f, Runtime&) { f.set_result(1); });
}

TEST(WakeStress, RuntimeDestroyedWhileCallSoonThreadsafeReturns) {
  test::Watchdog dog(300s, "RuntimeDestroyedWhileCallSoonThreadsafeReturns");
  wake_main_then_destroy_runtime(test::stress_iters(500, 2), [](Future<int>& f, Runtime& rt) {
    rt.loop().call_soon_threadsafe([&f] { f.set_result(1); });
  });
}

// A wait_for's park is bound to its timer's worker. One completion wakes two tasks: the
// first goes to the LIFO slot, the second pushes it out into the stealable local queue.
// Resumed by the other worker, it could not remove its timer, which then fired on the freed
// frame (TSan, ASan). It must resume on its timer's worker.
TEST(WakeStress, AWaitForResumesOnItsTimersWorker) {
  const int rounds = static_cast<int>(test::stress_iters(40000, 2));
  test::Watchdog dog(300s, "AWaitForResumesOnItsTimersWorker");
  int timeouts = 0;
  run_test(
      [&]() -> Coro<void> {
        for (int r = 0; r < rounds; ++r) {
          Task<int> child = create_task([]() -> Coro<int> {
            co_await sleep(0s);
            co_return 1;
          }());
          // 5 ms: a timer left behind fires within the sleep below. A loaded machine (TSan)
          // can run past it: then the wait times out and cancels the child, which is fine.
          Task<int> a = create_task([](Task<int> c) -> Coro<int> {
            try {
              co_return co_await wait_for(c, 5ms);
            } catch (const TimeoutError&) {
              co_return -1;
            }
          }(child));
          Task<int> b = create_task([](Task<int> c) -> Coro<int> {
            try {
              co_return co_await c;
            } catch (const CancelledError&) {
              co_return -1;
            }
          }(child));
          const int va = co_await a;
          const int vb = co_await b;
          if (va == -1) {
            ++timeouts;
          } else {
            EXPECT_EQ(va + vb, 2);
          }
        }
        co_await sleep(50ms);  // a timer left behind would fire now
      },
      test::multi_thread(2), 300s);
  std::printf("timed out %d of %d\n", timeouts, rounds);
}

}  // namespace
}  // namespace corio
