// Synchronisation primitives (issue 3 targets, Release build, this 2-core machine):
//
//   BM_LockUncontended            threads = 1: one task, acquire()+release() in a loop; no
//                                 suspension, so this is the fast path alone.
//   BM_LockContended/tasks:4      4 tasks on 2 workers, each acquire(); ++counter; release().
//                                 Target >= 8 M pairs/s. FIFO hand-off means every pair is a
//                                 switch; `unfair` counts acquisitions by a task that had
//                                 already held the lock within the last `tasks - 1` ones
//                                 (0 for strict round-robin once every task waits).
//   BM_QueuePingPong/threads:T    Queue<int>(1024), one producer task, one consumer task.
//                                 Target >= 30 M items/s on 1 worker, >= 16 M on 2.
//   BM_EventBroadcast/threads:T   10,000 tasks wait on an Event; time from set() until the
//                                 last one has resumed (manual time, per broadcast).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>

namespace {

using namespace std::chrono_literals;

// --- Lock ------------------------------------------------------------------------------

corio::Coro<void> lock_loop(corio::Lock& lock, long& counter, int n) {
  for (int i = 0; i < n; ++i) {
    co_await lock.acquire();
    ++counter;
    lock.release();
  }
}

void BM_LockUncontended(benchmark::State& state) {
  constexpr int kPairs = 1'000'000;
  corio::Runtime rt(corio::Options{.threads = 1});
  corio::Lock lock;
  long counter = 0;
  for (auto _ : state) rt.run(lock_loop(lock, counter, kPairs));
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kPairs);
}
BENCHMARK(BM_LockUncontended)->UseRealTime()->Unit(benchmark::kMillisecond);

struct Contended {
  corio::Lock lock;
  long counter = 0;
  std::vector<int> recent;  // owners of the last tasks - 1 acquisitions, under the lock
  long unfair = 0;
};

corio::Coro<void> contender(Contended& c, int id, int tasks, int n) {
  for (int i = 0; i < n; ++i) {
    co_await c.lock.acquire();
    ++c.counter;
    for (int o : c.recent) c.unfair += (o == id);
    c.recent.push_back(id);
    if (static_cast<int>(c.recent.size()) > tasks - 1) c.recent.erase(c.recent.begin());
    c.lock.release();
  }
}

corio::Coro<void> contend(Contended& c, int tasks, int n) {
  std::vector<corio::Task<void>> ts;
  for (int i = 0; i < tasks; ++i) ts.push_back(corio::create_task(contender(c, i, tasks, n)));
  for (auto& t : ts) co_await t;
}

void BM_LockContended(benchmark::State& state) {
  const int tasks = static_cast<int>(state.range(0));
  constexpr int kPairs = 250'000;  // per task
  corio::Runtime rt(corio::Options{.threads = 2});
  long unfair = 0;
  for (auto _ : state) {
    Contended c;
    rt.run(contend(c, tasks, kPairs));
    if (c.counter != long{tasks} * kPairs) state.SkipWithError("lost an acquisition");
    unfair += c.unfair;
  }
  const double pairs = static_cast<double>(state.iterations()) * tasks * kPairs;
  state.SetItemsProcessed(static_cast<std::int64_t>(pairs));
  state.counters["unfair"] = static_cast<double>(unfair) / pairs;
}
BENCHMARK(BM_LockContended)->ArgName("tasks")->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- Queue -----------------------------------------------------------------------------

corio::Coro<void> producer(corio::Queue<int>& q, int n) {
  for (int i = 0; i < n; ++i) co_await q.put(i);
}

corio::Coro<long> consumer(corio::Queue<int>& q, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await q.get();
  co_return sum;
}

corio::Coro<long> queue_pair(int n) {
  corio::Queue<int> q(1024);
  corio::Task<void> p = corio::create_task(producer(q, n));
  corio::Task<long> c = corio::create_task(consumer(q, n));
  co_await p;
  co_return co_await c;
}

void BM_QueuePingPong(benchmark::State& state) {
  constexpr int kItems = 1'000'000;
  corio::Runtime rt(corio::Options{.threads = static_cast<std::size_t>(state.range(0))});
  for (auto _ : state) {
    long sum = rt.run(queue_pair(kItems));
    if (sum != long{kItems} * (kItems - 1) / 2) state.SkipWithError("lost an item");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kItems);
}
BENCHMARK(BM_QueuePingPong)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- Event -----------------------------------------------------------------------------

struct Broadcast {
  corio::Event go;
  corio::Event all_done;
  std::atomic<int> left{0};
};

corio::Coro<void> event_waiter(Broadcast& b) {
  co_await b.go.wait();
  if (b.left.fetch_sub(1, std::memory_order_acq_rel) == 1) b.all_done.set();
}

corio::Coro<double> broadcast_once(int waiters) {
  Broadcast b;
  b.left = waiters;
  std::vector<corio::Task<void>> ts;
  ts.reserve(static_cast<std::size_t>(waiters));
  for (int i = 0; i < waiters; ++i) ts.push_back(corio::create_task(event_waiter(b)));
  // Let every waiter reach its wait() (several rounds: in multi-thread mode they spread).
  for (int i = 0; i < 4; ++i) co_await corio::sleep(0s);
  while (b.left.load() != waiters || !ts.back().valid()) co_await corio::sleep(0s);
  co_await corio::sleep(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  b.go.set();
  co_await b.all_done.wait();
  const auto t1 = std::chrono::steady_clock::now();
  for (auto& t : ts) co_await t;
  co_return std::chrono::duration<double>(t1 - t0).count();
}

void BM_EventBroadcast(benchmark::State& state) {
  constexpr int kWaiters = 10'000;
  corio::Runtime rt(corio::Options{.threads = static_cast<std::size_t>(state.range(0))});
  for (auto _ : state) state.SetIterationTime(rt.run(broadcast_once(kWaiters)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kWaiters);
}
BENCHMARK(BM_EventBroadcast)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
