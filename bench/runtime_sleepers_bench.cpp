// 100,000 concurrent sleeping tasks: how long it takes to start them all, and how much
// resident memory each one costs above the runtime's baseline.
//
// Each iteration runs in a fresh child process (fork), so memory that an earlier iteration
// left cached in the allocator cannot hide the next one's growth. The time reported is the
// child's own measurement (manual time): from the first create_task until every sleeper is
// suspended in sleep(24h). `bytes_per_task` is VmRSS growth / tasks (target <= 256).
#include <benchmark/benchmark.h>

#include <cstddef>

#include "workloads.hpp"

namespace {

constexpr int kSleepers = 100'000;

void BM_Sleepers(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  double bytes = 0;
  for (auto _ : state) {
    auto r = corio_bench::measure_sleepers(kSleepers, threads);
    if (!r) {
      state.SkipWithError("the measuring child process failed");
      return;
    }
    state.SetIterationTime(r->spawn_seconds);
    bytes += r->bytes_per_task;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kSleepers);
  state.counters["bytes_per_task"] = bytes / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Sleepers)->ArgName("threads")->Arg(1)->Arg(2)->UseManualTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
