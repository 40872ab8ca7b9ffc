// The workloads behind the runtime benchmarks, shared by the Google Benchmark programs and
// corio-headline so that both measure exactly the same code.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>

#include "bench_util.hpp"

namespace corio_bench {

using namespace std::chrono_literals;

// --- spawn + join ---------------------------------------------------------------------------

inline corio::Coro<void> nothing() {
  co_return;
}

/// Creates n trivial tasks, then awaits each in creation order.
inline corio::Coro<void> spawn_join(int n) {
  std::vector<corio::Task<void>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) tasks.push_back(corio::create_task(nothing()));
  for (auto& t : tasks) co_await t;
}

// --- switches ----------------------------------------------------------------------------------

inline corio::Coro<void> yielder(int n) {
  for (int i = 0; i < n; ++i) co_await corio::sleep(0s);
}

/// Two tasks each yield n times: 2n switches (in single-thread mode each sleep(0s) hands the
/// worker to the other task).
inline corio::Coro<void> ping_pong(int n) {
  corio::Task<void> a = corio::create_task(yielder(n));
  corio::Task<void> b = corio::create_task(yielder(n));
  co_await a;
  co_await b;
}

// --- wake round trips ----------------------------------------------------------------------

/// The futures of one iteration, made before timing starts; ping[i] goes one way, pong[i]
/// back. Each side records the thread it resumed on.
struct Channel {
  explicit Channel(int n)
      : ping(static_cast<std::size_t>(n)),
        pong(static_cast<std::size_t>(n)),
        ping_tid(static_cast<std::size_t>(n)),
        pong_tid(static_cast<std::size_t>(n)) {}
  std::vector<corio::Future<void>> ping, pong;
  std::vector<std::thread::id> ping_tid, pong_tid;

  double cross_fraction() const {
    std::size_t cross = 0;
    for (std::size_t i = 0; i < ping_tid.size(); ++i) cross += ping_tid[i] != pong_tid[i];
    return static_cast<double>(cross) / static_cast<double>(ping_tid.size());
  }
};

inline corio::Coro<void> pinger(Channel& c) {
  for (std::size_t i = 0; i < c.ping.size(); ++i) {
    c.ping[i].set_result();
    co_await c.pong[i];
    c.ping_tid[i] = std::this_thread::get_id();
  }
}

inline corio::Coro<void> ponger(Channel& c) {
  for (std::size_t i = 0; i < c.ping.size(); ++i) {
    co_await c.ping[i];
    c.pong_tid[i] = std::this_thread::get_id();
    c.pong[i].set_result();
  }
}

// --- fan-out / fan-in ----------------------------------------------------------------------

/// fib(n) where every call gathers its two sub-calls as child tasks.
inline corio::Coro<std::uint64_t> fib(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  auto [a, b] = co_await corio::gather(fib(n - 1), fib(n - 2));
  co_return a + b;
}

/// The same with the vector form of gather.
inline corio::Coro<std::uint64_t> fib_vector(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  std::vector<corio::Coro<std::uint64_t>> children;
  children.reserve(2);
  children.push_back(fib_vector(n - 1));
  children.push_back(fib_vector(n - 2));
  std::vector<std::uint64_t> r = co_await corio::gather(std::move(children));
  co_return r[0] + r[1];
}

constexpr std::uint64_t fib_value(int n) {
  std::uint64_t a = 0, b = 1;
  for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
  return a;
}

/// skynet: node `id` at `depth` gathers its ten children; a leaf returns its id. With
/// depth d there are 10^d leaves and the root returns 0 + 1 + ... + (10^d - 1).
inline corio::Coro<std::uint64_t> skynet(std::uint64_t id, int depth) {
  if (depth == 0) co_return id;
  std::vector<corio::Coro<std::uint64_t>> children;
  children.reserve(10);
  for (std::uint64_t i = 0; i < 10; ++i) children.push_back(skynet(id * 10 + i, depth - 1));
  std::vector<std::uint64_t> r = co_await corio::gather(std::move(children));
  std::uint64_t sum = 0;
  for (std::uint64_t v : r) sum += v;
  co_return sum;
}

/// The same with a fixed fan-out: the children in a std::array, the results in another.
inline corio::Coro<std::uint64_t> skynet_array(std::uint64_t id, int depth) {
  if (depth == 0) co_return id;
  std::array<corio::Coro<std::uint64_t>, 10> children;
  for (std::uint64_t i = 0; i < 10; ++i) children[i] = skynet_array(id * 10 + i, depth - 1);
  std::uint64_t sum = 0;
  for (std::uint64_t v : co_await corio::gather(std::move(children))) sum += v;
  co_return sum;
}

constexpr std::uint64_t skynet_value(int depth) {
  std::uint64_t leaves = 1;
  for (int i = 0; i < depth; ++i) leaves *= 10;
  return leaves * (leaves - 1) / 2;
}

// --- sleepers ------------------------------------------------------------------------------

inline std::atomic<int> g_sleeping{0};

inline corio::Coro<void> sleeper() {
  g_sleeping.fetch_add(1, std::memory_order_relaxed);
  co_await corio::sleep(24h);
}

struct SleepersResult {
  double spawn_seconds = 0;   // first create_task until every sleeper is suspended
  double bytes_per_task = 0;  // VmRSS growth / n
};

/// Spawns n sleepers and measures; the tasks are left sleeping (the caller exits the process).
inline corio::Coro<SleepersResult> spawn_sleepers(int n) {
  g_sleeping.store(0, std::memory_order_relaxed);
  const std::size_t before = rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) (void)corio::create_task(sleeper());
  while (g_sleeping.load(std::memory_order_relaxed) < n) co_await corio::sleep(0s);
  co_await corio::sleep(0s);  // let the last one reach its sleep
  const auto took = std::chrono::steady_clock::now() - start;
  const std::size_t after = rss_bytes();
  SleepersResult r;
  r.spawn_seconds = std::chrono::duration<double>(took).count();
  r.bytes_per_task = (static_cast<double>(after) - static_cast<double>(before)) / n;
  co_return r;
}

/// Measures n sleepers in a fresh child process, so that memory an earlier measurement left
/// in the allocator cannot hide this one's. Call only while no runtime is alive (no threads
/// but the caller's), since the child forks this process. Nullopt if the child failed.
inline std::optional<SleepersResult> measure_sleepers(int n, std::size_t threads) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(fds[0]);
    SleepersResult r;
    {
      corio::Runtime rt(corio::Options{.threads = threads});
      rt.run(nothing());  // workers and rings are up and have run a task: the baseline
      r = rt.run(spawn_sleepers(n));
      ssize_t w = ::write(fds[1], &r, sizeof r);
      ::_exit(w == static_cast<ssize_t>(sizeof r) ? 0 : 1);  // skip the shutdown of n tasks
    }
  }
  ::close(fds[1]);
  SleepersResult r;
  ssize_t got = ::read(fds[0], &r, sizeof r);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return r;
}

}  // namespace corio_bench
