// asyncio's first example ("Coroutines and Tasks"): say_after awaited one after the other
// (about 3 s), then the same two calls as concurrent tasks (about 2 s).
//
//   say_after              real time; stamps are the wall clock (HH:MM:SS)
//   say_after --virtual    single-thread virtual time; stamps are loop.time() since start,
//                          in the same format (00:00:00, 00:00:03, ...), so a test can
//                          compare the output exactly
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

bool g_virtual = false;
double g_start = 0;

/// time.strftime('%X'): the wall clock, or the virtual clock counted from the start.
std::string now_hms() {
  char buf[16];
  if (g_virtual) {
    auto s = static_cast<long>(corio::get_running_loop().time() - g_start + 0.5);
    std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", s / 3600 % 24, s / 60 % 60, s % 60);
  } else {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  }
  return buf;
}

void print(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

corio::Coro<void> say_after(std::chrono::seconds delay, std::string what) {
  co_await corio::sleep(delay);
  print(what);
}

corio::Coro<void> one_after_the_other() {
  print("started at " + now_hms());
  co_await say_after(1s, "hello");
  co_await say_after(2s, "world");
  print("finished at " + now_hms());
}

corio::Coro<void> concurrently() {
  auto task1 = corio::create_task(say_after(1s, "hello"));
  auto task2 = corio::create_task(say_after(2s, "world"));
  print("started at " + now_hms());
  // Wait until both tasks are completed (should take around 2 seconds.)
  co_await task1;
  co_await task2;
  print("finished at " + now_hms());
}

corio::Coro<void> async_main() {
  g_start = corio::get_running_loop().time();
  co_await one_after_the_other();
  co_await concurrently();
}

}  // namespace

int main(int argc, char** argv) {
  g_virtual = argc > 1 && std::string_view(argv[1]) == "--virtual";
  corio::Options options;
  if (g_virtual) options = {.threads = 1, .virtual_time = true};
  corio::run(async_main(), options);
}
