// Shared helpers for corio's tests: run a coroutine test body on a fresh runtime under a
// watchdog, the usual Options, stress iteration counts, polling, and an ordered event log.
//
// Inside a coroutine body use EXPECT_* (ASSERT_* returns, which a coroutine cannot do).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/task.hpp>

namespace corio::test {

using namespace std::chrono_literals;

/// Single-thread mode on virtual time: asyncio's ordering, sleeps cost nothing.
inline Options virtual_time() {
  return Options{.threads = 1, .virtual_time = true};
}
/// Single-thread mode on the real clock (for foreign threads and real waits).
inline Options single_thread() {
  return Options{.threads = 1};
}
/// Multi-thread mode; 0 workers means one per core.
inline Options multi_thread(std::size_t threads = 0) {
  return Options{.threads = threads};
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

/// Iterations for a stress test: CORIO_STRESS_ITERS when set, else `normal`, divided by
/// `sanitizer_divisor` in sanitizer builds (TSan is 5-10x slower), and at least 1.
inline std::size_t stress_iters(std::size_t normal, std::size_t sanitizer_divisor = 2) {
  if (const char* s = std::getenv("CORIO_STRESS_ITERS")) {
    const unsigned long long v = std::strtoull(s, nullptr, 10);
    if (v > 0) return static_cast<std::size_t>(v);
  }
  std::size_t n = kUnderSanitizer ? normal / sanitizer_divisor : normal;
  return n == 0 ? 1 : n;
}

/// Aborts the process with a message when it is still alive after `limit`: a hang (a lost
/// wake-up, a task never completed) then fails fast and says what hung, instead of waiting
/// for Meson's timeout.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds limit, std::string what)
      : what_(std::move(what)), thread_([this, limit] { watch(limit); }) {}
  ~Watchdog() {
    {
      std::lock_guard g(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch(std::chrono::milliseconds limit) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
      std::fprintf(stderr, "corio test watchdog: %s did not finish within %lld ms (hang?)\n",
                   what_.c_str(), static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::abort();
    }
  }

  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the fields above exist
};

/// The name of the running GoogleTest case, for messages.
inline std::string current_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "test";
  return std::string(info->test_suite_name()) + "." + info->name();
}

/// Runs `body()` (a callable returning a Coro<T>) as the main task of corio::run with `opts`
/// and returns its value. The callable outlives the run, so a coroutine lambda may capture.
/// Aborts when the run takes longer than `limit`.
template <class F>
auto run_test(F body, Options opts = virtual_time(), std::chrono::milliseconds limit = 30s) {
  Watchdog dog(limit, current_test_name());
  return corio::run(body(), opts);
}

/// Polls pred until it holds or `limit` passes (from threads outside the runtime).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

/// An ordered record of events from any thread, compared as a whole.
class Log {
 public:
  void operator()(std::string event) {
    std::lock_guard g(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() const {
    std::lock_guard g(mu_);
    return events_;
  }
  std::size_t size() const {
    std::lock_guard g(mu_);
    return events_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

/// A Coro that finishes without ever suspending.
template <class T>
Coro<T> ready(T v) {
  co_return v;
}
inline Coro<void> ready() {
  co_return;
}

/// A Coro that sleeps for d, then returns v.
inline Coro<int> value_after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

/// A Coro that throws E{args...} without suspending.
template <class E, class... A>
Coro<void> fail(A... args) {
  throw E(args...);
  co_return;
}

}  // namespace corio::test
