// Spawn+join throughput: one task creates N trivial tasks and then waits for them all.
// The Runtime lives across iterations, so worker start-up is not measured.
//
//   BM_SpawnJoin/threads:T/tasks:N    create_task N times, then co_await each Task in order
//   BM_SpawnGather/threads:T/tasks:N  gather(std::vector<Coro<int>>) of N children
//   BM_TaskGroup/threads:T/tasks:N    N children through a TaskGroup, then wait()
#include <benchmark/benchmark.h>

#include <corio/runtime.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <vector>

#include "workloads.hpp"

namespace {

using corio_bench::spawn_join;

corio::Coro<int> one() {
  co_return 1;
}

corio::Coro<int> spawn_gather(int n) {
  std::vector<corio::Coro<int>> children;
  children.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) children.push_back(one());
  std::vector<int> results = co_await corio::gather(std::move(children));
  int sum = 0;
  for (int r : results) sum += r;
  co_return sum;
}

corio::Coro<void> task_group(int n) {
  corio::TaskGroup tg;
  for (int i = 0; i < n; ++i) (void)tg.create_task(one());
  co_await tg.wait();
}

corio::Options options(const benchmark::State& state) {
  return corio::Options{.threads = static_cast<std::size_t>(state.range(0))};
}
int tasks(const benchmark::State& state) {
  return static_cast<int>(state.range(1));
}

void BM_SpawnJoin(benchmark::State& state) {
  corio::Runtime rt(options(state));
  const int n = tasks(state);
  for (auto _ : state) rt.run(spawn_join(n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
  state.counters["workers"] = static_cast<double>(rt.workers());
}

void BM_SpawnGather(benchmark::State& state) {
  corio::Runtime rt(options(state));
  const int n = tasks(state);
  for (auto _ : state) {
    if (rt.run(spawn_gather(n)) != n) state.SkipWithError("gather lost a result");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
  state.counters["workers"] = static_cast<double>(rt.workers());
}

void BM_TaskGroup(benchmark::State& state) {
  corio::Runtime rt(options(state));
  const int n = tasks(state);
  for (auto _ : state) rt.run(task_group(n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
  state.counters["workers"] = static_cast<double>(rt.workers());
}

// threads = 0 is one worker per core (all workers); 1 and 2 explicitly. 10,000 tasks per
// iteration (Tokio's spawn_many) keep the live frames in L2; 1,000 fit in the spawn deque
// (no overflow to the inject queue); 100,000 show the cost when the frames spill from L2.
BENCHMARK(BM_SpawnJoin)
    ->ArgNames({"threads", "tasks"})
    ->ArgsProduct({{0, 1, 2}, {1'000, 10'000, 100'000}})
    ->UseRealTime();
BENCHMARK(BM_SpawnGather)
    ->ArgNames({"threads", "tasks"})
    ->ArgsProduct({{0, 1, 2}, {10'000}})
    ->UseRealTime();
// A group's children end in any order: 100,000 show whether removing one costs O(n).
BENCHMARK(BM_TaskGroup)
    ->ArgNames({"threads", "tasks"})
    ->ArgsProduct({{0}, {1'000, 100'000}})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
