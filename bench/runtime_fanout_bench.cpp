// Fan-out / fan-in through gather: every call turns its children into tasks and waits for
// them, so these measure spawn, steal and join together, the way fork-join code uses them.
//
//   BM_Fib/n/threads          fib(n), each call gathers fib(n-1) and fib(n-2) (variadic form)
//   BM_FibVector/n/threads    the same with gather(std::vector<Coro>)
//   BM_Skynet/depth/threads   a 10-ary tree, 10^depth leaves; each node gathers its ten
//                             children (vector form) and sums their ids
//   BM_SkynetArray/...        the same with the std::array form of gather
// Items are tasks created (fib: 2*fib(n+1) - 2 children; skynet: all nodes but the root).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

#include "workloads.hpp"

namespace {

using namespace corio_bench;

std::int64_t fib_tasks(int n) {
  return static_cast<std::int64_t>(2 * fib_value(n + 1) - 2);
}

std::int64_t skynet_tasks(int depth) {
  std::int64_t nodes = 0, level = 1;
  for (int d = 0; d <= depth; ++d, level *= 10) nodes += level;
  return nodes - 1;
}

corio::Options options(const benchmark::State& state) {
  return corio::Options{.threads = static_cast<std::size_t>(state.range(1))};
}

template <corio::Coro<std::uint64_t> (*Fib)(int)>
void BM_FibT(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  corio::Runtime rt(options(state));
  for (auto _ : state) {
    if (rt.run(Fib(n)) != fib_value(n)) state.SkipWithError("wrong fib");
  }
  state.SetItemsProcessed(state.iterations() * fib_tasks(n));
}

template <corio::Coro<std::uint64_t> (*Skynet)(std::uint64_t, int)>
void BM_SkynetT(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  corio::Runtime rt(options(state));
  for (auto _ : state) {
    if (rt.run(Skynet(0, depth)) != skynet_value(depth)) state.SkipWithError("wrong sum");
  }
  state.SetItemsProcessed(state.iterations() * skynet_tasks(depth));
}

void BM_Skynet(benchmark::State& state) {
  BM_SkynetT<skynet>(state);
}
void BM_SkynetArray(benchmark::State& state) {
  BM_SkynetT<skynet_array>(state);
}
void BM_Fib(benchmark::State& state) {
  BM_FibT<fib>(state);
}
void BM_FibVector(benchmark::State& state) {
  BM_FibT<fib_vector>(state);
}

BENCHMARK(BM_Fib)
    ->ArgNames({"n", "threads"})
    ->Args({30, 1})
    ->Args({30, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_FibVector)
    ->ArgNames({"n", "threads"})
    ->Args({30, 1})
    ->Args({30, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// No depth 7 on one worker: single-thread mode is FIFO, so the tree unfolds breadth-first
// and all 11.1 M frames would be alive at once (gigabytes).
BENCHMARK(BM_Skynet)
    ->ArgNames({"depth", "threads"})
    ->Args({6, 1})
    ->Args({6, 2})
    ->Args({7, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SkynetArray)
    ->ArgNames({"depth", "threads"})
    ->Args({7, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
