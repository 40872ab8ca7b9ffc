// Task switch and wake costs.
//
//   BM_SleepZeroPingPong          threads = 1: two tasks alternate with co_await sleep(0s);
//                                 every sleep(0s) is one switch to the other task.
//   BM_FutureRoundTrip/threads:T  two tasks of one runtime hand Futures back and forth.
//                                 `cross_worker` is the fraction of round trips in which the
//                                 two tasks really ran on different threads: a wake puts the
//                                 woken task on the waker's worker (LIFO slot), so on 2
//                                 workers the pair normally ends up sharing one.
//   BM_CrossThreadRoundTrip       the same hand-off between two single-worker runtimes, so
//                                 every wake crosses threads by construction (inject queue +
//                                 unpark of a parked worker): the cross-thread wake latency.
#include <benchmark/benchmark.h>

#include <corio/runtime.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "workloads.hpp"

namespace {

using namespace std::chrono_literals;
using corio_bench::ping_pong;

constexpr int kSwitches = 100'000;  // per task and iteration
constexpr int kRounds = 10'000;     // round trips per iteration

void BM_SleepZeroPingPong(benchmark::State& state) {
  corio::Runtime rt(corio::Options{.threads = 1});
  for (auto _ : state) rt.run(ping_pong(kSwitches));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * kSwitches);
}
BENCHMARK(BM_SleepZeroPingPong)->UseRealTime();

using corio_bench::Channel;
using corio_bench::pinger;
using corio_bench::ponger;

corio::Coro<void> round_trips(Channel& c) {
  corio::Task<void> b = corio::create_task(ponger(c));
  // Give the ponger a chance to be stolen by the other worker before the first ping.
  co_await corio::sleep(0s);
  co_await pinger(c);
  co_await b;
}

void report_round_trips(benchmark::State& state, double cross_sum) {
  const auto rounds = static_cast<double>(state.iterations()) * kRounds;
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds));
  state.counters["latency"] =
      benchmark::Counter(rounds, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["cross_worker"] = cross_sum / static_cast<double>(state.iterations());
}

void BM_FutureRoundTrip(benchmark::State& state) {
  corio::Runtime rt(corio::Options{.threads = static_cast<std::size_t>(state.range(0))});
  double cross_sum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Channel c(kRounds);
    state.ResumeTiming();
    rt.run(round_trips(c));
    cross_sum += c.cross_fraction();
  }
  report_round_trips(state, cross_sum);
}
BENCHMARK(BM_FutureRoundTrip)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

void BM_CrossThreadRoundTrip(benchmark::State& state) {
  corio::Runtime left(corio::Options{.threads = 1});
  corio::Runtime right(corio::Options{.threads = 1});
  double cross_sum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Channel c(kRounds);
    state.ResumeTiming();
    corio::Task<void> b = right.spawn(ponger(c));
    left.run(pinger(c));
    while (!b.done()) std::this_thread::yield();
    cross_sum += c.cross_fraction();
  }
  report_round_trips(state, cross_sum);
  if (cross_sum < static_cast<double>(state.iterations())) {
    state.SkipWithError("the two runtimes shared a thread");
  }
}
BENCHMARK(BM_CrossThreadRoundTrip)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
